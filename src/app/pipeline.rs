//! The path of one command after the gate: normalize → parse → authorize → plan → confirm →
//! execute → report. Each step is a function; this module strings them together, for typed
//! messages and for schedules alike.

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, MessageType, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use tracing::{error, info};

use super::confirmation;
use crate::command::normalize::{CommandLine, Incoming, NormalizeError, normalize};
use crate::command::{Action, COMMANDS, Command, CommandError, Planned, parse};
use crate::context::{Ctx, Origin, Trigger};
use crate::report::{Line, Outcome, Reply};

/// How long a command may work before the admin sees ⏳ on it.
const WORKING_AFTER: Duration = Duration::from_millis(700);

/// A message that passed the gate.
#[derive(Debug, Clone)]
pub(crate) struct MessageIn {
    pub(crate) room_id: OwnedRoomId,
    pub(crate) sender: OwnedUserId,
    pub(crate) event_id: OwnedEventId,
    pub(crate) room_encrypted: bool,
    /// Sent from a session its owner cross-signed (see `matrix::gate::signed_by_owner`).
    pub(crate) device_verified: bool,
    pub(crate) content: RoomMessageEventContent,
}

/// What running a command line came to.
pub(crate) enum Ran {
    /// The answer to send; `working` is the ⏳ reaction to take back.
    Answer {
        reply: Reply,
        working: Option<OwnedEventId>,
    },
    /// A preview was shown and waits for its confirmation: nothing more to send.
    Waiting,
}

impl Ran {
    fn answer(reply: Reply) -> Self {
        Ran::Answer {
            reply,
            working: None,
        }
    }
}

/// A message that passed the gate: a command, or nothing.
pub(crate) async fn on_message(ctx: Arc<Ctx>, msg: MessageIn) {
    let prefix = ctx.config.prefix.clone();
    let (line, own_file) = match &msg.content.msgtype {
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
    match ctx.store.claim_event(msg.event_id.as_str()) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            error!("{e}; not acting on {}", msg.event_id);
            return;
        }
    }
    // A command replying to a file is about that file.
    let replied_file = match (&own_file, &msg.content.relates_to) {
        (None, Some(Relation::Reply(r))) => ctx
            .chat
            .file_event(&msg.room_id, &r.in_reply_to.event_id)
            .await
            .map(|f| f.content),
        _ => None,
    };
    let has_own_file = own_file.is_some();
    let origin = Origin {
        room_id: msg.room_id,
        sender: msg.sender,
        event_id: msg.event_id,
        file: own_file.or(replied_file),
        room_encrypted: msg.room_encrypted,
        trigger: Trigger::Message,
    };
    // A password is not enough: commands (and !confirm) come only from sessions their owner
    // cross-signed. Checked before the command is even read.
    if ctx.config.require_verified_devices && !msg.device_verified {
        info!(sender = %origin.sender, "refused: an unverified session");
        let reply = Reply::error(
            "Verify this session first: in Element, Settings → Sessions → this session → Verify (with another session or your recovery key), then send it again.",
        );
        finish(&ctx, &origin, None, "(unverified session)", reply).await;
        return;
    }
    let line = match line {
        Ok(l) => l,
        Err(e) => {
            let reply = Reply::error(format!("Cannot read that command: {e}."));
            finish(&ctx, &origin, None, "(unreadable)", reply).await;
            return;
        }
    };
    let audit_text = crate::text::clip(&line.argv.join(" "), 200);
    match run(&ctx, &origin, &line.argv, has_own_file).await {
        Ran::Answer { reply, working } => finish(&ctx, &origin, working, &audit_text, reply).await,
        Ran::Waiting => {}
    }
}

