//! Reactions on a report's card: each button is a typed command run as the one who reacted,
//! through the same pipeline (parse, authorize, plan, confirm, audit). A reaction whose command
//! the reactor may not run does nothing but leave its audit row.

use std::sync::Arc;

use tracing::info;

use super::confirmation::ReactionIn;
use super::pipeline::{FileIn, Ran, audit, finish, run};
use crate::config::ConfirmWith;
use crate::context::{Ctx, Origin, Trigger};
use crate::jobs::inbox::mark_handled;
use crate::report::{Line, Reply};
use crate::store::{Decision, ReportRow, ReportState};

/// The command a button stands for on this report, if it is one.
fn command_for(key: &str, r: &ReportRow) -> Option<Vec<String>> {
    let user = r.target_user.clone();
    Some(match key {
        "✅" | "✔" | "☑" => vec!["dismiss".into(), r.id.to_string()],
        "⏸" => vec!["suspend".into(), user?],
        "🔨" => vec!["offboard".into(), user?],
        "🗑" => vec![
            "redact-user".into(),
            user?,
            "--room".into(),
            r.room_id.clone()?,
            "--event".into(),
            r.event_id.clone()?,
        ],
        "☣" => vec!["quarantine".into(), r.media.clone()?],
        _ => return None,
    })
}

/// The reactor, as the sender of the button's command; answers go under the card.
fn card_origin(reaction: &ReactionIn) -> Origin {
    Origin {
        room_id: reaction.room_id.clone(),
        sender: reaction.sender.clone(),
        device: None,
        event_id: reaction.target.clone(),
        file: None,
        room_encrypted: reaction.room_encrypted,
        trigger: Trigger::Reaction,
        body: String::new(),
        sent_at_ms: None,
    }
}

/// Whether the reaction was on a card (and so is handled here).
pub(crate) async fn on_card_reaction(ctx: &Arc<Ctx>, reaction: &ReactionIn) -> bool {
    let Ok(Some(report)) = ctx.store.report_by_card(reaction.target.as_str()) else {
        return false;
    };
    let key = reaction.key.trim_end_matches('\u{FE0F}');
    let Some(argv) = command_for(key, &report) else {
        return true;
    };
    if report.state != ReportState::Open {
        return true;
    }
    match ctx.store.claim_event(reaction.event_id.as_str()) {
        Ok(true) => {}
        _ => return true,
    }
    // Reactions go in the clear: they prove the account, not the session. Where the team asked
    // for proof of the session, a button only says what to type.
    if ctx.config.confirm_with == ConfirmWith::Code {
        let typed = format!("{}{}", ctx.config.prefix, argv.join(" "));
        let origin = card_origin(reaction);
        audit(
            ctx,
            &origin,
            &argv.join(" "),
            Decision::Refused,
            "button refused: safety.confirm_with = \"code\"",
        );
        let hint = Reply::error(
            Line::new()
                .text("Buttons do not act here (safety.confirm_with = \"code\"); type ")
                .code(typed),
        );
        if let Err(e) = ctx
            .reply(&origin.room_id, Some(&origin.event_id), &hint)
            .await
        {
            tracing::warn!("{e}");
        }
        return true;
    }
    let origin = card_origin(reaction);
    match run(ctx, &origin, &argv, FileIn::default()).await {
        Ran::Answer {
            reply,
            working,
            command,
            decision,
            ..
        } => {
            if decision == Decision::Refused {
                info!(sender = %origin.sender, "card button refused: {}", reply.plain());
                audit(ctx, &origin, &command, decision, &reply.plain());
                return true;
            }
            let succeeded = reply.outcome == crate::report::Outcome::Success;
            finish(
                ctx,
                &origin,
                working,
                &command,
                decision,
                reply,
                super::pipeline::Mark::Always,
            )
            .await;
            let how = match argv[0].as_str() {
                "suspend" => Some("sender suspended"),
                "quarantine" => Some("media quarantined"),
                _ => None,
            };
            if succeeded && let Some(how) = how {
                mark_handled(ctx, report.id, origin.sender.as_str(), how).await;
            }
        }
        Ran::Waiting => {}
    }
    true
}
