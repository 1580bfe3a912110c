//! The confirmation flow: an irreversible command's preview with its code, then ✅/❌ on it or
//! `!confirm`/`!cancel` by the same sender in the same room before it expires (the rules are
//! `crate::confirm`'s), then the action runs as the command that asked for it. Where
//! `safety.two_person` lists one of its permissions, a different role holder who may run it too
//! must also `!approve` (or ✅) it; the preview names who may.

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use tracing::{error, info, warn};

use super::pipeline::{audit, outcome_text, ran_or_failed};
use crate::auth::Permission;
use crate::command::Action;
use crate::config::ConfirmWith;
use crate::confirm::{
    Act, ConfirmError, PendingFacts, Step, decide_step, new_code, normalize_code,
};
use crate::context::{Ctx, Origin, Trigger};
use crate::report::{Line, Outcome, Reply};
use crate::store::{Decision, PendingRow, now_secs};

/// Reaction keys that confirm or drop a preview. Clients may add a variation selector.
const CONFIRM_KEYS: &[&str] = &["✅", "✔", "👍"];
const CANCEL_KEYS: &[&str] = &["❌", "✖", "👎"];

/// A reaction that passed the gate.
#[derive(Debug, Clone)]
pub(crate) struct ReactionIn {
    pub(crate) room_id: OwnedRoomId,
    pub(crate) sender: OwnedUserId,
    pub(crate) event_id: OwnedEventId,
    pub(crate) room_encrypted: bool,
    pub(crate) key: String,
    /// The event reacted to.
    pub(crate) target: OwnedEventId,
}

/// What deciding on a pending preview came to.
pub(crate) struct Decided {
    pub(crate) reply: Reply,
    pub(crate) decision: Decision,
    /// The previewed command line, for the audit row; `None` when the decision was refused
    /// (the row then keeps what was typed).
    pub(crate) command: Option<String>,
}

impl Decided {
    fn refused(reply: Reply) -> Self {
        Decided {
            reply,
            decision: Decision::Refused,
            command: None,
        }
    }
}

/// How many approvers a preview names before "and N more".
const APPROVERS_SHOWN: usize = 5;

/// The permissions of `action` that `safety.two_person` lists: a second approver is needed when
/// there is any.
fn two_person_permissions(ctx: &Ctx, action: &Action) -> Vec<Permission> {
    action
        .permissions()
        .into_iter()
        .filter(|p| ctx.config.two_person.contains(p))
        .collect()
}

/// The joined members of `room`, other than `author` and the bot, whose roles there allow every
/// one of `required`: those who may approve. Unreadable membership means nobody (fail closed).
async fn approvers(
    ctx: &Ctx,
    room: &RoomId,
    author: &UserId,
    required: &[Permission],
) -> Vec<OwnedUserId> {
    let mut found: Vec<OwnedUserId> = ctx
        .chat
        .joined_members(room)
        .await
        .into_iter()
        .filter(|(user, _)| user != author && *user != ctx.user_id)
        .filter(|(user, level)| {
            let roles = ctx.roles();
            let level = roles.by_power_level().then_some(*level);
            roles.of(user, level).authorize(required).is_ok()
        })
        .map(|(user, _)| user)
        .collect();
    found.sort();
    found
}

