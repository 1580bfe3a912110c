//! `!unschedule <id>`: remove a schedule.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::Reply;

/// Remove a schedule
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "unschedule 2")]
pub(crate) struct Unschedule {
    /// The schedule number from !schedules
    id: i64,
}

impl Declared for Unschedule {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::Schedule];
    const AREA: Area = Area::Automation;
    const SCHEDULABLE: bool = false;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let id = self.id;
        if ctx.store.delete_schedule(id)? {
            Ok(Planned::Done(Reply::ok(format!("Schedule #{id} removed."))))
        } else {
            Err(CommandError::Refused(format!("no schedule #{id}")))
        }
    }
}
