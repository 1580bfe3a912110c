//! The running bot: start-up (store, login, encryption, rooms, rate limit), the event handlers that
//! feed the pipeline, and shutdown.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use matrix_sdk::deserialized_responses::EncryptionInfo;
use matrix_sdk::event_handler::EventHandlerHandle;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::{MilliSecondsSinceUnixEpoch, OwnedRoomId, OwnedUserId, RoomOrAliasId};
use matrix_sdk::{Client, Room, RoomState};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::admin_api::{
    AdminClient, server::ResolveRoomAlias, users::OverrideRatelimit, users::QueryUser,
};
use crate::config::Config;
use crate::matrix::gate::{EventFacts, Ignored, gate};
use crate::matrix::session::{self, Start};
use crate::matrix::sync;
use crate::pipeline;
use crate::store::Store;

/// Everything a command needs: configuration, the Matrix client, the Admin API, the state store.
pub struct Bot {
    pub config: Config,
    pub client: Client,
    pub admin: AdminClient,
    pub store: Store,
    pub user_id: OwnedUserId,
    /// The configured admin rooms, aliases resolved.
    pub rooms: HashSet<OwnedRoomId>,
    tasks: Mutex<JoinSet<()>>,
}

impl Bot {
    /// Runs `work` in the background; it is stopped when the bot shuts down.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(work);
    }

    pub fn is_admin_room(&self, room: &Room) -> bool {
        self.rooms.contains(room.room_id())
    }
}

/// A started bot. Dropping it does not stop it: call [`BotHandle::shutdown`].
pub struct BotHandle {
    pub bot: Arc<Bot>,
    shutdown: watch::Sender<bool>,
    /// Taken by [`BotHandle::wait`] once it has seen the loop end.
    sync_task: Option<tokio::task::JoinHandle<Result<(), sync::SyncEnd>>>,
    handlers: Vec<EventHandlerHandle>,
}

impl BotHandle {
    /// Waits until the sync loop ends (shutdown or a fatal error).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        let Some(task) = self.sync_task.as_mut() else {
            return Ok(());
        };
        let result = task.await;
        self.sync_task = None;
        result
            .context("the sync task panicked")?
            .map_err(Into::into)
    }

    /// Stops syncing and all work in flight, as a crash would: persisted jobs resume on the next start.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.sync_task {
            let _ = task.await;
        }
        for h in self.handlers {
            self.bot.client.remove_event_handler(h);
        }
        let tasks = std::mem::take(&mut *self.bot.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let mut tasks = tasks;
        tasks.shutdown().await;
        info!("stopped");
    }
}

/// Logs in, sets up encryption, joins the admin rooms and starts syncing and handling commands.
pub async fn start(config: Config) -> anyhow::Result<BotHandle> {
    let (client, start) = session::connect(&config).await?;
    let user_id = client
        .user_id()
        .context("no user ID after login")?
        .to_owned();
    let token = client
        .access_token()
        .context("no access token after login")?;
    let admin = AdminClient::new(config.homeserver_url.clone(), token)
        .context("cannot set up the Admin API client")?;

    match admin
        .send(&QueryUser {
            user_id: user_id.to_string(),
        })
        .await
    {
        Ok(me) if me.admin => {}
        Ok(_) => bail!(
            "{user_id} is not a Synapse server admin: make it one (e.g. synadm user modify --admin, or the Admin API) and start again"
        ),
        Err(e) => bail!("cannot use the Admin API as {user_id}: {e}"),
    }
    // Replies must never be lost to Synapse's message rate limit.
    if let Err(e) = admin
        .send(&OverrideRatelimit {
            user_id: user_id.to_string(),
            messages_per_second: 0,
            burst_count: 0,
        })
        .await
    {
        warn!("cannot lift the bot's own message rate limit ({e}); replies may be delayed");
    }

    let mut rooms = HashSet::new();
    for room in &config.rooms {
        rooms.insert(resolve_room(&admin, room).await?);
    }

    if start == Start::FreshLogin {
        // A new device must not act on history: one sync to catch up, before any handler exists.
        client
            .sync_once(matrix_sdk::config::SyncSettings::default())
            .await
            .context("first sync failed")?;
        session::set_up_encryption(&client, &config).await?;
    }

    let store = Store::open(&config.store_path).context("cannot open the bot's state store")?;
    store
        .prune(7 * 24 * 3600)
        .context("cannot prune the state store")?;

    let bot = Arc::new(Bot {
        config,
        client: client.clone(),
        admin,
        store,
        user_id,
        rooms,
        tasks: Mutex::new(JoinSet::new()),
    });
    join_admin_rooms(&bot).await;

    let handlers = register_handlers(&bot);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let sync_task = tokio::spawn(sync::run(client, shutdown_rx));
    let unfinished = bot
        .store
        .unfinished_jobs()
        .context("cannot read unfinished jobs")?;
    crate::jobs::import::resume_all(&bot, &unfinished);
    crate::jobs::room::resume_all(&bot, &unfinished);
    crate::jobs::schedule::start_runner(&bot);
    info!(rooms = bot.rooms.len(), "ready");
    Ok(BotHandle {
        bot,
        shutdown,
        sync_task: Some(sync_task),
        handlers,
    })
}

