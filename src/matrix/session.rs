//! Login and session restore, and the bot's identity: cross-signing, recovery and its key.
//!
//! First start: password login, then the identity is set up: cross-signing bootstrapped, recovery
//! enabled and its key written to a file (0600) that could be written before recovery was enabled.
//! Only then is the set-up marked complete (`<store>/identity-set-up`, holding the device ID):
//! every start that does not find the mark for its device tries again, so a crash or an error
//! between login and the end of the set-up never leaves a device without an identity. Later
//! starts restore the session from `<store>/session.json` (same device). A recovery key given
//! back (config, env, or the key file) restores the identity on a new store. With
//! `bot.access_token_file` (a server whose accounts MAS owns) the configured token and device
//! replace the password login; the store stays bound to that device.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use matrix_sdk::SessionMeta;
use matrix_sdk::authentication::SessionTokens;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::encryption::{BackupDownloadStrategy, EncryptionSettings};
use matrix_sdk::ruma::DeviceId;
use matrix_sdk::ruma::api::client::uiaa;
use matrix_sdk::{Client, config::RequestConfig};
use tracing::{info, warn};

use crate::config::{Config, Login, Secret};

/// Written last, once cross-signing and recovery are set up and the key is safe; holds the
/// device ID, so a new login (a new device) sets its identity up again.
const SET_UP_MARKER: &str = "identity-set-up";

/// The recovery key's file when `bot.recovery_key_file` is not set: on the store's volume, which
/// the bot can always write (in Docker the config directory is often read-only).
const DEFAULT_RECOVERY_KEY_FILE: &str = "recovery-key";

/// Whether this start logged in anew (a new device) or restored the saved session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    FreshLogin,
    Restored,
}

fn session_file(store: &Path) -> PathBuf {
    store.join("session.json")
}

/// Creates `dir` readable by the bot's user only: it holds the access token and the E2EE keys.
pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    path.with_file_name(tmp_name)
}

/// Writes a secret file with mode 0600, atomically: a temporary file beside it, synced, then
/// renamed over it, so a crash never leaves half a session behind.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = temp_path(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(contents)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Builds the client on the SQLite store and logs in or restores the session.
pub(crate) async fn connect(config: &Config) -> anyhow::Result<(Client, Start)> {
    create_private_dir(&config.store_path)?;
    let client = Client::builder()
        .homeserver_url(config.homeserver_url.as_str())
        // A bot keeps little in memory: the low-memory profile (smaller page cache and pool).
        .sqlite_store_with_config_and_cache_path(
            matrix_sdk::SqliteStoreConfig::with_low_memory_config(
                config.store_path.join("matrix-sdk"),
            ),
            None::<&Path>,
        )
        .with_encryption_settings(EncryptionSettings {
            auto_enable_cross_signing: true,
            auto_enable_backups: true,
            backup_download_strategy: BackupDownloadStrategy::AfterDecryptionFailure,
        })
        .request_config(RequestConfig::new().timeout(std::time::Duration::from_secs(60)))
        // The configured URL is the one to use (often an internal address next to Synapse), not the
        // public one Synapse advertises in its login response.
        .respect_login_well_known(false)
        .build()
        .await
        .context("cannot open the Matrix store")?;

    let file = session_file(&config.store_path);
    if let Login::AccessToken { token, device_id } = &config.login {
        let start = restore_with_token(&client, config, &file, token, device_id).await?;
        return Ok((client, start));
    }
    if let Ok(saved) = std::fs::read_to_string(&file) {
        let session: MatrixSession = serde_json::from_str(&saved)
            .with_context(|| format!("{} is damaged; delete it to log in again", file.display()))?;
        if session.meta.user_id != config.bot_user_id {
            bail!(
                "{} belongs to {}, not to bot.user_id {}; use another store_path",
                file.display(),
                session.meta.user_id,
                config.bot_user_id
            );
        }
        client
            .restore_session(session)
            .await
            .context("cannot restore the saved session")?;
        info!(device = %client.device_id().map(|d| d.to_string()).unwrap_or_default(), "restored the saved session");
        return Ok((client, Start::Restored));
    }

    let Some(password) = config.login.password() else {
        bail!("no password to log in with");
    };
    client
        .matrix_auth()
        .login_username(config.bot_user_id.as_str(), password.expose())
        .initial_device_display_name(&config.device_name)
        .send()
        .await
        .context("login failed: check bot.user_id and the password")?;
    let session = client
        .matrix_auth()
        .session()
        .context("login returned no session")?;
    write_private_file(&file, serde_json::to_string(&session)?.as_bytes())?;
    info!(device = %session.meta.device_id, "logged in with a new device");
    Ok((client, Start::FreshLogin))
}

