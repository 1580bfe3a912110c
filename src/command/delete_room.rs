//! `!delete-room`: delete a room after a preview and a confirmation, then follow Synapse's
//! deletion to the end in a job.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::args::{RoomArg, not_an_admin_room};
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::rooms::{DeleteRoom as DeleteRoomRequest, RoomDetails, RoomMembers};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::room::{self as room_jobs, RoomTask};
use crate::report::{Line, Outcome, Reply, yes_no};

/// Delete a room: members removed, history purged; shows a preview, then follows it to the end
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "delete-room #spam:example.org --block")]
pub(crate) struct DeleteRoom {
    /// !id:server or #alias:server
    room: RoomArg,
    /// Also block the room so nobody on this server can join it again
    #[arg(long)]
    block: bool,
    /// Keep its history in the database
    #[arg(long)]
    no_purge: bool,
    /// A message shown to the removed members
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,
}

impl Declared for DeleteRoom {
    type Action = DeleteRoomAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomDelete];
    const AREA: Area = Area::Rooms;

    fn risk(&self) -> Risk {
        Risk::Irreversible
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        _: &Origin,
    ) -> Result<Planned<DeleteRoomAction>, CommandError> {
        plan_delete(ctx, &self.room, self.block, self.no_purge, self.message).await
    }
}

/// A confirmed `!delete-room`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteRoomAction {
    room_id: String,
    block: bool,
    purge: bool,
    message: Option<String>,
}

impl Execute for DeleteRoomAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::RoomDelete]
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        execute_delete(ctx, origin, &self.room_id, self.block, self.purge, self.message).await
    }
}

/// `!delete-room`: the preview.
async fn plan_delete(
    ctx: &Ctx,
    room: &RoomArg,
    block: bool,
    no_purge: bool,
    message: Option<String>,
) -> Result<Planned<DeleteRoomAction>, CommandError> {
    let room_id = room.resolve(&ctx.admin).await?;
    not_an_admin_room(ctx, &room_id)?;
    let details = ctx
        .admin
        .send(&RoomDetails {
            room_id: room_id.clone(),
        })
        .await?;
    let members = ctx
        .admin
        .send(&RoomMembers {
            room_id: room_id.clone(),
        })
        .await?;
    let server = format!(":{}", ctx.config.server_name);
    let local: Vec<&String> = members
        .members
        .iter()
        .filter(|m| m.ends_with(&server))
        .collect();
    let mut items = vec![
        Line::new().text(format!(
            "Members: {} ({} local)",
            details.joined_members,
            local.len()
        )),
        Line::new().text(format!("Block future joins: {}", yes_no(block))),
        Line::new().text(format!(
            "Purge its history from the database: {}",
            yes_no(!no_purge)
        )),
    ];
    if let Some(m) = &message {
        items.push(Line::new().text(format!("Message to members: {m}")));
    }
    let mut preview = Reply::new(Outcome::Pending)
        .line(
            Line::new()
                .bold("Delete room ")
                .text(details.name.clone().unwrap_or_else(|| "(no name)".into()))
                .text(" ")
                .code(room_id.as_str()),
        )
        .list(items);
    if !local.is_empty() {
        let shown: Vec<Line> = local
            .iter()
            .take(10)
            .map(|m| Line::new().code(m.as_str()))
            .collect();
        preview = preview
            .line("Local members who will be removed:")
            .list(shown);
        if local.len() > 10 {
            preview = preview.line(format!("…and {} more.", local.len() - 10));
        }
    }
    preview =
        preview.line("Irreversible: every local member is removed and the room is shut down.");
    Ok(Planned::Confirm {
        preview,
        action: DeleteRoomAction {
            room_id,
            block,
            purge: !no_purge,
            message,
        },
    })
}

/// Starts a confirmed deletion and hands it to a job that follows it to the end.
async fn execute_delete(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    room_id: &str,
    block: bool,
    purge: bool,
    message: Option<String>,
) -> Result<Reply, CommandError> {
    let started = ctx
        .admin
        .send(&DeleteRoomRequest {
            block,
            purge,
            // Synapse shows a message only in a new room it makes for the removed members, with
            // someone to send it: the bot.
            new_room_user_id: message.as_ref().map(|_| ctx.user_id.to_string()),
            message,
            ..DeleteRoomRequest::new(room_id)
        })
        .await?;
    let task = RoomTask::Delete {
        room_id: room_id.to_owned(),
        delete_id: started.delete_id,
    };
    let job_id = room_jobs::start(ctx, origin, task)?;
    Ok(Reply::ok(format!(
        "Deletion of {room_id} started (job #{job_id}); progress follows."
    )))
}

