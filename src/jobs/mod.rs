//! Persisted long-running work: imports (and, later, room deletions and purges). A job and its rows
//! live in the store, so a restart of the bot or of Synapse loses nothing and repeats nothing; one
//! progress message per job is edited as it goes.

pub mod import;
pub mod room;
pub mod schedule;

use std::time::{Duration, Instant};

use matrix_sdk::Room;
use matrix_sdk::ruma::{EventId, OwnedEventId};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::warn;

use crate::matrix::send::{edit, send_reply};
use crate::report::Reply;
use crate::store::{Store, StoreError, StoreResult, now_secs};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Previewed, waiting for ✅ or `!confirm`.
    AwaitingConfirmation,
    Running,
    /// `!cancel-job` was asked; the runner stops between rows.
    Cancelling,
    Done,
    Cancelled,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::AwaitingConfirmation => "awaiting_confirmation",
            JobState::Running => "running",
            JobState::Cancelling => "cancelling",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            JobState::AwaitingConfirmation,
            JobState::Running,
            JobState::Cancelling,
            JobState::Done,
            JobState::Cancelled,
            JobState::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Cancelled | JobState::Failed
        )
    }

    /// For people: `running`, `awaiting confirmation`.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

/// One stored job.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub room_id: String,
    pub requester: String,
    pub command_event_id: String,
    pub progress_event_id: Option<String>,
    pub state: JobState,
    pub spec: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobRecord {
    pub fn spec<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(&self.spec).map_err(json_error)
    }
}

/// One stored row of a job.
#[derive(Clone)]
pub struct JobRow {
    pub idx: i64,
    pub state: String,
    pub payload: String,
    pub detail: String,
    /// A password (from the file or generated), wiped when the results are delivered.
    pub secret: Option<String>,
}

impl std::fmt::Debug for JobRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRow")
            .field("idx", &self.idx)
            .field("state", &self.state)
            .field("detail", &self.detail)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

const JOB_COLUMNS: &str = "id, kind, room_id, requester, command_event_id, progress_event_id, state, spec, status, created_at, updated_at";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    let state: String = r.get(6)?;
    Ok(JobRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        room_id: r.get(2)?,
        requester: r.get(3)?,
        command_event_id: r.get(4)?,
        progress_event_id: r.get(5)?,
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        spec: r.get(7)?,
        status: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// A new job's identity.
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub room_id: &'a str,
    pub requester: &'a str,
    pub command_event_id: &'a str,
}

