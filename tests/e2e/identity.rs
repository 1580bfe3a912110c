//! The bot's own identity (issue 9, A6): a first start that stops half-way, or cannot save the
//! recovery key, is finished by the next start, and the key is never lost. Each test plays the
//! crash on the bot's real store, then starts the real bot and asserts what the admin's client
//! and Synapse see.

use std::path::{Path, PathBuf};

use matrix_sdk::Client;
use matrix_sdk::encryption::EncryptionSettings;

use crate::support::DEFAULT_TIMEOUT;
use crate::support::bot::{Fixture, Spec};

const MARKER: &str = "identity-set-up";
const KEY_FILE: &str = "recovery-key";

fn data(fx: &Fixture) -> PathBuf {
    fx.store.path().join("data")
}

/// Whether Synapse holds secret storage (recovery) for the bot: its default key's account data.
async fn recovery_on_server(fx: &Fixture) -> bool {
    let data = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/users/{}/accountdata",
            fx.bot_user_id
        ))
        .await;
    data["account_data"]["global"]
        .get("m.secret_storage.default_key")
        .is_some_and(|v| v.get("key").is_some())
}

/// Asserts the set-up is complete for the bot's running device: cross-signed as its owner's,
/// the key file private and non-empty, the marker naming the device. Returns the key.
async fn assert_set_up(fx: &Fixture) -> String {
    let device = fx.bot().client().device_id().expect("device").to_string();
    assert!(
        fx.cross_signed_by_owner(&device, DEFAULT_TIMEOUT).await,
        "the device is cross-signed by its owner"
    );
    assert!(recovery_on_server(fx).await, "recovery is on the server");
    let key_file = data(fx).join(KEY_FILE);
    let key = std::fs::read_to_string(&key_file).expect("the key is in the store by default");
    assert!(key.trim().len() > 40, "a recovery key: {}", key.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let marker = std::fs::read_to_string(data(fx).join(MARKER)).expect("the set-up is marked");
    assert_eq!(marker.trim(), device, "the mark names this device");
    key.trim().to_owned()
}

/// Rewrites the test's bot.toml: `edit` gets the text and returns the new one.
fn edit_config(fx: &Fixture, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(&fx.config_path).expect("config");
    std::fs::write(&fx.config_path, edit(text)).expect("config");
}

/// The store is lost and only `key` is given back: a new device must come up cross-signed.
async fn assert_key_restores_the_identity(fx: &mut Fixture, key: &str) {
    fx.stop_bot().await;
    let given = fx.store.path().join("given-key");
    std::fs::write(&given, format!("{key}\n")).expect("key");
    std::fs::remove_dir_all(data(fx)).expect("remove the store");
    edit_config(fx, |t| {
        t.replace(
            "store_path = \"data\"\n",
            "store_path = \"data\"\nrecovery_key_file = \"given-key\"\n",
        )
    });
    fx.start_bot().await;
    let device = fx.bot().client().device_id().expect("device").to_string();
    assert!(
        fx.cross_signed_by_owner(&device, DEFAULT_TIMEOUT).await,
        "the saved key restored the identity on a new device"
    );
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);
}

/// Plays a first start that stopped right after `session.json` was written: the bot's store
/// holds a logged-in device, with cross-signing and recovery only if asked, and no marker. The
/// device ID.
async fn crashed_first_start(fx: &Fixture, cross_signing: bool, enable_recovery: bool) -> String {
    let store = data(fx);
    std::fs::create_dir_all(&store).expect("store dir");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let client = Client::builder()
        .homeserver_url(fx.synapse.url())
        .http_client(http)
        .sqlite_store(store.join("matrix-sdk"), None)
        .with_encryption_settings(EncryptionSettings {
            auto_enable_cross_signing: cross_signing,
            auto_enable_backups: false,
            ..Default::default()
        })
        .build()
        .await
        .expect("client on the bot's store");
    client
        .matrix_auth()
        .login_username(&fx.bot_user.localpart, &fx.bot_user.password)
        .initial_device_display_name("Syndic")
        .await
        .expect("login");
    client
        .encryption()
        .wait_for_e2ee_initialization_tasks()
        .await;
    if enable_recovery {
        // The key exists only in this process, which now "crashes".
        let _lost = client
            .encryption()
            .recovery()
            .enable()
            .await
            .expect("enable");
    }
    let session = client.matrix_auth().session().expect("session");
    std::fs::write(
        store.join("session.json"),
        serde_json::to_string(&session).expect("json"),
    )
    .expect("session.json");
    let device = session.meta.device_id.to_string();
    drop(client);
    device
}

