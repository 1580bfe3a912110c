//! `!unsuspend <user>`: lift a suspension. The flow is `super::account_state`'s.

use std::sync::Arc;

use super::account_state::{AccountState, ClearArgs, set_state};
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Lift an account's suspension
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "unsuspend @alice:example.org")]
pub(crate) struct Unsuspend {
    #[command(flatten)]
    args: ClearArgs,
}

impl Declared for Unsuspend {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserSuspend];
    const AREA: Area = Area::Moderation;

    fn risk(&self) -> Risk {
        self.args.risk()
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        set_state(ctx, origin, AccountState::Suspended, false, self.args.into_set())
            .await
            .map(Planned::Done)
    }
}
