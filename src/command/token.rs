//! `!token <token>`: one registration token's uses and expiry (and `describe`, which `!tokens`
//! and `!token-create` share).

use std::sync::Arc;

use super::args::only_encrypted;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::tokens::RegistrationToken;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};

/// Show a registration token: uses and expiry
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "token abcd1234efgh5678")]
pub(crate) struct Token {
    /// The token
    token: String,
}

impl Declared for Token {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::TokenManage];
    const AREA: Area = Area::Accounts;
    const SECRET_ARGS: bool = true;

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        only_encrypted(origin, "a registration token")?;
        let token = ctx.accounts.token(&self.token).await?;
        Ok(Planned::Done(Reply::ok(describe(&token))))
    }
}

/// `abcd…` · 2 of 5 used · 1 pending · expires …
pub(super) fn describe(t: &RegistrationToken) -> Line {
    let uses = match t.uses_allowed {
        Some(n) => format!("{} of {n} used", t.completed),
        None => format!("{} used, no limit", t.completed),
    };
    let mut line = Line::new().code(t.token.as_str()).text(format!(" · {uses}"));
    if t.pending > 0 {
        line = line.text(format!(" · {} pending", t.pending));
    }
    if t.revoked {
        return line.text(" · revoked");
    }
    let now = crate::store::now_secs().saturating_mul(1000);
    line.text(match t.expiry_time {
        None => " · never expires".to_owned(),
        Some(at) if at <= now => format!(" · expired {}", format_time_ms(at)),
        Some(at) => format!(" · expires {}", format_time_ms(at)),
    })
}
