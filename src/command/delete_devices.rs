//! `!delete-devices`: log out and delete an account's devices (all, those inactive for a while,
//! or the ones named), after a preview and a confirmation; for a set of users too. Runs as a job
//! (`crate::jobs::users`), which checks the rules again for each account.

use std::sync::Arc;

use super::args::{Age, UserArg};
use super::user_set::{SetAction, SetFilters, is_set, no_user, plan_set, resolve};
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::admin_api::users::ListDevices;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::users::{DeviceChoice, UserOp};
use crate::report::{Line, format_time_ms};

/// How many devices the preview names.
const SHOWN: usize = 20;

/// Log out and delete devices: all, the inactive ones, or those named
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "delete-devices @alice:example.org --inactive 90d")]
pub(crate) struct DeleteDevices {
    /// @name:server, a mention, or just the name (a set: one per line below the command)
    user: Option<UserArg>,
    /// Device IDs to delete (one user only)
    devices: Vec<String>,
    /// Devices not seen for this long (90d)
    #[arg(long, value_name = "AGE")]
    inactive: Option<Age>,
    /// Every device
    #[arg(long)]
    all: bool,
    /// Every local user whose ID matches this regular expression
    #[arg(long, value_name = "RE")]
    regex: Option<String>,
    /// Every local user registered within this long (2h, 7d)
    #[arg(long, value_name = "AGE")]
    registered_since: Option<Age>,
    /// Allow it on a server admin; and on more users than safety.max_bulk
    #[arg(long)]
    force: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

impl DeleteDevices {
    fn choice(&self) -> Result<DeviceChoice, CommandError> {
        let chosen = [self.all, self.inactive.is_some(), !self.devices.is_empty()]
            .iter()
            .filter(|b| **b)
            .count();
        if chosen != 1 {
            return Err(CommandError::Refused(
                "Refused: say which devices: --all, --inactive 90d, or their IDs after the user"
                    .into(),
            ));
        }
        Ok(if self.all {
            DeviceChoice::All
        } else if let Some(age) = self.inactive {
            DeviceChoice::InactiveBefore(age.cutoff_ms())
        } else {
            DeviceChoice::These(self.devices.clone())
        })
    }
}

impl Declared for DeleteDevices {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserDevices];
    const AREA: Area = Area::Accounts;
    const TAKES_FILE: bool = true;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<SetAction>, CommandError> {
        let devices = self.choice()?;
        let op = UserOp::DeleteDevices {
            devices: devices.clone(),
        };
        let filters = SetFilters {
            regex: self.regex.clone(),
            registered_since: self.registered_since,
            inactive: None,
        };
        let typed: Vec<UserArg> = self.user.iter().cloned().collect();
        if is_set(&typed, &filters, origin) {
            if matches!(devices, DeviceChoice::These(_)) {
                return Err(CommandError::Refused(
                    "Refused: device IDs go with one user; for a set use --all or --inactive"
                        .into(),
                ));
            }
            let resolved = resolve(ctx, origin, &typed, &filters, &op, self.force).await?;
            return plan_set(ctx, origin, op, resolved, self.force, self.dry_run, Vec::new());
        }
        let Some(user) = typed.first() else {
            return Err(no_user("delete the devices of"));
        };
        // One user: the rules, then the devices that would go, by name.
        let resolved = resolve(ctx, origin, &typed, &filters, &op, self.force).await?;
        let target = user.resolve(&ctx.config.server_name);
        let have = ctx
            .admin
            .send(&ListDevices {
                user_id: target.to_string(),
            })
            .await?
            .devices;
        let doomed: Vec<_> = have
            .iter()
            .filter(|d| match &devices {
                DeviceChoice::All => true,
                DeviceChoice::InactiveBefore(cutoff) => {
                    d.last_seen_ts.is_none_or(|ts| ts < *cutoff)
                }
                DeviceChoice::These(ids) => ids.contains(&d.device_id),
            })
            .collect();
        if let DeviceChoice::These(ids) = &devices
            && let Some(unknown) = ids.iter().find(|id| !have.iter().any(|d| &d.device_id == *id))
        {
            return Err(CommandError::Refused(format!(
                "Refused: {target} has no device {unknown}"
            )));
        }
        if doomed.is_empty() {
            return Err(CommandError::Refused(format!(
                "Refused: none of the {} devices of {target} match; nothing to delete",
                have.len()
            )));
        }
        let mut extra = vec![Line::new().text(format!(
            "Devices to log out and delete: {} of {}",
            doomed.len(),
            have.len()
        ))];
        for d in doomed.iter().take(SHOWN) {
            let seen = d
                .last_seen_ts
                .map_or_else(|| "never seen".to_owned(), |ts| format!("seen {}", format_time_ms(ts)));
            extra.push(Line::new().text("· ").code(d.device_id.as_str()).text(format!(" {seen}")));
        }
        plan_set(ctx, origin, op, resolved, self.force, self.dry_run, extra)
    }
}