/// "@bob:x, @carol:x and 2 more".
fn name_list(users: &[OwnedUserId]) -> String {
    let shown: Vec<&str> = users
        .iter()
        .take(APPROVERS_SHOWN)
        .map(|u| u.as_str())
        .collect();
    match users.len().saturating_sub(APPROVERS_SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Stores the pending action and shows the preview with its code. `command` is the line as the
/// audit trail keeps it.
pub(crate) async fn ask(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    working: Option<OwnedEventId>,
    preview: Reply,
    action: Action,
    command: &str,
) {
    let code = new_code();
    let prefix = &ctx.config.prefix;
    let timeout = ctx.config.confirm_timeout.as_secs();
    let within = if timeout.is_multiple_of(60) {
        format!("{} min", timeout / 60)
    } else {
        crate::units::format_age(ctx.config.confirm_timeout)
    };
    let second = two_person_permissions(ctx, &action);
    let approvers = if second.is_empty() {
        Vec::new()
    } else {
        let approvers =
            approvers(ctx, &origin.room_id, &origin.sender, &action.permissions()).await;
        if approvers.is_empty() {
            let needs: Vec<&str> = second.iter().map(|p| p.name()).collect();
            let reply = Reply::error(format!(
                "Refused: this needs a second approver (safety.two_person: {}), and nobody else in this room may run it.",
                needs.join(", ")
            ));
            super::pipeline::finish(
                ctx,
                origin,
                working,
                command,
                Decision::Refused,
                reply,
                super::pipeline::Mark::Always,
            )
            .await;
            return;
        }
        approvers
    };
    let stored = serde_json::to_string(&action).map(|json| {
        let now = now_secs();
        PendingRow {
            code: code.clone(),
            room_id: origin.room_id.to_string(),
            sender: origin.sender.to_string(),
            command_event_id: origin.event_id.to_string(),
            preview_event_id: None,
            action: json,
            job_id: action.job_id(),
            created_at: now,
            expires_at: now.saturating_add(i64::try_from(timeout).unwrap_or(i64::MAX)),
            two_person: !second.is_empty(),
            author_confirmed: false,
            approved_by: None,
        }
    });
    let stored = match stored {
        Ok(row) => ctx.store.insert_pending(&row).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = stored {
        let reply = Reply::error(crate::text::sentence(&e));
        super::pipeline::finish(
            ctx,
            origin,
            working,
            command,
            Decision::Failed,
            reply,
            super::pipeline::Mark::Always,
        )
        .await;
        return;
    }
    let how = match ctx.config.confirm_with {
        ConfirmWith::Reaction => "React ✅ or send ",
        ConfirmWith::Code => "Send ",
    };
    let mut preview = preview.with_outcome(Outcome::Pending).line(
        Line::new()
            .text(how)
            .code(format!("{prefix}confirm {code}"))
            .text(format!(" within {within} to go ahead.")),
    );
    if !approvers.is_empty() {
        let also = match ctx.config.confirm_with {
            ConfirmWith::Reaction => " (or ✅)",
            ConfirmWith::Code => "",
        };
        preview = preview.line(
            Line::new()
                .bold("Needs a second approver")
                .text(format!(": {} sends ", name_list(&approvers)))
                .code(format!("{prefix}approve {code}"))
                .text(format!("{also}.")),
        );
    }
    let preview = preview.line(
        Line::new()
            .text("❌ or ")
            .code(format!("{prefix}cancel {code}"))
            .text(" drops it."),
    );
    if let Some(w) = working {
        ctx.chat.unreact(&origin.room_id, &w).await;
    }
    match ctx
        .reply(&origin.room_id, Some(&origin.event_id), &preview)
        .await
    {
        Ok(preview_id) => {
            if let Err(e) = ctx.store.attach_preview(&code, preview_id.as_str()) {
                warn!("{e}: ✅ on the preview will not work, !confirm will");
            }
            audit(
                ctx,
                origin,
                command,
                Decision::Previewed,
                &outcome_text(&preview),
            );
        }
        Err(e) => error!("cannot send a preview: {e}"),
    }
}

/// `!confirm <code>` / `!approve <code>` / `!cancel <code>`.
pub(crate) async fn decide_by_code(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    code: &str,
    act: Act,
) -> Decided {
    let code = normalize_code(code);
    match ctx.store.pending_by_code(&code) {
        Ok(Some(pending)) => decide(ctx, origin, pending, act).await,
        Ok(None) => Decided::refused(Reply::error(crate::text::sentence(
            &ConfirmError::Unknown(code).to_string(),
        ))),
        Err(e) => Decided {
            reply: Reply::error(crate::text::sentence(&e.to_string())),
            decision: Decision::Failed,
            command: None,
        },
    }
}

/// What a decision on a pending preview came to, before it is audited.
enum Verdict {
    /// It ran (or failed running), or was dropped.
    Ended(Reply),
    /// One of the two people agreed; it waits for the other.
    Agreed(Reply),
}

/// Runs, records or drops `pending` if the rules let `origin`'s sender do `act` on it now.
async fn decide(ctx: &Arc<Ctx>, origin: &Origin, pending: PendingRow, act: Act) -> Decided {
    let previewed = ctx
        .store
        .previewed_command(&pending.command_event_id)
        .unwrap_or_else(|e| {
            warn!("{e}: the audit row names only the command");
            None
        });
    match decide_inner(ctx, origin, pending, act).await {
        Ok((outcome, name)) => {
            let (reply, decision) = match outcome {
                Verdict::Agreed(reply) => (reply, Decision::Approved),
                Verdict::Ended(reply) => {
                    let decision = match (act, ran_or_failed(&reply)) {
                        (Act::Cancel, _) => Decision::Cancelled,
                        (_, Decision::Failed) => Decision::Failed,
                        _ => Decision::Confirmed,
                    };
                    (reply, decision)
                }
            };
            Decided {
                reply,
                decision,
                command: Some(previewed.unwrap_or_else(|| name.to_owned())),
            }
        }
        Err(reply) => Decided::refused(reply),
    }
}

fn refusal(e: impl std::fmt::Display) -> Reply {
    Reply::error(crate::text::sentence(&e.to_string()))
}

/// [`decide`]: what came of it and the command's name once the sender may act, or the refusal.
async fn decide_inner(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    pending: PendingRow,
    act: Act,
) -> Result<(Verdict, &'static str), Reply> {
    // Another room's codes answer as if unknown, before anything else is read.
    if pending.room_id != origin.room_id.as_str() {
        return Err(refusal(ConfirmError::Unknown(pending.code)));
    }
    let (Ok(command_event), Ok(author)) = (
        OwnedEventId::try_from(pending.command_event_id.as_str()),
        OwnedUserId::try_from(pending.sender.as_str()),
    ) else {
        return Err(Reply::error(format!(
            "Code {} is unreadable.",
            pending.code
        )));
    };
    let Ok(action) = serde_json::from_str::<Action>(&pending.action) else {
        drop_pending(ctx, &pending);
        return Err(Reply::error(format!(
            "Code {} is unreadable (made by another version?); run the command again.",
            pending.code
        )));
    };
    let name = action.command_name();
    let required = action.permissions();
    // A second approver must be someone whose roles, today, allow the command itself.
    let may_approve = pending.two_person
        && origin.sender != author
        && ctx
            .grants(&origin.room_id, &origin.sender)
            .await
            .authorize(&required)
            .is_ok();
    let facts = PendingFacts {
        code: &pending.code,
        room: &pending.room_id,
        owner: &pending.sender,
        expires_at: pending.expires_at,
        two_person: pending.two_person,
        author_confirmed: pending.author_confirmed,
        approved_by: pending.approved_by.as_deref(),
    };
    let step = match decide_step(
        facts,
        origin.sender.as_str(),
        origin.room_id.as_str(),
        now_secs(),
        act,
        may_approve,
    ) {
        Ok(step) => step,
        Err(e @ ConfirmError::Expired(_)) => {
            // An expired import leaves no stored rows (and no passwords) behind.
            drop_pending(ctx, &pending);
            return Err(refusal(e));
        }
        Err(e) => return Err(refusal(e)),
    };
    let prefix = &ctx.config.prefix;
    // The second approver, once there is one: their roles are checked again before it runs.
    let mut approver = match (step, act) {
        (Step::Run, Act::Approve) => Some(origin.sender.to_string()),
        _ => pending.approved_by.clone(),
    };
    let step = match step {
        Step::AwaitApprover => {
            ctx.store
                .record_author_confirmed(&pending.code)
                .map_err(refusal)?;
            // The approver may have approved in the meantime: then this confirmation runs it.
            match ctx.store.pending_by_code(&pending.code) {
                Ok(Some(now)) if now.approved_by.is_some() => {
                    approver = now.approved_by;
                    Step::Run
                }
                _ => {
                    let waiting_for = approvers(ctx, &origin.room_id, &author, &required).await;
                    let reply = Reply::new(Outcome::Pending).line(
                        Line::new()
                            .text(format!("Confirmed {}; it runs once ", pending.code))
                            .text(if waiting_for.is_empty() {
                                "a second approver".to_owned()
                            } else {
                                format!("one of {}", name_list(&waiting_for))
                            })
                            .text(" sends ")
                            .code(format!("{prefix}approve {}", pending.code))
                            .text("."),
                    );
                    info!(sender = %origin.sender, code = %pending.code, "confirmed by its author; awaiting a second approver");
                    return Ok((Verdict::Agreed(reply), name));
                }
            }
        }
        Step::AwaitAuthor => {
            ctx.store
                .record_approval(&pending.code, origin.sender.as_str())
                .map_err(refusal)?;
            match ctx.store.pending_by_code(&pending.code) {
                Ok(Some(now)) if now.author_confirmed => {
                    approver = now.approved_by;
                    Step::Run
                }
                _ => {
                    let reply = Reply::new(Outcome::Pending).line(
                        Line::new()
                            .text(format!(
                                "Approved {}; it runs once {author} sends ",
                                pending.code
                            ))
                            .code(format!("{prefix}confirm {}", pending.code))
                            .text("."),
                    );
                    info!(sender = %origin.sender, code = %pending.code, "approved; awaiting its author");
                    return Ok((Verdict::Agreed(reply), name));
                }
            }
        }
        other => other,
    };
    // Only the call that removes it goes on: a code confirmed twice at once runs once.
    match ctx.store.remove_pending(&pending.code) {
        Ok(true) => {}
        Ok(false) => return Err(refusal(ConfirmError::Unknown(pending.code))),
        Err(e) => return Err(refusal(e)),
    }
    if step == Step::Drop {
        drop_pending(ctx, &pending);
        ctx.chat.react(&origin.room_id, &command_event, "🚫").await;
        let by = if origin.sender == author {
            String::new()
        } else {
            format!(" (by {})", origin.sender)
        };
        let reply = Reply::ok(format!(
            "Cancelled {}{by}: nothing was changed.",
            pending.code
        ));
        return Ok((Verdict::Ended(reply), name));
    }
    // Roles may have been narrowed since the preview (and the bot restarted): today's roles
    // decide, the author's and the second approver's.
    let mut who = vec![author.clone()];
    if pending.two_person {
        // Fail closed: a two-person command never runs on its author's word alone.
        match approver.as_deref().map(OwnedUserId::try_from) {
            Some(Ok(a)) if a != author => who.push(a),
            _ => {
                drop_pending(ctx, &pending);
                return Err(Reply::error(format!(
                    "Code {} has no second approver on record; nothing was changed.",
                    pending.code
                )));
            }
        }
    }
    for user in &who {
        if let Err(denied) = ctx.grants(&origin.room_id, user).await.authorize(&required) {
            drop_pending(ctx, &pending);
            info!(sender = %user, code = %pending.code, "refused at confirmation: {denied}");
            return Err(Reply::error(format!(
                "Refused: {user}: {denied}; roles changed since the preview, so nothing was changed."
            )));
        }
    }
    info!(sender = %origin.sender, code = %pending.code, action = ?action, "confirmed");
    // A confirmed action runs as the command that asked for it: jobs it starts report under it.
    let command_origin = Origin {
        room_id: origin.room_id.clone(),
        sender: author,
        device: origin.device.clone(),
        event_id: command_event.clone(),
        file: None,
        room_encrypted: origin.room_encrypted,
        trigger: origin.trigger,
        body: String::new(),
        sent_at_ms: None,
    };
    let reply = action
        .execute(ctx, &command_origin)
        .await
        .unwrap_or_else(|e| e.into_reply());
    let mark = if reply.outcome == Outcome::Failure {
        "❌"
    } else {
        "✅"
    };
    ctx.chat.react(&origin.room_id, &command_event, mark).await;
    Ok((Verdict::Ended(reply), name))
}

/// Forgets a pending confirmation and the job it would have started, with any secrets in it.
fn drop_pending(ctx: &Ctx, pending: &PendingRow) {
    if let Err(e) = ctx.store.remove_pending(&pending.code) {
        error!("{e}");
    }
    if let Some(job) = pending.job_id
        && let Err(e) = ctx.store.drop_unconfirmed_job(job)
    {
        error!("{e}");
    }
}

/// A reaction that passed the gate: ✅ or ❌ on a preview.
pub(crate) async fn on_reaction(ctx: Arc<Ctx>, reaction: ReactionIn) {
    if super::cards::on_card_reaction(&ctx, &reaction).await {
        return;
    }
    let key = reaction.key.trim_end_matches('\u{FE0F}');
    let approve = if CONFIRM_KEYS.contains(&key) {
        true
    } else if CANCEL_KEYS.contains(&key) {
        false
    } else {
        return;
    };
    // People react ✅ to many things: only reactions on a pending preview matter, and they are
    // claimed like commands so a replay never confirms twice.
    match ctx.store.claim_event(reaction.event_id.as_str()) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            error!("{e}; not acting on {}", reaction.event_id);
            return;
        }
    }
    let pending = match ctx.store.pending_by_preview(reaction.target.as_str()) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            error!("{e}; not acting on {}", reaction.event_id);
            return;
        }
    };
    let origin = Origin {
        room_id: reaction.room_id,
        sender: reaction.sender,
        device: None,
        event_id: reaction.event_id,
        file: None,
        room_encrypted: reaction.room_encrypted,
        trigger: Trigger::Reaction,
        body: String::new(),
        sent_at_ms: None,
    };
    // Another room's previews are not this room's business: silent, as for any other message.
    if pending.room_id != origin.room_id.as_str() {
        return;
    }
    // Reactions are sent in the clear: they prove the account, not the session. Where the team
    // asked for proof of the session, only `!confirm` (encrypted, from a verified one) confirms.
    let Decided {
        reply,
        decision,
        command,
    } = if approve && ctx.config.confirm_with == ConfirmWith::Code {
        let word = if pending.sender == origin.sender.as_str() {
            "confirm"
        } else {
            "approve"
        };
        Decided {
            reply: Reply::error(format!(
                "Send {}{word} {} from a verified session: reactions do not count here (safety.confirm_with = \"code\").",
                ctx.config.prefix, pending.code
            )),
            decision: Decision::Refused,
            command: None,
        }
    } else {
        // ✅ is the author's confirmation, or another role holder's approval.
        let act = match (approve, pending.sender == origin.sender.as_str()) {
            (false, _) => Act::Cancel,
            (true, true) => Act::Confirm,
            (true, false) if pending.two_person => Act::Approve,
            (true, false) => Act::Confirm,
        };
        decide(&ctx, &origin, pending, act).await
    };
    let command = command.unwrap_or_else(|| {
        if approve {
            "✅ reaction".to_owned()
        } else {
            "❌ reaction".to_owned()
        }
    });
    audit(&ctx, &origin, &command, decision, &outcome_text(&reply));
    // Answer on the preview, where the admin reacted.
    if let Err(e) = ctx
        .reply(&origin.room_id, Some(&reaction.target), &reply)
        .await
    {
        error!("cannot send a reply: {e}");
    }
}
