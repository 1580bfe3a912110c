//! `!approve <code>`: the second approver's yes to another role holder's previewed command, where
//! `safety.two_person` asks for one. The confirmation flow in `crate::app` decides, by the rules
//! in `crate::confirm`: never the author, only someone whose roles allow the command itself.

use std::sync::Arc;

use super::{CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::confirm::Act;
use crate::context::{Ctx, Origin};

/// Approve another admin's previewed command (second approver)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "approve K7QX2M")]
pub(crate) struct Approve {
    /// The code from the preview
    pub(crate) code: String,
}

impl Declared for Approve {
    type Action = Never;
    /// None beyond holding a role: the approver's roles must allow the previewed command itself,
    /// which the confirmation flow checks.
    const PERMISSIONS: &'static [Permission] = &[];
    const SCHEDULABLE: bool = false;
    const INSTANT: bool = true;

    async fn plan(self, _: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        Ok(Planned::Decide {
            code: self.code,
            act: Act::Approve,
        })
    }
}
