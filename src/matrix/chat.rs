//! The chat port: everything commands, jobs and the pipeline do in a room (reply, react, unreact,
//! edit, send and download files, read members' power levels), as one narrow trait, and its
//! implementation on matrix-sdk.
//!
//! Replies are `m.notice` (HTML + plain) that mention nobody. Nothing over Matrix's 64 KiB event
//! limit is sent: a reply too long for one event goes as a file. Downloads stop at a limit on the
//! bytes actually received, whatever size the sender declared.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::room::RoomMember;
use matrix_sdk::room::reply::{EnforceThread, Reply as ReplyTo};
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::{Annotation, InReplyTo, Reply as RelReply};
use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{
    AddMentions, FileMessageEventContent, MessageType, Relation, ReplacementMetadata,
    RoomMessageEventContent, RoomMessageEventContentWithoutRelation,
};
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, Mentions, MessageLikeEventContent,
    SyncMessageLikeEvent,
};
use matrix_sdk::ruma::{EventId, MxcUri, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomMemberships};
use tracing::{Instrument as _, warn};

use crate::report::{Attachment, Line, Reply};

/// Above this many bytes of text a reply is sent as a file: well under the 65,536-byte event limit,
/// leaving room for encryption and the envelope.
pub(crate) const MAX_INLINE_BYTES: usize = 24_000;

/// Why something could not be sent or fetched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChatError {
    #[error("cannot reach the room: {0}")]
    Matrix(#[from] matrix_sdk::Error),
    #[error("the bot is not in room {0}")]
    NotInRoom(OwnedRoomId),
    #[error("refusing to send secrets into an unencrypted room")]
    Unencrypted,
    #[error("cannot download the file: {0}")]
    Download(String),
    /// More bytes arrived than the limit allows; the download was stopped there.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the send was cancelled (the bot is stopping)")]
    Cancelled,
}

/// What a reply became: its notice, and the files among its attachments that hold secrets (to
/// be redacted later).
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) event_id: OwnedEventId,
    pub(crate) secret_files: Vec<OwnedEventId>,
}

/// A file message the bot was pointed at, with what vouches for it.
#[derive(Debug, Clone)]
pub(crate) struct FileEvent {
    pub(crate) content: FileMessageEventContent,
    pub(crate) sender: OwnedUserId,
    /// The event arrived encrypted (the bot decrypted it), not in the clear.
    pub(crate) encrypted: bool,
}

/// How long a download may take, whatever its size: a stalled server must not hold a command.
const DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What the bot does in rooms. Implemented on matrix-sdk below, and by a recording fake in tests.
#[async_trait]
pub(crate) trait Chat: Send + Sync {
    /// Sends `reply` as a notice in reply to `to`, then its attachments.
    async fn reply(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        reply: &Reply,
    ) -> Result<Sent, ChatError>;
    /// Redacts one of the bot's own messages (a file holding a password, once it is no longer needed).
    async fn redact(&self, room: &RoomId, event: &EventId, reason: &str) -> Result<(), ChatError>;
    /// Reacts to an event; the reaction's ID so it can be taken back. Failures are logged only.
    async fn react(&self, room: &RoomId, to: &EventId, key: &str) -> Option<OwnedEventId>;
    /// Takes back a reaction (the ⏳ while working).
    async fn unreact(&self, room: &RoomId, reaction: &EventId);
    /// Replaces the text of one of the bot's own messages (progress).
    async fn edit(&self, room: &RoomId, original: &EventId, reply: &Reply)
    -> Result<(), ChatError>;
    /// Sends a file; files marked sensitive go only into encrypted rooms.
    async fn send_file(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        file: &Attachment,
    ) -> Result<OwnedEventId, ChatError>;
    /// The file message `id`, if it is one.
    async fn file_event(&self, room: &RoomId, id: &EventId) -> Option<FileEvent>;
    /// Downloads (and decrypts) a file's content, refusing it as soon as more than `limit` bytes
    /// have arrived.
    async fn download(
        &self,
        file: &FileMessageEventContent,
        limit: u64,
    ) -> Result<Vec<u8>, ChatError>;
    /// `user`'s power level in `room` from its current state, if they are joined there; `None`
    /// when they are not, or it cannot be read.
    async fn power_level(&self, room: &RoomId, user: &UserId) -> Option<i64>;
    /// The joined members of `room` with their power levels (empty when it cannot be read).
    async fn joined_members(&self, room: &RoomId) -> Vec<(OwnedUserId, i64)>;
}

