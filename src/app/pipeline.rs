//! The path of one command after the gate: normalize → parse → authorize → plan → confirm →
//! execute → report. Each step is a function; this module strings them together, for typed
//! messages and for schedules alike.

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, MessageType, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedDeviceId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use tracing::{Instrument as _, error, info};

use super::confirmation;
use crate::command::normalize::{CommandLine, Incoming, NormalizeError, normalize};
use crate::command::{Action, COMMANDS, Command, CommandError, Planned, Risk, parse};
use crate::context::{Ctx, Origin, Trigger};
use crate::matrix::chat::FileEvent;
use crate::matrix::gate::{FileFacts, FileRefused, file_gate};
use crate::report::{Line, Outcome, Reply};
use crate::store::{Decision, NewAudit};

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
    /// Its server timestamp (ms).
    pub(crate) sent_at_ms: Option<i64>,
}

/// Longest command line and outcome text kept in the audit trail.
const AUDIT_CLIP: usize = 200;

/// What running a command line came to.
pub(crate) enum Ran {
    /// The answer to send; `working` is the ⏳ reaction to take back. `command` (the line as the
    /// audit trail keeps it) and `decision` are for the audit row.
    Answer {
        reply: Reply,
        working: Option<OwnedEventId>,
        command: String,
        decision: Decision,
        /// Which outcome gets a reaction on the command.
        mark: Mark,
    },
    /// A preview was shown and waits for its confirmation (audited as previewed): nothing more
    /// to send.
    Waiting,
}

/// A message that passed the gate, from no known device (the in-process tests).
#[cfg(test)]
pub(crate) async fn on_message(ctx: Arc<Ctx>, msg: MessageIn) {
    on_message_from(ctx, msg, None).await;
}

/// A message that passed the gate, sent from `device`: a command, or nothing.
pub(crate) async fn on_message_from(ctx: Arc<Ctx>, msg: MessageIn, device: Option<OwnedDeviceId>) {
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
    let claimed =
        tracing::info_span!("claim").in_scope(|| ctx.store.claim_event(msg.event_id.as_str()));
    match claimed {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            error!("{e}; not acting on {}", msg.event_id);
            return;
        }
    }
    // A command replying to a file is about that file.
    let replied_file = match (&own_file, &msg.content.relates_to) {
        (None, Some(Relation::Reply(r))) => {
            ctx.chat
                .file_event(&msg.room_id, &r.in_reply_to.event_id)
                .await
        }
        _ => None,
    };
    let (file, file_in) = vouch_for_file(&ctx, &msg, own_file, replied_file).await;
    let mut origin = Origin {
        room_id: msg.room_id,
        sender: msg.sender,
        device,
        event_id: msg.event_id,
        file,
        room_encrypted: msg.room_encrypted,
        trigger: Trigger::Message,
        body: String::new(),
        sent_at_ms: msg.sent_at_ms,
    };
    // A password is not enough: commands (and !confirm) come only from sessions their owner
    // cross-signed. Checked before the command is even read.
    if ctx.config.require_verified_devices && !msg.device_verified {
        info!(sender = %origin.sender, "refused: an unverified session");
        let reply = Reply::error(
            "Verify this session first: in Element, Settings → Sessions → this session → Verify (with another session or your recovery key), then send it again.",
        );
        finish(
            &ctx,
            &origin,
            None,
            "(unverified session)",
            Decision::Refused,
            reply,
            Mark::Always,
        )
        .await;
        return;
    }
    let line = match line {
        Ok(l) => l,
        Err(e) => {
            let reply = Reply::error(format!("Cannot read that command: {e}."));
            finish(
                &ctx,
                &origin,
                None,
                "(unreadable)",
                Decision::Refused,
                reply,
                Mark::Always,
            )
            .await;
            return;
        }
    };
    origin.body = line.body;
    match run(&ctx, &origin, &line.argv, file_in).await {
        Ran::Answer {
            reply,
            working,
            command,
            decision,
            mark,
        } => finish(&ctx, &origin, working, &command, decision, reply, mark).await,
        Ran::Waiting => {}
    }
}

