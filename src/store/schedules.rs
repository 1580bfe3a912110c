//! The `schedules` table and the timing rule: when a schedule runs next. A schedule is a command
//! line with an author and an interval; `crate::app` fires it through the ordinary pipeline.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreResult, now_secs};

/// A parsed `every <interval> [at HH:MM] <command>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleSpec {
    pub(crate) interval: Duration,
    /// Minutes after midnight UTC.
    pub(crate) at: Option<u32>,
    /// The command's words, without the prefix.
    pub(crate) argv: Vec<String>,
}

/// The first run of a new schedule: the next HH:MM (UTC) when `at` is given, else one interval from now.
fn first_run(now: i64, interval: Duration, at: Option<u32>) -> i64 {
    match at {
        None => now + interval.as_secs() as i64,
        Some(minutes) => {
            let day = now - now.rem_euclid(86_400);
            let candidate = day + i64::from(minutes) * 60;
            if candidate > now {
                candidate
            } else {
                candidate + 86_400
            }
        }
    }
}

/// The run after one that was due at `due`: one interval later, skipping every slot already past,
/// so runs missed while the bot was down are not repeated.
fn next_run(due: i64, now: i64, interval: Duration) -> i64 {
    let step = (interval.as_secs() as i64).max(1);
    let mut next = due + step;
    if next <= now {
        next += ((now - next) / step + 1) * step;
    }
    next
}

/// One stored schedule.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub(crate) id: i64,
    pub(crate) room_id: String,
    pub(crate) author: String,
    pub(crate) command_event_id: String,
    pub(crate) argv: Vec<String>,
    pub(crate) interval_secs: i64,
    pub(crate) at: Option<u32>,
    pub(crate) next_run_at: i64,
}

impl Schedule {
    /// `every 1d at 03:00: purge-media 90d`
    pub(crate) fn describe(&self, prefix: &str) -> String {
        let every = crate::units::format_age(Duration::from_secs(self.interval_secs as u64));
        let at = self
            .at
            .map(|m| format!(" at {:02}:{:02} UTC", m / 60, m % 60))
            .unwrap_or_default();
        format!("every {every}{at}: {prefix}{}", self.argv.join(" "))
    }
}

const COLUMNS: &str = "id, room_id, author, command_event_id, argv, interval_secs, at_minute, active, next_run_at, last_run_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Schedule> {
    let argv: String = r.get(4)?;
    Ok(Schedule {
        id: r.get(0)?,
        room_id: r.get(1)?,
        author: r.get(2)?,
        command_event_id: r.get(3)?,
        argv: serde_json::from_str(&argv).unwrap_or_default(),
        interval_secs: r.get(5)?,
        at: r.get(6)?,
        next_run_at: r.get(8)?,
    })
}

impl Store {
    pub(crate) fn create_schedule(
        &self,
        room_id: &str,
        author: &str,
        command_event_id: &str,
        spec: &ScheduleSpec,
        active: bool,
    ) -> StoreResult<i64> {
        let argv = serde_json::to_string(&spec.argv).unwrap_or_else(|_| "[]".into());
        let next = first_run(now_secs(), spec.interval, spec.at);
        let conn = self.conn();
        conn.execute(
            "INSERT INTO schedules (room_id, author, command_event_id, argv, interval_secs, at_minute, active, created_at, next_run_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![room_id, author, command_event_id, argv, spec.interval.as_secs() as i64, spec.at, active, now_secs(), next],
        )?;
        Ok(conn.last_insert_rowid())
    }

    pub(crate) fn activate_schedule(&self, id: i64) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE schedules SET active = 1 WHERE id = ?1 AND active = 0",
            params![id],
        )? == 1)
    }

    pub(crate) fn schedule(&self, id: i64) -> StoreResult<Option<Schedule>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM schedules WHERE id = ?1"),
                params![id],
                from_row,
            )
            .optional()?)
    }

    pub(crate) fn schedules(&self) -> StoreResult<Vec<Schedule>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM schedules WHERE active = 1 ORDER BY id"
        ))?;
        let rows = q.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub(crate) fn delete_schedule(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM schedules WHERE id = ?1", params![id])?
            == 1)
    }

    /// Schedules due at `now`; each is moved to its next slot in the same statement's transaction,
    /// so a run is taken once.
    pub(crate) fn take_due_schedules(&self, now: i64) -> StoreResult<Vec<Schedule>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let due: Vec<Schedule> = {
            let mut q = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM schedules WHERE active = 1 AND next_run_at <= ?1"
            ))?;
            q.query_map(params![now], from_row)?
                .collect::<Result<Vec<_>, _>>()?
        };
        for s in &due {
            let next = next_run(
                s.next_run_at,
                now,
                Duration::from_secs(s.interval_secs as u64),
            );
            tx.execute(
                "UPDATE schedules SET next_run_at = ?2, last_run_at = ?3 WHERE id = ?1",
                params![s.id, next, now],
            )?;
        }
        tx.commit()?;
        Ok(due)
    }

    /// Drops schedules whose confirmation never came.
    pub(crate) fn drop_unconfirmed_schedules(&self, older_than: i64) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM schedules WHERE active = 0 AND created_at < ?1",
            params![older_than],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing() {
        let day = 86_400;
        let midnight = 20_000 * day;
        // at 03:00, asked at 02:00 → today 03:00; asked at 04:00 → tomorrow 03:00
        assert_eq!(
            first_run(
                midnight + 2 * 3600,
                Duration::from_secs(day as u64),
                Some(180)
            ),
            midnight + 3 * 3600
        );
        assert_eq!(
            first_run(
                midnight + 4 * 3600,
                Duration::from_secs(day as u64),
                Some(180)
            ),
            midnight + day + 3 * 3600
        );
        assert_eq!(first_run(1000, Duration::from_secs(60), None), 1060);
        // on time: one interval later
        assert_eq!(next_run(1000, 1000, Duration::from_secs(60)), 1060);
        // down for ten intervals: the missed runs collapse into this one, the next is in the future
        assert_eq!(next_run(1000, 1000 + 600, Duration::from_secs(60)), 1660);
        assert_eq!(next_run(1000, 1000 + 601, Duration::from_secs(60)), 1660);
    }
}
