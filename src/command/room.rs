//! The room group: `!room`, `!rooms`, `!delete-room`, `!block-room`, `!unblock-room`,
//! `!make-room-admin`, `!purge-history`.

use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use matrix_sdk::ruma::RoomId;

use super::{Action, CommandError, Planned, RoomArg, UserArg};
use crate::admin_api::rooms::{
    BlockRoom, DeleteRoom, ListRooms, MakeRoomAdmin, PurgeHistory, RoomBlockStatus, RoomDetails,
    RoomMembers,
};
use crate::admin_api::server::ResolveRoomAlias;
use crate::bot::Bot;
use crate::jobs::room::{self as room_jobs, RoomTask};
use crate::pipeline::Origin;
use crate::report::{Line, Outcome, Reply, format_time_ms, yes_no};
use crate::store::now_secs;
use crate::units::format_age;

/// Rooms per page of `!rooms`: a phone screen.
pub const PAGE_SIZE: u64 = 10;

/// Sort orders of `!rooms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoomSort {
    Members,
    State,
    Name,
}

/// A room ID from an ID or an alias.
pub async fn resolve(bot: &Bot, room: &RoomArg) -> Result<String, CommandError> {
    if let Ok(id) = <&RoomId>::try_from(room.0.as_str()) {
        return Ok(id.to_string());
    }
    Ok(bot
        .admin
        .send(&ResolveRoomAlias {
            alias: room.0.to_string(),
        })
        .await?
        .room_id)
}

/// `!room <room>`.
pub async fn info(bot: &Bot, room: &RoomArg) -> Result<Reply, CommandError> {
    let room_id = resolve(bot, room).await?;
    let (details_req, block_req) = (
        RoomDetails {
            room_id: room_id.clone(),
        },
        RoomBlockStatus {
            room_id: room_id.clone(),
        },
    );
    let (details, block) = tokio::join!(bot.admin.send(&details_req), bot.admin.send(&block_req));
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
        let short: String = topic.chars().take(200).collect();
        items.insert(1, Line::new().text(format!("Topic: {short}")));
    }
    Ok(Reply::ok(title).list(items))
}

/// `!rooms`: one page.
pub async fn list(
    bot: &Bot,
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
    let list = bot
        .admin
        .send(&ListRooms {
            from: (page - 1) * PAGE_SIZE,
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
                .code(format!("{prefix}rooms{search_arg} --page {}", page + 1)),
        );
    }
    Ok(reply)
}

/// `!delete-room`: the preview.
pub async fn plan_delete(
    bot: &Bot,
    room: &RoomArg,
    block: bool,
    no_purge: bool,
    message: Option<String>,
) -> Result<Planned, CommandError> {
    let room_id = resolve(bot, room).await?;
    if bot.rooms.iter().any(|r| r.as_str() == room_id) {
        return Err(CommandError::Refused(format!(
            "Refused: {room_id} is one of the bot's admin rooms"
        )));
    }
    let details = bot
        .admin
        .send(&RoomDetails {
            room_id: room_id.clone(),
        })
        .await?;
    let members = bot
        .admin
        .send(&RoomMembers {
            room_id: room_id.clone(),
        })
        .await?;
    let server = format!(":{}", bot.config.server_name);
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
        action: Action::DeleteRoom {
            room_id,
            block,
            purge: !no_purge,
            message,
        },
        dry_run: false,
    })
}

/// Starts a confirmed deletion and hands it to a job that follows it to the end.
pub async fn execute_delete(
    bot: &Arc<Bot>,
    origin: &Origin<'_>,
    room_id: &str,
    block: bool,
    purge: bool,
    message: Option<String>,
) -> Result<Reply, CommandError> {
    let started = bot
        .admin
        .send(&DeleteRoom {
            block,
            purge,
            message,
            ..DeleteRoom::new(room_id)
        })
        .await?;
    let task = RoomTask::Delete {
        room_id: room_id.to_owned(),
        delete_id: started.delete_id,
    };
    let job_id = room_jobs::start(bot, origin, task)?;
    Ok(Reply::ok(format!(
        "Deletion of {room_id} started (job #{job_id}); progress follows."
    )))
}

/// `!block-room` / `!unblock-room`.
pub async fn set_blocked(bot: &Bot, room: &RoomArg, block: bool) -> Result<Reply, CommandError> {
    let room_id = resolve(bot, room).await?;
    if block && bot.rooms.iter().any(|r| r.as_str() == room_id) {
        return Err(CommandError::Refused(format!(
            "Refused: {room_id} is one of the bot's admin rooms"
        )));
    }
    let r = bot
        .admin
        .send(&BlockRoom {
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

/// `!make-room-admin <room> <user>`.
pub async fn make_admin(bot: &Bot, room: &RoomArg, user: &UserArg) -> Result<Reply, CommandError> {
    let room_id = resolve(bot, room).await?;
    let user_id = user.resolve(&bot.config.server_name);
    if user_id.server_name() != bot.config.server_name {
        return Err(CommandError::Refused(format!(
            "{user_id} is on another server; only local users can be made room admin"
        )));
    }
    bot.admin
        .send(&MakeRoomAdmin {
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

/// `!purge-history`: the preview.
pub async fn plan_purge_history(
    bot: &Bot,
    room: &RoomArg,
    age: Duration,
    include_local: bool,
) -> Result<Planned, CommandError> {
    let room_id = resolve(bot, room).await?;
    let details = bot
        .admin
        .send(&RoomDetails {
            room_id: room_id.clone(),
        })
        .await?;
    let before_ms = (now_secs() - age.as_secs() as i64) * 1000;
    let whose = if include_local {
        "everyone's events, local users' included"
    } else {
        "events of remote users only (add --include-local for local users' too)"
    };
    let preview = Reply::new(Outcome::Pending)
        .line(
            Line::new()
                .bold("Purge history of ")
                .text(details.name.unwrap_or_else(|| "(no name)".into()))
                .text(" ")
                .code(room_id.as_str()),
        )
        .list(vec![
            Line::new().text(format!(
                "Older than: {} ({} ago)",
                format_time_ms(before_ms),
                format_age(age)
            )),
            Line::new().text(format!("What: {whose}")),
        ])
        .line("Irreversible: purged events are deleted from this server's database.");
    Ok(Planned::Confirm {
        preview,
        action: Action::PurgeHistory {
            room_id,
            before_ms,
            include_local,
        },
        dry_run: false,
    })
}

pub async fn execute_purge_history(
    bot: &Arc<Bot>,
    origin: &Origin<'_>,
    room_id: &str,
    before_ms: i64,
    include_local: bool,
) -> Result<Reply, CommandError> {
    let started = bot
        .admin
        .send(&PurgeHistory {
            room_id: room_id.to_owned(),
            purge_up_to_ts: before_ms.max(0) as u64,
            delete_local_events: include_local,
        })
        .await?;
    let job_id = room_jobs::start(
        bot,
        origin,
        RoomTask::PurgeHistory {
            room_id: room_id.to_owned(),
            purge_id: started.purge_id,
        },
    )?;
    Ok(Reply::ok(format!(
        "History purge of {room_id} started (job #{job_id}); progress follows."
    )))
}