/// Parse, authorize, plan, and then answer, preview, or (for a schedule) execute at once.
pub(crate) async fn run(ctx: &Arc<Ctx>, origin: &Origin, argv: &[String], file: FileIn) -> Ran {
    let prefix = &ctx.config.prefix;
    let line = audit_line(argv, origin.file.as_ref());
    let answer = |reply: Reply, working, decision| Ran::Answer {
        reply,
        working,
        command: line.clone(),
        decision,
        mark: Mark::Always,
    };
    let command = match tracing::info_span!("parse").in_scope(|| parse(argv, prefix)) {
        Ok(c) => c,
        Err(e) => return answer(Reply::error(e.message), None, Decision::Refused),
    };
    if file.own && !command.info().takes_file {
        return answer(
            Reply::error(only_these_take_files(prefix, command.name())),
            None,
            Decision::Refused,
        );
    }
    if let Err(denied) = ctx
        .grants(&origin.room_id, &origin.sender)
        .await
        .authorize(&command.permissions())
    {
        info!(sender = %origin.sender, command = command.name(), "refused: {denied}");
        let reply = Reply::error(match origin.trigger {
            Trigger::Schedule { .. } => format!("Skipped: {}: {denied}.", origin.sender),
            Trigger::Message | Trigger::Reaction => format!("Refused: {denied}."),
        });
        return answer(reply, None, Decision::Refused);
    }
    // A file that may not be read refuses a command that came with it or cannot do without it;
    // one that only takes a file among other sources (a set of users) goes on without it, so
    // `!suspend @x` in reply to someone's picture still suspends @x.
    if let Some(why) = file.refused
        && command.info().takes_file
        && (file.own || command.info().needs_file)
    {
        info!(sender = %origin.sender, command = command.name(), "refused: {why}");
        return answer(
            Reply::error(format!("Refused: {why}.")),
            None,
            Decision::Refused,
        );
    }
    // A second approver can only be waited for where a preview waits: a reversible change would
    // run at once, so it is refused instead (read-only commands and dry runs change nothing). A
    // button on a report card is such a change too.
    if matches!(origin.trigger, Trigger::Message | Trigger::Reaction)
        && command.risk() == Risk::Reversible
        && let Some(p) = command
            .permissions()
            .into_iter()
            .find(|p| ctx.config.two_person.contains(p))
    {
        let reply = Reply::error(format!(
            "Refused: {p} needs a second approver (safety.two_person), and {prefix}{} runs at once without a preview.",
            command.name()
        ));
        return answer(reply, None, Decision::Refused);
    }
    // A query's reply is its whole answer: a success gets no ✅ (one encrypted send less).
    let mark = if command.risk() == Risk::ReadOnly {
        Mark::FailureOnly
    } else {
        Mark::Always
    };
    let (planned, working) = plan_showing_work(ctx, origin, command).await;
    let planned = match planned {
        Ok(p) => p,
        Err(e) => {
            let decision = if matches!(e, CommandError::Refused(_)) {
                Decision::Refused
            } else {
                Decision::Failed
            };
            return answer(e.into_reply(), working, decision);
        }
    };
    let reply = match planned {
        Planned::Done(reply) => reply,
        Planned::DryRun(preview) => preview.line(Line::new().bold("Dry run: nothing was changed.")),
        Planned::Decide { code, act } => {
            let decided = confirmation::decide_by_code(ctx, origin, &code, act).await;
            return Ran::Answer {
                reply: decided.reply,
                working,
                command: decided.command.unwrap_or(line),
                decision: decided.decision,
                mark: Mark::Always,
            };
        }
        // A schedule's irreversible command was confirmed once, when the schedule was made.
        Planned::Confirm { action, .. } if matches!(origin.trigger, Trigger::Schedule { .. }) => {
            action
                .execute(ctx, origin)
                .await
                .unwrap_or_else(|e| e.into_reply())
        }
        Planned::Confirm { preview, action } => {
            confirmation::ask(ctx, origin, working, preview, action, &line).await;
            return Ran::Waiting;
        }
    };
    let decision = ran_or_failed(&reply);
    Ran::Answer {
        reply,
        working,
        command: line,
        decision,
        mark,
    }
}

/// The file a command came with, as [`run`] needs to know it.
#[derive(Debug, Default)]
pub(crate) struct FileIn {
    /// The command is its own file's caption.
    pub(crate) own: bool,
    /// The file (its own or the one it replies to) will not be read, and why: it is not in the
    /// origin, and a command that takes a file is refused.
    pub(crate) refused: Option<FileRefused>,
}

