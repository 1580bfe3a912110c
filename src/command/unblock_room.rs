//! `!unblock-room`: lift a room's block.

use std::sync::Arc;

use super::args::RoomArg;
use super::block_room::set_blocked;
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};

/// Unblock a room
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "unblock-room #spam:example.org")]
pub(crate) struct UnblockRoom {
    /// !id:server or #alias:server
    room: RoomArg,
}

impl Declared for UnblockRoom {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomBlock];
    const AREA: Area = Area::Rooms;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        set_blocked(ctx, &self.room, false).await.map(Planned::Done)
    }
}
