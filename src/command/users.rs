//! `!users`: local accounts, ten per page, filtered and sorted; the filters Synapse cannot apply
//! (only deactivated, only locked, suspended, registered since, inactive) are applied here.

use std::sync::Arc;

use clap::ValueEnum;
use futures_util::{StreamExt, TryStreamExt};

use super::args::Age;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::users::{ListUsers, QueryUser, UserListEntry};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};

/// Accounts per page: a phone screen.
const PAGE_SIZE: usize = 10;
/// Suspension lookups in flight (the list does not say who is suspended).
const LOOKUPS_IN_FLIGHT: usize = 8;

/// Sort orders of `!users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UserSort {
    /// Newest first
    Created,
    Name,
    /// Most recently seen first
    LastSeen,
}

/// List accounts, ten per page
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "users --registered-since 2h --sort created")]
pub(crate) struct Users {
    /// Only accounts whose name or display name contains this
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Only server admins
    #[arg(long)]
    admins: bool,
    /// Only deactivated accounts
    #[arg(long)]
    deactivated: bool,
    /// Only locked accounts
    #[arg(long)]
    locked: bool,
    /// Only suspended accounts
    #[arg(long)]
    suspended: bool,
    /// Only accounts registered within this long (2h, 7d)
    #[arg(long, value_name = "AGE")]
    registered_since: Option<Age>,
    /// Only accounts not seen for this long (90d)
    #[arg(long, value_name = "AGE")]
    inactive: Option<Age>,
    /// created, name or last-seen
    #[arg(long, value_enum, default_value_t = UserSort::Created)]
    sort: UserSort,
    /// Page number
    #[arg(long, value_name = "N", default_value_t = 1)]
    page: usize,
}

impl Users {
    /// Whether the account passes the filters: those Synapse cannot apply, and the admin flag,
    /// which with MAS only the bot can; the ages are cutoffs (ms).
    fn keeps(&self, u: &UserListEntry, registered_after: Option<i64>, seen_before: Option<i64>) -> bool {
        !(u.is_guest
            || (self.admins && !u.admin)
            || self.deactivated != u.deactivated
            || (self.locked && !u.locked)
            || registered_after.is_some_and(|t| !u.registered_since(t))
            || seen_before.is_some_and(|t| !u.inactive_since(t)))
    }

    /// The `!users` line that shows page `page` with the same filters.
    fn line_for_page(&self, prefix: &str, page: usize) -> String {
        let mut words = vec![format!("{prefix}users")];
        if let Some(s) = &self.search {
            words.push(format!("--search \"{s}\""));
        }
        for (on, flag) in [
            (self.admins, "--admins"),
            (self.deactivated, "--deactivated"),
            (self.locked, "--locked"),
            (self.suspended, "--suspended"),
        ] {
            if on {
                words.push(flag.into());
            }
        }
        if let Some(a) = self.registered_since {
            words.push(format!("--registered-since {}", crate::units::format_age(a.0)));
        }
        if let Some(a) = self.inactive {
            words.push(format!("--inactive {}", crate::units::format_age(a.0)));
        }
        match self.sort {
            UserSort::Created => {}
            UserSort::Name => words.push("--sort name".into()),
            UserSort::LastSeen => words.push("--sort last-seen".into()),
        }
        words.push(format!("--page {page}"));
        words.join(" ")
    }
}

impl Declared for Users {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserInfo];
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let mut all: Vec<UserListEntry> = Vec::new();
        let admins = ctx.accounts.list_admins().await?;
        let mut pages = std::pin::pin!(ctx.admin.all_users(ListUsers {
            limit: 500,
            deactivated: self.deactivated,
            locked: true,
            admins: (self.admins && admins.synapse_filters()).then_some(true),
            name: self.search.clone(),
            ..ListUsers::default()
        }));
        let registered_after = self.registered_since.map(Age::cutoff_ms);
        let seen_before = self.inactive.map(Age::cutoff_ms);
        while let Some(page) = pages.try_next().await? {
            all.extend(
                page.users
                    .into_iter()
                    .map(|mut u| {
                        u.admin = admins.is_admin(&u);
                        u
                    })
                    .filter(|u| self.keeps(u, registered_after, seen_before)),
            );
        }
        if self.suspended {
            all = only_suspended(ctx, all).await?;
        }
        match self.sort {
            UserSort::Created => all.sort_by_key(|u| std::cmp::Reverse(u.creation_ts)),
            UserSort::Name => all.sort_by(|a, b| a.name.cmp(&b.name)),
            UserSort::LastSeen => all.sort_by_key(|u| std::cmp::Reverse(u.last_seen_ts)),
        }
        let total = all.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = self.page.max(1);
        if total == 0 {
            return Ok(Planned::Done(Reply::ok("No accounts match.")));
        }
        let shown: Vec<Line> = all
            .iter()
            .skip((page - 1).saturating_mul(PAGE_SIZE))
            .take(PAGE_SIZE)
            .map(entry_line)
            .collect();
        if shown.is_empty() {
            return Ok(Planned::Done(Reply::ok(format!(
                "No accounts on page {page} (there are {pages})."
            ))));
        }
        let mut reply = Reply::ok(format!(
            "Accounts, page {page} of {pages} ({total} match)"
        ))
        .list(shown);
        if page < pages {
            reply = reply.line(
                Line::new()
                    .text("Next: ")
                    .code(self.line_for_page(&ctx.config.prefix, page + 1)),
            );
        }
        Ok(Planned::Done(reply))
    }
}

fn entry_line(u: &UserListEntry) -> Line {
    let mut line = Line::new().code(u.name.as_str());
    if let Some(name) = u.displayname.as_deref().filter(|n| !n.is_empty()) {
        line = line.text(format!(" {}", crate::text::clip(name, 30)));
    }
    let mut marks = Vec::new();
    if u.admin {
        marks.push("admin");
    }
    if u.deactivated {
        marks.push("deactivated");
    }
    if u.locked {
        marks.push("locked");
    }
    if u.shadow_banned {
        marks.push("shadow-banned");
    }
    if !marks.is_empty() {
        line = line.text(format!(" [{}]", marks.join(", ")));
    }
    let created = u
        .creation_ts
        .map_or_else(|| "?".to_owned(), format_time_ms);
    let seen = u
        .last_seen_ts
        .map_or_else(|| "never".to_owned(), format_time_ms);
    line.text(format!(" · created {created} · seen {seen}"))
}

async fn only_suspended(
    ctx: &Ctx,
    users: Vec<UserListEntry>,
) -> Result<Vec<UserListEntry>, CommandError> {
    let checked: Vec<(UserListEntry, bool)> = futures_util::stream::iter(users)
        .map(|u| async move {
            let d = ctx
                .admin
                .send(&QueryUser {
                    user_id: u.name.clone(),
                })
                .await?;
            Ok::<_, CommandError>((u, d.suspended))
        })
        .buffered(LOOKUPS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(checked
        .into_iter()
        .filter_map(|(u, suspended)| suspended.then_some(u))
        .collect())
}
