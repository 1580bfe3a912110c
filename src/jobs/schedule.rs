//! Scheduled maintenance: stored schedules, the timing rule, and the runner that fires them.
//!
//! A schedule runs with its author's permissions, checked again at every run. A destructive command
//! is confirmed once, when the schedule is made. Runs missed while the bot was down run once at
//! start, not once per missed interval.

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use rusqlite::{OptionalExtension, params};
use tracing::{info, warn};

use crate::bot::Bot;
use crate::command::{self, Command, Planned};
use crate::matrix::send::send_reply;
use crate::pipeline::Origin;
use crate::report::{Line, Outcome, Reply};
use crate::store::{Store, StoreResult, now_secs};

/// The shortest interval accepted: schedules are for maintenance, not for polling.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// A parsed `every <interval> [at HH:MM] <command>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub interval: Duration,
    /// Minutes after midnight UTC.
    pub at: Option<u32>,
    /// The command's words, without the prefix.
    pub argv: Vec<String>,
}

/// Reads the words after `!schedule`. Pure.
pub fn parse_spec(words: &[String], prefix: &str) -> Result<ScheduleSpec, String> {
    let usage = format!(
        "write {prefix}schedule every <interval> [at HH:MM] <command>, e.g. {prefix}schedule every 1d at 03:00 {prefix}purge-media 90d --remote-only"
    );
    let mut it = words.iter();
    if it.next().map(String::as_str) != Some("every") {
        return Err(usage);
    }
    let interval = it.next().ok_or_else(|| usage.clone())?;
    let interval = crate::units::parse_age(interval).map_err(|e| e.to_string())?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "the interval must be at least {}",
            crate::units::format_age(MIN_INTERVAL)
        ));
    }
    let rest: Vec<String> = it.cloned().collect();
    let (at, argv) = match rest.first().map(String::as_str) {
        Some("at") => {
            let time = rest.get(1).ok_or_else(|| usage.clone())?;
            (
                Some(parse_hhmm(time).ok_or_else(|| {
                    format!("{time:?} is not a time of day; write HH:MM (UTC), e.g. 03:00")
                })?),
                rest[2..].to_vec(),
            )
        }
        _ => (None, rest),
    };
    let mut argv = argv;
    match argv.first_mut() {
        Some(first) if first.starts_with(prefix) => {
            *first = first[prefix.len()..].to_owned();
        }
        Some(_) => {}
        None => return Err(format!("which command? {usage}")),
    }
    Ok(ScheduleSpec { interval, at, argv })
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() <= 5).then_some(h * 60 + m)
}

/// The first run of a new schedule: the next HH:MM (UTC) when `at` is given, else one interval from now.
pub fn first_run(now: i64, interval: Duration, at: Option<u32>) -> i64 {
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
pub fn next_run(due: i64, now: i64, interval: Duration) -> i64 {
    let step = (interval.as_secs() as i64).max(1);
    let mut next = due + step;
    if next <= now {
        next += ((now - next) / step + 1) * step;
    }
    next
}

/// Commands that may be scheduled: not the ones that need a person or a file.
pub fn schedulable(c: &Command) -> bool {
    !matches!(
        c,
        Command::Confirm { .. }
            | Command::Cancel { .. }
            | Command::Schedule { .. }
            | Command::Unschedule { .. }
            | Command::ImportUsers { .. }
    )
}

/// One stored schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: i64,
    pub room_id: String,
    pub author: String,
    pub command_event_id: String,
    pub argv: Vec<String>,
    pub interval_secs: i64,
    pub at: Option<u32>,
    pub active: bool,
    pub next_run_at: i64,
    pub last_run_at: Option<i64>,
}

impl Schedule {
    /// `every 1d at 03:00: purge-media 90d`
    pub fn describe(&self, prefix: &str) -> String {
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
        active: r.get(7)?,
        next_run_at: r.get(8)?,
        last_run_at: r.get(9)?,
    })
}

