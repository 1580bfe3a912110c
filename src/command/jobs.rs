//! `!jobs`: the ten newest jobs and their state.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};
use crate::store::{JobRecord, RowState, Store};

/// List recent jobs (imports) and their state
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "jobs")]
pub(crate) struct Jobs;

impl Declared for Jobs {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::JobView];
    const AREA: Area = Area::Automation;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let jobs = ctx.store.recent_jobs(10)?;
        if jobs.is_empty() {
            return Ok(Planned::Done(Reply::ok("No jobs yet.")));
        }
        let items = jobs
            .iter()
            .map(|j| {
                Line::new().code(format!("#{}", j.id)).text(format!(
                    " {} · {}{} · {}",
                    j.kind,
                    j.state.label(),
                    counts_text(&ctx.store, j),
                    j.requester
                ))
            })
            .collect();
        Ok(Planned::Done(
            Reply::ok(Line::new().bold("Jobs, newest first")).list(items),
        ))
    }
}

/// ` · done/total` for jobs with rows.
fn counts_text(store: &Store, job: &JobRecord) -> String {
    let counts = store.row_counts(job.id).unwrap_or_default();
    let total: i64 = counts
        .iter()
        .filter(|(s, _)| *s != RowState::Invalid)
        .map(|(_, n)| n)
        .sum();
    let done: i64 = counts
        .iter()
        .filter(|(s, _)| !s.is_open() && *s != RowState::Invalid)
        .map(|(_, n)| n)
        .sum();
    if total == 0 {
        String::new()
    } else {
        format!(" · {done}/{total}")
    }
}