/// Token login (`bot.access_token_file` + `bot.device_id`): the configured token is used on every
/// start (it may have been replaced since the last one); the store stays bound to its device. The
/// token must belong to `bot.user_id` and to that device, which `whoami` proves before anything
/// else happens. The first start on a store sets the identity up like a fresh password login.
async fn restore_with_token(
    client: &Client,
    config: &Config,
    file: &Path,
    token: &Secret,
    device_id: &DeviceId,
) -> anyhow::Result<Start> {
    let saved: Option<MatrixSession> =
        match std::fs::read_to_string(file) {
            Ok(text) => Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is damaged; delete it to start again", file.display())
            })?),
            Err(_) => None,
        };
    if let Some(saved) = &saved
        && (saved.meta.user_id != config.bot_user_id || saved.meta.device_id != device_id)
    {
        bail!(
            "the store at {} belongs to {} device {}, not to bot.user_id {} device {device_id} (bot.device_id); use another store_path",
            config.store_path.display(),
            saved.meta.user_id,
            saved.meta.device_id,
            config.bot_user_id
        );
    }
    let session = MatrixSession {
        meta: SessionMeta {
            user_id: config.bot_user_id.clone(),
            device_id: device_id.to_owned(),
        },
        tokens: SessionTokens {
            access_token: token.expose().to_owned(),
            refresh_token: None,
        },
    };
    client
        .restore_session(session.clone())
        .await
        .context("cannot use the access token with this store")?;
    let me = client.whoami().await.context(
        "the homeserver does not accept bot.access_token_file's token (expired or revoked? issue a new one)",
    )?;
    if me.user_id != config.bot_user_id || me.device_id.as_deref() != Some(device_id) {
        bail!(
            "bot.access_token_file's token belongs to {} device {}, not to bot.user_id {} device {device_id} (bot.device_id)",
            me.user_id,
            me.device_id.as_deref().map_or("(none)", |d| d.as_str()),
            config.bot_user_id
        );
    }
    if saved.is_some() {
        info!(device = %device_id, "using the configured access token");
        return Ok(Start::Restored);
    }
    // Remembers which device this store belongs to (the token in it is not used again).
    write_private_file(file, serde_json::to_string(&session)?.as_bytes())?;
    info!(device = %device_id, "using the configured access token on a new store");
    Ok(Start::FreshLogin)
}

/// Why the identity could not be set up safely. The start stops: running on would mean a
/// recovery key that exists nowhere.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    #[error(
        "cannot write the recovery key to {} ({source}); {untouched}, so no key is lost. \
         Make that directory writable by the bot's user, or set bot.recovery_key_file to a writable path \
         (by default the key goes to <store_path>/{DEFAULT_RECOVERY_KEY_FILE}), and start again",
        path.display()
    )]
    KeyFileNotWritable {
        path: PathBuf,
        source: std::io::Error,
        /// What was left as it was: "recovery was not enabled", or its key not replaced.
        untouched: &'static str,
    },
    #[error(
        "recovery is enabled, but its key could not be written to {} ({source:#}); \
         fix the file's directory and start again: the next start replaces the key with a new one",
        path.display()
    )]
    KeyNotSaved {
        path: PathBuf,
        source: anyhow::Error,
    },
}

