//! Accounts (issue: accounts and moderation): suspend, lock and shadow-ban and their undo, each
//! asserted on Synapse and by what the account can still do, with the refusals an admin meets.

use serde_json::{Value, json};

use crate::support::Human;
use crate::support::bot::{Fixture, Spec, confirm_code};
use crate::support::synapse::http_client;

/// A client-API request as `token`: the status and the JSON body.
pub(crate) async fn as_user(
    fx: &Fixture,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let response = http_client()
        .request(method, fx.synapse.endpoint(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("client request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Logs in with a password: the access token, or the error code.
pub(crate) async fn log_in(fx: &Fixture, user_id: &str, password: &str) -> Result<String, String> {
    crate::support::secrets::remember(password);
    let body = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id}, "password": password});
    let response = http_client()
        .post(fx.synapse.endpoint("/_matrix/client/v3/login"))
        .json(&body)
        .send()
        .await
        .expect("login request");
    let ok = response.status().is_success();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match (ok, body["access_token"].as_str()) {
        (true, Some(token)) => {
            crate::support::secrets::remember(token);
            Ok(token.to_owned())
        }
        _ => Err(body["errcode"].as_str().unwrap_or("?").to_owned()),
    }
}

async fn flag(fx: &Fixture, user: &str, key: &str) -> bool {
    fx.user_on_server(user).await[key]
        .as_bool()
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_lock_and_shadow_ban_take_effect_and_undo() {
    let synapse = crate::support::Synapse::shared();
    let helpdesk = Human::new(synapse, "acct-helpdesk").await;
    let helpdesk_id = helpdesk.user_id();
    let fx = Fixture::start_with(
        |_| {
            Spec::default()
                .role("helpdesk", &[&helpdesk_id], &["user.info", "user.lock"])
                .protect("@ceo:localhost")
        },
        vec![&helpdesk],
    )
    .await;
    let localpart = fx.synapse.unique_localpart("acct");
    let password = format!("pw-{localpart}-long");
    let target = fx.synapse.register(&localpart, &password, false).await;
    let user = target.user_id.as_str();

    // Suspended: it may still log in, but not change its profile.
    let dry = fx.ask(&format!("!suspend {user} --dry-run")).await;
    assert!(dry.body.contains("Dry run"), "{}", dry.body);
    assert!(
        !flag(&fx, user, "suspended").await,
        "a dry run changes nothing"
    );
    let done = fx.ask(&format!("!suspend {user}")).await;
    assert!(done.body.contains("is now suspended"), "{}", done.body);
    assert!(
        done.body.contains(&format!("!unsuspend {user}")),
        "{}",
        done.body
    );
    assert!(flag(&fx, user, "suspended").await);
    let token = log_in(&fx, user, &password)
        .await
        .expect("a suspended account can log in");
    let profile = format!("/_matrix/client/v3/profile/{user}/displayname");
    let (status, body) = as_user(
        &fx,
        reqwest::Method::PUT,
        &profile,
        &token,
        &json!({"displayname": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["errcode"].as_str()),
        (403, Some("M_USER_SUSPENDED")),
        "{body}"
    );
    // Its devices (the registration's and this login's) and the session the request came from.
    let devices = fx.ask(&format!("!devices {user}")).await;
    assert!(
        devices.body.contains("has 2 devices") && devices.body.contains(&target.device_id),
        "{}",
        devices.body
    );
    let joined = fx
        .ask(&format!("!memberships {}", fx.admin.user_id()))
        .await;
    assert!(
        joined.body.contains("syndic test") && joined.body.contains(fx.room_id.as_str()),
        "{}",
        joined.body
    );
    let none = fx.ask(&format!("!memberships {user}")).await;
    assert!(none.body.contains("is in no rooms"), "{}", none.body);
    let whois = fx.ask(&format!("!whois {user}")).await;
    assert!(whois.body.contains("127.0.0.1"), "{}", whois.body);
    let refused = fx.ask_as(&helpdesk, &format!("!whois {user}")).await;
    assert!(
        refused.body.contains("needs permission user.whois"),
        "{}",
        refused.body
    );
    let again = fx.ask(&format!("!suspend {user}")).await;
    assert!(again.body.contains("already suspended"), "{}", again.body);
    let undone = fx.ask(&format!("!unsuspend {user}")).await;
    assert!(
        undone.body.contains("is now not suspended"),
        "{}",
        undone.body
    );
    let (status, body) = as_user(
        &fx,
        reqwest::Method::PUT,
        &profile,
        &token,
        &json!({"displayname": "x"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Locked, by the helpdesk whose role allows exactly that: no login; unlocked: login again.
    let done = fx.ask_as(&helpdesk, &format!("!lock {user}")).await;
    assert!(done.body.contains("is now locked"), "{}", done.body);
    assert!(flag(&fx, user, "locked").await);
    assert_eq!(
        log_in(&fx, user, &password).await,
        Err("M_USER_LOCKED".into())
    );
    fx.ask_as(&helpdesk, &format!("!unlock {user}")).await;
    assert!(!flag(&fx, user, "locked").await);
    assert!(
        log_in(&fx, user, &password).await.is_ok(),
        "unlocked: the password works again"
    );

    // The helpdesk may lock, not suspend or shadow-ban: refused, nothing changed.
    let refused = fx.ask_as(&helpdesk, &format!("!shadow-ban {user}")).await;
    assert!(
        refused.body.contains("needs permission user.shadow-ban"),
        "{}",
        refused.body
    );
    assert!(!flag(&fx, user, "shadow_banned").await);

    // Shadow-banned and back.
    let done = fx.ask(&format!("!shadow-ban {user}")).await;
    assert!(done.body.contains("is now shadow-banned"), "{}", done.body);
    assert!(flag(&fx, user, "shadow_banned").await);
    fx.ask(&format!("!unshadow-ban {user}")).await;
    assert!(!flag(&fx, user, "shadow_banned").await);

    // Bad input: one line each, nothing changed.
    let admin_user = fx
        .synapse
        .register(
            &fx.synapse.unique_localpart("acct-admin"),
            "pw-admin-123",
            true,
        )
        .await;
    let cases = [
        (
            format!("!suspend {}", fx.admin.user_id()),
            "your own account",
        ),
        (format!("!suspend {}", fx.bot_user_id), "myself"),
        ("!lock @ceo:localhost".to_owned(), "protected user"),
        (
            "!lock @someone:elsewhere.example".to_owned(),
            "another server",
        ),
        (
            format!("!suspend {}", admin_user.user_id),
            "server admin; add --force",
        ),
        (
            "!suspend @nobody-here:localhost".to_owned(),
            "does not exist",
        ),
        ("!suspend".to_owned(), "name the user to suspend"),
        (format!("!unsuspend {user} --force"), "--force"),
        (format!("!lock {user} --erase"), "--erase"),
    ];
    for (command, needle) in cases {
        let reply = fx.ask(&command).await;
        assert!(
            reply.body.to_lowercase().contains(&needle.to_lowercase()),
            "{command}: {}",
            reply.body
        );
    }
    assert!(!flag(&fx, &admin_user.user_id, "suspended").await);
    assert!(!flag(&fx, fx.admin.user_id().as_str(), "suspended").await);
    assert!(!flag(&fx, user, "locked").await && !flag(&fx, user, "suspended").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_admin_and_revoke_admin_after_confirmation_never_for_the_sender() {
    let synapse = crate::support::Synapse::shared();
    let granter = Human::new(synapse, "acct-granter").await;
    let granter_id = granter.user_id();
    let fx = Fixture::start_with(
        |_| Spec::default().role("granters", &[&granter_id], &["user.admin"]),
        vec![&granter],
    )
    .await;
    let user = fx.plain_user("acct-promote").await;

    // The preview changes nothing; the confirmation does.
    let dry = fx.ask(&format!("!make-admin {user} --dry-run")).await;
    assert!(dry.body.contains("Dry run"), "{}", dry.body);
    let preview = fx.ask(&format!("!make-admin {user}")).await;
    assert!(
        preview.body.contains("Make server admin"),
        "{}",
        preview.body
    );
    assert!(
        !flag(&fx, &user, "admin").await,
        "nothing before confirmation"
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("is now a server admin"), "{}", done.body);
    assert!(flag(&fx, &user, "admin").await);

    let preview = fx.ask(&format!("!revoke-admin {user}")).await;
    fx.admin.react(&fx.room_id, &preview.event_id, "✅").await;
    let done = fx.reply_to(&fx.admin, &preview.event_id).await;
    assert!(
        done.body.contains("no longer a server admin"),
        "{}",
        done.body
    );
    assert!(!flag(&fx, &user, "admin").await);

    // A delegated user.admin never makes its holder a Synapse admin, nor touches the bot.
    let refused = fx
        .ask_as(&granter, &format!("!make-admin {granter_id}"))
        .await;
    assert!(
        refused.body.contains("your own account"),
        "{}",
        refused.body
    );
    assert!(!flag(&fx, granter_id.as_str(), "admin").await);
    let refused = fx.ask(&format!("!revoke-admin {}", fx.bot_user_id)).await;
    assert!(refused.body.contains("myself"), "{}", refused.body);
    assert!(flag(&fx, fx.bot_user_id.as_str(), "admin").await);
    let refused = fx.ask(&format!("!revoke-admin {user}")).await;
    assert!(
        refused.body.contains("is not a server admin"),
        "{}",
        refused.body
    );
    let refused = fx.ask("!make-admin @nobody-at-all:localhost").await;
    assert!(refused.body.contains("does not exist"), "{}", refused.body);
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::GET,
            "/_synapse/admin/v2/users/@nobody-at-all:localhost",
            None,
        )
        .await;
    assert_eq!(
        status.as_u16(),
        404,
        "no account is made for an unknown user"
    );
}

/// Registers `localpart` through the client API with a registration token, as a new user's
/// client would: the token stage, then the dummy stage. The status of the last answer.
async fn register_with_token(fx: &Fixture, localpart: &str, token: &str) -> (u16, Value) {
    let url = fx.synapse.endpoint("/_matrix/client/v3/register");
    let mut body = json!({"username": localpart, "password": format!("pw-{localpart}-long")});
    let mut answer = (0, Value::Null);
    for stage in [
        None,
        Some("m.login.registration_token"),
        Some("m.login.dummy"),
    ] {
        if let Some(kind) = stage {
            let session = answer.1["session"].clone();
            body["auth"] = json!({"type": kind, "token": token, "session": session});
        }
        let response = http_client()
            .post(url.clone())
            .json(&body)
            .send()
            .await
            .expect("register");
        answer = (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        );
        if answer.0 != 401 {
            break;
        }
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_token_made_in_the_room_registers_an_account_once() {
    let synapse = crate::support::Synapse::shared();
    let helpdesk = Human::new(synapse, "acct-tokenless").await;
    let helpdesk_id = helpdesk.user_id();
    let fx = Fixture::start_with(
        |_| Spec::default().role("helpdesk", &[&helpdesk_id], &["user.info"]),
        vec![&helpdesk],
    )
    .await;
    let made = fx
        .ask("!token-create --uses 1 --expires 1d --length 12")
        .await;
    assert!(
        made.body.starts_with("New registration token"),
        "{}",
        made.body
    );
    assert!(
        made.body.contains("0 of 1 used") && made.body.contains("expires"),
        "{}",
        made.body
    );
    let at = made
        .body
        .find("!token-delete ")
        .expect("the delete hint names the token");
    let token: String = made.body[at + 14..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(token.len(), 12, "{}", made.body);
    crate::support::secrets::remember(&token);

    let first = fx.synapse.unique_localpart("acct-bytoken");
    let (status, body) = register_with_token(&fx, &first, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        fx.user_on_server(&format!("@{first}:localhost")).await["deactivated"],
        false
    );
    let second = fx.synapse.unique_localpart("acct-bytoken");
    let (status, body) = register_with_token(&fx, &second, &token).await;
    assert_ne!(status, 200, "a one-use token registers one account: {body}");

    let info = fx.ask(&format!("!token {token}")).await;
    assert!(info.body.contains("1 of 1 used"), "{}", info.body);
    let valid = fx.ask("!tokens --valid").await;
    assert!(
        !valid.body.contains(&token),
        "a used-up token is not valid: {}",
        valid.body
    );
    let all = fx.ask("!tokens").await;
    assert!(all.body.contains(&token), "{}", all.body);

    let refused = fx.ask_as(&helpdesk, "!token-create").await;
    assert!(
        refused.body.contains("needs permission token.manage"),
        "{}",
        refused.body
    );
    let deleted = fx.ask(&format!("!token-delete {token}")).await;
    assert!(
        deleted.body.starts_with("Deleted token"),
        "{}",
        deleted.body
    );
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/registration_tokens/{token}"),
            None,
        )
        .await;
    assert_eq!(status.as_u16(), 404);
    let bad = fx.ask("!token-create --length 65").await;
    assert!(bad.body.contains("65"), "{}", bad.body);
    let bad = fx.ask("!token-create --expires soon").await;
    assert!(bad.body.contains("soon"), "{}", bad.body);
}
