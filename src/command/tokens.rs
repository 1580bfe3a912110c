//! `!tokens [--valid]`: the registration tokens, one line each.

use std::sync::Arc;

use super::args::only_encrypted;
use super::token::describe;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// How many tokens the reply lists before "and N more".
const SHOWN: usize = 20;

/// List registration tokens
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "tokens --valid")]
pub(crate) struct Tokens {
    /// Only tokens that can still be used
    #[arg(long)]
    valid: bool,
}

impl Declared for Tokens {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::TokenManage];
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        only_encrypted(origin, "a registration token")?;
        let mut tokens = ctx.accounts.tokens(self.valid).await?;
        if tokens.is_empty() {
            return Ok(Planned::Done(Reply::ok(if self.valid {
                "No registration token can be used now."
            } else {
                "No registration tokens."
            })));
        }
        tokens.sort_by(|a, b| a.token.cmp(&b.token));
        let mut reply = Reply::ok(Line::new().bold(format!(
            "{} registration token{}",
            tokens.len(),
            if tokens.len() == 1 { "" } else { "s" }
        )))
        .list(tokens.iter().take(SHOWN).map(describe).collect());
        if tokens.len() > SHOWN {
            reply = reply.line(format!("… and {} more.", tokens.len() - SHOWN));
        }
        Ok(Planned::Done(reply))
    }
}
