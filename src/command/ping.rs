//! `!ping`: the bot's and Synapse's versions.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::server::ServerVersion;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Bot and Synapse versions
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "ping")]
pub(crate) struct Ping;

impl Declared for Ping {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::Ping];
    const AREA: Area = Area::Basics;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let version = ctx.admin.send(&ServerVersion).await?;
        Ok(Planned::Done(Reply::ok(
            Line::new()
                .text("Pong. Syndic ")
                .code(env!("CARGO_PKG_VERSION"))
                .text(", Synapse ")
                .code(version.server_version),
        )))
    }
}
