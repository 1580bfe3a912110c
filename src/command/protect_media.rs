//! `!protect-media`: protect a local file from quarantine and purges.

use std::sync::Arc;

use super::args::Mxc;
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::admin_api::media::ProtectMedia as ProtectMediaRequest;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Protect a local file from quarantine and purges
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "protect-media mxc://example.org/AbCdEf")]
pub(crate) struct ProtectMedia {
    /// mxc://server/id
    media: Mxc,
}

impl Declared for ProtectMedia {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::MediaQuarantine];
    const AREA: Area = Area::Media;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let m = self.media;
        if m.server != ctx.config.server_name.as_str() {
            return Err(CommandError::Refused(format!(
                "only local media can be protected; {m} is from {}",
                m.server
            )));
        }
        ctx.admin
            .send(&ProtectMediaRequest {
                media_id: m.media_id.clone(),
            })
            .await?;
        Ok(Planned::Done(Reply::ok(
            Line::new()
                .text("Protected ")
                .code(m.to_string())
                .text(" from quarantine and purges."),
        )))
    }
}
