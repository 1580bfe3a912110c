//! The scheduler: fires due schedules, each as its author typing its command line, through the
//! same pipeline as a typed command (parse, authorize with today's roles, plan, execute). A run
//! missed while the bot was down runs once at start, not once per missed interval.

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use tracing::{info, warn};

use super::pipeline::{FileIn, Ran, audit, outcome_text, run};
use crate::context::{Ctx, Origin, Trigger};
use crate::report::{Line, Outcome, Reply};
use crate::store::{Schedule, now_secs};

/// Fires due schedules, checking every second, until the bot stops.
pub(crate) fn start(ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    ctx.spawn(async move {
        // Schedules whose room is no longer an admin room: paused, said once in the log.
        let mut paused = std::collections::HashSet::new();
        let mut tick: u32 = 0;
        loop {
            match c.store.take_due_schedules(now_secs()) {
                Ok(due) => {
                    for s in due {
                        if c.is_admin_room_id(&s.room_id) {
                            paused.remove(&s.id);
                            run_once(&c, &s).await;
                        } else if paused.insert(s.id) {
                            warn!(schedule = s.id, room_id = %s.room_id, "paused: its room is no longer an admin room; it runs again once the room is configured");
                        }
                    }
                }
                Err(e) => warn!("cannot read schedules: {e}"),
            }
            c.redact_due_secrets().await;
            // An import that was never confirmed takes its stored passwords with it, within a
            // minute of expiring.
            tick = tick.wrapping_add(1);
            if tick.is_multiple_of(30)
                && let Err(e) = c.store.drop_expired_unconfirmed_jobs(now_secs())
            {
                warn!("cannot drop expired imports: {e}");
            }
            let _ = c.store.drop_unconfirmed_schedules(
                now_secs() - c.config.confirm_timeout.as_secs() as i64 - 60,
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn run_once(ctx: &Arc<Ctx>, s: &Schedule) {
    let prefix = &ctx.config.prefix;
    let (Ok(room_id), Ok(author), Ok(event_id)) = (
        OwnedRoomId::try_from(s.room_id.as_str()),
        OwnedUserId::try_from(s.author.as_str()),
        OwnedEventId::try_from(s.command_event_id.as_str()),
    ) else {
        warn!(schedule = s.id, "schedule has unreadable IDs; skipping");
        return;
    };
    info!(schedule = s.id, command = %s.argv.join(" "), "running schedule");
    let origin = Origin {
        room_id,
        sender: author,
        device: None,
        event_id,
        file: None,
        // Nothing a schedule may run sends secrets.
        room_encrypted: false,
        trigger: Trigger::Schedule { id: s.id },
        body: String::new(),
        sent_at_ms: None,
    };
    let (result, command, decision) = match run(ctx, &origin, &s.argv, FileIn::default()).await {
        Ran::Answer {
            reply,
            command,
            decision,
            ..
        } => (reply, command, decision),
        Ran::Waiting => return,
    };
    let head = Line::new()
        .bold(format!("Schedule #{}", s.id))
        .text(format!(" ({})", s.describe(prefix)));
    let outcome = if result.outcome == Outcome::Failure {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let reply = Reply::new(outcome).line(head).line(result.plain());
    audit(ctx, &origin, &command, decision, &outcome_text(&result));
    if let Err(e) = ctx
        .reply(&origin.room_id, Some(&origin.event_id), &reply)
        .await
    {
        warn!(schedule = s.id, "cannot report a scheduled run: {e}");
    }
}
