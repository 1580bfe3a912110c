//! `!memberships <user>`: the rooms an account is joined to, with names and member counts, a page
//! at a time.

use std::sync::Arc;

use futures_util::future::join_all;

use super::args::UserArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::rooms::RoomDetails;
use crate::admin_api::users::JoinedRooms;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Rooms per page: a phone screen.
const PAGE_SIZE: u64 = 10;

/// List the rooms an account is joined to, with names and member counts
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "memberships @alice:example.org --page 2")]
pub(crate) struct Memberships {
    /// @name:server, a mention, or just the name
    user: UserArg,
    /// Page number
    #[arg(long, value_name = "N", default_value_t = 1)]
    page: u64,
}

impl Declared for Memberships {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserInfo];
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let prefix = &ctx.config.prefix;
        let user_id = self.user.resolve_local(&ctx.config.server_name, "looked up")?;
        let mut rooms = ctx
            .admin
            .send(&JoinedRooms {
                user_id: user_id.to_string(),
            })
            .await?
            .joined_rooms;
        rooms.sort();
        let total = rooms.len() as u64;
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = self.page.max(1);
        if total == 0 {
            return Ok(Planned::Done(Reply::ok(
                Line::new().code(user_id.as_str()).text(" is in no rooms."),
            )));
        }
        if page > pages {
            return Ok(Planned::Done(Reply::ok(format!(
                "No rooms on page {page} (there are {pages})."
            ))));
        }
        let from = usize::try_from((page - 1).saturating_mul(PAGE_SIZE)).unwrap_or(usize::MAX);
        let shown: Vec<&String> = rooms.iter().skip(from).take(PAGE_SIZE as usize).collect();
        let requests: Vec<RoomDetails> = shown
            .iter()
            .map(|room_id| RoomDetails {
                room_id: (*room_id).clone(),
            })
            .collect();
        let details = join_all(requests.iter().map(|r| ctx.admin.send(r))).await;
        let items = shown
            .iter()
            .zip(details)
            .map(|(room_id, details)| match details {
                Ok(info) => {
                    let name = info
                        .name
                        .as_deref()
                        .filter(|n| !n.is_empty())
                        .or(info.canonical_alias.as_deref())
                        .map_or_else(|| "(no name)".to_owned(), |n| crate::text::clip(n, 40));
                    Line::new()
                        .text(format!("{name} · {} members · ", info.joined_members))
                        .code(room_id.as_str())
                }
                Err(_) => Line::new().code(room_id.as_str()).text(" · details unavailable"),
            })
            .collect();
        let mut reply = Reply::ok(
            Line::new()
                .code(user_id.as_str())
                .text(format!(" is in {total} room{}", if total == 1 { "" } else { "s" }))
                .text(if pages > 1 {
                    format!(", page {page} of {pages}")
                } else {
                    String::new()
                }),
        )
        .list(items);
        if page < pages {
            reply = reply.line(
                Line::new()
                    .text("Next: ")
                    .code(format!("{prefix}memberships {user_id} --page {}", page + 1)),
            );
        }
        Ok(Planned::Done(reply))
    }
}