/// Who may hand the bot a file: whoever may send it commands in that room (a configured role, or
/// one from the power level there). One place, so the rule can grow with the roles.
async fn may_send_files(ctx: &Ctx, room: &RoomId, sender: &UserId) -> bool {
    ctx.grants(room, sender).await.has_any_role()
}

/// The file a command may read, if any, after [`file_gate`]: a replied-to file was never
/// through the gate, so anyone in the room may have posted it, in the clear too.
async fn vouch_for_file(
    ctx: &Ctx,
    msg: &MessageIn,
    own_file: Option<FileMessageEventContent>,
    replied_file: Option<FileEvent>,
) -> (Option<FileMessageEventContent>, FileIn) {
    let (content, facts, own) = match (own_file, replied_file) {
        (Some(f), _) => {
            let facts = FileFacts {
                room_encrypted: msg.room_encrypted,
                // The gate lets only encrypted events through in an encrypted room.
                event_encrypted: msg.room_encrypted,
                media_encrypted: matches!(f.source, MediaSource::Encrypted(_)),
                sender_has_role: may_send_files(ctx, &msg.room_id, &msg.sender).await,
            };
            (f, facts, true)
        }
        (None, Some(event)) => {
            let facts = FileFacts {
                room_encrypted: msg.room_encrypted,
                event_encrypted: event.encrypted,
                media_encrypted: matches!(event.content.source, MediaSource::Encrypted(_)),
                sender_has_role: may_send_files(ctx, &msg.room_id, &event.sender).await,
            };
            (event.content, facts, false)
        }
        (None, None) => return (None, FileIn::default()),
    };
    match file_gate(&facts) {
        Ok(()) => (Some(content), FileIn { own, refused: None }),
        Err(why) => (
            None,
            FileIn {
                own,
                refused: Some(why),
            },
        ),
    }
}

/// `Ran`, or `Failed` when the reply says so.
pub(crate) fn ran_or_failed(reply: &Reply) -> Decision {
    if reply.outcome == Outcome::Failure {
        Decision::Failed
    } else {
        Decision::Ran
    }
}

/// How much of a secret argument the audit trail keeps: enough to tell two apart.
const SECRET_SHOWN: usize = 3;

/// Flags whose value may be a secret: whatever follows one is not kept.
const SECRET_FLAG_WORDS: &[&str] = &["password", "passwd", "pass", "secret", "token", "key"];

/// The command line as the audit trail keeps it: no secret (everything after a password-like
/// flag is dropped), never a file's content (only its name), clipped.
pub(crate) fn audit_line(argv: &[String], file: Option<&FileMessageEventContent>) -> String {
    let secret_args = argv
        .first()
        .and_then(|name| crate::command::info(name))
        .is_some_and(|i| i.secret_args);
    let mut words = Vec::new();
    for (i, word) in argv.iter().enumerate() {
        if secret_args && i > 0 && !word.starts_with('-') {
            words.push(format!(
                "{}…",
                word.chars().take(SECRET_SHOWN).collect::<String>()
            ));
            continue;
        }
        let flag = word.trim_start_matches('-');
        let is_flag = word.starts_with('-') && !flag.is_empty();
        let name = flag.split('=').next().unwrap_or("").to_ascii_lowercase();
        if is_flag && SECRET_FLAG_WORDS.iter().any(|w| name.contains(w)) {
            let kept = word.split('=').next().unwrap_or("");
            words.push(kept.to_owned());
            words.push("[redacted]".to_owned());
            break;
        }
        words.push(word.clone());
    }
    let mut line = crate::text::clip(&words.join(" "), AUDIT_CLIP);
    if let Some(f) = file {
        let name = f.filename.as_deref().unwrap_or(&f.body);
        line.push_str(&format!(" [file {}]", crate::text::clip(name, 60)));
    }
    line
}

/// What the admin was told, for the audit trail: the reply's first line, clipped.
pub(crate) fn outcome_text(reply: &Reply) -> String {
    let plain = reply.plain();
    crate::text::clip(plain.lines().next().unwrap_or(""), AUDIT_CLIP)
}