async fn resolve_room(admin: &AdminClient, room: &RoomOrAliasId) -> anyhow::Result<OwnedRoomId> {
    match <&matrix_sdk::ruma::RoomId>::try_from(room) {
        Ok(id) => Ok(id.to_owned()),
        Err(alias) => {
            let resolved = admin
                .send(&ResolveRoomAlias {
                    alias: alias.to_string(),
                })
                .await
                .with_context(|| format!("bot.rooms: cannot resolve {alias}"))?;
            OwnedRoomId::try_from(resolved.room_id.as_str())
                .with_context(|| format!("bot.rooms: {alias} resolved to an invalid room ID"))
        }
    }
}

async fn join_admin_rooms(bot: &Bot) {
    for room_id in &bot.rooms {
        let state = bot.client.get_room(room_id).map(|r| r.state());
        if state == Some(RoomState::Joined) {
            continue;
        }
        match bot.client.join_room_by_id(room_id).await {
            Ok(_) => info!(%room_id, "joined admin room"),
            Err(e) => warn!(%room_id, "cannot join admin room yet ({e}); waiting for an invite"),
        }
    }
}

fn register_handlers(bot: &Arc<Bot>) -> Vec<EventHandlerHandle> {
    let client = &bot.client;
    let b = bot.clone();
    let messages = client.add_event_handler(
        move |ev: OriginalSyncRoomMessageEvent, room: Room, enc: Option<EncryptionInfo>| {
            let bot = b.clone();
            async move {
                let facts = facts_for(
                    &bot,
                    &room,
                    &ev.sender,
                    ev.origin_server_ts,
                    is_edit(&ev),
                    enc.is_some(),
                )
                .await;
                if let Err(why) = gate(&facts.as_facts(&bot), bot.config.max_event_age) {
                    log_ignored(&why, ev.event_id.as_str(), ev.sender.as_str());
                    return;
                }
                let bot2 = bot.clone();
                bot.spawn(async move { pipeline::on_message(bot2, room, ev).await });
            }
        },
    );
    let b = bot.clone();
    let reactions = client.add_event_handler(
        move |ev: OriginalSyncReactionEvent, room: Room, enc: Option<EncryptionInfo>| {
            let bot = b.clone();
            async move {
                // Clients (Element, matrix-sdk) send reactions in the clear even in encrypted rooms; the
                // homeserver vouches for their sender, and they only act on the same sender's own previews.
                let _ = enc;
                let facts =
                    facts_for(&bot, &room, &ev.sender, ev.origin_server_ts, false, true).await;
                if let Err(why) = gate(&facts.as_facts(&bot), bot.config.max_event_age) {
                    log_ignored(&why, ev.event_id.as_str(), ev.sender.as_str());
                    return;
                }
                let bot2 = bot.clone();
                bot.spawn(async move { pipeline::on_reaction(bot2, room, ev).await });
            }
        },
    );
    let b = bot.clone();
    let invites = client.add_event_handler(move |ev: StrippedRoomMemberEvent, room: Room| {
        let bot = b.clone();
        async move {
            if ev.state_key != bot.user_id || room.state() != RoomState::Invited {
                return;
            }
            if !bot.is_admin_room(&room) {
                info!(room_id = %room.room_id(), inviter = %ev.sender, "ignoring an invite to a room that is not an admin room");
                return;
            }
            bot.spawn(async move {
                // Synapse may not have finished processing the invite when it reaches us: retry briefly.
                for attempt in 1..=5u32 {
                    match room.join().await {
                        Ok(()) => {
                            info!(room_id = %room.room_id(), "accepted the invite to an admin room");
                            return;
                        }
                        Err(e) => {
                            warn!(room_id = %room.room_id(), "joining failed ({e}), attempt {attempt}");
                            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                        }
                    }
                }
            });
        }
    });
    let b = bot.clone();
    let undecryptable = client.add_event_handler(move |ev: OriginalSyncRoomEncryptedEvent, room: Room| {
        let bot = b.clone();
        async move {
            if bot.is_admin_room(&room) && ev.sender != bot.user_id {
                // The message handler is not called again when the key arrives later; say so, do nothing.
                warn!(event_id = %ev.event_id, sender = %ev.sender, "could not decrypt a message in an admin room; ignoring it");
            }
        }
    });
    vec![messages, reactions, invites, undecryptable]
}

