//! The context every command and job runs in ([`Ctx`]), and where a command came from
//! ([`Origin`]). Below commands and jobs, above the leaves (config, Admin API, store, chat port).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use matrix_sdk::ruma::events::room::message::FileMessageEventContent;
use matrix_sdk::ruma::{
    EventId, OwnedDeviceId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId,
};
use tokio::task::JoinSet;

use crate::admin_api::AdminClient;
use crate::admin_api::accounts::Accounts;
use crate::auth::{Grants, Roles};
use crate::config::Config;
use crate::matrix::chat::{Chat, ChatError};
use crate::report::Reply;
use crate::store::Store;

/// Everything a command or a job needs: configuration, the chat port, the Admin API, the store.
pub(crate) struct Ctx {
    pub(crate) config: Config,
    pub(crate) chat: Arc<dyn Chat>,
    /// Synapse's Admin API: rooms, media, reports, suspension, everything accounts aside.
    pub(crate) admin: AdminClient,
    /// The account operations, sent to whoever owns accounts (Synapse, or MAS).
    pub(crate) accounts: Accounts,
    pub(crate) store: Store,
    /// The bot's own user ID.
    pub(crate) user_id: OwnedUserId,
    /// The configured admin rooms, aliases resolved.
    pub(crate) rooms: HashSet<OwnedRoomId>,
    /// The roles in force: `config.roles` at start, replaced by [`Ctx::replace_roles`] on a
    /// reload.
    roles: std::sync::RwLock<Arc<Roles>>,
    tasks: Mutex<JoinSet<()>>,
}

impl Ctx {
    pub(crate) fn new(
        config: Config,
        chat: Arc<dyn Chat>,
        admin: AdminClient,
        accounts: Accounts,
        store: Store,
        user_id: OwnedUserId,
        rooms: HashSet<OwnedRoomId>,
    ) -> Self {
        let roles = std::sync::RwLock::new(Arc::new(config.roles.clone()));
        Self {
            roles,
            config,
            chat,
            admin,
            accounts,
            store,
            user_id,
            rooms,
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Runs `work` in the background; it is stopped when the bot shuts down.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(work);
    }

    /// Stops every background task (as a crash would: persisted jobs resume on the next start).
    pub(crate) async fn stop_tasks(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        tasks.shutdown().await;
    }

    pub(crate) fn is_admin_room(&self, room: &RoomId) -> bool {
        self.rooms.contains(room)
    }

    /// What `user` may do in `room`: the roles listing them, and those granted by their power
    /// level in the room's current state (only in an admin room, only while joined to it).
    pub(crate) async fn grants(&self, room: &RoomId, user: &UserId) -> Grants {
        let roles = self.roles();
        let level = if roles.by_power_level() && self.is_admin_room(room) {
            self.chat.power_level(room, user).await
        } else {
            None
        };
        roles.of(user, level)
    }

    /// The roles in force now.
    pub(crate) fn roles(&self) -> Arc<Roles> {
        self.roles.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts new roles in force (a reload); every check from now on reads them.
    pub(crate) fn replace_roles(&self, roles: Roles) {
        *self.roles.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(roles);
    }

    /// [`Self::is_admin_room`] for a room ID kept as text (schedules, jobs, command arguments): an
    /// unreadable ID is no admin room.
    pub(crate) fn is_admin_room_id(&self, room_id: &str) -> bool {
        RoomId::parse(room_id).is_ok_and(|r| self.is_admin_room(&r))
    }

    /// Sends a reply; files in it that hold passwords are redacted after `safety.secret_ttl`
    /// (remembered in the store, so a restart does not forget them).
    pub(crate) async fn reply(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        reply: &Reply,
    ) -> Result<OwnedEventId, ChatError> {
        let sent = self.chat.reply(room, to, reply).await?;
        let at = crate::store::now_secs()
            .saturating_add(i64::try_from(self.config.secret_ttl.as_secs()).unwrap_or(i64::MAX));
        for file in &sent.secret_files {
            if let Err(e) = self
                .store
                .add_secret_message(room.as_str(), file.as_str(), at)
            {
                tracing::error!("cannot remember to redact {file}: {e}");
            }
        }
        Ok(sent.event_id)
    }

    /// Redacts the messages holding passwords whose time has come; one that cannot be redacted
    /// now is tried again a minute later.
    pub(crate) async fn redact_due_secrets(&self) {
        let now = crate::store::now_secs();
        let due = match self.store.due_secret_messages(now) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cannot read the messages to redact: {e}");
                return;
            }
        };
        for m in due {
            let (Ok(room), Ok(event)) = (
                RoomId::parse(m.room_id.as_str()),
                EventId::parse(m.event_id.as_str()),
            ) else {
                let _ = self.store.forget_secret_message(&m.event_id);
                continue;
            };
            let done = match self
                .chat
                .redact(&room, &event, "a password shown for a limited time")
                .await
            {
                Ok(()) => self.store.forget_secret_message(&m.event_id),
                Err(e) => {
                    tracing::warn!("cannot redact {event} yet: {e}");
                    self.store.postpone_secret_message(&m.event_id, now + 60)
                }
            };
            if let Err(e) = done {
                tracing::warn!("{e}");
            }
        }
    }
}

/// What made the bot run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A message typed in an admin room.
    Message,
    /// A reaction on a preview.
    Reaction,
    /// A stored schedule, running with its author's permissions; irreversible commands in it were
    /// confirmed once, when it was made.
    Schedule { id: i64 },
}

/// Where a command came from: the room, the sender, the event it answers, and its file.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) room_id: OwnedRoomId,
    pub(crate) sender: OwnedUserId,
    /// The device the sender's encrypted message came from (for the audit trail); none for
    /// reactions and schedules.
    pub(crate) device: Option<OwnedDeviceId>,
    /// The event replies go to: the command, or for a schedule the message that made it.
    pub(crate) event_id: OwnedEventId,
    /// The file the command is about: the message's own attachment, or the file it replies to.
    pub(crate) file: Option<FileMessageEventContent>,
    /// Whether the room is known to be end-to-end encrypted (unknown counts as not: this decides
    /// whether secrets may be sent there).
    pub(crate) room_encrypted: bool,
    pub(crate) trigger: Trigger,
    /// The message's lines after the command line (a list of users, a notice's text).
    pub(crate) body: String,
    /// The command's server timestamp (ms), for the latency metric; none for schedules.
    pub(crate) sent_at_ms: Option<i64>,
}
