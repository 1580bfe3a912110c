//! `!suspend <user>`: the account can read but not send, join or invite (undo: !unsuspend). The flow is `super::account_state`'s.

use std::sync::Arc;

use super::account_state::{AccountState, SetArgs, plan_state};
use super::user_set::SetAction;
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Suspend an account: it can read, not send, join or invite
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "suspend @spammer:example.org")]
pub(crate) struct Suspend {
    #[command(flatten)]
    args: SetArgs,
}

impl Declared for Suspend {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserSuspend];
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
        plan_state(ctx, origin, AccountState::Suspended, self.args).await
    }
}
