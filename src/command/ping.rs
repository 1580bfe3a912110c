//! `!ping`: the bot's and Synapse's versions, and who owns the accounts (Synapse or MAS).

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::server::ServerVersion;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Bot and Synapse versions, and whether accounts are Synapse's or MAS's
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "ping")]
pub(crate) struct Ping;

impl Declared for Ping {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::Ping];
    const AREA: Area = Area::Basics;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let (version, mas) = tokio::join!(ctx.admin.send(&ServerVersion), ctx.accounts.mas_version());
        let mut line = Line::new()
            .text("Pong. Syndic ")
            .code(env!("CARGO_PKG_VERSION"))
            .text(", Synapse ")
            .code(version?.server_version);
        line = match mas? {
            None => line.text(". Accounts: Synapse."),
            Some(v) => line
                .text(", MAS ")
                .code(v)
                .text(format!(". Accounts: {}.", ctx.accounts.describe())),
        };
        Ok(Planned::Done(Reply::ok(line)))
    }
}
