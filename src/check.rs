//! `syndic check-config`: validates the file and probes the homeserver, one line per check, each
//! failure saying what to fix.

use std::path::Path;

use matrix_sdk::ruma::{OwnedRoomId, RoomId};
use reqwest::Method;
use serde::Deserialize;

use crate::admin_api::accounts::Accounts;
use crate::admin_api::rooms::{RoomDetails, RoomMembers};
use crate::admin_api::server::{ResolveRoomAlias, ServerVersion};
use crate::admin_api::users::QueryUser;
use crate::admin_api::{AdminClient, Endpoint, encode_segment};
use crate::config::{Config, Login};

/// `GET /_synapse/admin/v1/rooms/{room_id}/state`: the room's current state events.
struct RoomStateEvents {
    room_id: String,
}

#[derive(Deserialize)]
struct StateEvents {
    #[serde(default)]
    state: Vec<serde_json::Value>,
}

impl Endpoint for RoomStateEvents {
    type Response = StateEvents;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;
    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/rooms/{}/state",
            encode_segment(&self.room_id)
        )
    }
    fn subject(&self) -> String {
        format!("room {}", self.room_id)
    }
}

fn pass(what: &str) {
    println!("ok   {what}");
}

fn fail(what: &str) -> bool {
    println!("FAIL {what}");
    false
}

/// Runs every check; true when all passed.
pub async fn check_config(path: &Path) -> bool {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    pass(&format!(
        "{}: valid ({} room(s), {} role(s))",
        path.display(),
        config.rooms.len(),
        config.roles.len()
    ));

    let http = reqwest::Client::new();
    let versions = config
        .homeserver_url
        .join("_matrix/client/versions")
        .map(|u| u.to_string())
        .unwrap_or_default();
    match http.get(&versions).send().await {
        Ok(r) if r.status().is_success() => {
            pass(&format!("homeserver.url {} answers", config.homeserver_url))
        }
        Ok(r) => {
            return fail(&format!(
                "homeserver.url {}: HTTP {} from the client API; check the URL",
                config.homeserver_url,
                r.status()
            ));
        }
        Err(e) => {
            return fail(&format!(
                "homeserver.url {}: cannot connect ({e}); check the URL and the network",
                config.homeserver_url
            ));
        }
    }

    pass(&format!("login: {}", config.login.describe()));
    let configured = match &config.login {
        Login::AccessToken { token, .. } => Some(token.expose().to_owned()),
        Login::Password(_) => saved_token(&config),
    };
    let (token, temporary) = match configured {
        Some(t) => (t, false),
        None => match login(&http, &config).await {
            Ok(t) => (t, true),
            Err(e) => {
                return fail(&format!(
                    "bot.user_id {} cannot log in ({e}); check bot.password / password_file / SYNDIC_PASSWORD",
                    config.bot_user_id
                ));
            }
        },
    };
    let ok = probe(&config, &token).await;
    if temporary {
        // The probe's login made a device: remove it again.
        let logout = config
            .homeserver_url
            .join("_matrix/client/v3/logout")
            .map(|u| u.to_string())
            .unwrap_or_default();
        let _ = http
            .post(logout)
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await;
    }
    ok
}

