//! `!ping` (help, confirm and cancel live in help.rs and the pipeline).

use super::CommandError;
use crate::admin_api::server::ServerVersion;
use crate::bot::Bot;
use crate::report::{Line, Reply};

/// `!ping`: bot and Synapse versions.
pub async fn ping(bot: &Bot) -> Result<Reply, CommandError> {
    let version = bot.admin.send(&ServerVersion).await?;
    Ok(Reply::ok(
        Line::new()
            .text("Pong. Syndic ")
            .code(env!("CARGO_PKG_VERSION"))
            .text(", Synapse ")
            .code(version.server_version),
    ))
}