/// Where the recovery key is read from and written to.
pub(crate) fn recovery_key_path(config: &Config) -> PathBuf {
    config
        .recovery_key_file
        .clone()
        .unwrap_or_else(|| config.store_path.join(DEFAULT_RECOVERY_KEY_FILE))
}

/// The key the operator gave back: `bot.recovery_key`, the environment, or the key file (the
/// configured one is read with the config; the default one here).
fn given_recovery_key(config: &Config, key_file: &Path) -> Option<Secret> {
    if config.recovery_key.is_some() || config.recovery_key_file.is_some() {
        return config.recovery_key.clone();
    }
    std::fs::read_to_string(key_file)
        .ok()
        .map(|k| Secret::new(k.trim().to_owned()))
        .filter(|k| !k.expose().is_empty())
}

/// Whether the marker's contents say `device`'s identity is set up.
fn marker_says_set_up(contents: Option<&str>, device: &DeviceId) -> bool {
    contents.is_some_and(|c| c.trim() == device.as_str())
}

/// What the set-up finds before it acts.
#[derive(Debug, Clone, Copy)]
struct IdentityFacts {
    /// The operator gave a recovery key back.
    key_given: bool,
    /// The account has secret storage (recovery) on the server.
    recovery_on_server: bool,
    /// This device holds all the private cross-signing keys (it made or recovered the identity).
    holds_identity: bool,
}

/// The one thing the set-up does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Restore the identity with the given key.
    Recover,
    /// Enable recovery and save its new key.
    Enable,
    /// Recovery exists but its key never reached the file (an earlier start stopped in between):
    /// this device still holds every secret, so a new key replaces the lost one.
    ResetKey,
    /// Another device set recovery up and no key was given: only the operator can help.
    NeedKey,
}

fn next_step(f: IdentityFacts) -> Step {
    match f {
        IdentityFacts {
            key_given: true, ..
        } => Step::Recover,
        IdentityFacts {
            recovery_on_server: false,
            ..
        } => Step::Enable,
        IdentityFacts {
            holds_identity: true,
            ..
        } => Step::ResetKey,
        _ => Step::NeedKey,
    }
}

/// Sets up cross-signing and recovery unless this device's set-up is already marked complete.
/// Stops the start rather than enable recovery with a key that cannot be saved.
pub(crate) async fn set_up_identity(client: &Client, config: &Config) -> anyhow::Result<()> {
    let device = client.device_id().context("no device ID after login")?;
    let marker = config.store_path.join(SET_UP_MARKER);
    let contents = std::fs::read_to_string(&marker).ok();
    if marker_says_set_up(contents.as_deref(), device) {
        return Ok(());
    }
    let encryption = client.encryption();
    encryption.wait_for_e2ee_initialization_tasks().await;
    ensure_cross_signing(client, config).await?;

    let key_file = recovery_key_path(config);
    let given = given_recovery_key(config, &key_file);
    let facts = IdentityFacts {
        key_given: given.is_some(),
        recovery_on_server: encryption
            .secret_storage()
            .is_enabled()
            .await
            .context("cannot read whether the account has recovery")?,
        holds_identity: encryption
            .cross_signing_status()
            .await
            .is_some_and(|s| s.is_complete()),
    };
    let recovery = encryption.recovery();
    match (next_step(facts), given) {
        (Step::Recover, Some(key)) => {
            if let Err(e) = recovery.recover(key.expose()).await {
                warn!(
                    "the recovery key was not accepted ({e}); the bot runs with an unverified device and tries again at the next start"
                );
                return Ok(());
            }
            info!("restored the bot's identity from the recovery key");
        }
        (Step::Enable, _) => {
            check_writable(&key_file, "recovery was not enabled")?;
            let key = recovery.enable().await.context("cannot enable recovery")?;
            hand_over_recovery_key(config, &key_file, &key)?;
        }
        (Step::ResetKey, _) => {
            check_writable(&key_file, "the recovery key was not replaced")?;
            warn!(
                "recovery was enabled by an earlier start that stopped before its key was saved; a new recovery key replaces it"
            );
            let key = recovery
                .reset_key()
                .await
                .context("cannot replace the recovery key")?;
            hand_over_recovery_key(config, &key_file, &key)?;
        }
        (Step::Recover | Step::NeedKey, _) => {
            warn!(
                "this account already has recovery set up, but no recovery key was given: the bot's new device is not verified. \
                 Set bot.recovery_key, bot.recovery_key_file or {} to restore its identity",
                crate::config::RECOVERY_KEY_ENV
            );
            return Ok(());
        }
    }
    write_private_file(&marker, device.as_str().as_bytes())?;
    info!("the bot's identity is set up: cross-signing and recovery");
    Ok(())
}

