//! The path of one message after the gate: normalize → parse → authorize → plan → confirm →
//! execute → report. Each step is a function; this module only strings them together.

use std::sync::Arc;

use matrix_sdk::Room;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::{EventId, OwnedEventId, UserId};
use tracing::{error, info, warn};

use crate::bot::Bot;
use crate::command::normalize::{Incoming, normalize};
use crate::command::{self, Command, Planned, parse};
use crate::confirm::{ConfirmError, Key, Pending, new_code};
use crate::matrix::send::{react, send_reply, unreact};
use crate::report::{Line, Outcome, Reply};
use crate::store::now_secs;

/// Reaction keys that confirm or drop a preview. Clients may add a variation selector.
const CONFIRM_KEYS: &[&str] = &["✅", "✔", "👍"];
const CANCEL_KEYS: &[&str] = &["❌", "✖", "👎"];

/// How long a command may work before the admin sees ⏳ on it.
const WORKING_AFTER: std::time::Duration = std::time::Duration::from_millis(700);

/// Where a command came from.
pub struct Origin<'a> {
    pub room: &'a Room,
    pub sender: &'a UserId,
    pub event_id: &'a EventId,
    /// The file the command is about: the message's own attachment, or the file it replies to.
    pub file: Option<&'a FileMessageEventContent>,
}

/// A message that passed the gate.
pub async fn on_message(bot: Arc<Bot>, room: Room, ev: OriginalSyncRoomMessageEvent) {
    let prefix = bot.config.prefix.clone();
    let (line, own_file) = match &ev.content.msgtype {
        MessageType::Text(t) => match normalize(
            Incoming {
                body: &t.body,
                formatted_body: t.formatted.as_ref().map(|f| f.body.as_str()),
            },
            &prefix,
        ) {
            Some(line) => (line, None),
            None => return,
        },
        MessageType::File(f) => match file_command(f, &prefix) {
            Some(line) => (line, Some(f.clone())),
            None => return,
        },
        // Notices are what bots send: never commands.
        _ => return,
    };
    match bot.store.claim_event(ev.event_id.as_str()) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            error!("{e}; not acting on {}", ev.event_id);
            return;
        }
    }
    // A command replying to a file is about that file.
    let replied_file = match (&own_file, &ev.content.relates_to) {
        (None, Some(Relation::Reply(r))) => replied_file(&room, &r.in_reply_to.event_id).await,
        _ => None,
    };
    let origin = Origin {
        room: &room,
        sender: &ev.sender,
        event_id: &ev.event_id,
        file: own_file.as_ref().or(replied_file.as_ref()),
    };
    let line = match line {
        Ok(l) => l,
        Err(e) => {
            finish(
                &bot,
                &origin,
                None,
                "(unreadable)",
                Reply::error(format!("Cannot read that command: {e}.")),
            )
            .await;
            return;
        }
    };
    let audit_text: String = line.argv.join(" ").chars().take(200).collect();
    let command = match parse(&line.argv, &bot.config.prefix) {
        Ok(c) if own_file.is_some() && !matches!(c, Command::ImportUsers { .. }) => {
            finish(
                &bot,
                &origin,
                None,
                &audit_text,
                Reply::error(format!("Only {prefix}import-users takes a file.")),
            )
            .await;
            return;
        }
        Ok(c) => c,
        Err(e) => {
            finish(&bot, &origin, None, &audit_text, Reply::error(e.message)).await;
            return;
        }
    };
    if let Err(denied) = bot
        .config
        .roles
        .authorize(&ev.sender, &command.required_permissions())
    {
        info!(sender = %ev.sender, command = %audit_text, "refused: {denied}");
        finish(
            &bot,
            &origin,
            None,
            &audit_text,
            Reply::error(format!("Refused: {denied}.")),
        )
        .await;
        return;
    }
    let does_io = command.does_io();
    let work = async {
        match command {
            Command::Confirm { code } => Planned::Done(
                decide(&bot, &origin, Key::Code(&code), true)
                    .await
                    .unwrap_or_else(|| Reply::error("Unknown code.")),
            ),
            Command::Cancel { code } => Planned::Done(
                decide(&bot, &origin, Key::Code(&code), false)
                    .await
                    .unwrap_or_else(|| Reply::error("Unknown code.")),
            ),
            other => command::plan(&bot, &origin, other).await,
        }
    };
    // ⏳ only when the admin would otherwise wait: most commands answer before it would show.
    tokio::pin!(work);
    let (planned, working) = if does_io {
        tokio::select! {
            planned = &mut work => (planned, None),
            _ = tokio::time::sleep(WORKING_AFTER) => {
                let working = react(&room, &ev.event_id, "⏳").await;
                (work.await, working)
            }
        }
    } else {
        (work.await, None)
    };
    let reply = match planned {
        Planned::Done(reply) => reply,
        Planned::Confirm {
            preview,
            dry_run: true,
            ..
        } => preview.line(Line::new().bold("Dry run: nothing was changed.")),
        Planned::Confirm {
            preview,
            action,
            dry_run: false,
        } => {
            return ask_confirmation(&bot, &origin, working, &audit_text, preview, action).await;
        }
    };
    finish(&bot, &origin, working, &audit_text, reply).await;
}

