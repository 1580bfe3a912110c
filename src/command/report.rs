//! `!report <id>`: one abuse report's card, with its state.

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Show one abuse report
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "report 12")]
pub(crate) struct Report {
    /// The report's number (from its card or !reports)
    id: i64,
}

impl Declared for Report {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::ReportView];
    const AREA: Area = Area::Moderation;
    const INSTANT: bool = true;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let row = ctx
            .store
            .report(self.id)?
            .ok_or_else(|| CommandError::Refused(format!("no report #{}", self.id)))?;
        Ok(Planned::Done(crate::jobs::inbox::card(ctx, &row)))
    }
}
