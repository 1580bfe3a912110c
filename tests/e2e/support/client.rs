//! A human admin using Element, played by a real matrix-sdk client.
//!
//! This file owns [`Human`]: log in (with E2EE and cross-signing; on the MAS-mode Synapse through
//! the stand-in's compat login, as Element does through a real MAS), create encrypted rooms,
//! send what Element sends (pills, HTML, reactions, edits, replies, encrypted files, and a
//! plain-text message injected into an encrypted room to prove the bot ignores it), and
//! observe what arrives (decrypted messages, reactions, edits, downloaded files) with
//! waiting helpers that fail with a summary of what *was* seen.
//!
//! Everything a `Human` spawns (its sync loop) lives on the runtime of the test that created
//! it, so create, use and drop a `Human` within one test.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use matrix_sdk::SessionMeta;
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::authentication::SessionTokens;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::EncryptionInfo;
use matrix_sdk::encryption::EncryptionSettings;
use matrix_sdk::media::MediaEventContent;
use matrix_sdk::ruma::api::client::room::create_room::v3::{
    Request as CreateRoomRequest, RoomPreset,
};
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::events::reaction::{OriginalSyncReactionEvent, ReactionEventContent};
use matrix_sdk::ruma::events::relation::{Annotation, InReplyTo, Reply};
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{
    FileInfo, FileMessageEventContent, MessageType, OriginalSyncRoomMessageEvent, Relation,
    ReplacementMetadata, RoomMessageEventContent, TextMessageEventContent,
};
use matrix_sdk::ruma::events::{InitialStateEvent, Mentions};
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::synapse::{RegisteredUser, Synapse, http_client};

/// Default for every `timeout` argument: generous, CI machines are slow.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The display name of every `Human`'s device.
const DEVICE_DISPLAY_NAME: &str = "Element (syndic e2e)";

/// Anything that names a room: `Room`, `RoomId`, `OwnedRoomId`.
pub trait AsRoomId {
    /// The room's id.
    fn as_room_id(&self) -> &RoomId;
}

impl AsRoomId for Room {
    fn as_room_id(&self) -> &RoomId {
        self.room_id()
    }
}

impl AsRoomId for RoomId {
    fn as_room_id(&self) -> &RoomId {
        self
    }
}

impl AsRoomId for OwnedRoomId {
    fn as_room_id(&self) -> &RoomId {
        self
    }
}

/// A file attached to a received message, downloaded (and decrypted) by the client.
#[derive(Clone, Debug)]
pub struct ReceivedFile {
    /// `filename` if set, else `body` (the spec's rule).
    pub filename: String,
    /// `info.mimetype`, if the sender set it.
    pub mimetype: Option<String>,
    /// The plaintext bytes.
    pub bytes: Vec<u8>,
}

/// An `m.room.message` as the human's client saw it (decrypted if it was encrypted).
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    pub room_id: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: OwnedUserId,
    /// For edits, the new body (`m.new_content`), not the `* …` fallback.
    pub body: String,
    /// The HTML body (for edits, the new one); for media, the formatted caption.
    pub formatted_body: Option<String>,
    /// `m.text`, `m.notice`, `m.file`, …
    pub msgtype: String,
    /// `m.relates_to.m.in_reply_to` (also inside a thread, unless it is a thread fallback).
    pub in_reply_to: Option<OwnedEventId>,
    /// For an edit (`rel_type: m.replace`), the event it replaces.
    pub replaces: Option<OwnedEventId>,
    /// For a message in a thread, the thread root.
    pub thread_root: Option<OwnedEventId>,
    /// `m.mentions.user_ids`.
    pub mentioned_user_ids: Vec<OwnedUserId>,
    /// For `m.file` and `m.image`: the downloaded, decrypted file.
    pub file: Option<ReceivedFile>,
    /// Why downloading the attachment failed, if it did.
    pub file_error: Option<String>,
    /// Whether the event arrived encrypted.
    pub was_encrypted: bool,
    /// The (decrypted) content as JSON, for assertions on anything else.
    pub content: Value,
    /// Synapse's timestamp of the event, in milliseconds.
    pub origin_server_ts: u64,
}

