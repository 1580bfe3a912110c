//! `!redact-user`: redact an account's messages (in a time window, in one room or all), after a
//! preview and a confirmation; for a set of users too. A job starts Synapse's redaction and
//! follows `redact_status` to the end, across restarts (`crate::jobs::users`).

use std::str::FromStr;
use std::sync::Arc;

use super::args::{Age, RoomArg, UserArg};
use super::user_set::{SetAction, SetFilters, is_set, no_user, plan_set, resolve};
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::admin_api::rooms::EventContext;
use crate::admin_api::users::JoinedRooms;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::users::{UserOp, Window};
use crate::report::{Line, format_time_ms};

/// A calendar day, `2026-01-01`, as the moment it starts (UTC, ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day(i64);

impl FromStr for Day {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Day(t.and_utc().timestamp_millis()))
            .ok_or_else(|| {
                format!(
                    "{:?} is not a day; write it as 2026-01-31",
                    crate::text::clip(s, 20)
                )
            })
    }
}

/// Redact an account's messages (a time window, one room or all)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "redact-user @spammer:example.org --since 24h --reason spam")]
pub(crate) struct RedactUser {
    /// @name:server, a mention, or just the name; several, or one per line below, for a set
    users: Vec<UserArg>,
    #[command(flatten)]
    filters: SetFilters,
    /// Only messages sent within this long (24h, 7d)
    #[arg(long, value_name = "AGE", conflicts_with_all = ["before", "after"])]
    since: Option<Age>,
    /// Only messages sent before this day (2026-01-01)
    #[arg(long, value_name = "DAY")]
    before: Option<Day>,
    /// Only messages sent on or after this day (2025-12-01)
    #[arg(long, value_name = "DAY")]
    after: Option<Day>,
    /// Only in this room
    #[arg(long, value_name = "ROOM")]
    room: Option<RoomArg>,
    /// Only this one event (with --room; it must be the user's)
    #[arg(long, value_name = "EVENT", requires = "room", conflicts_with_all = ["since", "before", "after"])]
    event: Option<String>,
    /// Shown with each redaction
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Allow it on a server admin; and on more users than safety.max_bulk
    #[arg(long)]
    force: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

/// What the window says, for the preview.
pub(super) fn window_text(w: &Window) -> String {
    match (w.after_ms, w.before_ms) {
        (None, None) => "all their messages".into(),
        (Some(a), None) => format!("messages since {}", format_time_ms(a)),
        (None, Some(b)) => format!("messages before {}", format_time_ms(b)),
        (Some(a), Some(b)) => format!(
            "messages between {} and {}",
            format_time_ms(a),
            format_time_ms(b)
        ),
    }
}

impl Declared for RedactUser {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserRedact];
    const AREA: Area = Area::Moderation;
    const TAKES_FILE: bool = true;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<SetAction>, CommandError> {
        let mut window = Window {
            after_ms: self.since.map(Age::cutoff_ms).or(self.after.map(|d| d.0)),
            before_ms: self.before.map(|d| d.0),
        };
        if let (Some(a), Some(b)) = (window.after_ms, window.before_ms)
            && a >= b
            && self.event.is_none()
        {
            return Err(CommandError::Refused(
                "Refused: --after must be a day before --before".into(),
            ));
        }
        if !is_set(&self.users, &self.filters, origin) && self.users.is_empty() {
            return Err(no_user("redact the messages of"));
        }
        let rooms = match &self.room {
            Some(room) => vec![room.resolve(&ctx.admin).await?],
            None => Vec::new(),
        };
        // One event: Synapse redacts by time, so the window is that event's millisecond (both
        // ends inclusive), in its room, of its sender only.
        if let (Some(event), Some(room)) = (&self.event, rooms.first()) {
            let [user] = self.users.as_slice() else {
                return Err(CommandError::Refused(
                    "Refused: --event goes with exactly one user, its sender".into(),
                ));
            };
            let user = user.resolve(&ctx.config.server_name);
            let found = ctx
                .admin
                .send(&EventContext {
                    room_id: room.clone(),
                    event_id: event.clone(),
                })
                .await?;
            if found.event.sender != user.as_str() {
                return Err(CommandError::Refused(format!(
                    "Refused: {event} was sent by {}, not {user}",
                    found.event.sender
                )));
            }
            window = Window {
                after_ms: Some(found.event.origin_server_ts),
                before_ms: Some(found.event.origin_server_ts),
            };
        }
        let reason = self
            .reason
            .map(|r| crate::text::clip(r.trim(), 200))
            .filter(|r| !r.is_empty());
        let op = UserOp::Redact {
            window: window.clone(),
            rooms: rooms.clone(),
            reason,
        };
        let resolved = resolve(ctx, origin, &self.users, &self.filters, &op, self.force).await?;
        let what = match &self.event {
            Some(event) => format!("the event {event}"),
            None => window_text(&window),
        };
        let mut extra = vec![Line::new().text(format!("What: {what}"))];
        match (rooms.first(), resolved.targets.as_slice()) {
            (Some(room), _) => extra.push(Line::new().text("Where: ").code(room.as_str())),
            (None, [only]) => {
                let n = ctx
                    .admin
                    .send(&JoinedRooms {
                        user_id: only.to_string(),
                    })
                    .await
                    .map(|r| r.total.to_string())
                    .unwrap_or_else(|_| "?".into());
                extra.push(Line::new().text(format!(
                    "Where: the {n} rooms it is in, and those it is banned from"
                )));
            }
            (None, _) => extra.push(Line::new().text(
                "Where: every room each one is in, and those they are banned from",
            )),
        }
        extra.push(Line::new().text("Redactions cannot be undone."));
        plan_set(ctx, origin, op, resolved, self.force, self.dry_run, extra)
    }
}
