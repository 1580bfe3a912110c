//! `!token-create [--uses N] [--expires 7d] [--length N]`: a new registration token, shown only in
//! an encrypted room.

use std::sync::Arc;

use super::args::{Age, only_encrypted};
use super::token::describe;
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Create a registration token (shown only in an encrypted room)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "token-create --uses 5 --expires 7d")]
pub(crate) struct TokenCreate {
    /// How many accounts it may register (default: no limit)
    #[arg(long, value_name = "N")]
    uses: Option<u64>,
    /// How long it works, e.g. 7d (default: until deleted)
    #[arg(long, value_name = "AGE")]
    expires: Option<Age>,
    /// Its length, 1 to 64 characters
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u8).range(1..=64))]
    length: u8,
}

impl Declared for TokenCreate {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::TokenManage];
    const AREA: Area = Area::Accounts;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        only_encrypted(origin, "a registration token")?;
        let token = ctx
            .accounts
            .create_token(self.uses, self.expires.map(Age::later_ms), self.length)
            .await?;
        Ok(Planned::Done(
            Reply::ok(Line::new().bold("New registration token"))
                .line(describe(&token))
                .line(
                    Line::new()
                        .text("Remove it with ")
                        .code(format!("{}token-delete {}", ctx.config.prefix, token.token)),
                ),
        ))
    }
}
