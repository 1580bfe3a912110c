//! `!make-room-admin`: give a local user the highest power level in a room.

use std::sync::Arc;

use super::args::{RoomArg, UserArg, not_an_admin_room};
use super::{Area, CommandError, Declared, Never, Planned, Risk};
use crate::admin_api::rooms::MakeRoomAdmin as MakeRoomAdminRequest;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Give a local user the highest power level in a room
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "make-room-admin #lobby:example.org @alice:example.org")]
pub(crate) struct MakeRoomAdmin {
    /// !id:server or #alias:server
    room: RoomArg,
    /// @name:server or just the name
    user: UserArg,
}

impl Declared for MakeRoomAdmin {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomMakeAdmin];
    const AREA: Area = Area::Rooms;

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        make_admin(ctx, &self.room, &self.user).await.map(Planned::Done)
    }
}

/// `!make-room-admin <room> <user>`.
async fn make_admin(ctx: &Ctx, room: &RoomArg, user: &UserArg) -> Result<Reply, CommandError> {
    let room_id = room.resolve(&ctx.admin).await?;
    not_an_admin_room(ctx, &room_id)?;
    let user_id = user.resolve(&ctx.config.server_name);
    if user_id.server_name() != ctx.config.server_name {
        return Err(CommandError::Refused(format!(
            "{user_id} is on another server; only local users can be made room admin"
        )));
    }
    ctx.admin
        .send(&MakeRoomAdminRequest {
            room_id: room_id.clone(),
            user_id: Some(user_id.to_string()),
        })
        .await?;
    Ok(Reply::ok(
        Line::new()
            .code(user_id.as_str())
            .text(" now has the highest power level in ")
            .code(room_id.as_str())
            .text("."),
    ))
}

