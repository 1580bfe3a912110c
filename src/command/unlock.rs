//! `!unlock <user>`: the account can log in again. The flow is `super::account_state`'s.

use std::sync::Arc;

use super::account_state::{AccountState, ClearArgs, set_state};
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Unlock an account: it can log in again
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "unlock @alice:example.org")]
pub(crate) struct Unlock {
    #[command(flatten)]
    args: ClearArgs,
}

impl Declared for Unlock {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserLock];
    const AREA: Area = Area::Moderation;

    fn risk(&self) -> Risk {
        self.args.risk()
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        set_state(ctx, origin, AccountState::Locked, false, self.args.into_set())
            .await
            .map(Planned::Done)
    }
}