/// The command a file upload carries: its caption, or `import-users` for a bare `.csv` upload.
fn file_command(
    f: &FileMessageEventContent,
    prefix: &str,
) -> Option<Result<crate::command::normalize::CommandLine, crate::command::normalize::NormalizeError>>
{
    // Current clients put a caption in `body` and the name in `filename`; older ones only the name.
    let caption = f
        .filename
        .as_ref()
        .filter(|name| **name != f.body)
        .map(|_| f.body.as_str());
    match caption {
        Some(text) => normalize(
            Incoming {
                body: text,
                formatted_body: f.formatted.as_ref().map(|x| x.body.as_str()),
            },
            prefix,
        ),
        None => {
            let name = f
                .filename
                .as_deref()
                .unwrap_or(&f.body)
                .to_ascii_lowercase();
            let mime_csv = f
                .info
                .as_ref()
                .and_then(|i| i.mimetype.as_deref())
                .is_some_and(|m| m == "text/csv");
            (name.ends_with(".csv") || mime_csv).then(|| {
                Ok(crate::command::normalize::CommandLine {
                    argv: vec!["import-users".into()],
                    body: String::new(),
                })
            })
        }
    }
}

/// The file content of the event `id`, if it is a file message.
async fn replied_file(room: &Room, id: &EventId) -> Option<FileMessageEventContent> {
    let event = match room.event(id, None).await {
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
            MessageType::File(f) => Some(f),
            _ => None,
        },
        _ => None,
    }
}

/// Stores the pending action and shows the preview with its code.
async fn ask_confirmation(
    bot: &Arc<Bot>,
    origin: &Origin<'_>,
    working: Option<OwnedEventId>,
    audit_text: &str,
    preview: Reply,
    action: command::Action,
) {
    let code = new_code();
    let timeout = bot.config.confirm_timeout.as_secs();
    let within = if timeout.is_multiple_of(60) {
        format!("{} min", timeout / 60)
    } else {
        crate::units::format_age(bot.config.confirm_timeout)
    };
    let now = now_secs();
    let pending = Pending {
        code: code.clone(),
        room_id: origin.room.room_id().to_owned(),
        sender: origin.sender.to_owned(),
        command_event_id: origin.event_id.to_owned(),
        preview_event_id: None,
        action,
        created_at: now,
        expires_at: now + bot.config.confirm_timeout.as_secs() as i64,
    };
    if let Err(e) = bot.store.insert_pending(&pending) {
        finish(
            bot,
            origin,
            working,
            audit_text,
            Reply::error(e.to_string()),
        )
        .await;
        return;
    }
    let prefix = &bot.config.prefix;
    let preview = preview
        .with_outcome(Outcome::Pending)
        .line(
            Line::new()
                .text("React ✅ or send ")
                .code(format!("{prefix}confirm {code}"))
                .text(format!(" within {within} to go ahead.")),
        )
        .line(
            Line::new()
                .text("❌ or ")
                .code(format!("{prefix}cancel {code}"))
                .text(" drops it."),
        );
    if let Some(w) = working {
        unreact(origin.room, &w).await;
    }
    match send_reply(origin.room, Some(origin.event_id), &preview).await {
        Ok(preview_id) => {
            if let Err(e) = bot.store.attach_preview(&code, preview_id.as_str()) {
                warn!("{e}: ✅ on the preview will not work, !confirm will");
            }
            audit(bot, origin, audit_text, "previewed");
        }
        Err(e) => error!("cannot send a preview: {e}"),
    }
}

