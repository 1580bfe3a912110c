//! The `audit` table: one row per command the bot acted on or refused, hash-chained.
//!
//! Each row stores `prev_hash`, the hash of the row before it (or [`GENESIS`] for the first), and
//! `hash`, the SHA-256 (hex) of its own canonical encoding ([`AuditRow::canonical`]), which covers
//! every field and `prev_hash`. A row is written in one transaction that reads the previous hash,
//! so the chain has no forks. Rows written before the chain existed (no hash) are "legacy": they
//! may only come before the first chained row.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Store, StoreResult, now_secs};

/// What the first chained row chains to.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the bot decided about a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Not allowed, or not readable: nothing was done.
    Refused,
    /// An irreversible command's preview was shown; it waits for confirmation.
    Previewed,
    /// A preview was confirmed and its action ran.
    Confirmed,
    /// One of the two people a `safety.two_person` command needs agreed (its author confirmed, or
    /// a second approver approved); it waits for the other.
    Approved,
    /// A preview was dropped.
    Cancelled,
    /// Ran at once.
    Ran,
    /// Ran (or tried to) and failed.
    Failed,
}

impl Decision {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Decision::Refused => "refused",
            Decision::Previewed => "previewed",
            Decision::Confirmed => "confirmed",
            Decision::Approved => "approved",
            Decision::Cancelled => "cancelled",
            Decision::Ran => "ran",
            Decision::Failed => "failed",
        }
    }
}

/// A row to append. `command` must hold no secrets (the pipeline redacts them).
#[derive(Debug, Clone)]
pub(crate) struct NewAudit<'a> {
    pub(crate) room_id: &'a str,
    pub(crate) sender: &'a str,
    pub(crate) device: Option<&'a str>,
    /// The event the decision answers (the command, the `!confirm`, the reaction).
    pub(crate) event_id: Option<&'a str>,
    pub(crate) command: &'a str,
    pub(crate) decision: Decision,
    /// What the admin was told (first line of the reply).
    pub(crate) outcome: &'a str,
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    /// Seconds since the Unix epoch.
    pub(crate) at: i64,
    pub(crate) room_id: String,
    pub(crate) sender: String,
    pub(crate) device: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) command: String,
    /// Empty for legacy rows.
    pub(crate) decision: String,
    pub(crate) outcome: String,
    /// `None` for legacy rows.
    pub(crate) prev_hash: Option<String>,
    /// `None` for legacy rows.
    pub(crate) hash: Option<String>,
}

impl AuditRow {
    /// The bytes the hash covers: every field but `hash`, as a JSON array (stable: fixed order,
    /// serde_json's escaping).
    pub(crate) fn canonical(&self) -> String {
        serde_json::json!([
            "syndic-audit-v1",
            self.id,
            self.at,
            self.room_id,
            self.sender,
            self.device,
            self.event_id,
            self.command,
            self.decision,
            self.outcome,
            self.prev_hash,
        ])
        .to_string()
    }

    /// SHA-256 (hex) of [`AuditRow::canonical`].
    pub(crate) fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }

    /// What the bot decided; legacy rows only recorded an outcome (`ok`, `failed`, ...).
    pub(crate) fn decision_or_outcome(&self) -> &str {
        if self.decision.is_empty() {
            &self.outcome
        } else {
            &self.decision
        }
    }
}

/// Which rows `!audit` and `syndic audit export` want.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditFilter {
    /// Rows whose command line contains this full user ID, or (for local users typed bare) this
    /// localpart as a word.
    pub(crate) user: Option<(String, Option<String>)>,
    /// Rows sent by this user.
    pub(crate) actor: Option<String>,
    /// Rows whose command line starts with this command name.
    pub(crate) command: Option<String>,
    /// Rows at or after this time (seconds since the epoch).
    pub(crate) since: Option<i64>,
}

/// A break in the chain found by [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChainProblem {
    /// The row's fields no longer match its hash.
    Altered { id: i64 },
    /// The row's hash was removed after the chain started.
    Unhashed { id: i64 },
    /// Rows with these IDs are missing before `next` (`first..=last`).
    Removed { first: i64, last: i64, next: i64 },
    /// The row does not chain to the one before it (`prev`, or the genesis value when `None`),
    /// though no ID is missing: the row before it was rewritten with a new hash.
    BrokenLink { id: i64, prev: Option<i64> },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Altered { id } => {
                write!(f, "row #{id} was altered: its fields do not match its hash")
            }
            ChainProblem::Unhashed { id } => write!(f, "row #{id} was altered: its hash is gone"),
            ChainProblem::Removed { first, last, next } if first == last => {
                write!(f, "row #{first} was removed (row #{next} chains past it)")
            }
            ChainProblem::Removed { first, last, next } => {
                write!(
                    f,
                    "rows #{first} to #{last} were removed (row #{next} chains past them)"
                )
            }
            ChainProblem::BrokenLink { id, prev: Some(p) } => write!(
                f,
                "row #{p} was altered (rehashed): row #{id} chained to a different row #{p}"
            ),
            ChainProblem::BrokenLink { id, prev: None } => write!(
                f,
                "row #{id} does not chain to the start: rows before it were removed or altered"
            ),
        }
    }
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainReport {
    /// Rows checked (chained ones).
    pub(crate) chained: usize,
    /// Rows from before the chain existed.
    pub(crate) legacy: usize,
    /// The hash of the last row: note it elsewhere to detect removal of the newest rows.
    pub(crate) head: Option<(i64, String)>,
    pub(crate) problems: Vec<ChainProblem>,
}

