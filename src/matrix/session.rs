//! Login and session restore, end-to-end encryption set-up and recovery.
//!
//! First start: password login, cross-signing bootstrapped, recovery enabled and its key handed to
//! the operator once. Later starts restore the session from `<store>/session.json` (same device).
//! A recovery key given back (config or env) restores the identity on a new store.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::encryption::recovery::RecoveryState;
use matrix_sdk::encryption::{BackupDownloadStrategy, EncryptionSettings};
use matrix_sdk::{Client, config::RequestConfig};
use tracing::{info, warn};

use crate::config::Config;

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

/// Writes a secret file with mode 0600, atomically: a temporary file beside it, synced, then
/// renamed over it, so a crash never leaves half a session behind.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
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

    client
        .matrix_auth()
        .login_username(config.bot_user_id.as_str(), config.password.expose())
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

/// After a fresh login: finish cross-signing, then restore the identity from the recovery key, or
/// enable recovery and hand the new key to the operator once.
pub(crate) async fn set_up_encryption(client: &Client, config: &Config) -> anyhow::Result<()> {
    let encryption = client.encryption();
    encryption.wait_for_e2ee_initialization_tasks().await;
    let recovery = encryption.recovery();
    if let Some(key) = &config.recovery_key {
        match recovery.recover(key.expose()).await {
            Ok(()) => info!("restored the bot's identity from the recovery key"),
            Err(e) => warn!(
                "the recovery key was not accepted ({e}); the bot runs with an unverified device"
            ),
        }
        return Ok(());
    }
    // The state is known once the first sync has run; until then it may say Unknown.
    match recovery.state() {
        RecoveryState::Enabled | RecoveryState::Incomplete => {
            warn!(
                "this account already has recovery set up, but no recovery key was given: the bot's new device is not verified. \
                 Set bot.recovery_key, bot.recovery_key_file or {} to restore its identity",
                crate::config::RECOVERY_KEY_ENV
            );
        }
        RecoveryState::Disabled | RecoveryState::Unknown => {
            let key = recovery.enable().await.context("cannot enable recovery")?;
            hand_over_recovery_key(config, &key)?;
        }
    }
    Ok(())
}

/// The recovery key is shown once: written to `recovery_key_file` when configured, else printed to
/// the terminal (never to the log).
fn hand_over_recovery_key(config: &Config, key: &str) -> anyhow::Result<()> {
    match &config.recovery_key_file {
        Some(path) => {
            write_private_file(path, format!("{key}\n").as_bytes())?;
            info!(file = %path.display(), "recovery enabled; the recovery key was written to the file (mode 0600): keep a copy in your password manager");
        }
        None => {
            println!(
                "\nRecovery is enabled for {}. Recovery key (shown once, not logged):\n\n    {key}\n\n\
                 Keep it in your password manager or secret store. If the bot's store is lost, give it back as\n\
                 bot.recovery_key, bot.recovery_key_file or {} to restore the bot's verified identity.\n",
                config.bot_user_id,
                crate::config::RECOVERY_KEY_ENV
            );
        }
    }
    Ok(())
}