/// Plans the command; ⏳ only when a typed command makes the admin wait: most answer before it
/// would show.
async fn plan_showing_work(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    command: Command,
) -> (Result<Planned<Action>, CommandError>, Option<OwnedEventId>) {
    let show_working = origin.trigger == Trigger::Message && !command.instant();
    let span = tracing::info_span!("plan", command = command.name());
    let work = command.plan(ctx, origin).instrument(span);
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

fn only_these_take_files(prefix: &str, name: &str) -> String {
    let names: Vec<String> = COMMANDS
        .iter()
        .filter(|c| c.takes_file)
        .map(|c| format!("{prefix}{}", c.name))
        .collect();
    format!(
        "{prefix}{name} takes no file; these do: {}.",
        names.join(", ")
    )
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

/// Which outcomes get a final reaction on the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// ✅, ❌ or ⏳ by the reply's outcome.
    Always,
    /// ❌ only: the command only read, and its reply says the rest.
    FailureOnly,
}

/// Report: records the audit entry, sends the reply, takes back ⏳, sets the final reaction.
pub(crate) async fn finish(
    ctx: &Ctx,
    origin: &Origin,
    working: Option<OwnedEventId>,
    command: &str,
    decision: Decision,
    reply: Reply,
    mark: Mark,
) {
    // Recorded before the admin sees the answer: a stop in between loses no row.
    tracing::info_span!("audit")
        .in_scope(|| audit(ctx, origin, command, decision, &outcome_text(&reply)));
    if let Err(e) = ctx
        .reply(&origin.room_id, Some(&origin.event_id), &reply)
        .instrument(tracing::info_span!("reply"))
        .await
    {
        error!("cannot send a reply: {e}");
    }
    if let Some(w) = working {
        ctx.chat.unreact(&origin.room_id, &w).await;
    }
    let key = match (reply.outcome, mark) {
        (Outcome::Failure, _) => "❌",
        (_, Mark::FailureOnly) => return,
        (Outcome::Success, Mark::Always) => "✅",
        (Outcome::Pending, Mark::Always) => "⏳",
    };
    ctx.chat
        .react(&origin.room_id, &origin.event_id, key)
        .instrument(tracing::info_span!("react"))
        .await;
}

/// Appends one row to the audit trail (and the log): who, from which device, where, what, and
/// what came of it.
pub(crate) fn audit(ctx: &Ctx, origin: &Origin, command: &str, decision: Decision, outcome: &str) {
    let device = origin.device.as_ref().map(|d| d.as_str());
    // Only declared names become labels: what a sender typed never does.
    let word = command.split_whitespace().next().unwrap_or("");
    let info = crate::command::info(word);
    let name = info.map_or("unknown", |i| i.name);
    let outcome = if info.is_some_and(|i| i.secret_args) {
        "(not kept: the reply names a token)"
    } else {
        outcome
    };
    info!(room = %origin.room_id, sender = %origin.sender, device, command, decision = decision.name(), outcome, "audit");
    crate::metrics::get().command(name, decision.name(), origin.sent_at_ms);
    if let Err(e) = ctx.store.audit(&NewAudit {
        room_id: origin.room_id.as_str(),
        sender: origin.sender.as_str(),
        device,
        event_id: Some(origin.event_id.as_str()),
        command,
        decision,
        outcome,
    }) {
        error!("cannot write the audit record: {e}");
    }
}

#[cfg(test)]
mod audit_line_tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn secrets_after_a_password_like_flag_are_dropped_and_files_kept_by_name() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["deactivate", "@x:y", "--erase"],
                "deactivate @x:y --erase",
            ),
            (
                &["import-users", "--password", "hunter2", "--dry-run"],
                "import-users --password [redacted]",
            ),
            (
                &["x", "--Admin-Token=abc", "more"],
                "x --Admin-Token [redacted]",
            ),
            (&["x", "-", "--"], "x - --"),
            // A registration token is a secret argument: only its first characters are kept.
            (&["token", "abcdef123456"], "token abc…"),
            (&["token-delete", "zyxwvut"], "token-delete zyx…"),
            (&["tokens", "--valid"], "tokens --valid"),
        ];
        for (words, expected) in cases {
            assert_eq!(audit_line(&argv(words), None), *expected);
        }
        let file = FileMessageEventContent::plain(
            "users.csv".into(),
            matrix_sdk::ruma::OwnedMxcUri::from("mxc://x/y"),
        );
        assert_eq!(
            audit_line(&argv(&["import-users"]), Some(&file)),
            "import-users [file users.csv]"
        );
    }
}