impl Store {
    /// Creates a job awaiting confirmation with its rows, in one transaction.
    pub fn create_job<S: Serialize>(
        &self,
        job: &NewJob<'_>,
        spec: &S,
        rows: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> StoreResult<i64> {
        let spec = serde_json::to_string(spec).map_err(json_error)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_secs();
        tx.execute(
            "INSERT INTO jobs (kind, room_id, requester, command_event_id, state, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![job.kind, job.room_id, job.requester, job.command_event_id, JobState::AwaitingConfirmation.as_str(), spec, now],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare("INSERT INTO job_rows (job_id, idx, state, payload, secret) VALUES (?1, ?2, 'pending', ?3, ?4)")?;
            for (idx, (payload, secret)) in rows.into_iter().enumerate() {
                insert.execute(params![id, idx as i64, payload, secret])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    pub fn job(&self, id: i64) -> StoreResult<Option<JobRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                params![id],
                job_from_row,
            )
            .optional()?)
    }

    /// The newest jobs first, without those still awaiting confirmation.
    pub fn recent_jobs(&self, limit: usize) -> StoreResult<Vec<JobRecord>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state != 'awaiting_confirmation' ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = q
            .query_map(params![limit as i64], job_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Jobs a restart must pick up again.
    pub fn unfinished_jobs(&self) -> StoreResult<Vec<JobRecord>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('running', 'cancelling') ORDER BY id"
        ))?;
        let rows = q
            .query_map([], job_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn set_job_state(&self, id: i64, state: JobState) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE jobs SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), now_secs()],
        )?;
        Ok(())
    }

    /// Moves a job from `from` to `to` only if it is in `from`; returns whether it moved.
    pub fn transition_job(&self, id: i64, from: JobState, to: JobState) -> StoreResult<bool> {
        let n = self.conn().execute(
            "UPDATE jobs SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
            params![id, from.as_str(), to.as_str(), now_secs()],
        )?;
        Ok(n == 1)
    }

    pub fn set_job_progress_event(&self, id: i64, event_id: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE jobs SET progress_event_id = ?2 WHERE id = ?1",
            params![id, event_id],
        )?;
        Ok(())
    }

    pub fn set_job_status<S: Serialize>(&self, id: i64, status: &S) -> StoreResult<()> {
        let status = serde_json::to_string(status).map_err(json_error)?;
        self.conn().execute(
            "UPDATE jobs SET status = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, status, now_secs()],
        )?;
        Ok(())
    }

    pub fn job_rows(&self, id: i64) -> StoreResult<Vec<JobRow>> {
        let conn = self.conn();
        let mut q = conn.prepare("SELECT idx, state, payload, detail, secret FROM job_rows WHERE job_id = ?1 ORDER BY idx")?;
        let rows = q
            .query_map(params![id], |r| {
                Ok(JobRow {
                    idx: r.get(0)?,
                    state: r.get(1)?,
                    payload: r.get(2)?,
                    detail: r.get(3)?,
                    secret: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn set_row_state(&self, id: i64, idx: i64, state: &str, detail: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE job_rows SET state = ?3, detail = ?4 WHERE job_id = ?1 AND idx = ?2",
            params![id, idx, state, detail],
        )?;
        Ok(())
    }

    /// Row counts by state.
    pub fn row_counts(&self, id: i64) -> StoreResult<Vec<(String, i64)>> {
        let conn = self.conn();
        let mut q = conn.prepare(
            "SELECT state, COUNT(*) FROM job_rows WHERE job_id = ?1 GROUP BY state ORDER BY state",
        )?;
        let rows = q
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Forgets every password of a job once its results were delivered.
    pub fn wipe_job_secrets(&self, id: i64) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE job_rows SET secret = NULL WHERE job_id = ?1",
            params![id],
        )?;
        Ok(())
    }
}

/// A stored job with the room it reports to and the command it answers.
pub struct JobPlace {
    pub job: JobRecord,
    pub room: Room,
    pub command_event: Option<OwnedEventId>,
}

impl JobPlace {
    pub fn load(bot: &crate::bot::Bot, job_id: i64) -> anyhow::Result<Self> {
        let job = bot
            .store
            .job(job_id)?
            .ok_or_else(|| anyhow::anyhow!("job {job_id} vanished"))?;
        let room_id = matrix_sdk::ruma::OwnedRoomId::try_from(job.room_id.as_str())?;
        let room = bot
            .client
            .get_room(&room_id)
            .ok_or_else(|| anyhow::anyhow!("the bot is not in {room_id}"))?;
        let command_event = OwnedEventId::try_from(job.command_event_id.as_str()).ok();
        Ok(JobPlace {
            job,
            room,
            command_event,
        })
    }
}

/// The one message that shows a job's progress, edited at most every few seconds.
pub struct Progress {
    room: Room,
    event_id: Option<OwnedEventId>,
    last_edit: Option<Instant>,
    every: Duration,
}

impl Progress {
    /// Reuses the job's progress message after a restart, or sends a new one replying to `to`.
    pub async fn open(
        store: &Store,
        job_id: i64,
        room: Room,
        existing: Option<&str>,
        to: Option<&EventId>,
        first: &Reply,
    ) -> Self {
        let mut p = Progress {
            room,
            event_id: existing.and_then(|e| OwnedEventId::try_from(e).ok()),
            last_edit: None,
            every: Duration::from_secs(3),
        };
        match &p.event_id {
            Some(_) => p.force(first).await,
            None => match send_reply(&p.room, to, first).await {
                Ok(id) => {
                    if let Err(e) = store.set_job_progress_event(job_id, id.as_str()) {
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
    pub async fn update(&mut self, reply: &Reply) {
        if self.last_edit.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        self.force(reply).await;
    }

    /// Edits the message now.
    pub async fn force(&mut self, reply: &Reply) {
        if let Some(id) = &self.event_id {
            if let Err(e) = edit(&self.room, id, reply).await {
                warn!("cannot edit the progress message: {e}");
            }
            self.last_edit = Some(Instant::now());
        }
    }

    pub fn event_id(&self) -> Option<&EventId> {
        self.event_id.as_deref()
    }
}
