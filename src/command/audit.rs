//! `!audit`: the audit trail, ten rows a page, newest first, filtered by user, actor, command and
//! age.

use std::sync::Arc;

use super::args::{Age, UserArg};
use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};
use crate::store::{AuditFilter, AuditRow, now_secs};

/// Rows per page of `!audit`: a phone screen.
const PAGE_SIZE: i64 = 10;

/// Longest command line shown per row.
const COMMAND_CHARS: usize = 40;

/// Show the audit trail: who ran or was refused what, newest first
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "audit --user @spammer:example.org --since 7d")]
pub(crate) struct Audit {
    /// Only commands that name this user
    #[arg(long, value_name = "USER")]
    user: Option<UserArg>,
    /// Only commands sent by this user
    #[arg(long, value_name = "USER")]
    actor: Option<UserArg>,
    /// Only this command, e.g. deactivate
    #[arg(long, value_name = "NAME")]
    command: Option<String>,
    /// Only rows newer than this age, e.g. 7d
    #[arg(long, value_name = "AGE")]
    since: Option<Age>,
    /// Page number
    #[arg(long, value_name = "N", default_value_t = 1)]
    page: u64,
}

impl Declared for Audit {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::AuditView];
    const AREA: Area = Area::Basics;
    const INSTANT: bool = true;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        list(ctx, self).map(Planned::Done)
    }
}

/// The filter and the `Next:` command's flags for `args`, or the one-line reason it is wrong.
fn filter_of(ctx: &Ctx, args: &Audit) -> Result<(AuditFilter, String), CommandError> {
    let server = &ctx.config.server_name;
    let prefix = &ctx.config.prefix;
    let mut flags = String::new();
    let mut filter = AuditFilter::default();
    if let Some(user) = &args.user {
        let full = user.resolve(server);
        // A local user may have been typed by name alone.
        let local = (full.server_name() == server).then(|| full.localpart().to_owned());
        flags.push_str(&format!(" --user {full}"));
        filter.user = Some((full.to_string(), local));
    }
    if let Some(actor) = &args.actor {
        let full = actor.resolve(server);
        flags.push_str(&format!(" --actor {full}"));
        filter.actor = Some(full.to_string());
    }
    if let Some(command) = &args.command {
        let name = command.strip_prefix(prefix.as_str()).unwrap_or(command);
        if super::info(name).is_none() {
            return Err(CommandError::Refused(format!(
                "--command: {:?} is not a command; type {prefix}help for the list",
                crate::text::clip(name, 40)
            )));
        }
        flags.push_str(&format!(" --command {name}"));
        filter.command = Some(name.to_owned());
    }
    if let Some(Age(age)) = args.since {
        let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        flags.push_str(&format!(" --since {}", crate::units::format_age(age)));
        filter.since = Some(now_secs().saturating_sub(secs));
    }
    Ok((filter, flags))
}

/// One page.
fn list(ctx: &Ctx, args: Audit) -> Result<Reply, CommandError> {
    let prefix = &ctx.config.prefix;
    let (filter, flags) = filter_of(ctx, &args)?;
    if args.page == 0 {
        return Err(CommandError::Refused("--page: pages start at 1".into()));
    }
    let page = args.page;
    let offset = i64::try_from(page - 1)
        .ok()
        .and_then(|p| p.checked_mul(PAGE_SIZE));
    let (rows, total) = match offset {
        Some(offset) => ctx.store.audit_page(&filter, offset, PAGE_SIZE)?,
        // Past any page there can be: count only.
        None => (Vec::new(), ctx.store.audit_page(&filter, 0, 0)?.1),
    };
    let pages = (total.max(0) as u64).div_ceil(PAGE_SIZE as u64).max(1);
    if rows.is_empty() {
        return Ok(Reply::ok(if page > 1 {
            format!("No audit rows on page {page} (there are {pages}).")
        } else {
            "No audit rows match.".to_owned()
        }));
    }
    let items = rows.iter().map(row_line).collect();
    let noun = if total == 1 { "row" } else { "rows" };
    let mut reply = Reply::ok(Line::new().text(format!(
        "Audit, newest first: page {page} of {pages} ({total} {noun})"
    )))
    .list(items);
    if page < pages {
        reply = reply.line(
            Line::new()
                .text("Next: ")
                .code(format!("{prefix}audit{flags} --page {}", page + 1)),
        );
    }
    Ok(reply)
}

/// `#12 12-01 22:05 · @alice:x · deactivate @bob:x · refused`
fn row_line(row: &AuditRow) -> Line {
    let when = chrono::DateTime::from_timestamp(row.at, 0).map_or_else(
        || "?".to_owned(),
        |t| t.format("%m-%d %H:%M").to_string(),
    );
    Line::new()
        .code(format!("#{}", row.id))
        .text(format!(" {when} · {} · ", row.sender))
        .code(crate::text::clip(&row.command, COMMAND_CHARS))
        .text(format!(" · {}", row.decision_or_outcome()))
}