fn assert_not_marked(store: &Path) {
    assert!(
        !store.join(MARKER).exists(),
        "the set-up must not be marked complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_key_file_enables_nothing_and_the_next_start_finishes_the_set_up() {
    let mut fx = Fixture::prepare(|_| {
        Spec {
            key_file_in_store: true,
            ..Spec::default()
        }
        .bot_line("recovery_key_file = \"blocked/recovery-key\"")
    })
    .await;
    // A file where the key's directory should be: unwritable whoever runs the test.
    std::fs::write(fx.store.path().join("blocked"), "").expect("blocker");

    let e = fx.try_start_bot().await.expect_err("the start must fail");
    let message = format!("{e:#}");
    assert!(
        message.contains("blocked/recovery-key") && message.contains("recovery was not enabled"),
        "{message}"
    );
    assert!(
        data(&fx).join("session.json").exists(),
        "the device was logged in"
    );
    assert_not_marked(&data(&fx));
    assert!(
        !recovery_on_server(&fx).await,
        "no recovery key was made that nobody has"
    );

    // The operator fixes the config (the default: the key goes to the store) and starts again.
    edit_config(&fx, |t| {
        t.replace("recovery_key_file = \"blocked/recovery-key\"", "")
    });
    fx.start_bot().await;
    fx.wait_for_bot_to_join().await;
    let key = assert_set_up(&fx).await;
    assert_key_restores_the_identity(&mut fx, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_that_stopped_before_cross_signing_is_finished_by_the_next() {
    let mut fx = Fixture::prepare(|_| Spec {
        key_file_in_store: true,
        ..Spec::default()
    })
    .await;
    let device = crashed_first_start(&fx, false, false).await;
    assert!(
        !fx.cross_signed_by_owner(&device, std::time::Duration::from_secs(1))
            .await,
        "the crash left the device without cross-signing"
    );
    assert_not_marked(&data(&fx));

    fx.start_bot().await;
    fx.wait_for_bot_to_join().await;
    assert_eq!(
        fx.bot().client().device_id().expect("device").as_str(),
        device,
        "the saved session was restored, not replaced"
    );
    let key = assert_set_up(&fx).await;

    // Marked: a restart changes nothing (the same key still in the file).
    fx.stop_bot().await;
    fx.start_bot().await;
    let again = std::fs::read_to_string(data(&fx).join(KEY_FILE)).expect("key");
    assert_eq!(again.trim(), key);
    assert_key_restores_the_identity(&mut fx, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_key_lost_in_a_crash_is_replaced_by_one_that_is_saved() {
    let mut fx = Fixture::prepare(|_| Spec {
        key_file_in_store: true,
        ..Spec::default()
    })
    .await;
    crashed_first_start(&fx, true, true).await;
    assert!(recovery_on_server(&fx).await, "recovery was enabled");
    assert!(!data(&fx).join(KEY_FILE).exists(), "and its key was lost");

    fx.start_bot().await;
    fx.wait_for_bot_to_join().await;
    let key = assert_set_up(&fx).await;
    assert_key_restores_the_identity(&mut fx, &key).await;
}

/// A password login of the bot's account as `device_id` over HTTP (as MAS's
/// `issue-compatibility-token` would hand one out): its access token.
async fn token_for(fx: &Fixture, device_id: &str) -> String {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let reply: serde_json::Value = http
        .post(fx.synapse.endpoint("/_matrix/client/v3/login"))
        .json(&serde_json::json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": fx.bot_user.localpart},
            "password": fx.bot_user.password,
            "device_id": device_id,
        }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login JSON");
    let token = reply["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {reply}"))
        .to_owned();
    crate::support::secrets::remember(&token);
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_login_sets_up_the_identity_and_a_token_for_another_device_is_refused() {
    let mut fx = Fixture::prepare(|_| Spec {
        key_file_in_store: true,
        ..Spec::default()
    })
    .await;
    let token = token_for(&fx, "SYNDICTOKEN").await;
    std::fs::write(fx.store.path().join("token"), format!("{token}\n")).expect("token file");
    let password_line = format!("password = \"{}\"\n", fx.bot_user.password);
    edit_config(&fx, |t| {
        assert!(t.contains(&password_line), "{t}");
        t.replace(
            &password_line,
            "access_token_file = \"token\"\ndevice_id = \"SYNDICTOKEN\"\n",
        )
    });
    fx.start_bot().await;
    fx.wait_for_bot_to_join().await;
    assert_eq!(
        fx.bot()
            .client()
            .device_id()
            .map(|d| d.to_string())
            .as_deref(),
        Some("SYNDICTOKEN"),
        "the bot runs as the token's device, no new login"
    );
    let device = assert_set_up(&fx).await;
    assert!(!device.is_empty());
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);

    // A token issued for another device, on the store of this one: refused before anything
    // happens, and the store still belongs to SYNDICTOKEN.
    fx.stop_bot().await;
    let other = token_for(&fx, "OTHERDEVICE").await;
    std::fs::write(fx.store.path().join("token"), format!("{other}\n")).expect("token file");
    let e = fx
        .try_start_bot()
        .await
        .expect_err("a token for another device");
    assert!(
        e.to_string().contains("OTHERDEVICE") && e.to_string().contains("SYNDICTOKEN"),
        "{e:#}"
    );
    assert!(
        !format!("{e:#}").contains(&other),
        "the token is not in the error"
    );
    let marker = std::fs::read_to_string(data(&fx).join(MARKER)).expect("marker");
    assert_eq!(marker.trim(), "SYNDICTOKEN");

    // A revoked token: refused with a clear error.
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let logout = http
        .post(fx.synapse.endpoint("/_matrix/client/v3/logout"))
        .bearer_auth(&other)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("logout");
    assert!(logout.status().is_success());
    let e = fx.try_start_bot().await.expect_err("a revoked token");
    assert!(format!("{e:#}").contains("does not accept"), "{e:#}");

    // The token replaced by a new one for the same device: the bot carries on as before.
    let renewed = token_for(&fx, "SYNDICTOKEN").await;
    std::fs::write(fx.store.path().join("token"), format!("{renewed}\n")).expect("token file");
    fx.start_bot().await;
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);
    assert!(
        fx.cross_signed_by_owner("SYNDICTOKEN", DEFAULT_TIMEOUT)
            .await,
        "still the same cross-signed device"
    );
}
