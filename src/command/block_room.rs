//! `!block-room`: nobody on this server can join the room (and `set_blocked`, which
//! `!unblock-room` shares).

use std::sync::Arc;

use super::args::{RoomArg, not_an_admin_room};
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::admin_api::rooms::BlockRoom as BlockRoomRequest;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Block a room: nobody on this server can join it
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "block-room #spam:example.org")]
pub(crate) struct BlockRoom {
    /// !id:server or #alias:server
    room: RoomArg,
}

impl Declared for BlockRoom {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomBlock];
    const AREA: Area = Area::Rooms;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        set_blocked(ctx, &self.room, true).await.map(Planned::Done)
    }
}

/// `!block-room` / `!unblock-room`.
pub(super) async fn set_blocked(ctx: &Ctx, room: &RoomArg, block: bool) -> Result<Reply, CommandError> {
    let room_id = room.resolve(&ctx.admin).await?;
    if block {
        not_an_admin_room(ctx, &room_id)?;
    }
    let r = ctx
        .admin
        .send(&BlockRoomRequest {
            room_id: room_id.clone(),
            block,
        })
        .await?;
    let state = if r.block {
        "blocked: nobody on this server can join it"
    } else {
        "not blocked"
    };
    Ok(Reply::ok(
        Line::new()
            .code(room_id.as_str())
            .text(format!(" is now {state}.")),
    ))
}