impl ReceivedMessage {
    /// A short line for failure messages.
    fn summary(&self) -> String {
        let mut line = format!(
            "{} {} from {}: {:?}",
            self.event_id,
            self.msgtype,
            self.sender,
            shorten(&self.body)
        );
        if let Some(id) = &self.in_reply_to {
            let _ = write!(line, " (reply to {id})");
        }
        if let Some(id) = &self.replaces {
            let _ = write!(line, " (edit of {id})");
        }
        if !self.was_encrypted {
            line.push_str(" (UNENCRYPTED)");
        }
        line
    }
}

/// An `m.reaction` (annotation) as the human's client saw it.
#[derive(Clone, Debug)]
pub struct ReceivedReaction {
    pub room_id: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: OwnedUserId,
    /// The event reacted to.
    pub relates_to: OwnedEventId,
    /// The emoji (or text) of the reaction.
    pub key: String,
}

/// Everything the human's client observed, in arrival order.
// Few and short-lived: boxing would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Seen {
    Message(ReceivedMessage),
    Reaction(ReceivedReaction),
    /// An encrypted event the client could not decrypt (kept for failure messages).
    Undecryptable {
        room_id: OwnedRoomId,
        event_id: OwnedEventId,
        sender: OwnedUserId,
    },
}

impl Seen {
    fn room_id(&self) -> &RoomId {
        match self {
            Seen::Message(m) => &m.room_id,
            Seen::Reaction(r) => &r.room_id,
            Seen::Undecryptable { room_id, .. } => room_id,
        }
    }

    fn summary(&self) -> String {
        match self {
            Seen::Message(m) => m.summary(),
            Seen::Reaction(r) => format!(
                "{} reaction {:?} from {} to {}",
                r.event_id, r.key, r.sender, r.relates_to
            ),
            Seen::Undecryptable {
                event_id, sender, ..
            } => format!("{event_id} UNDECRYPTABLE from {sender}"),
        }
    }
}

/// A position in a [`Human`]'s log of observed events; waits "after" a mark only look at
/// what arrived later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(usize);

#[derive(Default)]
struct Inbox {
    seen: Mutex<Vec<Seen>>,
    notify: Notify,
}

impl Inbox {
    fn push(&self, seen: Seen) {
        self.seen.lock().expect("inbox lock").push(seen);
        self.notify.notify_waiters();
    }
}

/// A real Matrix client acting as an admin using Element.
pub struct Human {
    /// The underlying client, for anything the helpers don't cover.
    pub client: Client,
    /// The account (its `password` was used to log in; its registration device is unused).
    pub user: RegisteredUser,
    synapse: &'static Synapse,
    inbox: Arc<Inbox>,
    sync_task: JoinHandle<()>,
    _store: TempDir,
}

impl std::fmt::Debug for Human {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Human")
            .field("user_id", &self.user.user_id)
            .finish_non_exhaustive()
    }
}

impl Drop for Human {
    fn drop(&mut self) {
        self.sync_task.abort();
    }
}

impl Human {
    /// Registers a fresh user with a unique localpart starting with `prefix` and logs in.
    pub async fn new(synapse: &'static Synapse, prefix: &str) -> Human {
        let localpart = synapse.unique_localpart(prefix);
        Human::with_localpart(synapse, &localpart).await
    }

    /// Registers a fresh (non-admin) user with exactly this localpart and logs in.
    pub async fn with_localpart(synapse: &'static Synapse, localpart: &str) -> Human {
        let user = synapse
            .register(localpart, &format!("pw-{localpart}"), false)
            .await;
        Human::login(synapse, &user).await
    }

