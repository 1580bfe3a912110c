//! The sync loop: survives homeserver restarts and network errors with backoff (said once in the
//! log, and once more when it recovers); an invalid access token ends it with a clear error.

use std::time::Duration;

use matrix_sdk::Client;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::error::ErrorKind;
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Why the loop ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncEnd {
    #[error(
        "the homeserver no longer accepts the bot's access token (logged out or deactivated?): delete the store's session.json to log in again"
    )]
    InvalidToken,
}

/// Shortest time between two syncs: only matters if a server answered long polls at once.
const MIN_SPACING: Duration = Duration::from_millis(20);

/// Syncs until `shutdown` turns true. Returns an error only for what retrying cannot fix.
///
/// The loop is ours rather than `Client::sync`'s: that one waits a whole second after any sync that
/// returned within a second, which is exactly when a command follows another one.
pub(crate) async fn run(
    client: Client,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SyncEnd> {
    let settings = SyncSettings::default().timeout(Duration::from_secs(30));
    let mut backoff = Duration::from_millis(500);
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        let started = std::time::Instant::now();
        let result = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            result = client.sync_once(settings.clone()) => result,
        };
        match result {
            Ok(_) => {
                crate::metrics::get().sync_ok();
                if let Some(since) = failing_since.take() {
                    info!("sync works again after {:?}", since.elapsed());
                }
                backoff = Duration::from_millis(500);
                if let Some(rest) = MIN_SPACING.checked_sub(started.elapsed()) {
                    tokio::time::sleep(rest).await;
                }
            }
            Err(e) => {
                crate::metrics::get().sync_failed();
                if matches!(e.client_api_error_kind(), Some(ErrorKind::UnknownToken(_))) {
                    error!("{}", SyncEnd::InvalidToken);
                    return Err(SyncEnd::InvalidToken);
                }
                if failing_since.is_none() {
                    warn!("sync failed ({e}); retrying with backoff until the homeserver answers");
                    failing_since = Some(std::time::Instant::now());
                }
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
