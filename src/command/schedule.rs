//! The schedule group: `!schedule`, `!schedules`, `!unschedule`. The runner is in jobs/schedule.rs.

use super::{Action, CommandError, Planned, parse};
use crate::bot::Bot;
use crate::jobs::schedule::{parse_spec, schedulable};
use crate::pipeline::Origin;
use crate::report::{Line, Outcome, Reply, format_time_ms};

/// `!schedule every <interval> [at HH:MM] <command>`: the inner command is parsed and authorized
/// now; a destructive one is confirmed once, here.
pub async fn plan_schedule(
    bot: &Bot,
    origin: &Origin<'_>,
    words: &[String],
) -> Result<Planned, CommandError> {
    let prefix = &bot.config.prefix;
    let spec = parse_spec(words, prefix).map_err(CommandError::Refused)?;
    let inner = parse(&spec.argv, prefix).map_err(|e| CommandError::Refused(e.message))?;
    if !schedulable(&inner) {
        return Err(CommandError::Refused(format!(
            "{prefix}{} cannot be scheduled",
            spec.argv[0]
        )));
    }
    if let Err(denied) = bot
        .config
        .roles
        .authorize(origin.sender, &inner.required_permissions())
    {
        return Err(CommandError::Refused(format!(
            "Refused: the scheduled command: {denied}"
        )));
    }
    let destructive = inner.is_destructive();
    let id = bot.store.create_schedule(
        origin.room.room_id().as_str(),
        origin.sender.as_str(),
        origin.event_id.as_str(),
        &spec,
        !destructive,
    )?;
    let schedule = bot
        .store
        .schedule(id)?
        .ok_or_else(|| CommandError::Refused("the schedule vanished".into()))?;
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
    let preview = Reply::new(Outcome::Pending)
        .line(what)
        .line(next)
        .line("This command deletes without asking at every run: confirm it once now. It runs with your permissions, checked again each time.");
    Ok(Planned::Confirm {
        preview,
        action: Action::ActivateSchedule { schedule_id: id },
        dry_run: false,
    })
}

pub fn activate(bot: &Bot, id: i64) -> Result<Reply, CommandError> {
    if !bot.store.activate_schedule(id)? {
        return Err(CommandError::Refused(format!(
            "schedule #{id} no longer waits for confirmation"
        )));
    }
    Ok(Reply::ok(format!("Schedule #{id} is active.")))
}

/// `!schedules`.
pub fn list(bot: &Bot) -> Result<Reply, CommandError> {
    let all = bot.store.schedules()?;
    if all.is_empty() {
        return Ok(Reply::ok("No schedules."));
    }
    let items = all
        .iter()
        .map(|s| {
            Line::new().code(format!("#{}", s.id)).text(format!(
                " {} · next {} · by {}",
                s.describe(&bot.config.prefix),
                format_time_ms(s.next_run_at * 1000),
                s.author
            ))
        })
        .collect();
    Ok(Reply::ok(Line::new().bold("Schedules")).list(items))
}

/// `!unschedule <id>`.
pub fn remove(bot: &Bot, id: i64) -> Result<Reply, CommandError> {
    if bot.store.delete_schedule(id)? {
        Ok(Reply::ok(format!("Schedule #{id} removed.")))
    } else {
        Err(CommandError::Refused(format!("no schedule #{id}")))
    }
}
