//! `!dismiss <id>`: a report needs no action: deleted on Synapse, its card says who dismissed it.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::Reply;

/// Dismiss an abuse report (nothing to do)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "dismiss 12")]
pub(crate) struct Dismiss {
    /// The report's number (from its card or !reports)
    id: i64,
}

impl Declared for Dismiss {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::ReportHandle];
    const AREA: Area = Area::Moderation;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, CommandError> {
        let id = self.id;
        let row = ctx
            .store
            .report(id)?
            .ok_or_else(|| CommandError::Refused(format!("no report #{id}")))?;
        crate::jobs::inbox::dismiss(ctx, &row, origin.sender.as_str())
            .await
            .map_err(|e| CommandError::Refused(format!("Report #{id} not dismissed: {e}")))?;
        Ok(Planned::Done(Reply::ok(format!(
            "Report #{id} dismissed; Synapse no longer lists it."
        ))))
    }
}
