//! `!revoke-admin <user>`: remove the server-admin flag after a preview and a confirmation; the
//! rules and the action are `!make-admin`'s.

use std::sync::Arc;

use super::args::UserArg;
use super::make_admin::{SetAdmin, plan_set_admin};
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Remove an account's server-admin flag; shows a preview and asks for confirmation
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "revoke-admin @alice:example.org")]
pub(crate) struct RevokeAdmin {
    /// @name:server, a mention, or just the name
    pub(crate) user: UserArg,
    /// Show the preview only
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl Declared for RevokeAdmin {
    type Action = SetAdmin;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserAdmin];
    const AREA: Area = Area::Accounts;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<SetAdmin>, CommandError> {
        plan_set_admin(ctx, origin, &self.user, false, self.dry_run).await
    }
}
