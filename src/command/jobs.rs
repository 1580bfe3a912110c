//! The jobs group: `!jobs`, `!job <id>`, `!cancel-job <id>`.

use super::CommandError;
use crate::bot::Bot;
use crate::jobs::{JobRecord, JobState};
use crate::report::{Line, Reply, format_time_ms};

fn counts_text(bot: &Bot, job: &JobRecord) -> String {
    let counts = bot.store.row_counts(job.id).unwrap_or_default();
    let total: i64 = counts
        .iter()
        .filter(|(s, _)| s != "invalid")
        .map(|(_, n)| n)
        .sum();
    let done: i64 = counts
        .iter()
        .filter(|(s, _)| !matches!(s.as_str(), "pending" | "in_flight" | "invalid"))
        .map(|(_, n)| n)
        .sum();
    if total == 0 {
        String::new()
    } else {
        format!(" · {done}/{total}")
    }
}

/// `!jobs`: the ten newest jobs.
pub fn list(bot: &Bot) -> Result<Reply, CommandError> {
    let jobs = bot.store.recent_jobs(10)?;
    if jobs.is_empty() {
        return Ok(Reply::ok("No jobs yet."));
    }
    let items = jobs
        .iter()
        .map(|j| {
            Line::new().code(format!("#{}", j.id)).text(format!(
                " {} · {}{} · {}",
                j.kind,
                j.state.label(),
                counts_text(bot, j),
                j.requester
            ))
        })
        .collect();
    Ok(Reply::ok(Line::new().bold("Jobs, newest first")).list(items))
}

/// `!job <id>`.
pub fn show(bot: &Bot, id: i64) -> Result<Reply, CommandError> {
    let job = bot
        .store
        .job(id)?
        .filter(|j| j.state != JobState::AwaitingConfirmation)
        .ok_or_else(|| CommandError::Refused(format!("no job #{id}")))?;
    let counts = bot.store.row_counts(id)?;
    let mut items = vec![
        Line::new().text(format!("State: {}", job.state.label())),
        Line::new().text(format!("Started by: {}", job.requester)),
        Line::new().text(format!(
            "Created: {}",
            format_time_ms(job.created_at * 1000)
        )),
        Line::new().text(format!(
            "Last change: {}",
            format_time_ms(job.updated_at * 1000)
        )),
    ];
    if !counts.is_empty() {
        let text: Vec<String> = counts
            .iter()
            .map(|(s, n)| format!("{} {n}", s.replace('_', " ")))
            .collect();
        items.push(Line::new().text(format!("Rows: {}", text.join(" · "))));
    }
    Ok(Reply::ok(Line::new().bold(format!("Job #{id}: {}", job.kind))).list(items))
}

/// `!cancel-job <id>`: rows already applied stay applied; the runner stops between rows.
pub fn cancel(bot: &Bot, id: i64) -> Result<Reply, CommandError> {
    let job = bot
        .store
        .job(id)?
        .filter(|j| j.state != JobState::AwaitingConfirmation)
        .ok_or_else(|| CommandError::Refused(format!("no job #{id}")))?;
    if bot
        .store
        .transition_job(id, JobState::Running, JobState::Cancelling)?
    {
        Ok(Reply::ok(format!(
            "Cancelling job #{id}: rows in flight finish, the others are not started; the report follows."
        )))
    } else {
        Err(CommandError::Refused(format!(
            "job #{id} is {}, not running",
            job.state.label()
        )))
    }
}