impl Store {
    pub fn create_schedule(
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

    pub fn activate_schedule(&self, id: i64) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE schedules SET active = 1 WHERE id = ?1 AND active = 0",
            params![id],
        )? == 1)
    }

    pub fn schedule(&self, id: i64) -> StoreResult<Option<Schedule>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM schedules WHERE id = ?1"),
                params![id],
                from_row,
            )
            .optional()?)
    }

    pub fn schedules(&self) -> StoreResult<Vec<Schedule>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM schedules WHERE active = 1 ORDER BY id"
        ))?;
        let rows = q.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn delete_schedule(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM schedules WHERE id = ?1", params![id])?
            == 1)
    }

    /// Schedules due at `now`; each is moved to its next slot in the same statement's transaction,
    /// so a run is taken once.
    pub fn take_due_schedules(&self, now: i64) -> StoreResult<Vec<Schedule>> {
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
    pub fn drop_unconfirmed_schedules(&self, older_than: i64) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM schedules WHERE active = 0 AND created_at < ?1",
            params![older_than],
        )?;
        Ok(())
    }
}

/// Fires due schedules, checking every second, until the bot stops.
pub fn start_runner(bot: &Arc<Bot>) {
    let b = bot.clone();
    bot.spawn(async move {
        loop {
            match b.store.take_due_schedules(now_secs()) {
                Ok(due) => {
                    for s in due {
                        run_once(&b, &s).await;
                    }
                }
                Err(e) => warn!("cannot read schedules: {e}"),
            }
            let _ = b.store.drop_unconfirmed_schedules(
                now_secs() - b.config.confirm_timeout.as_secs() as i64 - 60,
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn run_once(bot: &Arc<Bot>, s: &Schedule) {
    let prefix = bot.config.prefix.clone();
    let (Ok(room_id), Ok(author), Ok(event_id)) = (
        OwnedRoomId::try_from(s.room_id.as_str()),
        OwnedUserId::try_from(s.author.as_str()),
        OwnedEventId::try_from(s.command_event_id.as_str()),
    ) else {
        warn!(schedule = s.id, "schedule has unreadable IDs; skipping");
        return;
    };
    let Some(room) = bot.client.get_room(&room_id) else {
        warn!(schedule = s.id, "the bot is not in the schedule's room");
        return;
    };
    let head = Line::new()
        .bold(format!("Schedule #{}", s.id))
        .text(format!(" ({})", s.describe(&prefix)));
    let reply = match command::parse(&s.argv, &prefix) {
        Err(e) => Reply::error(head).line(e.message),
        Ok(cmd) => match bot
            .config
            .roles
            .authorize(&author, &cmd.required_permissions())
        {
            Err(denied) => Reply::error(head).line(format!("Skipped: {author}: {denied}.")),
            Ok(()) => {
                info!(schedule = s.id, command = %s.argv.join(" "), "running schedule");
                let origin = Origin {
                    room: &room,
                    sender: &author,
                    event_id: &event_id,
                    file: None,
                };
                let result = match command::plan(bot, &origin, cmd).await {
                    Planned::Done(r) => r,
                    // Confirmed once, when the schedule was made.
                    Planned::Confirm {
                        action,
                        dry_run: false,
                        ..
                    } => command::execute(bot, &origin, action).await,
                    Planned::Confirm {
                        preview,
                        dry_run: true,
                        ..
                    } => preview,
                };
                Reply::new(if result.outcome == Outcome::Failure {
                    Outcome::Failure
                } else {
                    Outcome::Success
                })
                .line(head)
                .line(result.plain())
            }
        },
    };
    if let Err(e) = send_reply(&room, Some(&event_id), &reply).await {
        warn!(schedule = s.id, "cannot report a scheduled run: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn specs() {
        let s =
            parse_spec(&w("every 1d at 03:00 !purge-media 90d --remote-only"), "!").expect("ok");
        assert_eq!(
            s,
            ScheduleSpec {
                interval: Duration::from_secs(86_400),
                at: Some(180),
                argv: w("purge-media 90d --remote-only")
            }
        );
        let s = parse_spec(&w("every 12h ping"), "!").expect("ok");
        assert_eq!((s.at, s.argv), (None, w("ping")));
        for bad in [
            "",
            "each 1d !ping",
            "every !ping",
            "every 1d",
            "every 1d at 25:00 !ping",
            "every 1d at 3 !ping",
            "every 2s !ping",
            "every 1d at 03:00",
        ] {
            assert!(parse_spec(&w(bad), "!").is_err(), "{bad}");
        }
    }

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
