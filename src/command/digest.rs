//! `!digest`: the daily digest on demand: new accounts, reports, failed tasks, federation, the
//! largest media users and rooms, background updates (`crate::jobs::watch`).

use std::sync::Arc;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// The server at a glance: accounts, reports, tasks, federation, media
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "digest")]
pub(crate) struct Digest {}

impl Declared for Digest {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::DigestView];
    const AREA: Area = Area::Moderation;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        Ok(Planned::Done(crate::jobs::watch::digest(ctx).await))
    }
}
