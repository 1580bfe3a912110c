//! The context every command and job runs in ([`Ctx`]), and where a command came from
//! ([`Origin`]). Below commands and jobs, above the leaves (config, Admin API, store, chat port).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use matrix_sdk::ruma::events::room::message::FileMessageEventContent;
use matrix_sdk::ruma::{OwnedDeviceId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use tokio::task::JoinSet;

use crate::admin_api::AdminClient;
use crate::auth::Grants;
use crate::config::Config;
use crate::matrix::chat::Chat;
use crate::store::Store;

/// Everything a command or a job needs: configuration, the chat port, the Admin API, the store.
pub(crate) struct Ctx {
    pub(crate) config: Config,
    pub(crate) chat: Arc<dyn Chat>,
    pub(crate) admin: AdminClient,
    pub(crate) store: Store,
    /// The bot's own user ID.
    pub(crate) user_id: OwnedUserId,
    /// The configured admin rooms, aliases resolved.
    pub(crate) rooms: HashSet<OwnedRoomId>,
    tasks: Mutex<JoinSet<()>>,
}

impl Ctx {
    pub(crate) fn new(
        config: Config,
        chat: Arc<dyn Chat>,
        admin: AdminClient,
        store: Store,
        user_id: OwnedUserId,
        rooms: HashSet<OwnedRoomId>,
    ) -> Self {
        Self {
            config,
            chat,
            admin,
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
        let level = if self.config.roles.by_power_level() && self.is_admin_room(room) {
            self.chat.power_level(room, user).await
        } else {
            None
        };
        self.config.roles.of(user, level)
    }

    /// [`Self::is_admin_room`] for a room ID kept as text (schedules, jobs, command arguments): an
    /// unreadable ID is no admin room.
    pub(crate) fn is_admin_room_id(&self, room_id: &str) -> bool {
        RoomId::parse(room_id).is_ok_and(|r| self.is_admin_room(&r))
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
}
