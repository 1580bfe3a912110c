//! The bot's own state, in `<store_path>/syndic.sqlite3` beside matrix-sdk's store: the schema and
//! its migrations here, each table's queries in its own file (handled events, pending
//! confirmations, audit, jobs, schedules, reports, messages holding secrets). All of the bot's SQL lives in this module.
//!
//! Calls are short and local, so one connection behind a mutex is enough.

mod audit;
mod events;
mod jobs;
mod pending;
mod reports;
mod schedules;
mod secrets;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

pub(crate) use audit::{AuditFilter, AuditRow, Decision, NewAudit};
pub(crate) use jobs::{JobRecord, JobRow, JobState, NewJob, RowState};
pub(crate) use pending::PendingRow;
pub(crate) use reports::{NewReport, ReportRow, ReportState};
pub(crate) use schedules::{Schedule, ScheduleSpec};

/// A storage failure: the bot cannot keep its promises without its state, so callers fail closed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("the bot's state store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the bot's state store holds unreadable data: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "the store was written by a newer Syndic (schema {found}, this one knows {known}); upgrade Syndic"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error(
        "the store has schema {found}, this Syndic reads {known}: run this version of the bot once to migrate it (or upgrade Syndic)"
    )]
    OtherSchema { found: i64, known: i64 },
}

pub(crate) type StoreResult<T> = Result<T, StoreError>;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS handled_events (
    event_id   TEXT PRIMARY KEY,
    handled_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_confirmations (
    code             TEXT PRIMARY KEY,
    room_id          TEXT NOT NULL,
    sender           TEXT NOT NULL,
    command_event_id TEXT NOT NULL,
    preview_event_id TEXT,
    action           TEXT NOT NULL,
    job_id           INTEGER,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    two_person       INTEGER NOT NULL DEFAULT 0,
    author_confirmed INTEGER NOT NULL DEFAULT 0,
    approved_by      TEXT
);
CREATE INDEX IF NOT EXISTS pending_by_preview ON pending_confirmations(preview_event_id);
CREATE TABLE IF NOT EXISTS audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    room_id  TEXT NOT NULL,
    sender   TEXT NOT NULL,
    command  TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    device    TEXT,
    event_id  TEXT,
    decision  TEXT NOT NULL DEFAULT '',
    prev_hash TEXT,
    hash      TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    room_id          TEXT NOT NULL,
    requester        TEXT NOT NULL,
    command_event_id TEXT NOT NULL,
    progress_event_id TEXT,
    state            TEXT NOT NULL,
    spec             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS job_rows (
    job_id   INTEGER NOT NULL REFERENCES jobs(id),
    idx      INTEGER NOT NULL,
    state    TEXT NOT NULL,
    payload  TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '',
    secret   TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS schedules (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id          TEXT NOT NULL,
    author           TEXT NOT NULL,
    command_event_id TEXT NOT NULL,
    argv             TEXT NOT NULL,
    interval_secs    INTEGER NOT NULL,
    at_minute        INTEGER,
    active           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    next_run_at      INTEGER NOT NULL,
    last_run_at      INTEGER
);
CREATE TABLE IF NOT EXISTS reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    synapse_id  INTEGER NOT NULL,
    received_ts INTEGER NOT NULL,
    reporter    TEXT NOT NULL,
    target_user TEXT,
    room_id     TEXT,
    event_id    TEXT,
    reason      TEXT,
    media       TEXT,
    summary     TEXT NOT NULL,
    state       TEXT NOT NULL,
    card_room   TEXT,
    card_event  TEXT,
    handled_by  TEXT,
    handled_how TEXT,
    handled_at  INTEGER,
    reminded    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, synapse_id)
);
CREATE INDEX IF NOT EXISTS reports_by_card ON reports(card_event);
CREATE TABLE IF NOT EXISTS inbox_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS secret_messages (
    event_id  TEXT PRIMARY KEY,
    room_id   TEXT NOT NULL,
    redact_at INTEGER NOT NULL
);
"#;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 4;

/// Columns added after a table first existed: stores made by earlier builds get them on open.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("pending_confirmations", "job_id", "INTEGER"),
    ("job_rows", "payload", "TEXT NOT NULL DEFAULT ''"),
    // Version 2: the audit trail records the device, the event and the decision, hash-chained.
    ("audit", "device", "TEXT"),
    ("audit", "event_id", "TEXT"),
    ("audit", "decision", "TEXT NOT NULL DEFAULT ''"),
    ("audit", "prev_hash", "TEXT"),
    ("audit", "hash", "TEXT"),
    // Version 3: a second approver (safety.two_person).
    (
        "pending_confirmations",
        "two_person",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "pending_confirmations",
        "author_confirmed",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    ("pending_confirmations", "approved_by", "TEXT"),
];

/// Brings an older store up to [`SCHEMA_VERSION`]; refuses a store written by a newer Syndic.
fn migrate(conn: &Connection) -> StoreResult<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    for (table, column, kind) in ADDED_COLUMNS {
        let mut q = conn.prepare(&format!(
            "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
        ))?;
        if !q.exists(params![column])? {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The bot's state database.
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub(crate) fn open(dir: &Path) -> StoreResult<Self> {
        let conn = Connection::open(dir.join("syndic.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Every claim, confirmation and job row must survive a power cut: the bot promises
        // exactly once.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Deleted and overwritten content (passwords of finished imports) is zeroed, not left in
        // free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Opens an existing store without writing to it (for `syndic audit`, beside a running bot).
    /// A store an older Syndic wrote and this one never opened is refused: start the bot once.
    pub(crate) fn open_read_only(dir: &Path) -> StoreResult<Self> {
        let conn = Connection::open_with_flags(
            dir.join("syndic.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::OtherSchema {
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The connection; a poisoned lock still holds a consistent database (every write is one
    /// statement or one transaction), so it is recovered rather than propagated as a panic.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets handled events and confirmations older than `max_age_secs` (events that old are
    /// refused by age anyway), and jobs whose confirmation never came.
    pub(crate) fn prune(&self, max_age_secs: i64) -> StoreResult<()> {
        let cutoff = now_secs() - max_age_secs;
        self.prune_events(cutoff)?;
        self.prune_pending(cutoff)?;
        self.drop_unconfirmed_jobs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_from_an_earlier_build_gains_the_new_columns() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let old = Connection::open(dir.path().join("syndic.sqlite3")).expect("open");
            old.execute_batch(
                "CREATE TABLE pending_confirmations (code TEXT PRIMARY KEY, room_id TEXT NOT NULL, sender TEXT NOT NULL,
                   command_event_id TEXT NOT NULL, preview_event_id TEXT, action TEXT NOT NULL, created_at INTEGER NOT NULL,
                   expires_at INTEGER NOT NULL);
                 CREATE TABLE job_rows (job_id INTEGER NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL,
                   detail TEXT NOT NULL DEFAULT '', secret TEXT, PRIMARY KEY (job_id, idx));",
            )
            .expect("old schema");
        }
        let store = Store::open(dir.path()).expect("migrated");
        store
            .prune(60)
            .expect("queries that use the new columns work");
        let version: i64 = store
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        store
            .conn()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        drop(store);
        assert!(Store::open(dir.path()).is_err(), "a newer store is refused");
    }

    #[test]
    fn an_event_is_claimed_once_even_across_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        assert!(store.claim_event("$a").expect("claim"));
        assert!(!store.claim_event("$a").expect("claim"));
        assert!(store.was_handled("$a").expect("q"));
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        assert!(!store.claim_event("$a").expect("claim"));
        assert!(store.claim_event("$b").expect("claim"));
    }
}
