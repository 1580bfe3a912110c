//! The confirmation flow: an irreversible command's preview with its code, then ✅/❌ on it or
//! `!confirm`/`!cancel` by the same sender in the same room before it expires (the rules are
//! `crate::confirm`'s), then the action runs as the command that asked for it.

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use tracing::{error, info, warn};

use super::pipeline::{audit, outcome_text, ran_or_failed};
use crate::command::Action;
use crate::config::ConfirmWith;
use crate::confirm::{ConfirmError, PendingFacts, may_decide, new_code, normalize_code};
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
    let timeout = ctx.config.confirm_timeout.as_secs();
    let within = if timeout.is_multiple_of(60) {
        format!("{} min", timeout / 60)
    } else {
        crate::units::format_age(ctx.config.confirm_timeout)
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
        }
    });
    let stored = match stored {
        Ok(row) => ctx.store.insert_pending(&row).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = stored {
        let reply = Reply::error(crate::text::sentence(&e));
        super::pipeline::finish(ctx, origin, working, command, Decision::Failed, reply).await;
        return;
    }
    let prefix = &ctx.config.prefix;
    let how = match ctx.config.confirm_with {
        ConfirmWith::Reaction => "React ✅ or send ",
        ConfirmWith::Code => "Send ",
    };
    let preview = preview
        .with_outcome(Outcome::Pending)
        .line(
            Line::new()
                .text(how)
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
        ctx.chat.unreact(&origin.room_id, &w).await;
    }
    match ctx
        .chat
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

/// `!confirm <code>` / `!cancel <code>`.
pub(crate) async fn decide_by_code(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    code: &str,
    approve: bool,
) -> Decided {
    let code = normalize_code(code);
    match ctx.store.pending_by_code(&code) {
        Ok(Some(pending)) => decide(ctx, origin, pending, approve).await,
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

/// Runs or drops `pending` if the rules let `origin`'s sender decide on it now.
async fn decide(ctx: &Arc<Ctx>, origin: &Origin, pending: PendingRow, approve: bool) -> Decided {
    let previewed = ctx
        .store
        .previewed_command(&pending.command_event_id)
        .unwrap_or_else(|e| {
            warn!("{e}: the audit row names only the command");
            None
        });
    let reply = decide_inner(ctx, origin, pending, approve).await;
    match reply {
        Ok((reply, name)) => {
            let decision = match (approve, ran_or_failed(&reply)) {
                (false, _) => Decision::Cancelled,
                (true, Decision::Failed) => Decision::Failed,
                (true, _) => Decision::Confirmed,
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

/// [`decide`]: the reply and the command's name once the sender may decide, or the refusal.
async fn decide_inner(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    pending: PendingRow,
    approve: bool,
) -> Result<(Reply, &'static str), Reply> {
    let facts = PendingFacts {
        code: &pending.code,
        room: &pending.room_id,
        owner: &pending.sender,
        expires_at: pending.expires_at,
    };
    match may_decide(
        facts,
        origin.sender.as_str(),
        origin.room_id.as_str(),
        now_secs(),
    ) {
        Ok(()) => {}
        Err(e @ ConfirmError::Expired(_)) => {
            // An expired import leaves no stored rows (and no passwords) behind.
            drop_pending(ctx, &pending);
            return Err(Reply::error(crate::text::sentence(&e.to_string())));
        }
        Err(e) => return Err(Reply::error(crate::text::sentence(&e.to_string()))),
    }
    // Only the call that removes it goes on: a code confirmed twice at once runs once.
    match ctx.store.remove_pending(&pending.code) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Reply::error(crate::text::sentence(
                &ConfirmError::Unknown(pending.code).to_string(),
            )));
        }
        Err(e) => return Err(Reply::error(crate::text::sentence(&e.to_string()))),
    }
    let (Ok(command_event), Ok(sender)) = (
        OwnedEventId::try_from(pending.command_event_id.as_str()),
        OwnedUserId::try_from(pending.sender.as_str()),
    ) else {
        return Err(Reply::error(format!(
            "Code {} is unreadable.",
            pending.code
        )));
    };
    let action: Action = match serde_json::from_str(&pending.action) {
        Ok(a) => a,
        Err(_) => {
            drop_pending(ctx, &pending);
            return Err(Reply::error(format!(
                "Code {} is unreadable (made by another version?); run the command again.",
                pending.code
            )));
        }
    };
    if !approve {
        drop_pending(ctx, &pending);
        ctx.chat.react(&origin.room_id, &command_event, "🚫").await;
        let reply = Reply::ok(format!("Cancelled {}: nothing was changed.", pending.code));
        return Ok((reply, action.command_name()));
    }
    // Roles may have been narrowed since the preview (and the bot restarted): today's roles decide.
    if let Err(denied) = ctx.config.roles.authorize(&sender, &action.permissions()) {
        drop_pending(ctx, &pending);
        info!(sender = %sender, code = %pending.code, "refused at confirmation: {denied}");
        return Err(Reply::error(format!(
            "Refused: {denied}; roles changed since the preview, so nothing was changed."
        )));
    }
    info!(sender = %origin.sender, code = %pending.code, action = ?action, "confirmed");
    // A confirmed action runs as the command that asked for it: jobs it starts report under it.
    let command_origin = Origin {
        room_id: origin.room_id.clone(),
        sender,
        device: origin.device.clone(),
        event_id: command_event.clone(),
        file: None,
        room_encrypted: origin.room_encrypted,
        trigger: origin.trigger,
    };
    let name = action.command_name();
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
    Ok((reply, name))
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
        Decided {
            reply: Reply::error(format!(
                "Confirm with {}confirm {} from a verified session: reactions do not confirm here (safety.confirm_with = \"code\").",
                ctx.config.prefix, pending.code
            )),
            decision: Decision::Refused,
            command: None,
        }
    } else {
        decide(&ctx, &origin, pending, approve).await
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
        .chat
        .reply(&origin.room_id, Some(&reaction.target), &reply)
        .await
    {
        error!("cannot send a reply: {e}");
    }
}