fn level_of(member: &RoomMember) -> Option<i64> {
    if *member.membership() != MembershipState::Join {
        return None;
    }
    Some(match member.power_level() {
        UserPowerLevel::Int(level) => level.into(),
        // A room creator (room version 12 on) outranks every number.
        _ => i64::MAX,
    })
}

/// A notice that pings nobody: Element would otherwise highlight names it finds in the text.
fn notice(reply: &Reply) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::notice_html(reply.plain(), reply.html());
    content.mentions = Some(Mentions::new());
    content
}

/// A reply too long for one event: a short notice, the text as a file.
fn split_long(reply: &Reply) -> (Reply, Option<Attachment>) {
    if reply.plain().len() + reply.html().len() <= MAX_INLINE_BYTES {
        return (reply.clone(), None);
    }
    let short = Reply::new(reply.outcome).line(
        Line::new()
            .text("The answer is long: it is attached as ")
            .code("answer.txt"),
    );
    let file = Attachment {
        filename: "answer.txt".into(),
        mime: "text/plain".into(),
        bytes: reply.plain().into_bytes(),
        sensitive: false,
    };
    (short, Some(file))
}

/// The chat port on a logged-in matrix-sdk client.
pub(crate) struct MatrixChat {
    client: Client,
    /// Turns for sending again after matrix-sdk 0.18 panicked on a send (see [`Self::send`]),
    /// and for attachments, one at a time per room.
    send_turns: std::sync::Mutex<HashMap<OwnedRoomId, Arc<tokio::sync::Mutex<()>>>>,
    /// For downloads: matrix-sdk reads a whole file into memory before anyone can look at its
    /// size, so files are fetched here, a chunk at a time.
    http: reqwest::Client,
}