/// Bootstraps cross-signing if the account has none yet. The login normally does it; a start
/// after a crash right after the login does it here, with the password if Synapse asks for it.
async fn ensure_cross_signing(client: &Client, config: &Config) -> anyhow::Result<()> {
    let encryption = client.encryption();
    let Err(e) = encryption.bootstrap_cross_signing_if_needed(None).await else {
        return Ok(());
    };
    let Some(challenge) = e.as_uiaa_response() else {
        return Err(e).context("cannot set up cross-signing");
    };
    let Some(secret) = config.login.password() else {
        bail!(
            "the homeserver asks for the bot's password to set up cross-signing, and the bot logs in with a token: \
             with MAS, allow a cross-signing reset for the bot's account (mas-cli manage ...) and start again"
        );
    };
    let mut password = uiaa::Password::new(
        uiaa::UserIdentifier::Matrix(uiaa::MatrixUserIdentifier::new(
            config.bot_user_id.to_string(),
        )),
        secret.expose().to_owned(),
    );
    password.session = challenge.session.clone();
    encryption
        .bootstrap_cross_signing(Some(uiaa::AuthData::Password(password)))
        .await
        .context("cannot set up cross-signing")
}

/// Proves the key file can be written (the temporary file beside it, as the real write uses)
/// before recovery is enabled: a key that cannot be saved is never made.
fn check_writable(path: &Path, untouched: &'static str) -> Result<(), IdentityError> {
    let not_writable = |source| IdentityError::KeyFileNotWritable {
        path: path.to_owned(),
        source,
        untouched,
    };
    let tmp = temp_path(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(not_writable)?;
    std::fs::remove_file(&tmp).map_err(not_writable)
}

/// Saves the new key (0600), then shows it on the terminal if there is one: never on a stdout
/// that is a pipe or a container log, and never in the log.
fn hand_over_recovery_key(config: &Config, path: &Path, key: &str) -> Result<(), IdentityError> {
    write_private_file(path, format!("{key}\n").as_bytes()).map_err(|source| {
        IdentityError::KeyNotSaved {
            path: path.to_owned(),
            source,
        }
    })?;
    info!(file = %path.display(), "recovery enabled; the recovery key was written to the file (mode 0600): keep a copy in your password manager");
    let mut stdout = std::io::stdout();
    if stdout.is_terminal() {
        let _ = writeln!(stdout, "{}", terminal_notice(config, path, key));
    }
    Ok(())
}

fn terminal_notice(config: &Config, path: &Path, key: &str) -> String {
    format!(
        "\nRecovery is enabled for {}. Recovery key (shown once here, not logged; also in {}):\n\n    {key}\n\n\
         Keep it in your password manager or secret store. If the bot's store is lost, give it back as\n\
         bot.recovery_key, bot.recovery_key_file or {} to restore the bot's verified identity.\n",
        config.bot_user_id,
        path.display(),
        crate::config::RECOVERY_KEY_ENV
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_up_step_never_makes_a_key_it_cannot_keep_and_never_drops_one_it_was_given() {
        let facts = |key_given, recovery_on_server, holds_identity| IdentityFacts {
            key_given,
            recovery_on_server,
            holds_identity,
        };
        let cases = [
            // A given key always wins: it is how an identity comes back on a new store.
            (facts(true, true, false), Step::Recover),
            (facts(true, true, true), Step::Recover),
            (facts(true, false, false), Step::Recover),
            // Nothing on the server yet: a first start, or one that stopped before enabling.
            (facts(false, false, false), Step::Enable),
            (facts(false, false, true), Step::Enable),
            // Recovery on the server, its key never saved, but this device made the identity.
            (facts(false, true, true), Step::ResetKey),
            // Someone else's recovery and no key: only the operator can give it.
            (facts(false, true, false), Step::NeedKey),
        ];
        for (f, expected) in cases {
            assert_eq!(next_step(f), expected, "{f:?}");
        }
    }

    #[test]
    fn the_marker_counts_only_for_the_device_that_wrote_it() {
        let device: &DeviceId = "ABCDEF".into();
        assert!(marker_says_set_up(Some("ABCDEF"), device));
        assert!(marker_says_set_up(Some("ABCDEF\n"), device));
        assert!(!marker_says_set_up(Some("OTHER"), device), "a new login");
        assert!(!marker_says_set_up(Some(""), device));
        assert!(
            !marker_says_set_up(None, device),
            "a start that stopped early"
        );
    }

    fn config(dir: &Path, extra: &str) -> Config {
        let text = format!(
            "[homeserver]\nurl = \"http://127.0.0.1:1\"\n\n[bot]\nuser_id = \"@bot:example.org\"\npassword = \"pw\"\nstore_path = \"data\"\nrooms = [\"!r:example.org\"]\n{extra}\n"
        );
        Config::parse(&text, &dir.join("bot.toml"), &NoEnv).expect("valid config")
    }

    struct NoEnv;
    impl crate::config::SecretSource for NoEnv {
        fn get(&self, _: &str) -> Option<String> {
            None
        }
    }

    #[test]
    fn the_key_goes_to_the_store_unless_a_file_is_configured_and_is_read_back_from_there() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = config(dir.path(), "");
        let default = dir.path().join("data").join(DEFAULT_RECOVERY_KEY_FILE);
        assert_eq!(recovery_key_path(&c), default);
        assert!(given_recovery_key(&c, &default).is_none());
        std::fs::create_dir_all(default.parent().expect("dir")).expect("mkdir");
        std::fs::write(&default, "EsT1 abcd\n").expect("write");
        assert_eq!(
            given_recovery_key(&c, &default).map(|k| k.expose().to_owned()),
            Some("EsT1 abcd".to_owned())
        );

        let c = config(dir.path(), "recovery_key_file = \"elsewhere\"");
        assert_eq!(recovery_key_path(&c), dir.path().join("elsewhere"));
        assert!(
            given_recovery_key(&c, &recovery_key_path(&c)).is_none(),
            "a configured file is the only one read"
        );
        let c = config(dir.path(), "recovery_key = \"EsT2\"");
        assert_eq!(
            given_recovery_key(&c, &default).map(|k| k.expose().to_owned()),
            Some("EsT2".to_owned())
        );
    }

    #[test]
    fn an_unwritable_key_file_is_found_before_anything_is_enabled() {
        let dir = tempfile::tempdir().expect("tmp");
        // A regular file where a directory should be: unwritable even for root.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "").expect("write");
        let path = blocker.join("recovery-key");
        let e = check_writable(&path, "recovery was not enabled").expect_err("not writable");
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("recovery was not enabled"), "{text}");

        let ok = dir.path().join("recovery-key");
        check_writable(&ok, "recovery was not enabled").expect("writable");
        assert!(
            !ok.exists() && !temp_path(&ok).exists(),
            "the probe leaves nothing"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let c = config(dir.path(), "");
        let path = dir.path().join("key");
        hand_over_recovery_key(&c, &path, "EsT3").expect("written");
        let meta = std::fs::metadata(&path).expect("exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "EsT3\n");
    }
}
