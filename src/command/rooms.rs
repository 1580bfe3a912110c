//! `!rooms`: the rooms, a page at a time.

use std::sync::Arc;

use clap::ValueEnum;

use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::rooms::ListRooms;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Rooms per page of `!rooms`: a phone screen.
const PAGE_SIZE: u64 = 10;

/// Sort orders of `!rooms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoomSort {
    Members,
    State,
    Name,
}

/// List rooms, a page at a time
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "rooms --search lobby --sort members")]
pub(crate) struct Rooms {
    /// Only rooms whose name, alias or ID contains this
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// members, state or name
    #[arg(long, value_enum, default_value_t = RoomSort::Members)]
    sort: RoomSort,
    /// Page number
    #[arg(long, value_name = "N", default_value_t = 1)]
    page: u64,
}

impl Declared for Rooms {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomInfo];
    const AREA: Area = Area::Rooms;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        list(ctx, self.search, self.sort, self.page, &ctx.config.prefix)
            .await
            .map(Planned::Done)
    }
}

/// `!rooms`: one page.
async fn list(
    ctx: &Ctx,
    search: Option<String>,
    sort: RoomSort,
    page: u64,
    prefix: &str,
) -> Result<Reply, CommandError> {
    let page = page.max(1);
    let (order_by, dir) = match sort {
        RoomSort::Members => ("joined_members", "b"),
        RoomSort::State => ("state_events", "b"),
        RoomSort::Name => ("name", "f"),
    };
    let list = ctx
        .admin
        .send(&ListRooms {
            from: (page - 1).saturating_mul(PAGE_SIZE),
            limit: PAGE_SIZE as u32,
            order_by: Some(order_by.into()),
            dir: Some(dir.into()),
            search_term: search.clone(),
            public_rooms: None,
            empty_rooms: None,
        })
        .await?;
    let pages = list.total_rooms.div_ceil(PAGE_SIZE).max(1);
    if list.rooms.is_empty() {
        return Ok(Reply::ok(if page > 1 {
            format!("No rooms on page {page} (there are {pages}).")
        } else {
            "No rooms match.".to_owned()
        }));
    }
    let items = list
        .rooms
        .iter()
        .map(|r| {
            Line::new()
                .bold(
                    r.name
                        .clone()
                        .or_else(|| r.canonical_alias.clone())
                        .unwrap_or_else(|| "(no name)".into()),
                )
                .text(format!(
                    " · {} members ({} local) ",
                    r.joined_members, r.joined_local_members
                ))
                .code(r.room_id.as_str())
        })
        .collect();
    let mut reply = Reply::ok(Line::new().text(format!(
        "Rooms, page {page} of {pages} ({} in all)",
        list.total_rooms
    )))
    .list(items);
    if page < pages {
        let search_arg = search
            .map(|s| format!(" --search \"{s}\""))
            .unwrap_or_default();
        reply = reply.line(
            Line::new()
                .text("Next: ")
                .code(format!("{prefix}rooms{search_arg} --page {}", page.saturating_add(1))),
        );
    }
    Ok(reply)
}

