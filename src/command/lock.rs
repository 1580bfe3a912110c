//! `!lock <user>`: the account is logged out and cannot log in; nothing is deleted (undo: !unlock). The flow is `super::account_state`'s.

use std::sync::Arc;

use super::account_state::{AccountState, SetArgs, plan_state};
use super::user_set::SetAction;
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Lock an account: logged out everywhere, no new logins, nothing deleted
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "lock @alice:example.org")]
pub(crate) struct Lock {
    #[command(flatten)]
    args: SetArgs,
}

impl Declared for Lock {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserLock];
    const AREA: Area = Area::Moderation;
    const TAKES_FILE: bool = true;

    fn risk(&self) -> Risk {
        self.args.risk()
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<SetAction>, CommandError> {
        plan_state(ctx, origin, AccountState::Locked, self.args).await
    }
}