fn is_edit(ev: &OriginalSyncRoomMessageEvent) -> bool {
    matches!(
        ev.content.relates_to,
        Some(matrix_sdk::ruma::events::room::message::Relation::Replacement(_))
    )
}

/// Owned facts about an event, gathered before [`gate`] judges it.
struct OwnedFacts {
    sender: OwnedUserId,
    in_admin_room: bool,
    is_edit: bool,
    age: Duration,
    room_encrypted: bool,
    event_encrypted: bool,
    sender_has_role: bool,
}

impl OwnedFacts {
    fn as_facts<'a>(&'a self, bot: &'a Bot) -> EventFacts<'a> {
        EventFacts {
            sender: &self.sender,
            bot: &bot.user_id,
            in_admin_room: self.in_admin_room,
            is_edit: self.is_edit,
            age: self.age,
            room_encrypted: self.room_encrypted,
            event_encrypted: self.event_encrypted,
            sender_has_role: self.sender_has_role,
        }
    }
}

async fn facts_for(
    bot: &Bot,
    room: &Room,
    sender: &matrix_sdk::ruma::UserId,
    ts: MilliSecondsSinceUnixEpoch,
    is_edit: bool,
    event_encrypted: bool,
) -> OwnedFacts {
    let now = MilliSecondsSinceUnixEpoch::now().get();
    let age = Duration::from_millis(u64::from(now.saturating_sub(ts.get())));
    // Fail closed: if the room's encryption state cannot be read, treat the room as encrypted.
    let room_encrypted = room
        .latest_encryption_state()
        .await
        .map(|s| s.is_encrypted())
        .unwrap_or(true);
    OwnedFacts {
        sender: sender.to_owned(),
        in_admin_room: bot.is_admin_room(room),
        is_edit,
        age,
        room_encrypted,
        event_encrypted,
        sender_has_role: bot.config.roles.has_any_role(sender),
    }
}

fn log_ignored(why: &Ignored, event_id: &str, sender: &str) {
    match why {
        Ignored::TooOld(age) => {
            info!(event_id, sender, age = ?age, "ignoring an event older than bot.max_event_age")
        }
        Ignored::Unencrypted => warn!(
            event_id,
            sender, "ignoring an unencrypted event in an encrypted admin room"
        ),
        Ignored::OtherRoom | Ignored::OwnEvent | Ignored::Edit | Ignored::NoRole => {
            debug!(event_id, sender, ?why, "ignored")
        }
    }
}
