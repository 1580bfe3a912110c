//! `!schedules`: the active schedules.

use std::sync::Arc;

use super::{CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};

/// List the schedules
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "schedules")]
pub(crate) struct Schedules;

impl Declared for Schedules {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::Schedule];

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let all = ctx.store.schedules()?;
        if all.is_empty() {
            return Ok(Planned::Done(Reply::ok("No schedules.")));
        }
        let items = all
            .iter()
            .map(|s| {
                let when = if ctx.is_admin_room_id(&s.room_id) {
                    format!("next {}", format_time_ms(s.next_run_at.saturating_mul(1000)))
                } else {
                    format!("paused: {} is no longer an admin room", s.room_id)
                };
                Line::new().code(format!("#{}", s.id)).text(format!(
                    " {} · {when} · by {}",
                    s.describe(&ctx.config.prefix),
                    s.author
                ))
            })
            .collect();
        Ok(Planned::Done(
            Reply::ok(Line::new().bold("Schedules")).list(items),
        ))
    }
}
