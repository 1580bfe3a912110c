//! The `jobs` and `job_rows` tables: persisted long work and its rows, with their states.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, StoreError, StoreResult, now_secs};

/// Where a job is in its life; stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub(crate) enum JobState {
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
    fn as_str(self) -> &'static str {
        self.into()
    }

    /// For people: `running`, `awaiting confirmation`.
    pub(crate) fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

/// Where one row of a job is; stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub(crate) enum RowState {
    Pending,
    /// Its write was sent or is about to be: after a restart it is sent again, with the same body.
    InFlight,
    Created,
    Updated,
    Skipped,
    Failed,
    /// Refused by the checks before the job started; never applied.
    Invalid,
}

impl RowState {
    fn as_str(self) -> &'static str {
        self.into()
    }

    /// For people: `in flight`.
    pub(crate) fn label(self) -> String {
        self.as_str().replace('_', " ")
    }

    /// Whether the row still has work to do.
    pub(crate) fn is_open(self) -> bool {
        matches!(self, RowState::Pending | RowState::InFlight)
    }
}

/// One stored job.
#[derive(Debug, Clone)]
pub(crate) struct JobRecord {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) room_id: String,
    pub(crate) requester: String,
    pub(crate) command_event_id: String,
    pub(crate) progress_event_id: Option<String>,
    pub(crate) state: JobState,
    pub(crate) spec: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl JobRecord {
    pub(crate) fn spec<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        Ok(serde_json::from_str(&self.spec)?)
    }
}

/// One stored row of a job.
#[derive(Clone)]
pub(crate) struct JobRow {
    pub(crate) idx: i64,
    pub(crate) state: RowState,
    pub(crate) payload: String,
    pub(crate) detail: String,
    /// A password (from the file or generated), wiped when the results are delivered.
    pub(crate) secret: Option<String>,
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
        state: state.parse().unwrap_or(JobState::Failed),
        spec: r.get(7)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// A new job's identity.
pub(crate) struct NewJob<'a> {
    pub(crate) kind: &'a str,
    pub(crate) room_id: &'a str,
    pub(crate) requester: &'a str,
    pub(crate) command_event_id: &'a str,
}

