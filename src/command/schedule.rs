//! `!schedule every <interval> [at HH:MM] <command>`: the inner command is parsed and authorized
//! now; an irreversible one is confirmed once, here. `crate::app` runs each due schedule through
//! the same pipeline as a typed command, with its author as sender.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CommandError, Declared, Execute, Planned, Risk, parse};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::store::ScheduleSpec;

/// The shortest interval accepted: schedules are for maintenance, not for polling.
const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// Run a command at an interval, optionally at a time of day (UTC); destructive ones are confirmed once
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "schedule every 1d at 03:00 !purge-media 90d --remote-only")]
pub(crate) struct Schedule {
    /// every <interval> [at HH:MM] <command>
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1.., value_name = "every <interval> [at HH:MM] <command>")]
    words: Vec<String>,
}

impl Declared for Schedule {
    type Action = ActivateSchedule;
    const PERMISSIONS: &'static [Permission] = &[Permission::Schedule];
    const SCHEDULABLE: bool = false;

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<ActivateSchedule>, CommandError> {
        plan_schedule(ctx, origin, &self.words).await
    }
}

/// Make a schedule of an irreversible command active: it was confirmed once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActivateSchedule {
    schedule_id: i64,
    /// What the scheduled command needs: checked again at confirmation, and a second approver
    /// is asked for where `safety.two_person` lists one of them.
    #[serde(default)]
    inner: Vec<Permission>,
}

impl Execute for ActivateSchedule {
    fn permissions(&self) -> Vec<Permission> {
        let mut all = vec![Permission::Schedule];
        all.extend(self.inner.iter().copied().filter(|p| *p != Permission::Schedule));
        all
    }

    async fn execute(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        activate(ctx, self.schedule_id)
    }
}

/// `!schedule every <interval> [at HH:MM] <command>`: the inner command is parsed and authorized
/// now; a destructive one is confirmed once, here.
async fn plan_schedule(
    ctx: &Ctx,
    origin: &Origin,
    words: &[String],
) -> Result<Planned<ActivateSchedule>, CommandError> {
    let prefix = &ctx.config.prefix;
    let spec = parse_spec(words, prefix).map_err(CommandError::Refused)?;
    let inner = parse(&spec.argv, prefix).map_err(|e| CommandError::Refused(e.message))?;
    if !inner.info().schedulable {
        return Err(CommandError::Refused(format!(
            "{prefix}{} cannot be scheduled",
            spec.argv[0]
        )));
    }
    if let Err(denied) = ctx
        .grants(&origin.room_id, &origin.sender)
        .await
        .authorize(&inner.permissions())
    {
        return Err(CommandError::Refused(format!(
            "Refused: the scheduled command: {denied}"
        )));
    }
    // A command that needs a second approver gets one once, here, like an irreversible one.
    let destructive = inner.risk() == Risk::Irreversible
        || inner
            .permissions()
            .iter()
            .any(|p| ctx.config.two_person.contains(p));
    let id = ctx.store.create_schedule(
        origin.room_id.as_str(),
        origin.sender.as_str(),
        origin.event_id.as_str(),
        &spec,
        !destructive,
    )?;
    let schedule = ctx
        .store
        .schedule(id)?
        .ok_or_else(|| CommandError::Internal("the new schedule vanished".into()))?;
    let what = Line::new()
        .bold(format!("Schedule #{id}"))
        .text(": ")
        .code(schedule.describe(prefix));
    let next = Line::new().text(format!(
        "First run: {}",
        format_time_ms(schedule.next_run_at * 1000)
    ));
    if !destructive {
        return Ok(Planned::Done(
            Reply::ok(what)
                .line(next)
                .line("Each run posts its result here."),
        ));
    }
    let why = if inner.risk() == Risk::Irreversible {
        "This command deletes without asking at every run: confirm it once now."
    } else {
        "This command needs a second approver: it is approved once now, not at every run."
    };
    let preview = Reply::new(Outcome::Pending)
        .line(what)
        .line(next)
        .line(format!(
            "{why} It runs with your permissions, checked again each time."
        ));
    Ok(Planned::Confirm {
        preview,
        action: ActivateSchedule {
            schedule_id: id,
            inner: inner.permissions(),
        },
    })
}

fn activate(ctx: &Ctx, id: i64) -> Result<Reply, CommandError> {
    if !ctx.store.activate_schedule(id)? {
        return Err(CommandError::Refused(format!(
            "schedule #{id} no longer waits for confirmation"
        )));
    }
    Ok(Reply::ok(format!("Schedule #{id} is active.")))
}

/// Reads the words after `!schedule`. Pure.
fn parse_spec(words: &[String], prefix: &str) -> Result<ScheduleSpec, String> {
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

}
