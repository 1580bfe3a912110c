//! `!job <id>`: one job's state and row counts.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};
use crate::store::JobState;

/// Show one job
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "job 3")]
pub(crate) struct Job {
    /// The job number from !jobs
    pub(crate) id: i64,
}

impl Declared for Job {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::JobView];
    const AREA: Area = Area::Automation;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let id = self.id;
        let job = ctx
            .store
            .job(id)?
            .filter(|j| j.state != JobState::AwaitingConfirmation)
            .ok_or_else(|| CommandError::Refused(format!("no job #{id}")))?;
        let counts = ctx.store.row_counts(id)?;
        let mut items = vec![
            Line::new().text(format!("State: {}", job.state.label())),
            Line::new().text(format!("Started by: {}", job.requester)),
            Line::new().text(format!(
                "Created: {}",
                format_time_ms(job.created_at.saturating_mul(1000))
            )),
            Line::new().text(format!(
                "Last change: {}",
                format_time_ms(job.updated_at.saturating_mul(1000))
            )),
        ];
        if !counts.is_empty() {
            let text: Vec<String> = counts
                .iter()
                .map(|(s, n)| format!("{} {n}", s.label()))
                .collect();
            items.push(Line::new().text(format!("Rows: {}", text.join(" · "))));
        }
        Ok(Planned::Done(
            Reply::ok(Line::new().bold(format!("Job #{id}: {}", job.kind))).list(items),
        ))
    }
}