const COLUMNS: &str =
    "id, at, room_id, sender, device, event_id, command, decision, outcome, prev_hash, hash";

fn read_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        room_id: r.get(2)?,
        sender: r.get(3)?,
        device: r.get(4)?,
        event_id: r.get(5)?,
        command: r.get(6)?,
        decision: r.get(7)?,
        outcome: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

/// Appends one row in `tx`, chained to the newest row.
fn append(tx: &Transaction<'_>, at: i64, entry: &NewAudit<'_>) -> StoreResult<i64> {
    // Cached statements: one audit row per command, so SQLite need not parse them each time.
    let prev: Option<Option<String>> = tx
        .prepare_cached("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    // The first row, or the first after legacy rows, chains to the genesis value.
    let prev_hash = prev.flatten().unwrap_or_else(|| GENESIS.to_owned());
    let mut insert = tx.prepare_cached(
        "INSERT INTO audit (at, room_id, sender, device, event_id, command, decision, outcome, prev_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    insert.execute(params![
        at,
        entry.room_id,
        entry.sender,
        entry.device,
        entry.event_id,
        entry.command,
        entry.decision.name(),
        entry.outcome,
        prev_hash,
    ])?;
    let id = tx.last_insert_rowid();
    let row = AuditRow {
        id,
        at,
        room_id: entry.room_id.to_owned(),
        sender: entry.sender.to_owned(),
        device: entry.device.map(str::to_owned),
        event_id: entry.event_id.map(str::to_owned),
        command: entry.command.to_owned(),
        decision: entry.decision.name().to_owned(),
        outcome: entry.outcome.to_owned(),
        prev_hash: Some(prev_hash),
        hash: None,
    };
    tx.prepare_cached("UPDATE audit SET hash = ?1 WHERE id = ?2")?
        .execute(params![row.compute_hash(), id])?;
    Ok(id)
}

/// The `WHERE` clause and parameters for `filter`.
fn where_clause(filter: &AuditFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut conds = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some((full, local)) = &filter.user {
        args.push(Value::Text(full.clone()));
        let mut cond = format!("instr(command, ?{}) > 0", args.len());
        if let Some(local) = local {
            args.push(Value::Text(format!(" {local} ")));
            cond = format!(
                "({cond} OR instr(' ' || command || ' ', ?{}) > 0)",
                args.len()
            );
        }
        conds.push(cond);
    }
    if let Some(actor) = &filter.actor {
        args.push(Value::Text(actor.clone()));
        conds.push(format!("sender = ?{}", args.len()));
    }
    if let Some(command) = &filter.command {
        args.push(Value::Text(command.clone()));
        let n = args.len();
        conds.push(format!(
            "(command = ?{n} OR substr(command, 1, length(?{n}) + 1) = ?{n} || ' ')"
        ));
    }
    if let Some(since) = filter.since {
        args.push(Value::Integer(since));
        conds.push(format!("at >= ?{}", args.len()));
    }
    let clause = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    (clause, args)
}

/// Checks the whole chain, oldest row first.
fn verify(conn: &Connection) -> StoreResult<ChainReport> {
    let mut q = conn.prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))?;
    let rows = q.query_map([], read_row)?;
    let mut report = ChainReport {
        chained: 0,
        legacy: 0,
        head: None,
        problems: Vec::new(),
    };
    // The previous row's ID and stored hash, once the chain has started.
    let mut prev: Option<(i64, String)> = None;
    // The last row seen at all (legacy rows included), to spot removed IDs.
    let mut last_id: Option<i64> = None;
    for row in rows {
        let row = row?;
        let gap = last_id.filter(|last| row.id > last + 1);
        last_id = Some(row.id);
        let Some(hash) = row.hash.clone() else {
            match prev {
                Some(_) => report.problems.push(ChainProblem::Unhashed { id: row.id }),
                None => report.legacy += 1,
            }
            continue;
        };
        report.chained += 1;
        if row.compute_hash() != hash {
            report.problems.push(ChainProblem::Altered { id: row.id });
        } else {
            let expected = prev.as_ref().map_or(GENESIS, |(_, h)| h.as_str());
            if row.prev_hash.as_deref() != Some(expected) {
                report.problems.push(match gap {
                    Some(last) => ChainProblem::Removed {
                        first: last + 1,
                        last: row.id - 1,
                        next: row.id,
                    },
                    None => ChainProblem::BrokenLink {
                        id: row.id,
                        prev: prev.as_ref().map(|(id, _)| *id),
                    },
                });
            }
        }
        prev = Some((row.id, hash));
    }
    report.head = prev;
    Ok(report)
}

