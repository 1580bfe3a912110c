//! `!offboard`: the spam-account playbook in one preview and one confirmation: suspend first (so
//! nothing more is sent), redact the messages in the window, delete the account's media, then
//! deactivate (and erase). A job keeps each account's step, so a restart resumes there
//! (`crate::jobs::users`).

use std::sync::Arc;

use super::args::{Age, UserArg};
use super::redact_user::window_text;
use super::user_set::{SetAction, SetFilters, is_set, no_user, plan_set, resolve};
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::users::{UserOp, Window};
use crate::report::Line;

/// Suspend, redact messages, delete media, deactivate: one confirmation
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "offboard --registered-since 2h --erase")]
pub(crate) struct Offboard {
    /// @name:server, a mention, or just the name; several, or one per line below, for a set
    users: Vec<UserArg>,
    #[command(flatten)]
    filters: SetFilters,
    /// Also erase: messages hidden from new members, profile removed (needs user.erase)
    #[arg(long)]
    erase: bool,
    /// Redact only messages sent within this long (default: all)
    #[arg(long, value_name = "AGE")]
    since: Option<Age>,
    /// Allow it on a server admin; and on more users than safety.max_bulk
    #[arg(long)]
    force: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

impl Offboard {
    fn op(&self) -> UserOp {
        UserOp::Offboard {
            erase: self.erase,
            window: Window {
                after_ms: self.since.map(Age::cutoff_ms),
                before_ms: None,
            },
        }
    }
}

impl Declared for Offboard {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[
        Permission::UserDeactivate,
        Permission::UserRedact,
        Permission::MediaDelete,
    ];
    const AREA: Area = Area::Moderation;
    const TAKES_FILE: bool = true;

    fn permissions(&self) -> Vec<Permission> {
        self.op().permissions()
    }

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<SetAction>, CommandError> {
        if !is_set(&self.users, &self.filters, origin) && self.users.is_empty() {
            return Err(no_user("offboard"));
        }
        let op = self.op();
        let resolved = resolve(ctx, origin, &self.users, &self.filters, &op, self.force).await?;
        let window = Window {
            after_ms: self.since.map(Age::cutoff_ms),
            before_ms: None,
        };
        let extra = vec![
            Line::new().text("For each: 1. suspend (nothing more is sent)"),
            Line::new().text(format!("2. redact {}", window_text(&window))),
            Line::new().text("3. delete its media"),
            Line::new().text(if self.erase {
                "4. deactivate and erase (irreversible)"
            } else {
                "4. deactivate (irreversible)"
            }),
        ];
        plan_set(ctx, origin, op, resolved, self.force, self.dry_run, extra)
    }
}