async fn probe(config: &Config, token: &str) -> bool {
    let admin = match AdminClient::new(config.homeserver_url.clone(), token.to_owned()) {
        Ok(a) => a,
        Err(e) => return fail(&e.to_string()),
    };
    match admin.send(&ServerVersion).await {
        Ok(v) => pass(&format!("Admin API answers (Synapse {})", v.server_version)),
        Err(e) => {
            return fail(&format!(
                "Admin API at {}_synapse/admin: {e}; make sure your reverse proxy forwards /_synapse/admin to Synapse for the bot",
                config.homeserver_url
            ));
        }
    }
    match admin
        .send(&QueryUser {
            user_id: config.bot_user_id.to_string(),
        })
        .await
    {
        Ok(me) if me.admin => pass(&format!("{} is a server admin", config.bot_user_id)),
        // With MAS the admin flag lives there: Synapse reports false, and the token's
        // `urn:synapse:admin:*` scope is what let this Admin API read through.
        Ok(_) if matches!(config.login, Login::AccessToken { .. }) => pass(&format!(
            "the access token carries the Synapse admin scope (urn:synapse:admin:*) for {}",
            config.bot_user_id
        )),
        Err(e) if matches!(config.login, Login::AccessToken { .. }) && e.is_forbidden() => {
            return fail(&format!(
                "bot.access_token_file's token does not carry the Synapse admin scope: issue it with urn:synapse:admin:* ({e})"
            ));
        }
        Ok(_) => {
            return fail(&format!(
                "bot.user_id {} is not a server admin: make it one (synadm user modify --admin or the Admin API)",
                config.bot_user_id
            ));
        }
        Err(e) => return fail(&format!("bot.user_id {}: {e}", config.bot_user_id)),
    }
    match Accounts::discover(
        admin.clone(),
        config.mas.as_ref(),
        config.server_name.as_str(),
    )
    .await
    {
        Ok(accounts) => match accounts.count_mas_users().await {
            Ok(Some(n)) => pass(&format!(
                "accounts are owned by {}; its admin API accepts the bot's client credentials ({n} active accounts)",
                accounts.describe()
            )),
            Ok(None) => pass("accounts are owned by Synapse (no MAS)"),
            Err(e) => return fail(&format!("MAS admin API: {e}")),
        },
        Err(e) => return fail(&e.to_string()),
    }
    let mut all_ok = true;
    for room in &config.rooms {
        let room_id: OwnedRoomId = match <&RoomId>::try_from(room.as_str()) {
            Ok(id) => id.to_owned(),
            Err(_) => match admin
                .send(&ResolveRoomAlias {
                    alias: room.to_string(),
                })
                .await
            {
                Ok(r) => match OwnedRoomId::try_from(r.room_id.as_str()) {
                    Ok(id) => id,
                    Err(_) => {
                        all_ok = fail(&format!("bot.rooms {room}: resolved to an invalid room ID"));
                        continue;
                    }
                },
                Err(e) => {
                    all_ok = fail(&format!("bot.rooms {room}: {e}"));
                    continue;
                }
            },
        };
        all_ok &= check_room(&admin, config, &room_id).await;
    }
    all_ok
}

async fn check_room(admin: &AdminClient, config: &Config, room_id: &RoomId) -> bool {
    let bot = config.bot_user_id.as_str();
    let info = match admin
        .send(&RoomDetails {
            room_id: room_id.to_string(),
        })
        .await
    {
        Ok(i) => i,
        Err(e) => return fail(&format!("bot.rooms {room_id}: {e}; is the ID right?")),
    };
    let encrypted = if info.encryption.is_some() {
        "encrypted"
    } else {
        "NOT encrypted: generated passwords will not be sent there"
    };
    match admin
        .send(&RoomMembers {
            room_id: room_id.to_string(),
        })
        .await
    {
        Ok(m) if m.members.iter().any(|u| u == bot) => {
            pass(&format!("bot.rooms {room_id}: joined, {encrypted}"));
            return true;
        }
        Ok(_) => {}
        Err(e) => return fail(&format!("bot.rooms {room_id}: {e}")),
    }
    let invited = admin
        .send(&RoomStateEvents {
            room_id: room_id.to_string(),
        })
        .await
        .is_ok_and(|s| {
            s.state.iter().any(|ev| {
                ev["type"] == "m.room.member"
                    && ev["state_key"] == bot
                    && ev["content"]["membership"] == "invite"
            })
        });
    if invited {
        pass(&format!(
            "bot.rooms {room_id}: invited, the bot joins on start; {encrypted}"
        ));
        true
    } else if info.join_rules.as_deref() == Some("public") {
        pass(&format!(
            "bot.rooms {room_id}: public, the bot joins on start; {encrypted}"
        ));
        true
    } else {
        fail(&format!(
            "bot.rooms {room_id}: the bot is not in this room and not invited: invite {bot} from the room"
        ))
    }
}

fn saved_token(config: &Config) -> Option<String> {
    let text = std::fs::read_to_string(config.store_path.join("session.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["access_token"]
        .as_str()
        .or_else(|| v["tokens"]["access_token"].as_str())
        .map(str::to_owned)
}

async fn login(http: &reqwest::Client, config: &Config) -> Result<String, String> {
    let url = config
        .homeserver_url
        .join("_matrix/client/v3/login")
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": config.bot_user_id.as_str()},
        "password": config.login.password().map(|p| p.expose()).unwrap_or_default(),
        "initial_device_display_name": "syndic check-config",
    });
    let r = http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let status = r.status();
    let v: serde_json::Value = r.json().await.map_err(|_| format!("HTTP {status}"))?;
    match v["access_token"].as_str() {
        Some(t) => Ok(t.to_owned()),
        None => Err(format!(
            "{}: {}",
            v["errcode"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or("login refused")
        )),
    }
}