/// `!confirm`/`!cancel` and ✅/❌: the same sender, the same room, in time.
async fn decide(bot: &Arc<Bot>, origin: &Origin<'_>, key: Key<'_>, confirm: bool) -> Option<Reply> {
    let silent_when_unknown = matches!(key, Key::Preview(_));
    let taken = bot.store.take_pending(
        key,
        origin.sender.as_str(),
        origin.room.room_id().as_str(),
        now_secs(),
    );
    let pending = match taken {
        Ok(p) => p,
        // People react ✅ to many things: only reactions on a pending preview get an answer.
        Err(ConfirmError::Unknown(_)) if silent_when_unknown => return None,
        Err(e) => return Some(Reply::error(confirm_error_text(&e))),
    };
    if !confirm {
        // A cancelled import leaves no stored rows (and no passwords) behind.
        if let Some(job) = pending.action.job_id()
            && let Err(e) = bot.store.delete_job(job)
        {
            error!("{e}");
        }
        react(origin.room, &pending.command_event_id, "🚫").await;
        return Some(Reply::ok(format!(
            "Cancelled {}: nothing was changed.",
            pending.code
        )));
    }
    info!(sender = %origin.sender, code = %pending.code, action = ?pending.action, "confirmed");
    let reply = command::execute(
        bot,
        &command_origin(origin, &pending),
        pending.action.clone(),
    )
    .await;
    let mark = if reply.outcome == Outcome::Failure {
        "❌"
    } else {
        "✅"
    };
    react(origin.room, &pending.command_event_id, mark).await;
    Some(reply)
}

/// A confirmed action runs as the command that asked for it: jobs it starts report under that command.
fn command_origin<'a>(confirmation: &Origin<'a>, pending: &'a Pending) -> Origin<'a> {
    Origin {
        room: confirmation.room,
        sender: &pending.sender,
        event_id: &pending.command_event_id,
        file: None,
    }
}

fn confirm_error_text(e: &ConfirmError) -> String {
    let mut text = e.to_string();
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text + "."
}

/// A reaction that passed the gate: ✅ or ❌ on a preview.
pub async fn on_reaction(bot: Arc<Bot>, room: Room, ev: OriginalSyncReactionEvent) {
    let key = ev.content.relates_to.key.trim_end_matches('\u{FE0F}');
    let confirm = if CONFIRM_KEYS.contains(&key) {
        true
    } else if CANCEL_KEYS.contains(&key) {
        false
    } else {
        return;
    };
    let preview = ev.content.relates_to.event_id.as_str();
    // People react ✅ to many things: only reactions on a pending preview matter, and they are
    // claimed like commands so a replay never confirms twice.
    match bot.store.claim_event(ev.event_id.as_str()) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            error!("{e}; not acting on {}", ev.event_id);
            return;
        }
    }
    let origin = Origin {
        room: &room,
        sender: &ev.sender,
        event_id: &ev.event_id,
        file: None,
    };
    let Some(reply) = decide(&bot, &origin, Key::Preview(preview), confirm).await else {
        return;
    };
    let audit_text = if confirm {
        "✅ reaction"
    } else {
        "❌ reaction"
    };
    audit(&bot, &origin, audit_text, outcome_name(reply.outcome));
    // Answer on the preview, where the admin reacted.
    let to = ev.content.relates_to.event_id.clone();
    if let Err(e) = send_reply(&room, Some(&to), &reply).await {
        error!("cannot send a reply: {e}");
    }
}

/// Sends the reply, sets the final reaction, records the audit entry.
async fn finish(
    bot: &Bot,
    origin: &Origin<'_>,
    working: Option<OwnedEventId>,
    audit_text: &str,
    reply: Reply,
) {
    if let Err(e) = send_reply(origin.room, Some(origin.event_id), &reply).await {
        error!("cannot send a reply: {e}");
    }
    if let Some(w) = working {
        unreact(origin.room, &w).await;
    }
    let mark = match reply.outcome {
        Outcome::Success => "✅",
        Outcome::Failure => "❌",
        Outcome::Pending => "⏳",
    };
    react(origin.room, origin.event_id, mark).await;
    audit(bot, origin, audit_text, outcome_name(reply.outcome));
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "ok",
        Outcome::Failure => "failed",
        Outcome::Pending => "pending",
    }
}

fn audit(bot: &Bot, origin: &Origin<'_>, command: &str, outcome: &str) {
    info!(room = %origin.room.room_id(), sender = %origin.sender, command, outcome, "audit");
    if let Err(e) = bot.store.audit(
        origin.room.room_id().as_str(),
        origin.sender.as_str(),
        command,
        outcome,
    ) {
        error!("cannot write the audit record: {e}");
    }
}