impl Store {
    /// Creates a job awaiting confirmation with its rows, in one transaction.
    pub(crate) fn create_job<S: Serialize>(
        &self,
        job: &NewJob<'_>,
        spec: &S,
        rows: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> StoreResult<i64> {
        let spec = serde_json::to_string(spec)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_secs();
        tx.execute(
            "INSERT INTO jobs (kind, room_id, requester, command_event_id, state, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![job.kind, job.room_id, job.requester, job.command_event_id, JobState::AwaitingConfirmation.as_str(), spec, now],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare("INSERT INTO job_rows (job_id, idx, state, payload, secret) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for (idx, (payload, secret)) in rows.into_iter().enumerate() {
                insert.execute(params![
                    id,
                    idx as i64,
                    RowState::Pending.as_str(),
                    payload,
                    secret
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    pub(crate) fn job(&self, id: i64) -> StoreResult<Option<JobRecord>> {
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
    pub(crate) fn recent_jobs(&self, limit: usize) -> StoreResult<Vec<JobRecord>> {
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
    pub(crate) fn unfinished_jobs(&self) -> StoreResult<Vec<JobRecord>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('running', 'cancelling') ORDER BY id"
        ))?;
        let rows = q
            .query_map([], job_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub(crate) fn set_job_state(&self, id: i64, state: JobState) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE jobs SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), now_secs()],
        )?;
        Ok(())
    }

    /// Moves a job from `from` to `to` only if it is in `from`; returns whether it moved.
    pub(crate) fn transition_job(
        &self,
        id: i64,
        from: JobState,
        to: JobState,
    ) -> StoreResult<bool> {
        let n = self.conn().execute(
            "UPDATE jobs SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
            params![id, from.as_str(), to.as_str(), now_secs()],
        )?;
        Ok(n == 1)
    }

    pub(crate) fn set_job_progress_event(&self, id: i64, event_id: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE jobs SET progress_event_id = ?2 WHERE id = ?1",
            params![id, event_id],
        )?;
        Ok(())
    }

    pub(crate) fn set_job_status<S: Serialize>(&self, id: i64, status: &S) -> StoreResult<()> {
        let status = serde_json::to_string(status)?;
        self.conn().execute(
            "UPDATE jobs SET status = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, status, now_secs()],
        )?;
        Ok(())
    }

    pub(crate) fn job_rows(&self, id: i64) -> StoreResult<Vec<JobRow>> {
        let conn = self.conn();
        let mut q = conn.prepare("SELECT idx, state, payload, detail, secret FROM job_rows WHERE job_id = ?1 ORDER BY idx")?;
        let rows = q
            .query_map(params![id], |r| {
                Ok(JobRow {
                    idx: r.get(0)?,
                    state: r.get::<_, String>(1)?.parse().unwrap_or(RowState::Failed),
                    payload: r.get(2)?,
                    detail: r.get(3)?,
                    secret: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub(crate) fn set_row_state(
        &self,
        id: i64,
        idx: i64,
        state: RowState,
        detail: &str,
    ) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE job_rows SET state = ?3, detail = ?4 WHERE job_id = ?1 AND idx = ?2",
            params![id, idx, state.as_str(), detail],
        )?;
        Ok(())
    }

    /// Several rows' states in one transaction (one write to disk for many rows).
    pub(crate) fn set_row_states(
        &self,
        id: i64,
        rows: &[(i64, RowState, String)],
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE job_rows SET state = ?3, detail = ?4 WHERE job_id = ?1 AND idx = ?2",
            )?;
            for (idx, state, detail) in rows {
                update.execute(params![id, idx, state.as_str(), detail])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many jobs there are of each kind in each state (for the metrics).
    pub(crate) fn job_counts(&self) -> StoreResult<Vec<(String, String, i64)>> {
        let conn = self.conn();
        let mut q = conn.prepare("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state")?;
        let rows = q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Row counts by state.
    pub(crate) fn row_counts(&self, id: i64) -> StoreResult<Vec<(RowState, i64)>> {
        let conn = self.conn();
        let mut q = conn.prepare(
            "SELECT state, COUNT(*) FROM job_rows WHERE job_id = ?1 GROUP BY state ORDER BY state",
        )?;
        let rows = q
            .query_map(params![id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(state, n)| (state.parse().unwrap_or(RowState::Failed), n))
            .collect())
    }

    /// Forgets every password of a job when it ends (however it ends). With `secure_delete` the
    /// old values are zeroed in the database file; the checkpoint then empties the WAL, which still
    /// holds the pages as they were.
    pub(crate) fn wipe_job_secrets(&self, id: i64) -> StoreResult<()> {
        let conn = self.conn();
        conn.execute(
            "UPDATE job_rows SET secret = NULL WHERE job_id = ?1",
            params![id],
        )?;
        checkpoint(&conn)
    }

    /// Drops jobs awaiting a confirmation that expired or no longer exists, with their rows and
    /// passwords; returns how many. A job younger than a minute is kept: its confirmation is
    /// stored just after it. For a periodic runner (at least once a minute).
    pub(crate) fn drop_expired_unconfirmed_jobs(&self, now: i64) -> StoreResult<usize> {
        let conn = self.conn();
        let orphaned = "SELECT id FROM jobs WHERE state = 'awaiting_confirmation' AND created_at < ?1 - 60 \
             AND id NOT IN (SELECT job_id FROM pending_confirmations WHERE job_id IS NOT NULL AND expires_at >= ?1)";
        conn.execute(
            &format!("DELETE FROM job_rows WHERE job_id IN ({orphaned})"),
            params![now],
        )?;
        let n = conn.execute(
            &format!("DELETE FROM jobs WHERE id IN ({orphaned})"),
            params![now],
        )?;
        if n > 0 {
            checkpoint(&conn)?;
        }
        Ok(n)
    }

    /// At start: deletes jobs (and their rows, with any secrets) whose confirmation was cancelled or
    /// expired while the bot was down.
    pub(crate) fn drop_unconfirmed_jobs(&self) -> StoreResult<()> {
        let now = now_secs();
        let conn = self.conn();
        let orphaned = "SELECT id FROM jobs WHERE state = 'awaiting_confirmation' AND id NOT IN \
             (SELECT job_id FROM pending_confirmations WHERE job_id IS NOT NULL AND expires_at >= ?1)";
        conn.execute(
            &format!("DELETE FROM job_rows WHERE job_id IN ({orphaned})"),
            params![now],
        )?;
        conn.execute(
            &format!("DELETE FROM jobs WHERE id IN ({orphaned})"),
            params![now],
        )?;
        checkpoint(&conn)
    }

    /// Drops the job an expired or cancelled confirmation would have started, with its rows and
    /// any secrets in them; a job already started is left alone.
    pub(crate) fn drop_unconfirmed_job(&self, id: i64) -> StoreResult<()> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM job_rows WHERE job_id = ?1 AND (SELECT state FROM jobs WHERE id = ?1) = 'awaiting_confirmation'",
            params![id],
        )?;
        conn.execute(
            "DELETE FROM jobs WHERE id = ?1 AND state = 'awaiting_confirmation'",
            params![id],
        )?;
        checkpoint(&conn)
    }
}

/// Moves every page of the WAL into the database file and truncates the WAL, so deleted secrets
/// are not left in it.
fn checkpoint(conn: &rusqlite::Connection) -> StoreResult<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn files(dir: &std::path::Path) -> Vec<u8> {
        let mut all = std::fs::read(dir.join("syndic.sqlite3")).expect("db");
        if let Ok(wal) = std::fs::read(dir.join("syndic.sqlite3-wal")) {
            all.extend(wal);
        }
        all
    }

    fn job(store: &Store, secret: &str) -> i64 {
        let job = NewJob {
            kind: "import",
            room_id: "!r:x",
            requester: "@a:x",
            command_event_id: "$e",
        };
        store
            .create_job(&job, &"spec", [("{}".to_owned(), Some(secret.to_owned()))])
            .expect("job")
    }

    #[test]
    fn wiped_and_dropped_secrets_leave_no_bytes_in_the_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let a = job(&store, "Secret-Wiped-4711");
        let b = job(&store, "Secret-Dropped-0815");
        assert!(contains(&files(dir.path()), b"Secret-Wiped-4711"));
        store.wipe_job_secrets(a).expect("wipe");
        store.drop_unconfirmed_job(b).expect("drop");
        let bytes = files(dir.path());
        assert!(
            !contains(&bytes, b"Secret-Wiped-4711"),
            "wiped secret remains"
        );
        assert!(
            !contains(&bytes, b"Secret-Dropped-0815"),
            "dropped secret remains"
        );
    }

    #[test]
    fn expired_unconfirmed_jobs_are_dropped_but_fresh_ones_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let id = job(&store, "Secret-Expired-1234");
        let now = now_secs();
        assert_eq!(
            store.drop_expired_unconfirmed_jobs(now).expect("drop"),
            0,
            "a job younger than a minute waits for its confirmation to be stored"
        );
        assert_eq!(
            store.drop_expired_unconfirmed_jobs(now + 61).expect("drop"),
            1
        );
        assert!(store.job(id).expect("q").is_none());
        assert!(!contains(&files(dir.path()), b"Secret-Expired-1234"));
    }
}
