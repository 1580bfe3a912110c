//! `!unshadow-ban <user>`: lift a shadow-ban. The flow is `super::account_state`'s.

use std::sync::Arc;

use super::account_state::{AccountState, ClearArgs, set_state};
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Lift an account's shadow-ban
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "unshadow-ban @alice:example.org")]
pub(crate) struct UnshadowBan {
    #[command(flatten)]
    args: ClearArgs,
}

impl Declared for UnshadowBan {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserShadowBan];
    const AREA: Area = Area::Moderation;

    fn risk(&self) -> Risk {
        self.args.risk()
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        set_state(ctx, origin, AccountState::ShadowBanned, false, self.args.into_set())
            .await
            .map(Planned::Done)
    }
}
