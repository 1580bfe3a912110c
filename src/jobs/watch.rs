//! What the inbox watches besides reports: new accounts (gathered every `inbox.signups_every`),
//! sign-up waves (more than `inbox.wave_threshold` in `inbox.wave_window`: an alert at once), the
//! daily digest (`inbox.digest_at`, and `!digest`), and Synapse's reachability (an outage longer
//! than `inbox.outage_alert_after` is reported once it answers again). Marks live in the store, so
//! a restart does not repeat an alert or a digest.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use matrix_sdk::ruma::RoomId;
use tracing::warn;

use crate::admin_api::AdminError;
use crate::admin_api::health::{
    BackgroundUpdates, Destinations, FailedTasks, MediaUsers, RoomSizes,
};
use crate::admin_api::reports::{ListReports, ReportKind};
use crate::admin_api::server::ServerVersion;
use crate::admin_api::users::{ListUsers, QueryUser, UserListEntry};
use crate::config::InboxSettings;
use crate::context::Ctx;
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::store::now_secs;

const WAVE_MARK: &str = "wave_alert_at";
const SIGNUPS_MARK: &str = "signups_told_until";
const DIGEST_MARK: &str = "digest_day";

/// How many accounts a notice names; the rest are counted.
const NAMED: usize = 10;
/// Sign-ups looked up one by one for their e-mail (the list does not say).
const LOOKED_UP: usize = 20;

