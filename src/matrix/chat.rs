//! The chat port: everything commands, jobs and the pipeline do in a room (reply, react, unreact,
//! edit, send and download files, read members' power levels), as one narrow trait, and its
//! implementation on matrix-sdk.
//!
//! Replies are `m.notice` (HTML + plain) that mention nobody. Nothing over Matrix's 64 KiB event
//! limit is sent: a reply too long for one event goes as a file.

use async_trait::async_trait;
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::room::RoomMember;
use matrix_sdk::room::reply::{EnforceThread, Reply as ReplyTo};
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::{Annotation, InReplyTo, Reply as RelReply};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{
    AddMentions, FileMessageEventContent, MessageType, Relation, ReplacementMetadata,
    RoomMessageEventContent, RoomMessageEventContentWithoutRelation,
};
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, Mentions, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomMemberships};
use tracing::warn;

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
}

/// A file message the bot was pointed at.
#[derive(Debug, Clone)]
pub(crate) struct FileEvent {
    pub(crate) content: FileMessageEventContent,
}

/// What the bot does in rooms. Implemented on matrix-sdk below, and by a recording fake in tests.
#[async_trait]
pub(crate) trait Chat: Send + Sync {
    /// Sends `reply` as a notice in reply to `to`, then its attachments; the notice's event ID.
    async fn reply(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        reply: &Reply,
    ) -> Result<OwnedEventId, ChatError>;
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
    /// Downloads (and decrypts) a file's content.
    async fn download(&self, file: &FileMessageEventContent) -> Result<Vec<u8>, ChatError>;
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
}

impl MatrixChat {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    fn room(&self, id: &RoomId) -> Result<Room, ChatError> {
        self.client
            .get_room(id)
            .ok_or_else(|| ChatError::NotInRoom(id.to_owned()))
    }
}

#[async_trait]
impl Chat for MatrixChat {
    async fn reply(
        &self,
        room: &RoomId,
        to: Option<&EventId>,
        reply: &Reply,
    ) -> Result<OwnedEventId, ChatError> {
        let joined = self.room(room)?;
        let (text, overflow) = split_long(reply);
        let mut content = notice(&text);
        if let Some(to) = to {
            content.relates_to = Some(Relation::Reply(RelReply::new(InReplyTo::new(
                to.to_owned(),
            ))));
        }
        let event_id = joined.send(content).await?.response.event_id;
        for file in overflow.iter().chain(reply.attachments.iter()) {
            self.send_file(room, to, file).await?;
        }
        Ok(event_id)
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
        joined.send(content).await?;
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
        match event.raw().deserialize() {
            Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                SyncMessageLikeEvent::Original(m),
            ))) => match m.content.msgtype {
                MessageType::File(f) => Some(FileEvent { content: f }),
                _ => None,
            },
            _ => None,
        }
    }

    async fn download(&self, file: &FileMessageEventContent) -> Result<Vec<u8>, ChatError> {
        self.client
            .media()
            .get_file(file, false)
            .await
            .map_err(|e| ChatError::Download(e.to_string()))?
            .ok_or_else(|| ChatError::Download("the file has no content".into()))
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
