//! Persisted long-running work: imports, work on sets of accounts, and Synapse's room deletions
//! and history purges followed to the end. A job and its rows live in the store, so a restart of the bot or of Synapse loses
//! nothing and repeats nothing; one progress message per job is edited as it goes.

pub(crate) mod import;
pub(crate) mod inbox;
pub(crate) mod room;
pub(crate) mod targets;
pub(crate) mod users;
pub(crate) mod watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId};
use tracing::{info, warn};

use crate::auth::Permission;
use crate::context::Ctx;
use crate::matrix::chat::ChatError;
use crate::report::Reply;
use crate::store::{JobRecord, JobState, StoreError};

/// Why a job could not go on; it is then marked failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("job {0} vanished from the store")]
    Vanished(i64),
    #[error("job {id} has an unreadable {what}")]
    Unreadable { id: i64, what: &'static str },
    #[error("cannot write the results file: {0}")]
    Csv(String),
}

impl From<csv::Error> for JobError {
    fn from(e: csv::Error) -> Self {
        JobError::Csv(e.to_string())
    }
}

/// What a job needs its requester to hold, checked again when it resumes.
fn permissions_for(job: &JobRecord) -> Vec<Permission> {
    match job.kind.as_str() {
        users::KIND => match job.spec::<users::UsersSpec>() {
            Ok(spec) => spec.op.permissions(),
            // Unreadable: every permission there is, so only an all-powerful role resumes it.
            Err(_) => Permission::ALL.to_vec(),
        },
        import::KIND => vec![Permission::UserImport],
        room::DELETE_KIND => vec![Permission::RoomDelete],
        room::PURGE_KIND => vec![Permission::RoomPurgeHistory],
        // Unknown kinds are not resumed at all (see resume_all).
        _ => Vec::new(),
    }
}

/// Resumes every unfinished job after a start, if its requester still may run it; a job whose
/// requester lost the permission stops (rows done stay done) and the room is told.
pub(crate) async fn resume_all(ctx: &Arc<Ctx>, jobs: &[JobRecord]) {
    for job in jobs {
        let requester = matrix_sdk::ruma::UserId::parse(job.requester.as_str());
        let room = matrix_sdk::ruma::RoomId::parse(job.room_id.as_str());
        let denied = match (&requester, &room) {
            (Ok(user), Ok(room)) => ctx
                .grants(room, user)
                .await
                .authorize(&permissions_for(job))
                .err()
                .map(|d| d.to_string()),
            _ => Some("its requester or room is unreadable".to_owned()),
        };
        if let Some(denied) = denied {
            warn!(job_id = job.id, requester = %job.requester, "not resuming: {denied}");
            stop_unauthorized(ctx, job, &denied).await;
            continue;
        }
        // A job reports to its room: while that is no longer an admin room it waits, untouched,
        // and resumes at a start where the room is configured again.
        if !ctx.is_admin_room_id(&job.room_id) {
            warn!(job_id = job.id, room_id = %job.room_id, "paused: its room is no longer an admin room");
            continue;
        }
        info!(job_id = job.id, kind = %job.kind, "resuming job");
        match job.kind.as_str() {
            import::KIND => import::spawn(ctx, job.id, true),
            room::DELETE_KIND | room::PURGE_KIND => room::spawn(ctx, job.id, true),
            users::KIND => users::spawn(ctx, job.id, true),
            other => warn!(
                job_id = job.id,
                "unknown job kind {other}; leaving it alone"
            ),
        }
    }
}

async fn stop_unauthorized(ctx: &Ctx, job: &JobRecord, denied: &str) {
    if let Err(e) = ctx.store.set_job_state(job.id, JobState::Cancelled) {
        warn!("{e}");
    }
    if let Err(e) = ctx.store.wipe_job_secrets(job.id) {
        warn!("{e}");
    }
    let Ok(place) = JobPlace::load(ctx, job.id) else {
        return;
    };
    let reply = Reply::error(format!(
        "Job #{} was not resumed after a restart: the roles of {} no longer allow it ({denied}). Rows done stay done.",
        job.id, job.requester
    ));
    if let Err(e) = ctx
        .reply(&place.room_id, place.command_event.as_deref(), &reply)
        .await
    {
        warn!("{e}");
    }
}

/// A stored job with the room it reports to and the command it answers.
pub(crate) struct JobPlace {
    pub(crate) job: JobRecord,
    pub(crate) room_id: OwnedRoomId,
    pub(crate) command_event: Option<OwnedEventId>,
}

impl JobPlace {
    pub(crate) fn load(ctx: &Ctx, job_id: i64) -> Result<Self, JobError> {
        let job = ctx.store.job(job_id)?.ok_or(JobError::Vanished(job_id))?;
        let room_id =
            OwnedRoomId::try_from(job.room_id.as_str()).map_err(|_| JobError::Unreadable {
                id: job_id,
                what: "room",
            })?;
        let command_event = OwnedEventId::try_from(job.command_event_id.as_str()).ok();
        Ok(JobPlace {
            job,
            room_id,
            command_event,
        })
    }
}

/// The one message that shows a job's progress, edited at most every few seconds.
pub(crate) struct Progress {
    ctx: Arc<Ctx>,
    room_id: OwnedRoomId,
    event_id: Option<OwnedEventId>,
    last_edit: Option<Instant>,
    every: Duration,
}

impl Progress {
    /// Reuses the job's progress message after a restart, or sends a new one replying to `to`.
    pub(crate) async fn open(ctx: &Arc<Ctx>, place: &JobPlace, first: &Reply) -> Self {
        let mut p = Progress {
            ctx: ctx.clone(),
            room_id: place.room_id.clone(),
            event_id: place
                .job
                .progress_event_id
                .as_deref()
                .and_then(|e| OwnedEventId::try_from(e).ok()),
            last_edit: None,
            every: Duration::from_secs(3),
        };
        match &p.event_id {
            Some(_) => p.force(first).await,
            None => match ctx
                .reply(&p.room_id, place.command_event.as_deref(), first)
                .await
            {
                Ok(id) => {
                    if let Err(e) = ctx.store.set_job_progress_event(place.job.id, id.as_str()) {
                        warn!("{e}");
                    }
                    p.event_id = Some(id);
                    p.last_edit = Some(Instant::now());
                }
                Err(e) => warn!("cannot send the progress message: {e}"),
            },
        }
        p
    }

    /// Edits the message unless it was edited less than a few seconds ago (Synapse rate limits,
    /// and phones do not need more).
    pub(crate) async fn update(&mut self, reply: &Reply) {
        if self.last_edit.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        self.force(reply).await;
    }

    /// Edits the message now.
    pub(crate) async fn force(&mut self, reply: &Reply) {
        if let Some(id) = &self.event_id {
            if let Err(e) = self.ctx.chat.edit(&self.room_id, id, reply).await {
                warn!("cannot edit the progress message: {e}");
            }
            self.last_edit = Some(Instant::now());
        }
    }

    pub(crate) fn event_id(&self) -> Option<&EventId> {
        self.event_id.as_deref()
    }
}
