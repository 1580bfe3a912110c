//! The floor for any matrix-sdk bot: a minimal bot that answers every `!user …` with a `pong`
//! reply and does nothing else (no Admin API call, no parsing, no store of its own, no filter).
//! `scripts/bench` runs it as its own process (the benchmark binary in `pong-bot` mode) in the
//! same room, right after Syndic, so the two are measured the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::{InReplyTo, Reply};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};
use serde::{Deserialize, Serialize};

/// What the pong bot needs, written by the benchmark as JSON.
#[derive(Serialize, Deserialize)]
pub struct PongConfig {
    pub homeserver: String,
    pub user_id: OwnedUserId,
    pub localpart: String,
    pub password: String,
    pub room_id: OwnedRoomId,
    pub store_path: PathBuf,
}

/// Runs the pong bot until it is killed. Says `: ready` on stderr (the mark
/// [`super::process::BotProcess`] waits for) once it is in the room and synced.
pub async fn run(config: &Path) {
    let text = std::fs::read_to_string(config)
        .unwrap_or_else(|e| panic!("reading {}: {e}", config.display()));
    let config: PongConfig = serde_json::from_str(&text).expect("the pong bot's config");
    let client = Client::builder()
        .homeserver_url(&config.homeserver)
        .sqlite_store(&config.store_path, None)
        .build()
        .await
        .expect("building the pong bot's client");
    client
        .matrix_auth()
        .login_username(&config.localpart, &config.password)
        .initial_device_display_name("pong bot (bench)")
        .await
        .expect("the pong bot's login");
    client
        .join_room_by_id(&config.room_id)
        .await
        .expect("the pong bot joins the room");
    client
        .sync_once(SyncSettings::default())
        .await
        .expect("the pong bot's first sync");
    let own = config.user_id.clone();
    client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
        let own = own.clone();
        async move {
            let MessageType::Text(text) = &event.content.msgtype else {
                return;
            };
            if event.sender == own || !text.body.starts_with("!user ") {
                return;
            }
            let mut reply = RoomMessageEventContent::notice_plain("pong");
            reply.relates_to = Some(Relation::Reply(Reply::new(InReplyTo::new(
                event.event_id.clone(),
            ))));
            let reply = reply.add_mentions(Mentions::new());
            if let Err(e) = room.send(reply).await {
                eprintln!("pong bot: send failed: {e}");
            }
        }
    });
    eprintln!("pong bot {}: ready", config.user_id);
    let settings = SyncSettings::default().timeout(Duration::from_secs(30));
    loop {
        if let Err(e) = client.sync_once(settings.clone()).await {
            eprintln!("pong bot: sync failed (retrying): {e}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