impl MatrixChat {
    pub(crate) fn new(client: Client) -> Self {
        let http = reqwest::Client::builder()
            .timeout(DOWNLOAD_TIMEOUT)
            .user_agent(concat!("syndic/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            client,
            http,
            send_turns: std::sync::Mutex::default(),
        }
    }

    /// Sends a message event; concurrent sends stay concurrent.
    ///
    /// matrix-sdk 0.18's `Room::send` makes sure the room key is shared (rotating a used-up one)
    /// and then encrypts, with nothing held in between: sends racing past a room key's 100th
    /// message make the late ones panic ("Session expired", matrix-sdk-crypto 0.18.0
    /// `session_manager/group_sessions/mod.rs` line 220, reached from matrix-sdk 0.18.0
    /// `room/futures.rs` line 217), and such a reply was lost. The send runs as its own task;
    /// one that panicked is sent again in the room's turn, which shares a fresh key first.
    /// (Holding the turn for every send instead made five admins' burst of commands wait on
    /// one PUT at a time.)
    async fn send<C>(
        &self,
        room: &RoomId,
        joined: &Room,
        content: C,
    ) -> Result<OwnedEventId, ChatError>
    where
        C: MessageLikeEventContent + Clone + Send + Sync + 'static,
    {
        let first = {
            let joined = joined.clone();
            let content = content.clone();
            tokio::spawn(
                async move { joined.send(content).await.map(|r| r.response.event_id) }
                    .instrument(tracing::Span::current()),
            )
            .await
        };
        match first {
            Ok(sent) => Ok(sent?),
            Err(e) if e.is_panic() => {
                warn!(room_id = %room, "matrix-sdk panicked encrypting a message (concurrent sends used up the room key); sending it again");
                let _turn = self.send_turn(room).await;
                Ok(joined.send(content).await?.response.event_id)
            }
            Err(_) => Err(ChatError::Cancelled),
        }
    }

    /// Waits for this room's turn to send (see `send_turns`).
    async fn send_turn(&self, room: &RoomId) -> tokio::sync::OwnedMutexGuard<()> {
        let turn = {
            let mut turns = self
                .send_turns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            turns.entry(room.to_owned()).or_default().clone()
        };
        turn.lock_owned().await
    }

    fn room(&self, id: &RoomId) -> Result<Room, ChatError> {
        self.client
            .get_room(id)
            .ok_or_else(|| ChatError::NotInRoom(id.to_owned()))
    }

    /// The media's bytes as stored on the server (ciphertext for encrypted files), at most
    /// `limit` of them: the authenticated endpoint, or the legacy one on servers without it.
    async fn fetch_bounded(&self, uri: &MxcUri, limit: u64) -> Result<Vec<u8>, ChatError> {
        let (server, media_id) = uri
            .parts()
            .map_err(|e| ChatError::Download(format!("{uri} is not a media URI ({e})")))?;
        let token = self
            .client
            .access_token()
            .ok_or_else(|| ChatError::Download("the bot is not logged in".into()))?;
        let mut response = self
            .get_media(
                &["_matrix", "client", "v1", "media", "download"],
                server.as_str(),
                media_id,
                &token,
            )
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            // Servers before authenticated media (Synapse < 1.110) do not know that path.
            let text = response.text().await.unwrap_or_default();
            if !text.contains("M_UNRECOGNIZED") {
                return Err(ChatError::Download("the server has no such file".into()));
            }
            response = self
                .get_media(
                    &["_matrix", "media", "v3", "download"],
                    server.as_str(),
                    media_id,
                    &token,
                )
                .await?;
        }
        if !response.status().is_success() {
            return Err(ChatError::Download(format!(
                "the server answered {}",
                response.status()
            )));
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(ChatError::TooLarge { limit });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ChatError::Download(e.without_url().to_string()))?
        {
            if exceeds(bytes.len(), chunk.len(), limit) {
                return Err(ChatError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    async fn get_media(
        &self,
        path: &[&str],
        server: &str,
        media_id: &str,
        token: &str,
    ) -> Result<reqwest::Response, ChatError> {
        let mut url = self.client.homeserver();
        url.path_segments_mut()
            .map_err(|()| ChatError::Download("the homeserver URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(path)
            .push(server)
            .push(media_id);
        self.http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| ChatError::Download(e.without_url().to_string()))
    }
}

/// Whether `have` bytes plus a `chunk` more would go over `limit`.
fn exceeds(have: usize, chunk: usize, limit: u64) -> bool {
    let total = u64::try_from(have)
        .unwrap_or(u64::MAX)
        .saturating_add(u64::try_from(chunk).unwrap_or(u64::MAX));
    total > limit
}

/// Decrypts an encrypted attachment and checks its hash: a file the server altered is refused.
fn decrypt(
    ciphertext: Vec<u8>,
    file: &matrix_sdk::ruma::events::room::EncryptedFile,
) -> Result<Vec<u8>, ChatError> {
    use std::io::Read as _;
    let mut cursor = std::io::Cursor::new(ciphertext);
    let mut reader = matrix_sdk_crypto::AttachmentDecryptor::new(&mut cursor, file.clone().into())
        .map_err(|e| ChatError::Download(format!("cannot decrypt it ({e})")))?;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|e| ChatError::Download(format!("cannot decrypt it ({e})")))?;
    Ok(plain)
}

#[async_trait]
impl Chat for MatrixChat {
    async fn reply(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        reply: &Reply,
    ) -> Result<Sent, ChatError> {
        let joined = self.room(room)?;
        let (text, overflow) = split_long(reply);
        let mut content = notice(&text);
        if let Some(to) = to {
            content.relates_to = Some(Relation::Reply(RelReply::new(InReplyTo::new(
                to.to_owned(),
            ))));
        }
        let event_id = self.send(room, &joined, content).await?;
        let mut secret_files = Vec::new();
        for file in overflow.iter().chain(reply.attachments.iter()) {
            let id = self.send_file(room, to, file).await?;
            if file.sensitive {
                secret_files.push(id);
            }
        }
        Ok(Sent {
            event_id,
            secret_files,
        })
    }

    async fn redact(&self, room: &RoomId, event: &EventId, reason: &str) -> Result<(), ChatError> {
        let joined = self.room(room)?;
        joined
            .redact(event, Some(reason), None)
            .await
            .map_err(|e| ChatError::Matrix(e.into()))?;
        Ok(())
    }

    async fn react(&self, room: &RoomId, to: &EventId, key: &str) -> Option<OwnedEventId> {
        let joined = self.room(room).ok()?;
        match joined
            .send(ReactionEventContent::new(Annotation::new(
                to.to_owned(),
                key.to_owned(),
            )))
            .await
        {
            Ok(r) => Some(r.response.event_id),
            Err(e) => {
                warn!("cannot react to {to}: {e}");
                None
            }
        }
    }

    async fn unreact(&self, room: &RoomId, reaction: &EventId) {
        let Ok(joined) = self.room(room) else {
            return;
        };
        if let Err(e) = joined.redact(reaction, None, None).await {
            warn!("cannot remove reaction {reaction}: {e}");
        }
    }

    async fn edit(
        &self,
        room: &RoomId,
        original: &EventId,
        reply: &Reply,
    ) -> Result<(), ChatError> {
        let joined = self.room(room)?;
        let new: RoomMessageEventContentWithoutRelation = notice(reply).into();
        let content = new.make_replacement(ReplacementMetadata::new(original.to_owned(), None));
        self.send(room, &joined, content).await?;
        Ok(())
    }

    async fn send_file(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        file: &Attachment,
    ) -> Result<OwnedEventId, ChatError> {
        let joined = self.room(room)?;
        if file.sensitive && !joined.latest_encryption_state().await?.is_encrypted() {
            return Err(ChatError::Unencrypted);
        }
        let mime: mime::Mime = file.mime.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
        let mut config = AttachmentConfig::new();
        if let Some(to) = to {
            config = config.reply(Some(ReplyTo {
                event_id: to.to_owned(),
                enforce_thread: EnforceThread::MaybeThreaded,
                add_mentions: AddMentions::No,
            }));
        }
        let _turn = self.send_turn(room).await;
        let response = joined
            .send_attachment(file.filename.clone(), &mime, file.bytes.clone(), config)
            .await?;
        Ok(response.event_id)
    }

    async fn file_event(&self, room: &RoomId, id: &EventId) -> Option<FileEvent> {
        let joined = self.room(room).ok()?;
        let event = match joined.event(id, None).await {
            Ok(e) => e,
            Err(e) => {
                warn!("cannot fetch the replied-to event {id}: {e}");
                return None;
            }
        };
        let encrypted = event.encryption_info().is_some();
        match event.raw().deserialize() {
            Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                SyncMessageLikeEvent::Original(m),
            ))) => match m.content.msgtype {
                MessageType::File(f) => Some(FileEvent {
                    content: f,
                    sender: m.sender,
                    encrypted,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    async fn download(
        &self,
        file: &FileMessageEventContent,
        limit: u64,
    ) -> Result<Vec<u8>, ChatError> {
        match &file.source {
            MediaSource::Plain(uri) => self.fetch_bounded(uri, limit).await,
            // AES-CTR: the ciphertext is exactly as long as the file, so the limit holds for both.
            MediaSource::Encrypted(f) => decrypt(self.fetch_bounded(&f.url, limit).await?, f),
        }
    }

    async fn power_level(&self, room: &RoomId, user: &UserId) -> Option<i64> {
        let joined = self.room(room).ok()?;
        match joined.get_member(user).await {
            Ok(member) => member.as_ref().and_then(level_of),
            Err(e) => {
                warn!("cannot read {user}'s power level in {room}: {e}");
                None
            }
        }
    }

    async fn joined_members(&self, room: &RoomId) -> Vec<(OwnedUserId, i64)> {
        let Ok(joined) = self.room(room) else {
            return Vec::new();
        };
        match joined.members(RoomMemberships::JOIN).await {
            Ok(members) => members
                .iter()
                .filter_map(|m| Some((m.user_id().to_owned(), level_of(m)?)))
                .collect(),
            Err(e) => {
                warn!("cannot read the members of {room}: {e}");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_on_the_bytes_received() {
        assert!(!exceeds(0, 10, 10), "exactly the limit is fine");
        assert!(exceeds(10, 1, 10), "one byte more is not");
        assert!(exceeds(0, 11, 10), "nor a single chunk over it");
        assert!(exceeds(usize::MAX, usize::MAX, 10), "no overflow");
    }
}
