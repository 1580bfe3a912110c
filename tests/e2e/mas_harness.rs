//! Proves the MAS-mode harness: a real Synapse delegates its accounts to the MAS stand-in
//! (discovery, introspection, provisioning, device and account changes all go through
//! Synapse's MAS API), Humans log in through the stand-in's compat login and talk E2EE, and the
//! stand-in's admin API answers as the specification says.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::bot::{Fixture, MAS_BOT_DEVICE, Spec};
use crate::support::synapse::http_client;
use crate::support::{DEFAULT_TIMEOUT, Human, Mas, Synapse};

fn mas_mode() -> (&'static Synapse, &'static Mas) {
    let hs = Synapse::shared_mas();
    (hs, hs.mas().expect("the MAS-mode Synapse has a stand-in"))
}

/// `GET` on Synapse with an optional bearer token: status and JSON body.
async fn synapse_get(hs: &Synapse, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = http_client().get(hs.endpoint(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("Synapse answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synapse_delegates_to_the_standin_and_sees_its_users() {
    let (hs, mas) = mas_mode();

    // Synapse read the stand-in's discovery document.
    let (status, metadata) = synapse_get(hs, "/_matrix/client/v1/auth_metadata", None).await;
    assert_eq!(status, StatusCode::OK, "{metadata}");
    assert_eq!(metadata["issuer"], json!(mas.url().as_str()));
    assert_eq!(mas.info().await["issuer"], json!(mas.url().as_str()));

    // Synapse no longer serves password logins itself.
    let (status, body) = synapse_get(hs, "/_matrix/client/v3/login", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // A user made in MAS is provisioned in Synapse, display name included.
    let localpart = hs.unique_localpart("provisioned");
    let created = mas
        .create_user(&localpart, None, false, Some("Provisioned Person"))
        .await;
    assert_eq!(created["data"]["type"], "user");
    assert_eq!(created["data"]["attributes"]["username"], json!(localpart));
    let on_synapse = hs
        .admin_get(&format!(
            "/_synapse/admin/v2/users/{}",
            hs.user_id(&localpart)
        ))
        .await;
    assert_eq!(on_synapse["displayname"], "Provisioned Person");
    assert_eq!(on_synapse["deactivated"], false);

    // The admin API has it, and the request log proves the call went to MAS.
    let (since, _) = mas.requests_since(0).await;
    let id = created["data"]["id"].as_str().expect("id");
    let fetched = mas.get(&format!("/users/by-username/{localpart}")).await;
    assert_eq!(fetched["data"]["id"], json!(id));
    let (_, seen) = mas.requests_since(since).await;
    assert!(
        seen.iter().any(|r| r["method"] == "GET"
            && r["path"] == format!("/api/admin/v1/users/by-username/{localpart}")
            && r["status"] == 200),
        "not in the request log: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn humans_log_in_through_the_compat_layer_and_talk_e2ee() {
    let _media = crate::support::bot::media_shared().await;
    let (hs, mas) = mas_mode();
    let alice = Human::new(hs, "alice").await;
    let bob = Human::new(hs, "bob").await;

    // Their devices are compat sessions in MAS, named as the login asked.
    let alice_id = mas.user_id_of(&alice.user.localpart).await;
    let sessions = mas
        .get(&format!(
            "/compat-sessions?filter[user]={alice_id}&filter[status]=active"
        ))
        .await;
    let device = alice.client.device_id().expect("logged in").to_string();
    assert!(
        sessions["data"].as_array().expect("data").iter().any(|s| {
            s["attributes"]["device_id"] == json!(device)
                && s["attributes"]["human_name"] == "Element (syndic e2e)"
        }),
        "{sessions}"
    );

    let room = alice
        .create_encrypted_room(&[bob.user_id()], "mas harness")
        .await;
    bob.join(room.room_id()).await;
    alice
        .wait_for_join(&room, &bob.user_id(), DEFAULT_TIMEOUT)
        .await;
    let sent = alice.send_text(&room, "hello through MAS").await;
    let received = bob
        .wait_for_message(&room, |m| m.event_id == sent, DEFAULT_TIMEOUT)
        .await;
    assert!(received.was_encrypted, "{received:?}");
    assert_eq!(received.body, "hello through MAS");

    // Introspection recorded the session's activity.
    let sessions = mas
        .get(&format!("/compat-sessions?filter[user]={alice_id}"))
        .await;
    let mine = sessions["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|s| s["attributes"]["device_id"] == json!(device))
        .expect("alice's session")
        .clone();
    assert!(mine["attributes"]["last_active_at"].is_string(), "{mine}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locking_and_deactivating_in_mas_reach_synapse() {
    let (hs, mas) = mas_mode();
    let localpart = hs.unique_localpart("locked");
    hs.register(&localpart, &format!("pw-{localpart}"), false)
        .await;
    let id = mas.user_id_of(&localpart).await;
    let record = format!("/_synapse/admin/v2/users/{}", hs.user_id(&localpart));

    let locked = mas.post(&format!("/users/{id}/lock"), &json!({})).await;
    assert!(locked["data"]["attributes"]["locked_at"].is_string());
    assert_eq!(
        locked["links"]["self"],
        json!(format!("/api/admin/v1/users/{id}/lock"))
    );
    assert_eq!(hs.admin_get(&record).await["locked"], true);
    mas.post(&format!("/users/{id}/unlock"), &json!({})).await;
    assert_eq!(hs.admin_get(&record).await["locked"], false);

    let deactivated = mas
        .post(
            &format!("/users/{id}/deactivate"),
            &json!({ "skip_erase": true }),
        )
        .await;
    assert!(deactivated["data"]["attributes"]["deactivated_at"].is_string());
    let on_synapse = hs.admin_get(&record).await;
    assert_eq!(on_synapse["deactivated"], true, "{on_synapse}");
    assert_eq!(on_synapse["erased"], false, "{on_synapse}");
    // Its compat session (the registration's device) was finished with it.
    let active = mas
        .get(&format!(
            "/compat-sessions?filter[user]={id}&filter[status]=active&count=only"
        ))
        .await;
    assert_eq!(active["meta"]["count"], 0, "{active}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_compat_session_token_is_refused_by_synapse() {
    let (hs, mas) = mas_mode();
    let localpart = hs.unique_localpart("finished");
    hs.register(&localpart, &format!("pw-{localpart}"), false)
        .await;
    let token = mas.compat_token(&localpart, Some("DOOMED"), false).await;

    let (status, me) = synapse_get(
        hs,
        "/_matrix/client/v3/account/whoami",
        Some(&token.access_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["device_id"], "DOOMED");

    let session = token.session_id.expect("the control API names the session");
    let finished = mas
        .post(&format!("/compat-sessions/{session}/finish"), &json!({}))
        .await;
    assert!(finished["data"]["attributes"]["finished_at"].is_string());
    // Synapse cached the token as valid, but the device is gone: refused at once.
    let (status, body) = synapse_get(
        hs,
        "/_matrix/client/v3/account/whoami",
        Some(&token.access_token),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["errcode"], "M_UNKNOWN_TOKEN");

    let (status, again) = mas
        .request(
            Method::POST,
            &format!("/compat-sessions/{session}/finish"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again,
        json!({ "errors": [{ "title": format!("Compatibility session with ID {session} is already finished") }] })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_refuses_bad_credentials_and_weak_passwords() {
    let (hs, mas) = mas_mode();

    let (status, body) = mas
        .token_request(mas.client_id(), "not-the-secret", "urn:mas:admin")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");

    let (status, body) = mas
        .request_with_token(Method::GET, "/users", None, "mat_not_a_real_token")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["errors"][0]["title"].is_string(), "{body}");

    let (status, body) = mas
        .request(Method::GET, "/users/by-username/nobody-here", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({ "errors": [{ "title": "User with username \"nobody-here\" not found" }] })
    );

    let localpart = hs.unique_localpart("weak");
    mas.create_user(&localpart, None, false, None).await;
    let id = mas.user_id_of(&localpart).await;
    let path = format!("/users/{id}/set-password");
    let (status, body) = mas
        .request(
            Method::POST,
            &path,
            Some(&json!({ "password": "password1" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body,
        json!({ "errors": [{ "title": "Password is too weak" }] })
    );
    let strong = format!("Quartz-{localpart}-Lantern-Velvet-93");
    crate::support::secrets::remember(&strong);
    let (status, body) = mas
        .request(Method::POST, &path, Some(&json!({ "password": strong })))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    // The new password works for a compat login.
    let login = mas.password_login(&localpart, &strong, "check").await;
    assert_eq!(login.user_id, hs.user_id(&localpart));

    let config = mas.get("/site-config").await;
    assert_eq!(config["minimum_password_complexity"], 3);
    assert_eq!(config["server_name"], "localhost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mas_fixture_gives_the_bot_an_admin_token_for_its_device() {
    let fx = Fixture::prepare(|_| Spec::mas()).await;
    assert!(
        fx.synapse.mas().is_some(),
        "the fixture runs on the MAS-mode Synapse"
    );

    let token_file = fx.store.path().join("bot-access-token");
    let mode = std::fs::metadata(&token_file)
        .expect("token file")
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let config = std::fs::read_to_string(&fx.config_path).expect("config");
    assert!(!config.contains("password"), "{config}");
    assert!(
        config.contains(&format!("device_id = \"{MAS_BOT_DEVICE}\"")),
        "{config}"
    );
    // The config loads (the bot's own parser), with the token login.
    let _ = fx.config();

    let token = std::fs::read_to_string(&token_file).expect("token");
    let (status, me) = synapse_get(
        fx.synapse,
        "/_matrix/client/v3/account/whoami",
        Some(token.trim()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user_id"], json!(fx.bot_user_id.as_str()));
    assert_eq!(me["device_id"], MAS_BOT_DEVICE);
    // The token carries the Synapse-admin scope: the bot can use the Admin API.
    let (status, body) = synapse_get(
        fx.synapse,
        &format!("/_synapse/admin/v2/users/{}", fx.admin.user_id()),
        Some(token.trim()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_runs_on_the_mas_mode_synapse_with_its_token() {
    let mut fx = Fixture::prepare(|_| Spec::mas()).await;
    // Synapse's own admin flag stays false with MAS: the token's admin scope is what counts.
    assert_eq!(
        fx.user_on_server(fx.bot_user_id.as_str()).await["admin"],
        json!(false)
    );
    fx.start_bot().await;
    fx.wait_for_bot_to_join().await;
    assert!(fx.ask("!ping").await.body.starts_with("Pong"));
    // Its device is the compat session the stand-in issued, and it set its identity up.
    assert!(
        fx.cross_signed_by_owner(MAS_BOT_DEVICE, DEFAULT_TIMEOUT)
            .await,
        "the bot's device is not cross-signed"
    );
}
