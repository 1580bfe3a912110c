//! Sending: replies as `m.notice` (HTML + plain), reactions, edits of progress messages, files.
//!
//! Nothing over Matrix's 64 KiB event limit is sent: a reply too long for one event goes as a file.

use matrix_sdk::Room;
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::room::reply::{EnforceThread, Reply as ReplyTo};
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::{Annotation, InReplyTo, Reply as RelReply};
use matrix_sdk::ruma::events::room::message::{
    AddMentions, Relation, ReplacementMetadata, RoomMessageEventContent,
    RoomMessageEventContentWithoutRelation,
};
use matrix_sdk::ruma::{EventId, OwnedEventId};
use tracing::warn;

use crate::report::{Attachment, Line, Reply};

/// Above this many bytes of text a reply is sent as a file: well under the 65,536-byte event limit,
/// leaving room for encryption and the envelope.
pub const MAX_INLINE_BYTES: usize = 24_000;

/// Why something could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot send to the room: {0}")]
    Matrix(#[from] matrix_sdk::Error),
    #[error("refusing to send secrets into an unencrypted room")]
    Unencrypted,
}

fn notice(reply: &Reply) -> RoomMessageEventContent {
    RoomMessageEventContent::notice_html(reply.plain(), reply.html())
}

/// Sends `reply` as a notice in reply to `to`, then its attachments. Returns the notice's event ID.
pub async fn send_reply(
    room: &Room,
    to: Option<&EventId>,
    reply: &Reply,
) -> Result<OwnedEventId, SendError> {
    let (text, overflow) = if reply.plain().len() + reply.html().len() > MAX_INLINE_BYTES {
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
    } else {
        (reply.clone(), None)
    };
    let mut content = notice(&text);
    if let Some(to) = to {
        content.relates_to = Some(Relation::Reply(RelReply::new(InReplyTo::new(
            to.to_owned(),
        ))));
    }
    let event_id = room.send(content).await?.response.event_id;
    for file in overflow.iter().chain(reply.attachments.iter()) {
        send_file(room, to, file).await?;
    }
    Ok(event_id)
}

/// Sends a file. Files marked sensitive go only into encrypted rooms.
pub async fn send_file(
    room: &Room,
    to: Option<&EventId>,
    file: &Attachment,
) -> Result<OwnedEventId, SendError> {
    if file.sensitive && !room.latest_encryption_state().await?.is_encrypted() {
        return Err(SendError::Unencrypted);
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
    let response = room
        .send_attachment(file.filename.clone(), &mime, file.bytes.clone(), config)
        .await?;
    Ok(response.event_id)
}

/// Reacts to an event; returns the reaction's ID so it can be taken back.
pub async fn react(room: &Room, to: &EventId, key: &str) -> Option<OwnedEventId> {
    match room
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

/// Takes back a reaction (the ⏳ while working).
pub async fn unreact(room: &Room, reaction: &EventId) {
    if let Err(e) = room.redact(reaction, None, None).await {
        warn!("cannot remove reaction {reaction}: {e}");
    }
}

/// Replaces the text of one of the bot's own messages (progress).
pub async fn edit(room: &Room, original: &EventId, reply: &Reply) -> Result<(), SendError> {
    let new: RoomMessageEventContentWithoutRelation = notice(reply).into();
    let content = new.make_replacement(ReplacementMetadata::new(original.to_owned(), None));
    room.send(content).await?;
    Ok(())
}