impl Store {
    /// Appends to the audit trail, chained to the newest row, in one transaction.
    pub(crate) fn audit(&self, entry: &NewAudit<'_>) -> StoreResult<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = append(&tx, now_secs(), entry)?;
        tx.commit()?;
        Ok(id)
    }

    /// The command line of the preview that `event_id` (a command) was answered with.
    pub(crate) fn previewed_command(&self, event_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT command FROM audit WHERE event_id = ?1 AND decision = 'previewed'
                 ORDER BY id DESC LIMIT 1",
                params![event_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// One page of rows matching `filter`, newest first, and how many match in all.
    pub(crate) fn audit_page(
        &self,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<AuditRow>, i64)> {
        let conn = self.conn();
        let (clause, mut args) = where_clause(filter);
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM audit{clause}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let n = args.len();
        args.push(rusqlite::types::Value::Integer(limit));
        args.push(rusqlite::types::Value::Integer(offset));
        let mut q = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM audit{clause} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
            n + 1,
            n + 2
        ))?;
        let rows = q
            .query_map(rusqlite::params_from_iter(args.iter()), read_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    /// Every row matching `filter`, oldest first, each passed to `each` (for exports).
    pub(crate) fn audit_rows(
        &self,
        filter: &AuditFilter,
        mut each: impl FnMut(&AuditRow) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let conn = self.conn();
        let (clause, args) = where_clause(filter);
        let mut q = conn.prepare(&format!("SELECT {COLUMNS} FROM audit{clause} ORDER BY id"))?;
        let rows = q.query_map(rusqlite::params_from_iter(args.iter()), read_row)?;
        for row in rows {
            each(&row?)?;
        }
        Ok(())
    }

    /// Checks the hash chain of the whole trail.
    pub(crate) fn verify_audit(&self) -> StoreResult<ChainReport> {
        verify(&self.conn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(command: &'a str, sender: &'a str, decision: Decision) -> NewAudit<'a> {
        NewAudit {
            room_id: "!ops:x",
            sender,
            device: Some("DEV"),
            event_id: Some("$e"),
            command,
            decision,
            outcome: "Done.",
        }
    }

    fn store_with(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        for i in 0..n {
            store
                .audit(&entry(
                    &format!("deactivate @u{i}:x"),
                    "@alice:x",
                    Decision::Ran,
                ))
                .expect("audit");
        }
        (dir, store)
    }

    #[test]
    fn an_untouched_chain_verifies_and_chains_to_genesis() {
        let (_dir, store) = store_with(4);
        let report = store.verify_audit().expect("verify");
        assert_eq!(report.problems, vec![]);
        assert_eq!(report.chained, 4);
        let (rows, total) = store
            .audit_page(&AuditFilter::default(), 0, 10)
            .expect("page");
        assert_eq!(total, 4);
        let oldest = rows.last().expect("row");
        assert_eq!(oldest.prev_hash.as_deref(), Some(GENESIS));
        assert_eq!(
            rows[0].prev_hash, rows[1].hash,
            "each row chains to the one before"
        );
        assert_eq!(
            report.head,
            Some((rows[0].id, rows[0].hash.clone().expect("hash")))
        );
    }

    #[test]
    fn a_tampered_command_is_found_by_its_row_id() {
        let (_dir, store) = store_with(4);
        store
            .conn()
            .execute("UPDATE audit SET command = 'ping' WHERE id = 2", [])
            .expect("tamper");
        let report = store.verify_audit().expect("verify");
        assert_eq!(report.problems, vec![ChainProblem::Altered { id: 2 }]);
        assert!(
            report.problems[0]
                .to_string()
                .contains("row #2 was altered")
        );
    }

    #[test]
    fn a_removed_middle_row_is_found_by_its_row_id() {
        let (_dir, store) = store_with(5);
        store
            .conn()
            .execute("DELETE FROM audit WHERE id = 3", [])
            .expect("delete");
        let report = store.verify_audit().expect("verify");
        assert_eq!(
            report.problems,
            vec![ChainProblem::Removed {
                first: 3,
                last: 3,
                next: 4
            }]
        );
        assert!(
            report.problems[0]
                .to_string()
                .contains("row #3 was removed")
        );
    }

    #[test]
    fn a_rehashed_row_and_a_removed_first_row_are_found() {
        let (_dir, store) = store_with(3);
        // Rewritten with a consistent hash: the next row's link gives it away.
        {
            let conn = store.conn();
            conn.execute("UPDATE audit SET sender = '@mallory:x' WHERE id = 2", [])
                .expect("tamper");
            let row = conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM audit WHERE id = 2"),
                    [],
                    read_row,
                )
                .expect("row");
            conn.execute(
                "UPDATE audit SET hash = ?1 WHERE id = 2",
                params![row.compute_hash()],
            )
            .expect("rehash");
        }
        let report = store.verify_audit().expect("verify");
        assert_eq!(
            report.problems,
            vec![ChainProblem::BrokenLink {
                id: 3,
                prev: Some(2)
            }]
        );
        assert!(
            report.problems[0]
                .to_string()
                .contains("row #2 was altered")
        );

        let (_dir, store) = store_with(3);
        store
            .conn()
            .execute("DELETE FROM audit WHERE id = 1", [])
            .expect("delete");
        let report = store.verify_audit().expect("verify");
        assert_eq!(
            report.problems,
            vec![ChainProblem::BrokenLink { id: 2, prev: None }]
        );
    }

    #[test]
    fn legacy_rows_keep_working_and_the_chain_starts_after_them() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let old = Connection::open(dir.path().join("syndic.sqlite3")).expect("open");
            old.execute_batch(
                "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
                   room_id TEXT NOT NULL, sender TEXT NOT NULL, command TEXT NOT NULL, outcome TEXT NOT NULL);
                 INSERT INTO audit (at, room_id, sender, command, outcome)
                   VALUES (1, '!ops:x', '@alice:x', 'deactivate @old:x', 'ok');",
            )
            .expect("old schema");
        }
        let store = Store::open(dir.path()).expect("migrated");
        store
            .audit(&entry("ping", "@alice:x", Decision::Ran))
            .expect("audit");
        let report = store.verify_audit().expect("verify");
        assert_eq!((report.legacy, report.chained), (1, 1));
        assert_eq!(report.problems, vec![]);
        let (rows, total) = store
            .audit_page(&AuditFilter::default(), 0, 10)
            .expect("page");
        assert_eq!(total, 2);
        assert_eq!(rows[1].decision_or_outcome(), "ok");
        assert_eq!(rows[0].prev_hash.as_deref(), Some(GENESIS));
        // Stripping a chained row's hash does not make it legacy.
        store
            .audit(&entry("ping", "@alice:x", Decision::Ran))
            .expect("audit");
        store
            .conn()
            .execute("UPDATE audit SET hash = NULL WHERE id = 3", [])
            .expect("strip");
        let report = store.verify_audit().expect("verify");
        assert_eq!(report.problems, vec![ChainProblem::Unhashed { id: 3 }]);
    }

    #[test]
    fn filters_pick_rows_by_user_actor_command_and_time() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        for (command, sender) in [
            ("deactivate @spam:x --erase", "@alice:x"),
            ("deactivate spam", "@bob:x"),
            ("user @spammer:x", "@bob:x"),
            ("deactivate-ish @other:x", "@alice:x"),
            ("ping", "@alice:x"),
        ] {
            store
                .audit(&entry(command, sender, Decision::Ran))
                .expect("audit");
        }
        let ids = |f: AuditFilter| -> Vec<i64> {
            let (rows, total) = store.audit_page(&f, 0, 10).expect("page");
            assert_eq!(total as usize, rows.len());
            rows.iter().map(|r| r.id).collect()
        };
        let user = |full: &str, local: Option<&str>| AuditFilter {
            user: Some((full.to_owned(), local.map(str::to_owned))),
            ..AuditFilter::default()
        };
        assert_eq!(ids(user("@spam:x", Some("spam"))), vec![2, 1]);
        assert_eq!(ids(user("@spammer:x", Some("spammer"))), vec![3]);
        assert_eq!(
            ids(AuditFilter {
                actor: Some("@bob:x".into()),
                ..AuditFilter::default()
            }),
            vec![3, 2]
        );
        assert_eq!(
            ids(AuditFilter {
                command: Some("deactivate".into()),
                ..AuditFilter::default()
            }),
            vec![2, 1]
        );
        assert_eq!(
            ids(AuditFilter {
                since: Some(now_secs() + 60),
                ..AuditFilter::default()
            }),
            Vec::<i64>::new()
        );
        let (page, total) = store
            .audit_page(&AuditFilter::default(), 2, 2)
            .expect("page");
        assert_eq!(
            (page.iter().map(|r| r.id).collect::<Vec<_>>(), total),
            (vec![3, 2], 5)
        );
    }
}
