//! `!cancel-job <id>`: stop a running job between rows; rows already applied stay applied.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::Reply;
use crate::store::JobState;

/// Stop a running job cleanly: rows done stay done
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "cancel-job 3")]
pub(crate) struct CancelJob {
    /// The job number from !jobs
    pub(crate) id: i64,
}

impl Declared for CancelJob {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::JobCancel];
    const AREA: Area = Area::Automation;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let id = self.id;
        let job = ctx
            .store
            .job(id)?
            .filter(|j| j.state != JobState::AwaitingConfirmation)
            .ok_or_else(|| CommandError::Refused(format!("no job #{id}")))?;
        if job.kind != crate::jobs::import::KIND && job.kind != crate::jobs::users::KIND {
            return Err(CommandError::Refused(format!(
                "job #{id} follows a task Synapse runs to the end; it cannot be stopped from here"
            )));
        }
        if ctx
            .store
            .transition_job(id, JobState::Running, JobState::Cancelling)?
        {
            Ok(Planned::Done(Reply::ok(format!(
                "Cancelling job #{id}: rows in flight finish, the others are not started; the report follows."
            ))))
        } else {
            Err(CommandError::Refused(format!(
                "job #{id} is {}, not running",
                job.state.label()
            )))
        }
    }
}
