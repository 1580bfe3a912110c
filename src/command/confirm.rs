//! `!confirm <code>`: run a previewed command. Only the sender's own previews: the
//! confirmation flow in `crate::app` decides, by the rules in `crate::confirm`.

use std::sync::Arc;

use super::{CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::confirm::Act;
use crate::context::{Ctx, Origin};

/// Run a previewed command
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "confirm K7QX2M")]
pub(crate) struct Confirm {
    /// The code from the preview
    pub(crate) code: String,
}

impl Declared for Confirm {
    type Action = Never;
    /// None beyond holding a role: it acts only on the sender's own previews, which were
    /// authorized when made.
    const PERMISSIONS: &'static [Permission] = &[];
    const SCHEDULABLE: bool = false;
    const INSTANT: bool = true;

    async fn plan(self, _: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        Ok(Planned::Decide {
            code: self.code,
            act: Act::Confirm,
        })
    }
}