fn now_ms() -> i64 {
    now_secs().saturating_mul(1000)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Local accounts created at or after `since_ms`, newest first.
pub(crate) async fn created_since(
    ctx: &Ctx,
    since_ms: i64,
) -> Result<Vec<UserListEntry>, AdminError> {
    let mut out = Vec::new();
    let mut pages = std::pin::pin!(ctx.admin.all_users(ListUsers {
        limit: 100,
        deactivated: true,
        locked: true,
        order_by: Some("creation_ts".into()),
        dir: Some("b".into()),
        ..ListUsers::default()
    }));
    while let Some(page) = pages.try_next().await? {
        let mut older = false;
        for u in page.users {
            if u.registered_since(since_ms) {
                out.push(u);
            } else {
                older = true;
            }
        }
        if older {
            break;
        }
    }
    Ok(out)
}

fn names(users: &[UserListEntry]) -> Vec<Line> {
    users
        .iter()
        .take(NAMED)
        .map(|u| Line::new().code(u.name.as_str()))
        .collect()
}

/// An alert when more accounts than the threshold were made within the window, once per window.
pub(crate) async fn check_wave(ctx: &Ctx, room: &RoomId, s: &InboxSettings) {
    let now = now_ms();
    let window = ms(s.wave_window);
    if let Ok(Some(last)) = ctx.store.inbox_mark(WAVE_MARK)
        && now.saturating_sub(last) < window
    {
        return;
    }
    let new = match created_since(ctx, now.saturating_sub(window)).await {
        Ok(n) => n,
        Err(e) => {
            warn!("cannot read new accounts: {e}");
            return;
        }
    };
    if new.len() <= s.wave_threshold {
        return;
    }
    let age = crate::units::format_age(s.wave_window);
    let p = &ctx.config.prefix;
    let mut alert = Reply::new(Outcome::Failure)
        .line(Line::new().bold(format!(
            "Sign-up wave: {} new accounts in the last {age}",
            new.len()
        )))
        .list(names(&new));
    if new.len() > NAMED {
        alert = alert.line(format!("… and {} more.", new.len() - NAMED));
    }
    alert = alert
        .line(
            Line::new()
                .text("Look: ")
                .code(format!("{p}users --registered-since {age}")),
        )
        .line(
            Line::new()
                .text("Act: ")
                .code(format!("{p}suspend --registered-since {age}")),
        );
    // Marked first: a failure to post is not worth a second alert for the same wave.
    if let Err(e) = ctx.store.set_inbox_mark(WAVE_MARK, now) {
        warn!("{e}");
        return;
    }
    if let Err(e) = ctx.reply(room, None, &alert).await {
        warn!("cannot post the wave alert: {e}");
    }
}

/// Every `signups_every`: one notice with the accounts made since the last one, flagged.
pub(crate) async fn tell_signups(ctx: &Ctx, room: &RoomId, s: &InboxSettings) {
    let Some(every) = s.signups_every else {
        return;
    };
    let now = now_ms();
    let since = match ctx.store.inbox_mark(SIGNUPS_MARK) {
        Ok(Some(t)) => t,
        // The first time: from now on, not the server's whole history.
        Ok(None) => {
            let _ = ctx.store.set_inbox_mark(SIGNUPS_MARK, now);
            return;
        }
        Err(e) => {
            warn!("{e}");
            return;
        }
    };
    if now.saturating_sub(since) < ms(every) {
        return;
    }
    let new = match created_since(ctx, since).await {
        Ok(n) => n,
        Err(e) => {
            warn!("cannot read new accounts: {e}");
            return;
        }
    };
    if let Err(e) = ctx.store.set_inbox_mark(SIGNUPS_MARK, now) {
        warn!("{e}");
        return;
    }
    if new.is_empty() {
        return;
    }
    let suspicious = regex::RegexSet::new(&s.suspicious_names).ok();
    let mut items = Vec::new();
    for u in new.iter().take(LOOKED_UP) {
        let mut flags = Vec::new();
        if let Ok(d) = ctx
            .admin
            .send(&QueryUser {
                user_id: u.name.clone(),
            })
            .await
            && !d.threepids.iter().any(|t| t.medium == "email")
        {
            flags.push("no e-mail");
        }
        if let (Some(set), Some(name)) = (&suspicious, u.displayname.as_deref())
            && set.is_match(name)
        {
            flags.push("suspicious name");
        }
        let mut line = Line::new().code(u.name.as_str());
        if !flags.is_empty() {
            line = line.text(format!(" · {}", flags.join(", ")));
        }
        items.push(line);
    }
    let mut notice = Reply::new(Outcome::Success)
        .line(Line::new().bold(format!(
            "New accounts since {}: {}",
            format_time_ms(since),
            new.len()
        )))
        .list(items);
    if new.len() > LOOKED_UP {
        notice = notice.line(format!("… and {} more.", new.len() - LOOKED_UP));
    }
    if let Err(e) = ctx.reply(room, None, &notice).await {
        warn!("cannot post the sign-ups: {e}");
    }
}

/// The digest, once a day at `digest_at` (UTC).
pub(crate) async fn daily_digest(ctx: &Ctx, room: &RoomId, s: &InboxSettings) {
    let Some((hour, minute)) = s.digest_at else {
        return;
    };
    let now = chrono::Utc::now();
    let today: i64 = now.format("%Y%m%d").to_string().parse().unwrap_or_default();
    let due = (
        now.format("%H").to_string().parse::<u32>().unwrap_or(0),
        now.format("%M").to_string().parse::<u32>().unwrap_or(0),
    ) >= (hour, minute);
    if !due || ctx.store.inbox_mark(DIGEST_MARK).ok().flatten() == Some(today) {
        return;
    }
    if let Err(e) = ctx.store.set_inbox_mark(DIGEST_MARK, today) {
        warn!("{e}");
        return;
    }
    if let Err(e) = ctx.reply(room, None, &digest(ctx).await).await {
        warn!("cannot post the digest: {e}");
    }
}

/// One phone screen on the server: the last day's accounts, reports, failed tasks, federation,
/// media, background updates. A part Synapse cannot give says so.
pub(crate) async fn digest(ctx: &Ctx) -> Reply {
    let day_ago = now_ms().saturating_sub(86_400_000);
    let p = &ctx.config.prefix;
    let mut items = Vec::new();
    items.push(match created_since(ctx, day_ago).await {
        Ok(new) => Line::new().text(format!("New accounts (24 h): {}", new.len())),
        Err(e) => Line::new().text(format!("New accounts: cannot tell ({e})")),
    });
    let mut reports = Vec::new();
    for kind in [ReportKind::Event, ReportKind::User] {
        if let Ok(page) = ctx
            .admin
            .send(&ListReports {
                kind,
                from: 0,
                limit: 1,
            })
            .await
        {
            reports.push(format!(
                "{} {}",
                page.total,
                if kind == ReportKind::Event {
                    "event"
                } else {
                    "user"
                }
            ));
        }
    }
    let open_here = ctx.store.open_report_count().unwrap_or(0);
    items.push(Line::new().text(format!(
        "Reports on Synapse: {}; open here: {open_here}",
        if reports.is_empty() {
            "cannot tell".to_owned()
        } else {
            reports.join(", ")
        }
    )));
    items.push(match ctx.admin.send(&FailedTasks).await {
        Ok(t) => {
            let recent: Vec<_> = t
                .scheduled_tasks
                .iter()
                .filter(|t| t.timestamp_ms >= day_ago)
                .collect();
            let mut line =
                Line::new().text(format!("Failed scheduled tasks (24 h): {}", recent.len()));
            if let Some(first) = recent.first() {
                line = line.text(format!(
                    " (e.g. {}: {})",
                    first.action,
                    crate::text::clip(first.error.as_deref().unwrap_or("?"), 60)
                ));
            }
            line
        }
        Err(e) => Line::new().text(format!("Failed scheduled tasks: cannot tell ({e})")),
    });
    items.push(match ctx.admin.send(&Destinations).await {
        Ok(d) => {
            let failing = d
                .destinations
                .iter()
                .filter(|x| x.failure_ts.is_some())
                .count();
            let backoff = d
                .destinations
                .iter()
                .filter(|x| x.retry_interval > 0)
                .count();
            Line::new().text(format!(
                "Federation: {} destinations, {failing} failing, {backoff} in backoff",
                d.total
            ))
        }
        Err(e) => Line::new().text(format!("Federation: cannot tell ({e})")),
    });
    items.push(match ctx.admin.send(&MediaUsers { limit: 3 }).await {
        Ok(m) if m.users.is_empty() => Line::new().text("Largest media users: none"),
        Ok(m) => Line::new().text(format!(
            "Largest media users: {}",
            m.users
                .iter()
                .map(|u| format!(
                    "{} ({})",
                    u.user_id,
                    crate::units::format_bytes(u.media_length)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e) => Line::new().text(format!("Largest media users: cannot tell ({e})")),
    });
    items.push(match ctx.admin.send(&RoomSizes).await {
        Ok(r) if r.rooms.is_empty() => {
            Line::new().text("Largest rooms: not estimated (PostgreSQL only)")
        }
        Ok(r) => Line::new().text(format!(
            "Largest rooms: {}",
            r.rooms
                .iter()
                .take(3)
                .map(|x| format!(
                    "{} ({})",
                    x.room_id,
                    crate::units::format_bytes(x.estimated_size)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e) => Line::new().text(format!("Largest rooms: cannot tell ({e})")),
    });
    items.push(match ctx.admin.send(&BackgroundUpdates).await {
        Ok(b) if b.current_updates.is_empty() => {
            Line::new().text("Background updates: none running")
        }
        Ok(b) => Line::new().text(format!(
            "Background updates: {}",
            b.current_updates
                .values()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e) => Line::new().text(format!("Background updates: cannot tell ({e})")),
    });
    Reply::ok(Line::new().bold("Digest")).list(items).line(
        Line::new()
            .text("More: ")
            .code(format!("{p}reports --open"))
            .text(" · ")
            .code(format!("{p}users --registered-since 1d")),
    )
}

/// Whether Synapse answered lately, and since when it has not.
#[derive(Debug, Default)]
pub(crate) struct Health {
    down_since: Option<(Instant, i64)>,
}

impl Health {
    /// Asks Synapse; once it answers after an outage longer than the setting, says so in `room`.
    pub(crate) async fn check(&mut self, ctx: &Ctx, room: &RoomId, s: &InboxSettings) {
        match ctx.admin.send(&ServerVersion).await {
            Err(AdminError::Unreachable { .. }) => {
                if self.down_since.is_none() {
                    self.down_since = Some((Instant::now(), now_ms()));
                }
            }
            // Any answer, even an error, is Synapse answering.
            _ => {
                let Some((since, since_ms)) = self.down_since.take() else {
                    return;
                };
                let lasted = since.elapsed();
                if lasted <= s.outage_alert_after {
                    return;
                }
                let notice = Reply::new(Outcome::Failure)
                    .line(Line::new().bold(format!(
                        "Synapse could not be reached from {} to {} ({}).",
                        format_time_ms(since_ms),
                        format_time_ms(now_ms()),
                        crate::units::format_age(Duration::from_secs(lasted.as_secs()))
                    )))
                    .line("Delayed meanwhile: report polls, schedules and running jobs; they go on now.");
                if let Err(e) = ctx.reply(room, None, &notice).await {
                    warn!("cannot post the outage notice: {e}");
                }
            }
        }
    }
}
