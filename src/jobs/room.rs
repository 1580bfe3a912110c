//! Synapse's asynchronous room tasks (room deletion, history purge) followed to the end.
//!
//! Synapse forgets a task's status after 24 hours or a restart, so the bot keeps its own record (a
//! job), polls until the task completes or fails, edits one progress message, and after its own
//! restart picks the job up again. When Synapse has lost the status, the bot says what it can see.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::error;

use super::{JobError, JobPlace, Progress};
use crate::admin_api::rooms::{DeleteRoomStatus, PurgeHistoryStatus, RoomDetails, TaskStatus};
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply};
use crate::store::{JobState, NewJob, StoreResult};

pub(crate) const DELETE_KIND: &str = "room_delete";
pub(crate) const PURGE_KIND: &str = "purge_history";

/// What the job follows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum RoomTask {
    Delete { room_id: String, delete_id: String },
    PurgeHistory { room_id: String, purge_id: String },
}

impl RoomTask {
    fn kind(&self) -> &'static str {
        match self {
            RoomTask::Delete { .. } => DELETE_KIND,
            RoomTask::PurgeHistory { .. } => PURGE_KIND,
        }
    }

    fn title(&self) -> String {
        match self {
            RoomTask::Delete { room_id, .. } => format!("Deleting {room_id}"),
            RoomTask::PurgeHistory { room_id, .. } => format!("Purging the history of {room_id}"),
        }
    }
}

/// Records the task as a running job and starts following it.
pub(crate) fn start(ctx: &Arc<Ctx>, origin: &Origin, task: RoomTask) -> StoreResult<i64> {
    let job = NewJob {
        kind: task.kind(),
        room_id: origin.room_id.as_str(),
        requester: origin.sender.as_str(),
        command_event_id: origin.event_id.as_str(),
    };
    let id = ctx.store.create_job(&job, &task, std::iter::empty())?;
    ctx.store.set_job_state(id, JobState::Running)?;
    spawn(ctx, id, false);
    Ok(id)
}

pub(crate) fn spawn(ctx: &Arc<Ctx>, job_id: i64, resumed: bool) {
    let b = ctx.clone();
    ctx.spawn(async move {
        if let Err(e) = follow(&b, job_id, resumed).await {
            error!(job_id, "room task job failed: {e:#}");
            let _ = b.store.set_job_state(job_id, JobState::Failed);
        }
    });
}

/// What one poll saw.
enum Seen {
    Running(String),
    Done(Reply),
}

async fn follow(ctx: &Arc<Ctx>, job_id: i64, resumed: bool) -> Result<(), JobError> {
    let place = JobPlace::load(ctx, job_id)?;
    let task: RoomTask = place.job.spec()?;
    let title = format!("Job #{job_id}: {}", task.title());
    let first = Reply::new(Outcome::Pending)
        .line(Line::new().bold(title.clone()))
        .line(if resumed {
            "resumed after a restart"
        } else {
            "started"
        });
    let mut progress = Progress::open(ctx, &place, &first).await;
    let mut delay = Duration::from_millis(500);
    loop {
        match poll(ctx, &task).await {
            Seen::Running(status) => {
                progress
                    .update(
                        &Reply::new(Outcome::Pending)
                            .line(Line::new().bold(title.clone()))
                            .line(format!("Status: {status}")),
                    )
                    .await;
            }
            Seen::Done(summary) => {
                let state = if summary.outcome == Outcome::Failure {
                    JobState::Failed
                } else {
                    JobState::Done
                };
                progress
                    .force(
                        &Reply::new(summary.outcome)
                            .line(Line::new().bold(title.clone()))
                            .line("Finished."),
                    )
                    .await;
                ctx.reply(&place.room_id, place.command_event.as_deref(), &summary)
                    .await?;
                ctx.store.set_job_state(job_id, state)?;
                return Ok(());
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

async fn poll(ctx: &Ctx, task: &RoomTask) -> Seen {
    match task {
        RoomTask::Delete { room_id, delete_id } => match ctx
            .admin
            .send(&DeleteRoomStatus {
                delete_id: delete_id.clone(),
            })
            .await
        {
            Ok(t) => match t.status {
                TaskStatus::Complete => {
                    let r = t.shutdown_room.unwrap_or_default();
                    let mut items = vec![
                        Line::new().text(format!("Members removed: {}", r.kicked_users.len())),
                    ];
                    if !r.failed_to_kick_users.is_empty() {
                        items.push(Line::new().text(format!(
                            "Could not remove: {}",
                            r.failed_to_kick_users.join(", ")
                        )));
                    }
                    if !r.local_aliases.is_empty() {
                        items.push(
                            Line::new()
                                .text(format!("Aliases removed: {}", r.local_aliases.join(", "))),
                        );
                    }
                    Seen::Done(
                        Reply::ok(
                            Line::new()
                                .text("Room ")
                                .code(room_id.as_str())
                                .text(" deleted."),
                        )
                        .list(items),
                    )
                }
                TaskStatus::Failed | TaskStatus::Cancelled => Seen::Done(Reply::error(format!(
                    "Deleting {room_id} failed: {}",
                    t.error.unwrap_or_else(|| "Synapse gave no reason".into())
                ))),
                other => Seen::Running(format!("{other:?}").to_lowercase()),
            },
            Err(e) if e.is_not_found() => Seen::Done(lost_status(ctx, room_id, "deletion").await),
            Err(e) => Seen::Running(format!("cannot ask Synapse right now ({e})")),
        },
        RoomTask::PurgeHistory { room_id, purge_id } => match ctx
            .admin
            .send(&PurgeHistoryStatus {
                purge_id: purge_id.clone(),
            })
            .await
        {
            Ok(t) => match t.status {
                TaskStatus::Complete => Seen::Done(Reply::ok(
                    Line::new()
                        .text("History of ")
                        .code(room_id.as_str())
                        .text(" purged."),
                )),
                TaskStatus::Failed | TaskStatus::Cancelled => Seen::Done(Reply::error(format!(
                    "Purging the history of {room_id} failed: {}",
                    t.error.unwrap_or_else(|| "Synapse gave no reason".into())
                ))),
                other => Seen::Running(format!("{other:?}").to_lowercase()),
            },
            Err(e) if e.is_not_found() => Seen::Done(Reply::error(format!(
                "Synapse no longer knows this purge of {room_id} (it forgets after 24 h or a restart); run !purge-history again to be sure it is complete."
            ))),
            Err(e) => Seen::Running(format!("cannot ask Synapse right now ({e})")),
        },
    }
}

/// Synapse forgot the deletion: report what the room looks like now.
async fn lost_status(ctx: &Ctx, room_id: &str, what: &str) -> Reply {
    let head = format!("Synapse no longer knows this {what} (it forgets after 24 h or a restart).");
    match ctx
        .admin
        .send(&RoomDetails {
            room_id: room_id.to_owned(),
        })
        .await
    {
        Err(e) if e.is_not_found() => Reply::ok(head).line(
            Line::new()
                .text("The room ")
                .code(room_id)
                .text(" is gone: the deletion completed."),
        ),
        Ok(d) => Reply::error(head).line(format!(
            "The room still exists with {} members ({} local): run !delete-room again.",
            d.joined_members, d.joined_local_members
        )),
        Err(e) => Reply::error(head).line(format!("Its state cannot be read right now: {e}")),
    }
}