    /// Logs in with the user's password as a new device (E2EE on, cross-signing
    /// bootstrapped), runs a first sync, then keeps syncing in the background. On the
    /// MAS-mode Synapse the password goes to the stand-in's compat login and the client is
    /// given the resulting token and device (`restore_session`), then sets cross-signing up
    /// itself (what matrix-sdk does after a password login).
    pub async fn login(synapse: &'static Synapse, user: &RegisteredUser) -> Human {
        let store = tempfile::Builder::new()
            .prefix("human-")
            .tempdir_in(synapse.scratch_dir())
            .expect("creating a temp dir for the client store");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("building the client's HTTP client");
        let client = Client::builder()
            .homeserver_url(synapse.url())
            .http_client(http)
            .sqlite_store(store.path(), None)
            .with_encryption_settings(EncryptionSettings {
                auto_enable_cross_signing: true,
                ..Default::default()
            })
            .build()
            .await
            .unwrap_or_else(|e| panic!("building a client for {}: {e}", user.user_id));
        match synapse.mas() {
            None => {
                client
                    .matrix_auth()
                    .login_username(&user.localpart, &user.password)
                    .initial_device_display_name(DEVICE_DISPLAY_NAME)
                    .await
                    .unwrap_or_else(|e| panic!("password login of {}: {e}", user.user_id));
                if let Some(token) = client.access_token() {
                    super::secrets::remember(&token);
                }
                client
                    .encryption()
                    .wait_for_e2ee_initialization_tasks()
                    .await;
            }
            Some(mas) => {
                let login = mas
                    .password_login(&user.localpart, &user.password, DEVICE_DISPLAY_NAME)
                    .await;
                let session = MatrixSession {
                    meta: SessionMeta {
                        user_id: OwnedUserId::try_from(login.user_id.as_str())
                            .unwrap_or_else(|e| panic!("bad user ID {}: {e}", login.user_id)),
                        device_id: login.device_id.as_str().into(),
                    },
                    tokens: SessionTokens {
                        access_token: login.access_token,
                        refresh_token: None,
                    },
                };
                client
                    .restore_session(session)
                    .await
                    .unwrap_or_else(|e| panic!("restoring the session of {}: {e}", user.user_id));
                client
                    .encryption()
                    .wait_for_e2ee_initialization_tasks()
                    .await;
                client
                    .encryption()
                    .bootstrap_cross_signing_if_needed(None)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("setting up cross-signing for {}: {e}", user.user_id)
                    });
            }
        }

        let inbox = Arc::new(Inbox::default());
        install_handlers(&client, &inbox);

        // The first sync uploads the device keys; only then can others encrypt for us.
        client
            .sync_once(SyncSettings::default())
            .await
            .unwrap_or_else(|e| panic!("first sync of {}: {e}", user.user_id));
        let sync_client = client.clone();
        let who = user.user_id.clone();
        let sync_task = tokio::spawn(async move {
            // Synapse's default of 10 events per room and sync would skip messages in a burst.
            let mut timeline = matrix_sdk::ruma::api::client::filter::RoomEventFilter::empty();
            timeline.limit = Some(500u32.into());
            let mut filter = matrix_sdk::ruma::api::client::filter::FilterDefinition::empty();
            filter.room.timeline = timeline;
            let settings = SyncSettings::default()
                .timeout(Duration::from_secs(10))
                .filter(
                    matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter::FilterDefinition(
                        filter,
                    ),
                );
            loop {
                if let Err(e) = sync_client.sync_once(settings.clone()).await {
                    if let Some(ErrorKind::UnknownToken(_)) = e.client_api_error_kind() {
                        // Logged out or deactivated (often what the test did on purpose).
                        eprintln!("sync of {who} stopped: its access token is no longer valid");
                        return;
                    }
                    eprintln!("sync of {who} failed (retrying): {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        });

        Human {
            client,
            user: user.clone(),
            synapse,
            inbox,
            sync_task,
            _store: store,
        }
    }

    /// The user's id.
    pub fn user_id(&self) -> OwnedUserId {
        self.client.user_id().expect("logged in").to_owned()
    }

    /// The access token of the logged-in (Element-like) device.
    pub fn access_token(&self) -> String {
        self.client.access_token().expect("logged in")
    }

    /// The client's view of a room it knows (created, joined or invited).
    pub fn room(&self, room: &(impl AsRoomId + ?Sized)) -> Room {
        let room_id = room.as_room_id();
        self.client.get_room(room_id).unwrap_or_else(|| {
            panic!(
                "{} does not know room {room_id} (not created, joined or synced yet)",
                self.user.user_id
            )
        })
    }

    /// Creates a private room with encryption enabled from the start (megolm, like
    /// Element), inviting `invite`.
    pub async fn create_encrypted_room(&self, invite: &[OwnedUserId], name: &str) -> Room {
        let mut request = CreateRoomRequest::new();
        request.preset = Some(RoomPreset::PrivateChat);
        request.name = Some(name.to_owned());
        request.invite = invite.to_vec();
        request.initial_state = vec![
            InitialStateEvent::with_empty_state_key(
                RoomEncryptionEventContent::with_recommended_defaults(),
            )
            .to_raw_any(),
        ];
        self.client
            .create_room(request)
            .await
            .unwrap_or_else(|e| panic!("{} creating room {name:?}: {e}", self.user.user_id))
    }

    /// Creates a private room WITHOUT encryption, inviting `invite` (for tests of what the
    /// bot does in unencrypted rooms).
    pub async fn create_plain_room(&self, invite: &[OwnedUserId], name: &str) -> Room {
        let mut request = CreateRoomRequest::new();
        request.preset = Some(RoomPreset::PrivateChat);
        request.name = Some(name.to_owned());
        request.invite = invite.to_vec();
        self.client
            .create_room(request)
            .await
            .unwrap_or_else(|e| panic!("{} creating room {name:?}: {e}", self.user.user_id))
    }

    /// Invites a user to a room.
    pub async fn invite(&self, room: &(impl AsRoomId + ?Sized), user_id: &UserId) {
        self.room(room)
            .invite_user_by_id(user_id)
            .await
            .unwrap_or_else(|e| panic!("{} inviting {user_id}: {e}", self.user.user_id));
    }

    /// Joins a room by id (works as soon as the server has the invite, before our sync
    /// has seen it).
    pub async fn join(&self, room_id: &RoomId) -> Room {
        self.client
            .join_room_by_id(room_id)
            .await
            .unwrap_or_else(|e| panic!("{} joining {room_id}: {e}", self.user.user_id))
    }

    /// Waits until our client sees `user_id` joined to the room.
    pub async fn wait_for_join(
        &self,
        room: &(impl AsRoomId + ?Sized),
        user_id: &UserId,
        timeout: Duration,
    ) {
        let room_id = room.as_room_id();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(room) = self.client.get_room(room_id)
                && let Ok(Some(member)) = room.get_member_no_sync(user_id).await
                && *member.membership() == MembershipState::Join
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not see {user_id} join {room_id} within {timeout:?}",
                self.user.user_id
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn send(
        &self,
        room: &(impl AsRoomId + ?Sized),
        content: RoomMessageEventContent,
    ) -> OwnedEventId {
        let room = self.room(room);
        room.send(content)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{} sending a message to {}: {e}",
                    self.user.user_id,
                    room.room_id()
                )
            })
            .response
            .event_id
    }

    /// Sends a plain `m.text` message.
    pub async fn send_text(&self, room: &(impl AsRoomId + ?Sized), body: &str) -> OwnedEventId {
        self.send(room, RoomMessageEventContent::text_plain(body))
            .await
    }

    /// Sends an `m.text` with an HTML body.
    pub async fn send_html(
        &self,
        room: &(impl AsRoomId + ?Sized),
        body: &str,
        html: &str,
    ) -> OwnedEventId {
        self.send(room, RoomMessageEventContent::text_html(body, html))
            .await
    }

    /// Sends `before <pill> after` the way Element does when a user is picked from the
    /// autocomplete: `body` has the display name, `formatted_body` a matrix.to link with the
    /// display name as text, and `m.mentions.user_ids` the id.
    pub async fn send_command_with_pill(
        &self,
        room: &(impl AsRoomId + ?Sized),
        text_before: &str,
        user_id: &UserId,
        display_name: &str,
        text_after: &str,
    ) -> OwnedEventId {
        let body = format!("{text_before}{display_name}{text_after}");
        let html = format!(
            "{}<a href=\"https://matrix.to/#/{user_id}\">{}</a>{}",
            html_escape::encode_text(text_before),
            html_escape::encode_text(display_name),
            html_escape::encode_text(text_after),
        );
        let content = RoomMessageEventContent::text_html(body, html)
            .add_mentions(Mentions::with_user_ids([user_id.to_owned()]));
        self.send(room, content).await
    }

    /// Reacts to an event (`m.reaction`, `m.annotation`).
    pub async fn react(
        &self,
        room: &(impl AsRoomId + ?Sized),
        event_id: &EventId,
        key: &str,
    ) -> OwnedEventId {
        let room = self.room(room);
        let content = ReactionEventContent::new(Annotation::new(event_id.to_owned(), key.into()));
        room.send(content)
            .await
            .unwrap_or_else(|e| panic!("{} reacting to {event_id}: {e}", self.user.user_id))
            .response
            .event_id
    }

    /// Edits one of our messages (`m.replace`, with Element's `* ` fallback body).
    pub async fn edit(
        &self,
        room: &(impl AsRoomId + ?Sized),
        event_id: &EventId,
        new_body: &str,
    ) -> OwnedEventId {
        let content = RoomMessageEventContent::text_plain(new_body)
            .make_replacement(ReplacementMetadata::new(event_id.to_owned(), None));
        self.send(room, content).await
    }

    /// Replies to an event like current Element: `m.in_reply_to`, the replied-to sender in
    /// `m.mentions` (if our client has seen that event), no fallback quote.
    pub async fn reply_to(
        &self,
        room: &(impl AsRoomId + ?Sized),
        event_id: &EventId,
        body: &str,
    ) -> OwnedEventId {
        let mut content = RoomMessageEventContent::text_plain(body);
        content.relates_to = Some(Relation::Reply(Reply::new(InReplyTo::new(
            event_id.to_owned(),
        ))));
        if let Some(sender) = self.sender_of(event_id) {
            content = content.add_mentions(Mentions::with_user_ids([sender]));
        }
        self.send(room, content).await
    }

    fn sender_of(&self, event_id: &EventId) -> Option<OwnedUserId> {
        let seen = self.inbox.seen.lock().expect("inbox lock");
        seen.iter().find_map(|s| match s {
            Seen::Message(m) if m.event_id == event_id => Some(m.sender.clone()),
            Seen::Reaction(r) if r.event_id == event_id => Some(r.sender.clone()),
            _ => None,
        })
    }

    /// Uploads and sends a file (encrypted in encrypted rooms). The msgtype follows the MIME
    /// type like Element (`text/csv` → `m.file`, `image/png` → `m.image`). With a caption,
    /// `body` is the caption and `filename` the file name (MSC2530, as current Element).
    pub async fn send_file(
        &self,
        room: &(impl AsRoomId + ?Sized),
        filename: &str,
        bytes: &[u8],
        mime: &str,
        caption: Option<&str>,
    ) -> OwnedEventId {
        let room = self.room(room);
        // Typed by `send_attachment`'s parameter (mime::Mime), without a direct dependency.
        let content_type = mime
            .parse()
            .unwrap_or_else(|e| panic!("bad MIME type {mime:?}: {e}"));
        let mut config = AttachmentConfig::new();
        config.caption = caption.map(TextMessageEventContent::plain);
        room.send_attachment(filename, &content_type, bytes.to_vec(), config)
            .await
            .unwrap_or_else(|e| panic!("{} sending file {filename}: {e}", self.user.user_id))
            .event_id
    }

    /// Sends an encrypted `m.file` (encrypted attachment, encrypted event) whose `info.size`
    /// says `declared_size`, whatever the bytes: a client lying about the size.
    pub async fn send_file_declaring_size(
        &self,
        room: &(impl AsRoomId + ?Sized),
        filename: &str,
        bytes: &[u8],
        declared_size: u32,
    ) -> OwnedEventId {
        let mut reader = std::io::Cursor::new(bytes.to_vec());
        let file = self
            .client
            .upload_encrypted_file(&mut reader)
            .await
            .unwrap_or_else(|e| panic!("{} uploading {filename}: {e}", self.user.user_id));
        let mut info = FileInfo::new();
        info.mimetype = Some("text/csv".into());
        info.size = Some(declared_size.into());
        let content =
            FileMessageEventContent::encrypted(filename.into(), file).info(Box::new(info));
        self.send(
            room,
            RoomMessageEventContent::new(MessageType::File(content)),
        )
        .await
    }

    /// Uploads `bytes` in the clear and sends a plain `m.file` event pointing at it, bypassing
    /// encryption even in an encrypted room. For negative tests: the bot must not read it.
    pub async fn send_unencrypted_file_raw(
        &self,
        room: &(impl AsRoomId + ?Sized),
        filename: &str,
        bytes: &[u8],
    ) -> OwnedEventId {
        let content_type = "text/csv".parse().expect("MIME type");
        let uploaded = self
            .client
            .media()
            .upload(&content_type, bytes.to_vec(), None)
            .await
            .unwrap_or_else(|e| panic!("{} uploading {filename}: {e}", self.user.user_id));
        self.send_raw(
            room,
            "m.room.message",
            &serde_json::json!({
                "msgtype": "m.file",
                "body": filename,
                "url": uploaded.content_uri,
                "info": {"mimetype": "text/csv", "size": bytes.len()},
            }),
        )
        .await
    }

    /// Puts a plain-text `m.room.message` into a room, bypassing encryption even if the room
    /// is encrypted (a raw `PUT /send` with our access token). For negative tests: the bot
    /// must ignore it.
    pub async fn send_unencrypted_raw(
        &self,
        room: &(impl AsRoomId + ?Sized),
        body: &str,
    ) -> OwnedEventId {
        self.send_raw(
            room,
            "m.room.message",
            &serde_json::json!({ "msgtype": "m.text", "body": body }),
        )
        .await
    }

    /// Puts an `m.room.encrypted` event that nobody can decrypt (a megolm session that
    /// doesn't exist) into a room. For negative tests: the bot must survive it.
    pub async fn send_undecryptable(&self, room: &(impl AsRoomId + ?Sized)) -> OwnedEventId {
        let device_id = self.client.device_id().expect("logged in").to_string();
        let content = serde_json::json!({
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEpABqOCAaP6NqXquQcEsrGCVInjRTLHmVH8exxOMhsn8hpbwwJVbBMIdP7KSCqhPAmZ",
            "session_id": "bm9zdWNoc2Vzc2lvbm5vc3VjaHNlc3Npb25ub3N1Y2hzZXM",
            "sender_key": "bm9zdWNoa2V5bm9zdWNoa2V5bm9zdWNoa2V5bm9zdWNoaw",
            "device_id": device_id,
        });
        self.send_raw(room, "m.room.encrypted", &content).await
    }

    /// Sends any event with our access token through the plain client-server API
    /// (`PUT /rooms/{room}/send/{type}/{txn}`), bypassing matrix-sdk (and so encryption).
    pub async fn send_raw(
        &self,
        room: &(impl AsRoomId + ?Sized),
        event_type: &str,
        content: &Value,
    ) -> OwnedEventId {
        let room_id = room.as_room_id();
        let txn_id = format!("raw-{}", self.synapse.unique_localpart("txn"));
        let mut url = self.synapse.url();
        url.path_segments_mut()
            .expect("http URL")
            .pop_if_empty()
            .extend([
                "_matrix",
                "client",
                "v3",
                "rooms",
                room_id.as_str(),
                "send",
                event_type,
                &txn_id,
            ]);
        let response = http_client()
            .put(url.clone())
            .bearer_auth(self.access_token())
            .json(content)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "PUT {url} failed: {status}: {text}");
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("PUT {url}: reply is not JSON ({e}): {text}"));
        let event_id = reply["event_id"]
            .as_str()
            .unwrap_or_else(|| panic!("PUT {url}: no event_id in {reply}"));
        EventId::parse(event_id).unwrap_or_else(|e| panic!("bad event id {event_id:?}: {e}"))
    }

    /// The current end of the log of observed events.
    pub fn mark(&self) -> Mark {
        Mark(self.inbox.seen.lock().expect("inbox lock").len())
    }

    /// Everything observed so far (all rooms), in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.inbox.seen.lock().expect("inbox lock").clone()
    }

    /// All messages observed so far in a room, in arrival order.
    pub fn messages(&self, room: &(impl AsRoomId + ?Sized)) -> Vec<ReceivedMessage> {
        let room_id = room.as_room_id();
        self.seen()
            .into_iter()
            .filter_map(|s| match s {
                Seen::Message(m) if m.room_id == room_id => Some(m),
                _ => None,
            })
            .collect()
    }

    /// The messages observed in a room after `mark`, in arrival order.
    pub fn messages_after(
        &self,
        mark: Mark,
        room: &(impl AsRoomId + ?Sized),
    ) -> Vec<ReceivedMessage> {
        let room_id = room.as_room_id();
        self.seen()
            .into_iter()
            .skip(mark.0)
            .filter_map(|s| match s {
                Seen::Message(m) if m.room_id == room_id => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Waits for a message in the room matching `predicate`, looking at everything observed
    /// since login (so a message that arrived before the call counts).
    pub async fn wait_for_message(
        &self,
        room: &(impl AsRoomId + ?Sized),
        predicate: impl Fn(&ReceivedMessage) -> bool,
        timeout: Duration,
    ) -> ReceivedMessage {
        self.wait_for_message_after(Mark(0), room, predicate, timeout)
            .await
    }

    /// Like [`Self::wait_for_message`], only considering what arrived after `mark`.
    pub async fn wait_for_message_after(
        &self,
        mark: Mark,
        room: &(impl AsRoomId + ?Sized),
        predicate: impl Fn(&ReceivedMessage) -> bool,
        timeout: Duration,
    ) -> ReceivedMessage {
        let room_id = room.as_room_id();
        self.wait_for(mark, room_id, timeout, "a matching message", |s| match s {
            Seen::Message(m) if m.room_id == room_id && predicate(m) => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for a message from someone else that replies to `event_id`.
    pub async fn wait_for_reply_to(
        &self,
        room: &(impl AsRoomId + ?Sized),
        event_id: &EventId,
        timeout: Duration,
    ) -> ReceivedMessage {
        let me = self.user_id();
        let room_id = room.as_room_id();
        let what = format!("a reply to {event_id}");
        self.wait_for(Mark(0), room_id, timeout, &what, |s| match s {
            Seen::Message(m)
                if m.room_id == room_id
                    && m.sender != me
                    && m.in_reply_to.as_deref() == Some(event_id) =>
            {
                Some(m.clone())
            }
            _ => None,
        })
        .await
    }

    /// Waits for a reaction with `key` (from anyone) to `event_id`.
    pub async fn wait_for_reaction(
        &self,
        room: &(impl AsRoomId + ?Sized),
        event_id: &EventId,
        key: &str,
        timeout: Duration,
    ) -> ReceivedReaction {
        let room_id = room.as_room_id();
        let what = format!("a {key:?} reaction to {event_id}");
        self.wait_for(Mark(0), room_id, timeout, &what, |s| match s {
            Seen::Reaction(r)
                if r.room_id == room_id && r.relates_to == event_id && r.key == key =>
            {
                Some(r.clone())
            }
            _ => None,
        })
        .await
    }

    /// Waits `duration` and asserts that no message from `sender` arrived in the room
    /// meanwhile.
    pub async fn assert_no_message_from(
        &self,
        room: &(impl AsRoomId + ?Sized),
        sender: &UserId,
        duration: Duration,
    ) {
        let mark = self.mark();
        self.assert_no_message_from_after(mark, room, sender, duration)
            .await;
    }

    /// Waits `duration` and asserts that no message from `sender` arrived in the room since
    /// `mark` (take the mark before doing what must not get an answer).
    pub async fn assert_no_message_from_after(
        &self,
        mark: Mark,
        room: &(impl AsRoomId + ?Sized),
        sender: &UserId,
        duration: Duration,
    ) {
        tokio::time::sleep(duration).await;
        let room_id = room.as_room_id();
        let seen = self.inbox.seen.lock().expect("inbox lock");
        let unexpected: Vec<String> = seen[mark.0..]
            .iter()
            .filter_map(|s| match s {
                Seen::Message(m) if m.room_id == room_id && m.sender == sender => Some(m.summary()),
                _ => None,
            })
            .collect();
        assert!(
            unexpected.is_empty(),
            "{} expected no message from {sender} in {room_id}, got:\n  {}",
            self.user.user_id,
            unexpected.join("\n  ")
        );
    }

    /// Waits until `find` matches something observed after `mark`; on timeout, panics with
    /// what was observed in the room.
    async fn wait_for<T>(
        &self,
        mark: Mark,
        room_id: &RoomId,
        timeout: Duration,
        what: &str,
        find: impl Fn(&Seen) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inbox.notify.notified();
            tokio::pin!(notified);
            // Register before looking, so a push in between still wakes us.
            notified.as_mut().enable();
            {
                let seen = self.inbox.seen.lock().expect("inbox lock");
                if let Some(found) = seen
                    .get(mark.0..)
                    .unwrap_or_default()
                    .iter()
                    .find_map(&find)
                {
                    return found;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen = self.inbox.seen.lock().expect("inbox lock");
                let in_room: Vec<String> = seen
                    .iter()
                    .filter(|s| s.room_id() == room_id)
                    .map(Seen::summary)
                    .collect();
                panic!(
                    "{} waited {timeout:?} for {what} in {room_id}; it saw there:\n  {}",
                    self.user.user_id,
                    if in_room.is_empty() {
                        "(nothing)".to_owned()
                    } else {
                        in_room.join("\n  ")
                    }
                );
            }
        }
    }
}

/// Feeds every message, reaction and undecryptable event the client syncs into the inbox.
fn install_handlers(client: &Client, inbox: &Arc<Inbox>) {
    let messages = Arc::clone(inbox);
    client.add_event_handler(
        move |event: OriginalSyncRoomMessageEvent,
              room: Room,
              client: Client,
              encryption: Option<EncryptionInfo>| {
            let inbox = Arc::clone(&messages);
            async move {
                let message = received_message(&client, &room, event, encryption.is_some()).await;
                inbox.push(Seen::Message(message));
            }
        },
    );
    let reactions = Arc::clone(inbox);
    client.add_event_handler(move |event: OriginalSyncReactionEvent, room: Room| {
        let inbox = Arc::clone(&reactions);
        async move {
            inbox.push(Seen::Reaction(ReceivedReaction {
                room_id: room.room_id().to_owned(),
                event_id: event.event_id,
                sender: event.sender,
                relates_to: event.content.relates_to.event_id,
                key: event.content.relates_to.key,
            }));
        }
    });
    let undecryptable = Arc::clone(inbox);
    client.add_event_handler(move |event: OriginalSyncRoomEncryptedEvent, room: Room| {
        let inbox = Arc::clone(&undecryptable);
        async move {
            inbox.push(Seen::Undecryptable {
                room_id: room.room_id().to_owned(),
                event_id: event.event_id,
                sender: event.sender,
            });
        }
    });
}

async fn received_message(
    client: &Client,
    room: &Room,
    event: OriginalSyncRoomMessageEvent,
    was_encrypted: bool,
) -> ReceivedMessage {
    let content_json = serde_json::to_value(&event.content).unwrap_or(Value::Null);
    let mut in_reply_to = None;
    let mut replaces = None;
    let mut thread_root = None;
    let mut msgtype = &event.content.msgtype;
    match &event.content.relates_to {
        Some(Relation::Reply(reply)) => in_reply_to = Some(reply.in_reply_to.event_id.clone()),
        Some(Relation::Replacement(replacement)) => {
            replaces = Some(replacement.event_id.clone());
            msgtype = &replacement.new_content.msgtype;
        }
        Some(Relation::Thread(thread)) => {
            thread_root = Some(thread.event_id.clone());
            if !thread.is_falling_back {
                in_reply_to = thread.in_reply_to.as_ref().map(|r| r.event_id.clone());
            }
        }
        _ => {}
    }
    let formatted_body = match msgtype {
        MessageType::Text(c) => c.formatted.as_ref(),
        MessageType::Notice(c) => c.formatted.as_ref(),
        MessageType::Emote(c) => c.formatted.as_ref(),
        MessageType::File(c) => c.formatted.as_ref(),
        MessageType::Image(c) => c.formatted.as_ref(),
        MessageType::Video(c) => c.formatted.as_ref(),
        MessageType::Audio(c) => c.formatted.as_ref(),
        _ => None,
    }
    .map(|f| f.body.clone());

    let (file, file_error) = match msgtype {
        MessageType::File(c) => {
            download(
                client,
                c,
                c.filename(),
                c.info.as_ref().and_then(|i| i.mimetype.clone()),
            )
            .await
        }
        MessageType::Image(c) => {
            download(
                client,
                c,
                c.filename(),
                c.info.as_ref().and_then(|i| i.mimetype.clone()),
            )
            .await
        }
        _ => (None, None),
    };

    ReceivedMessage {
        room_id: room.room_id().to_owned(),
        event_id: event.event_id.clone(),
        sender: event.sender.clone(),
        body: msgtype.body().to_owned(),
        formatted_body,
        msgtype: msgtype.msgtype().to_owned(),
        in_reply_to,
        replaces,
        thread_root,
        mentioned_user_ids: event
            .content
            .mentions
            .as_ref()
            .map(|m| m.user_ids.iter().cloned().collect())
            .unwrap_or_default(),
        file,
        file_error,
        was_encrypted,
        content: content_json,
        origin_server_ts: event.origin_server_ts.get().into(),
    }
}

async fn download(
    client: &Client,
    content: &impl MediaEventContent,
    filename: &str,
    mimetype: Option<String>,
) -> (Option<ReceivedFile>, Option<String>) {
    match client.media().get_file(content, false).await {
        Ok(Some(bytes)) => (
            Some(ReceivedFile {
                filename: filename.to_owned(),
                mimetype,
                bytes,
            }),
            None,
        ),
        Ok(None) => (None, Some("the event has no media source".to_owned())),
        Err(e) => (None, Some(format!("downloading {filename}: {e}"))),
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}
