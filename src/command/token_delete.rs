//! `!token-delete <token>`: the token stops working at once (Synapse deletes it, MAS revokes it);
//! accounts made with it stay.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::admin_api::accounts::Backend;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Delete a registration token: it stops working at once
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "token-delete abcd1234efgh5678")]
pub(crate) struct TokenDelete {
    /// The token
    token: String,
}

impl Declared for TokenDelete {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::TokenManage];
    const AREA: Area = Area::Accounts;
    const SECRET_ARGS: bool = true;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        ctx.accounts.delete_token(&self.token).await?;
        let done = match ctx.accounts.backend() {
            Backend::Synapse => "Deleted token ",
            // MAS keeps tokens: it revokes them.
            Backend::Mas => "Revoked token ",
        };
        Ok(Planned::Done(Reply::ok(
            Line::new()
                .text(done)
                .code(self.token)
                .text(": it no longer registers accounts; accounts made with it stay."),
        )))
    }
}
