//! The sync loop: survives homeserver restarts and network errors with backoff (said once in the
//! log, and once more when it recovers); an invalid access token ends it with a clear error.

use std::time::Duration;

use matrix_sdk::Client;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::UserId;
use matrix_sdk::ruma::api::client::filter::{
    Filter, FilterDefinition, LazyLoadOptions, RoomEventFilter,
};
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter as SyncFilter;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::presence::PresenceState;
use tokio::sync::watch;
use tracing::{Instrument, error, info, info_span, warn};

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
    let settings = settings(&client).await.timeout(Duration::from_secs(30));
    let mut backoff = Duration::from_millis(500);
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        let started = std::time::Instant::now();
        let result = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            // "busy" in the span's profile is matrix-sdk processing a response (and the
            // handlers it calls); "idle" is the long poll.
            result = client.sync_once(settings.clone()).instrument(info_span!("sync")) => result,
        };
        match result {
            Ok(response) => {
                crate::metrics::get().sync_ok();
                for (room, update) in &response.rooms.joined {
                    if update.timeline.limited {
                        warn!(room_id = %room, "more than {TIMELINE_LIMIT} events arrived in a room between two syncs: the older ones were skipped, and a command among them is not answered");
                    }
                }
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

/// Events per room and sync. Synapse's default is 10: a burst of commands from several admins
/// between two syncs would come as a gap ("limited"), and the commands in it never be seen.
const TIMELINE_LIMIT: u32 = 200;

/// The name the filter is stored under in matrix-sdk's store; a new definition needs a new name.
const FILTER_NAME: &str = "syndic-sync-v2";

/// What the bot's syncs leave out. Its own events: each reply and reaction would otherwise come
/// back in a sync of its own, which matrix-sdk decrypts and stores for nothing. Presence, typing
/// and read receipts: nothing reads them. Members of a room beyond those the timeline needs:
/// matrix-sdk fetches the whole list itself before it shares a room key.
pub(crate) fn filter(bot: &UserId) -> FilterDefinition {
    let mut timeline = RoomEventFilter::empty();
    timeline.not_senders = vec![bot.to_owned()];
    timeline.limit = Some(TIMELINE_LIMIT.into());
    timeline.lazy_load_options = LazyLoadOptions::Enabled {
        include_redundant_members: false,
    };
    let mut state = RoomEventFilter::empty();
    state.lazy_load_options = LazyLoadOptions::Enabled {
        include_redundant_members: false,
    };
    let mut definition = FilterDefinition::empty();
    definition.presence = Filter::ignore_all();
    definition.room.timeline = timeline;
    definition.room.state = state;
    definition.room.ephemeral = RoomEventFilter::ignore_all();
    definition
}

/// The settings of every sync: the bot's filter (uploaded once, then its ID from the store; sent
/// inline if the upload fails) and presence offline, so the bot's syncs never mark it online.
pub(crate) async fn settings(client: &Client) -> SyncSettings {
    let base = SyncSettings::default().set_presence(PresenceState::Offline);
    let Some(bot) = client.user_id() else {
        return base;
    };
    let definition = filter(bot);
    match client
        .get_or_upload_filter(FILTER_NAME, definition.clone())
        .await
    {
        Ok(id) => base.filter(SyncFilter::FilterId(id)),
        Err(e) => {
            warn!("cannot upload the sync filter ({e}); sending it with every sync");
            base.filter(SyncFilter::FilterDefinition(definition))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_drops_the_bots_own_events_presence_typing_and_receipts() {
        let bot = matrix_sdk::ruma::user_id!("@syndic:example.org");
        let json = serde_json::to_value(filter(bot)).expect("serializes");
        assert_eq!(
            json["room"]["timeline"]["not_senders"],
            serde_json::json!(["@syndic:example.org"])
        );
        assert_eq!(json["room"]["timeline"]["lazy_load_members"], true);
        assert_eq!(json["room"]["timeline"]["limit"], 200);
        assert_eq!(json["room"]["state"]["lazy_load_members"], true);
        // An empty list of types lets nothing through.
        assert_eq!(json["presence"]["types"], serde_json::json!([]));
        assert_eq!(json["room"]["ephemeral"]["types"], serde_json::json!([]));
        // Account data (the bot's secret storage) and other senders' events still come.
        assert!(json.get("account_data").is_none());
        assert!(json["room"]["timeline"].get("senders").is_none());
    }
}
