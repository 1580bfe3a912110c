//! `!room`: one room's name, topic, creator, members, encryption, federation, blocked.

use std::sync::Arc;

use super::args::RoomArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::rooms::{RoomBlockStatus, RoomDetails};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, yes_no};

/// Show a room: name, topic, creator, members, encryption, federation, blocked
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "room #lobby:example.org")]
pub(crate) struct Room {
    /// !id:server or #alias:server
    room: RoomArg,
}

impl Declared for Room {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomInfo];
    const AREA: Area = Area::Rooms;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        info(ctx, &self.room).await.map(Planned::Done)
    }
}

/// `!room <room>`.
async fn info(ctx: &Ctx, room: &RoomArg) -> Result<Reply, CommandError> {
    let room_id = room.resolve(&ctx.admin).await?;
    let (details_req, block_req) = (
        RoomDetails {
            room_id: room_id.clone(),
        },
        RoomBlockStatus {
            room_id: room_id.clone(),
        },
    );
    let (details, block) = tokio::join!(ctx.admin.send(&details_req), ctx.admin.send(&block_req));
    let d = details?;
    let blocked = block.map(|b| yes_no(b.block)).unwrap_or("?");
    let mut title = Line::new().bold(d.name.clone().unwrap_or_else(|| "(no name)".into()));
    if let Some(alias) = &d.canonical_alias {
        title = title.text(" ").code(alias.as_str());
    }
    let mut items = vec![
        Line::new().text("ID: ").code(room_id.as_str()),
        Line::new().text(format!("Creator: {}", d.creator.as_deref().unwrap_or("?"))),
        Line::new().text(format!(
            "Members: {} ({} local, {} remote)",
            d.joined_members,
            d.joined_local_members,
            d.joined_members.saturating_sub(d.joined_local_members)
        )),
        Line::new().text(format!(
            "Encrypted: {} · Federatable: {} · Public: {}",
            yes_no(d.encryption.is_some()),
            yes_no(d.federatable),
            yes_no(d.public)
        )),
        Line::new().text(format!(
            "State events: {} · Version: {}",
            d.state_events,
            d.version.as_deref().unwrap_or("?")
        )),
        Line::new().text(format!("Blocked: {blocked}")),
    ];
    if let Some(topic) = d.topic.as_deref().filter(|t| !t.is_empty()) {
        items.insert(
            1,
            Line::new().text(format!("Topic: {}", crate::text::clip(topic, 200))),
        );
    }
    Ok(Reply::ok(title).list(items))
}

