//! `!shadow-ban <user>`: the account's messages and invites silently reach nobody (undo: !unshadow-ban). The flow is `super::account_state`'s.

use std::sync::Arc;

use super::account_state::{AccountState, SetArgs, plan_state};
use super::user_set::SetAction;
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Shadow-ban an account: its messages silently reach nobody
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "shadow-ban @spammer:example.org")]
pub(crate) struct ShadowBan {
    #[command(flatten)]
    args: SetArgs,
}

impl Declared for ShadowBan {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserShadowBan];
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
        plan_state(ctx, origin, AccountState::ShadowBanned, self.args).await
    }
}
