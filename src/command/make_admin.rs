//! `!make-admin <user>`: grant the server-admin flag after a preview and a confirmation (and
//! `set_admin`, which `!revoke-admin` shares). Never the bot, never the sender: a delegated
//! `user.admin` must not become the sender's own Synapse admin token.

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedUserId, UserId};
use serde::{Deserialize, Serialize};

use super::args::UserArg;
use super::targets::{TargetFacts, Verb, lookup, target_refusal};
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::accounts::Backend;
use crate::admin_api::users::UserDetails;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply, format_time_ms};

/// Make an account a server admin; shows a preview and asks for confirmation
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "make-admin @alice:example.org")]
pub(crate) struct MakeAdmin {
    /// @name:server, a mention, or just the name
    pub(crate) user: UserArg,
    /// Show the preview only
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl Declared for MakeAdmin {
    type Action = SetAdmin;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserAdmin];
    const AREA: Area = Area::Accounts;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<SetAdmin>, CommandError> {
        plan_set_admin(ctx, origin, &self.user, true, self.dry_run).await
    }
}

/// A confirmed `!make-admin` or `!revoke-admin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SetAdmin {
    user_id: OwnedUserId,
    admin: bool,
}

impl Execute for SetAdmin {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::UserAdmin]
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        let details = lookup(ctx, &self.user_id).await?;
        if let Some(why) = refusal(ctx, &origin.sender, &self.user_id, self.admin, Some(&details)) {
            return Err(CommandError::Refused(format!("Not done: {why}")));
        }
        ctx.accounts.set_admin(&details, self.admin).await?;
        let after = lookup(ctx, &self.user_id).await?;
        if after.admin != self.admin {
            return Err(CommandError::Internal(format!(
                "Synapse accepted the change, but {} still reports admin: {}",
                self.user_id, after.admin
            )));
        }
        Ok(Reply::ok(Line::new().code(self.user_id.as_str()).text(if self.admin {
            " is now a server admin."
        } else {
            " is no longer a server admin."
        })))
    }
}

const PROMOTE: Verb = Verb {
    base: "promote",
    done: "promoted",
};
const DEMOTE: Verb = Verb {
    base: "demote",
    done: "demoted",
};

/// Why the flag will not be changed, if it will not: the target rules (the admin rule aside, since
/// admins are what this is about), then whether there is anything to change.
fn refusal(
    ctx: &Ctx,
    sender: &UserId,
    target: &UserId,
    admin: bool,
    details: Option<&UserDetails>,
) -> Option<String> {
    let verb = if admin { &PROMOTE } else { &DEMOTE };
    let facts = TargetFacts::new(ctx, verb, target, sender, true, details.map(Into::into));
    if let Some(why) = target_refusal(&facts) {
        return Some(why);
    }
    match details {
        Some(d) if d.admin == admin => Some(format!(
            "{target} {} a server admin",
            if admin { "is already" } else { "is not" }
        )),
        _ => None,
    }
}

/// `!make-admin` / `!revoke-admin`: the rules, then the preview.
pub(super) async fn plan_set_admin(
    ctx: &Ctx,
    origin: &Origin,
    user: &UserArg,
    admin: bool,
    dry_run: bool,
) -> Result<Planned<SetAdmin>, CommandError> {
    let target = user.resolve(&ctx.config.server_name);
    if let Some(why) = refusal(ctx, &origin.sender, &target, admin, None) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let details = lookup(ctx, &target).await?;
    if let Some(why) = refusal(ctx, &origin.sender, &target, admin, Some(&details)) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let mut title = Line::new()
        .bold(if admin {
            "Make server admin: "
        } else {
            "Revoke server admin: "
        })
        .code(target.as_str());
    if let Some(name) = details.displayname.as_deref().filter(|n| !n.is_empty()) {
        title = title.text(format!(" ({})", crate::text::clip(name, 40)));
    }
    let created = details
        .creation_ts_ms()
        .map_or_else(|| "unknown".into(), format_time_ms);
    let on_mas = ctx.accounts.backend() == Backend::Mas;
    let what = match (admin, on_mas) {
        (true, false) => {
            "A server admin can do anything on this server through the Admin API, outside Syndic's roles."
        }
        (true, true) => {
            "Set in MAS: the account may then ask for the Synapse admin scope and do anything through the Admin API, outside Syndic's roles."
        }
        (false, false) => "The account keeps its rooms and messages; it loses the Admin API.",
        (false, true) => {
            "Set in MAS: new sessions get no admin scope; sessions that have it keep it until they end (!end-sessions)."
        }
    };
    let preview = Reply::new(Outcome::Pending)
        .line(title)
        .list(vec![Line::new().text(format!("Created: {created}"))])
        .line(what);
    if dry_run {
        return Ok(Planned::DryRun(preview));
    }
    Ok(Planned::Confirm {
        preview,
        action: SetAdmin {
            user_id: target,
            admin,
        },
    })
}
