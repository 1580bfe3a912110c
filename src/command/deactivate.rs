//! `!deactivate`: deactivate (and erase) an account, after a preview and a confirmation. The
//! refusal rules (`super::targets`) are checked at plan and again at execute. A set of users
//! runs as a job (`super::user_set`).

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedUserId, UserId};
use serde::{Deserialize, Serialize};

use super::args::UserArg;
use super::targets::{TargetFacts, Verb, lookup, target_refusal};
use super::user_set::{OneOrSet, SetFilters, is_set, plan_set, resolve};
use crate::jobs::users::UserOp;
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::users::{JoinedRooms, UserDetails};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms, yes_no};

/// Deactivate an account; shows a preview and asks for confirmation
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "deactivate @spammer:example.org --erase")]
pub(crate) struct Deactivate {
    /// @name:server, a mention, or just the name; several, or one per line below, for a set
    pub(crate) users: Vec<UserArg>,
    #[command(flatten)]
    pub(crate) filters: SetFilters,
    /// Also erase: messages hidden from new members, profile removed (irreversible)
    #[arg(long)]
    pub(crate) erase: bool,
    /// Allow deactivating a server admin; and more users than safety.max_bulk
    #[arg(long)]
    pub(crate) force: bool,
    /// Show the preview only
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl Declared for Deactivate {
    type Action = OneOrSet<DeactivateAction>;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserDeactivate];
    const AREA: Area = Area::Accounts;
    const TAKES_FILE: bool = true;

    fn permissions(&self) -> Vec<Permission> {
        if self.erase {
            vec![Permission::UserDeactivate, Permission::UserErase]
        } else {
            vec![Permission::UserDeactivate]
        }
    }

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<Self::Action>, CommandError> {
        if is_set(&self.users, &self.filters, origin) {
            let op = UserOp::Deactivate { erase: self.erase };
            let resolved =
                resolve(ctx, origin, &self.users, &self.filters, &op, self.force).await?;
            let planned = plan_set(ctx, origin, op, resolved, self.force, self.dry_run, Vec::new())?;
            return Ok(planned.map(OneOrSet::Set));
        }
        Ok(plan_deactivate(ctx, &origin.sender, self)
            .await?
            .map(OneOrSet::One))
    }
}

/// A confirmed `!deactivate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeactivateAction {
    user_id: OwnedUserId,
    erase: bool,
    force: bool,
}

impl Execute for DeactivateAction {
    fn permissions(&self) -> Vec<Permission> {
        if self.erase {
            vec![Permission::UserDeactivate, Permission::UserErase]
        } else {
            vec![Permission::UserDeactivate]
        }
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        execute_deactivate(ctx, &origin.sender, &self.user_id, self.erase, self.force).await
    }
}

const DEACTIVATE: Verb = Verb {
    base: "deactivate",
    done: "deactivated",
};

fn facts<'a>(
    ctx: &'a Ctx,
    sender: &'a UserId,
    target: &'a UserId,
    force: bool,
    details: Option<&UserDetails>,
) -> TargetFacts<'a> {
    TargetFacts::new(ctx, &DEACTIVATE, target, sender, force, details.map(Into::into))
}

/// `!deactivate`: refusals, then the preview.
async fn plan_deactivate(
    ctx: &Ctx,
    sender: &UserId,
    Deactivate {
        users,
        erase,
        force,
        dry_run,
        ..
    }: Deactivate,
) -> Result<Planned<DeactivateAction>, CommandError> {
    let Some(user) = users.first() else {
        return Err(super::user_set::no_user("deactivate"));
    };
    let target = user.resolve(&ctx.config.server_name);
    if let Some(why) = target_refusal(&facts(ctx, sender, &target, force, None)) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let details = lookup(ctx, &target).await?;
    if let Some(why) = target_refusal(&facts(ctx, sender, &target, force, Some(&details))) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let rooms = ctx
        .admin
        .send(&JoinedRooms {
            user_id: target.to_string(),
        })
        .await
        .map(|r| r.total.to_string())
        .unwrap_or_else(|_| "?".into());
    let mut title = Line::new()
        .bold(if erase {
            "Deactivate and erase "
        } else {
            "Deactivate "
        })
        .code(target.as_str());
    if let Some(name) = details.displayname.as_deref().filter(|n| !n.is_empty()) {
        title = title.text(format!(" ({name})"));
    }
    let what = if erase {
        "Irreversible: logged out everywhere, removed from all rooms, can never log in again; messages hidden from new members, name and avatar removed."
    } else {
        "Logged out everywhere, removed from all rooms, cannot log in; the account's messages stay visible."
    };
    let preview = Reply::new(crate::report::Outcome::Pending)
        .line(title)
        .list(vec![
            Line::new().text(format!(
                "Created: {}",
                details
                    .creation_ts_ms()
                    .map_or_else(|| "unknown".into(), format_time_ms)
            )),
            Line::new().text(format!("Server admin: {}", yes_no(details.admin))),
            Line::new().text(format!("Joined rooms: {rooms}")),
        ])
        .line(what);
    if dry_run {
        return Ok(Planned::DryRun(preview));
    }
    Ok(Planned::Confirm {
        preview,
        action: DeactivateAction {
            user_id: target,
            erase,
            force,
        },
    })
}

/// Runs a confirmed `!deactivate`, re-checking the rules first: the account may have changed since
/// the preview.
async fn execute_deactivate(
    ctx: &Ctx,
    sender: &UserId,
    target: &OwnedUserId,
    erase: bool,
    force: bool,
) -> Result<Reply, CommandError> {
    let details = lookup(ctx, target).await?;
    if let Some(why) = target_refusal(&facts(ctx, sender, target, force, Some(&details))) {
        return Err(CommandError::Refused(format!("Not done: {why}")));
    }
    ctx.accounts.deactivate(&details, erase).await?;
    let after = lookup(ctx, target).await?;
    let line = Line::new()
        .text("Deactivated ")
        .code(target.as_str())
        .text(if erase { " and erased." } else { "." });
    Ok(Reply::ok(line).line(format!(
        "Synapse now reports: deactivated {}, erased {}.",
        yes_no(after.deactivated),
        yes_no(after.erased)
    )))
}
