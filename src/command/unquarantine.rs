//! `!unquarantine`: release one file from quarantine.

use std::sync::Arc;

use super::args::Mxc;
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::admin_api::media::UnquarantineMedia;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Release a file from quarantine
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "unquarantine mxc://example.org/AbCdEf")]
pub(crate) struct Unquarantine {
    /// mxc://server/id
    media: Mxc,
}

impl Declared for Unquarantine {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::MediaQuarantine];
    const AREA: Area = Area::Media;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let m = self.media;
        ctx.admin
            .send(&UnquarantineMedia {
                server_name: m.server.clone(),
                media_id: m.media_id.clone(),
            })
            .await?;
        Ok(Planned::Done(Reply::ok(
            Line::new()
                .text("Released ")
                .code(m.to_string())
                .text(" from quarantine."),
        )))
    }
}
