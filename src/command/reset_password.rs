//! `!reset-password <user>`: a generated password, after a preview and a confirmation, delivered
//! as a file in an encrypted room (`super::secrets`). A password is never typed in the room.

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedUserId, UserId};
use serde::{Deserialize, Serialize};

use super::args::{UserArg, only_encrypted};
use super::secrets::password_file;
use super::targets::{TargetFacts, Verb, lookup, target_refusal};
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::users::{ListDevices, UserDetails};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply};

/// Give an account a new, generated password (sent as a file, redacted later)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "reset-password @alice:example.org --keep-devices")]
pub(crate) struct ResetPassword {
    /// @name:server, a mention, or just the name
    user: UserArg,
    /// Leave its devices logged in (by default all are logged out)
    #[arg(long)]
    keep_devices: bool,
    /// Allow it on a server admin
    #[arg(long)]
    force: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

/// A confirmed `!reset-password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResetAction {
    user_id: OwnedUserId,
    keep_devices: bool,
    force: bool,
}

const RESET: Verb = Verb {
    base: "reset the password of",
    done: "given a new password",
};

fn facts<'a>(
    ctx: &'a Ctx,
    sender: &'a UserId,
    target: &'a UserId,
    force: bool,
    details: Option<&UserDetails>,
) -> TargetFacts<'a> {
    TargetFacts::new(ctx, &RESET, target, sender, force, details.map(Into::into))
}

impl Declared for ResetPassword {
    type Action = ResetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserPassword];
    const AREA: Area = Area::Accounts;
    const SCHEDULABLE: bool = false;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<ResetAction>, CommandError> {
        only_encrypted(origin, "a new password")?;
        let target = self.user.resolve(&ctx.config.server_name);
        let refuse = |why: String| CommandError::Refused(format!("Refused: {why}"));
        if let Some(why) = target_refusal(&facts(ctx, &origin.sender, &target, self.force, None)) {
            return Err(refuse(why));
        }
        let details = lookup(ctx, &target).await?;
        if let Some(why) = target_refusal(&facts(
            ctx,
            &origin.sender,
            &target,
            self.force,
            Some(&details),
        )) {
            return Err(refuse(why));
        }
        let devices = ctx
            .admin
            .send(&ListDevices {
                user_id: target.to_string(),
            })
            .await
            .map(|d| d.total.to_string())
            .unwrap_or_else(|_| "?".into());
        let mut title = Line::new().bold("Reset the password of ").code(target.as_str());
        if let Some(name) = details.displayname.as_deref().filter(|n| !n.is_empty()) {
            title = title.text(format!(" ({})", crate::text::clip(name, 40)));
        }
        let devices_line = if self.keep_devices {
            format!("Devices: {devices}, left logged in (--keep-devices).")
        } else {
            format!("Devices: {devices}, all logged out.")
        };
        let preview = Reply::new(Outcome::Pending)
            .line(title)
            .list(vec![
                Line::new().text(devices_line),
                Line::new().text(format!(
                    "The old password stops working. The new one, 20 characters, comes as a file, redacted after {}.",
                    crate::units::format_age(ctx.config.secret_ttl)
                )),
            ]);
        if self.dry_run {
            return Ok(Planned::DryRun(preview));
        }
        Ok(Planned::Confirm {
            preview,
            action: ResetAction {
                user_id: target,
                keep_devices: self.keep_devices,
                force: self.force,
            },
        })
    }
}

impl Execute for ResetAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::UserPassword]
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        // The password could not be delivered anywhere else: refused before it is changed.
        only_encrypted(origin, "a new password")?;
        let details = lookup(ctx, &self.user_id).await?;
        if let Some(why) = target_refusal(&facts(
            ctx,
            &origin.sender,
            &self.user_id,
            self.force,
            Some(&details),
        )) {
            return Err(CommandError::Refused(format!("Not done: {why}")));
        }
        let password = crate::jobs::import::generate_password();
        ctx.accounts
            .set_password(&details, &password, !self.keep_devices)
            .await?;
        let (file, hint) = password_file(ctx, &self.user_id, &password);
        let head = Line::new()
            .code(self.user_id.as_str())
            .text(" has a new password");
        let head = head.text(if self.keep_devices {
            "; its devices stay logged in."
        } else {
            "; every device was logged out."
        });
        Ok(Reply::ok(head).line(hint).attach(file))
    }
}