/// Parse, authorize, plan, and then answer, preview, or (for a schedule) execute at once.
pub(crate) async fn run(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    argv: &[String],
    has_own_file: bool,
) -> Ran {
    let prefix = &ctx.config.prefix;
    let command = match parse(argv, prefix) {
        Ok(c) => c,
        Err(e) => return Ran::answer(Reply::error(e.message)),
    };
    if has_own_file && !command.info().takes_file {
        return Ran::answer(Reply::error(only_these_take_files(prefix)));
    }
    if let Err(denied) = ctx
        .config
        .roles
        .authorize(&origin.sender, &command.permissions())
    {
        info!(sender = %origin.sender, command = command.name(), "refused: {denied}");
        return Ran::answer(Reply::error(match origin.trigger {
            Trigger::Schedule { .. } => format!("Skipped: {}: {denied}.", origin.sender),
            Trigger::Message | Trigger::Reaction => format!("Refused: {denied}."),
        }));
    }
    let (planned, working) = plan_showing_work(ctx, origin, command).await;
    let planned = match planned {
        Ok(p) => p,
        Err(e) => {
            return Ran::Answer {
                reply: e.into_reply(),
                working,
            };
        }
    };
    let reply = match planned {
        Planned::Done(reply) => reply,
        Planned::DryRun(preview) => preview.line(Line::new().bold("Dry run: nothing was changed.")),
        Planned::Decide { code, approve } => {
            confirmation::decide_by_code(ctx, origin, &code, approve).await
        }
        // A schedule's irreversible command was confirmed once, when the schedule was made.
        Planned::Confirm { action, .. } if matches!(origin.trigger, Trigger::Schedule { .. }) => {
            action
                .execute(ctx, origin)
                .await
                .unwrap_or_else(|e| e.into_reply())
        }
        Planned::Confirm { preview, action } => {
            confirmation::ask(ctx, origin, working, preview, action).await;
            return Ran::Waiting;
        }
    };
    Ran::Answer { reply, working }
}

/// Plans the command; ⏳ only when a typed command makes the admin wait: most answer before it
/// would show.
async fn plan_showing_work(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    command: Command,
) -> (Result<Planned<Action>, CommandError>, Option<OwnedEventId>) {
    let show_working = origin.trigger == Trigger::Message && !command.instant();
    let work = command.plan(ctx, origin);
    tokio::pin!(work);
    if !show_working {
        return (work.await, None);
    }
    tokio::select! {
        planned = &mut work => (planned, None),
        _ = tokio::time::sleep(WORKING_AFTER) => {
            let working = ctx.chat.react(&origin.room_id, &origin.event_id, "⏳").await;
            (work.await, working)
        }
    }
}

fn only_these_take_files(prefix: &str) -> String {
    let names: Vec<String> = COMMANDS
        .iter()
        .filter(|c| c.takes_file)
        .map(|c| format!("{prefix}{}", c.name))
        .collect();
    format!("Only {} takes a file.", names.join(" and "))
}

/// The command a file upload carries: its caption, or `import-users` for a bare `.csv` upload.
fn file_command(
    f: &FileMessageEventContent,
    prefix: &str,
) -> Option<Result<CommandLine, NormalizeError>> {
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
                Ok(CommandLine {
                    argv: vec!["import-users".into()],
                    body: String::new(),
                })
            })
        }
    }
}

/// Report: sends the reply, takes back ⏳, sets the final reaction, records the audit entry.
pub(crate) async fn finish(
    ctx: &Ctx,
    origin: &Origin,
    working: Option<OwnedEventId>,
    audit_text: &str,
    reply: Reply,
) {
    if let Err(e) = ctx
        .chat
        .reply(&origin.room_id, Some(&origin.event_id), &reply)
        .await
    {
        error!("cannot send a reply: {e}");
    }
    if let Some(w) = working {
        ctx.chat.unreact(&origin.room_id, &w).await;
    }
    let mark = match reply.outcome {
        Outcome::Success => "✅",
        Outcome::Failure => "❌",
        Outcome::Pending => "⏳",
    };
    ctx.chat
        .react(&origin.room_id, &origin.event_id, mark)
        .await;
    audit(ctx, origin, audit_text, outcome_name(reply.outcome));
}

pub(crate) fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "ok",
        Outcome::Failure => "failed",
        Outcome::Pending => "pending",
    }
}

pub(crate) fn audit(ctx: &Ctx, origin: &Origin, command: &str, outcome: &str) {
    info!(room = %origin.room_id, sender = %origin.sender, command, outcome, "audit");
    if let Err(e) = ctx.store.audit(
        origin.room_id.as_str(),
        origin.sender.as_str(),
        command,
        outcome,
    ) {
        error!("cannot write the audit record: {e}");
    }
}
