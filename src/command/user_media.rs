//! `!user-media`: a user's uploads (count, size, newest, oldest); `--delete` removes them all
//! after a preview and a confirmation.

use std::sync::Arc;

use matrix_sdk::ruma::OwnedUserId;
use serde::{Deserialize, Serialize};

use super::args::UserArg;
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::users::DeleteUserMedia;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::units::format_bytes;

/// A user's uploads: count, size, newest, oldest; --delete removes them all
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "user-media @spammer:example.org --delete")]
pub(crate) struct UserMedia {
    /// @name:server, a mention, or just the name
    user: UserArg,
    /// Delete every upload of the user (asks for confirmation)
    #[arg(long)]
    delete: bool,
}

impl Declared for UserMedia {
    type Action = DeleteUserMediaAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::MediaList];
    const AREA: Area = Area::Media;

    fn permissions(&self) -> Vec<Permission> {
        if self.delete {
            vec![Permission::MediaList, Permission::MediaDelete]
        } else {
            vec![Permission::MediaList]
        }
    }

    fn risk(&self) -> Risk {
        if self.delete {
            Risk::Irreversible
        } else {
            Risk::ReadOnly
        }
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        _: &Origin,
    ) -> Result<Planned<DeleteUserMediaAction>, CommandError> {
        plan_user_media(ctx, &self.user, self.delete).await
    }
}

/// A confirmed `!user-media --delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteUserMediaAction {
    user_id: OwnedUserId,
}

impl Execute for DeleteUserMediaAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::MediaList, Permission::MediaDelete]
    }

    async fn execute(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        execute_delete_user_media(ctx, self.user_id.as_str()).await
    }
}

/// A user's uploads: count, bytes, newest, oldest.
struct UserMediaSummary {
    count: u64,
    bytes: u64,
    newest: Option<i64>,
    oldest: Option<i64>,
}

async fn summarize_user_media(ctx: &Ctx, user_id: &str) -> Result<UserMediaSummary, CommandError> {
    let media = ctx.admin.all_user_media(user_id).await?;
    Ok(UserMediaSummary {
        count: media.len() as u64,
        bytes: media.iter().filter_map(|m| m.media_length).sum(),
        newest: media.iter().filter_map(|m| m.created_ts).max(),
        oldest: media.iter().filter_map(|m| m.created_ts).min(),
    })
}

/// `!user-media <user> [--delete]`.
async fn plan_user_media(
    ctx: &Ctx,
    user: &UserArg,
    delete: bool,
) -> Result<Planned<DeleteUserMediaAction>, CommandError> {
    let user_id = user.resolve(&ctx.config.server_name);
    if user_id.server_name() != ctx.config.server_name {
        return Err(CommandError::Refused(format!(
            "{user_id} is on another server; only local uploads are listed"
        )));
    }
    let s = summarize_user_media(ctx, user_id.as_str()).await?;
    let when = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), format_time_ms);
    let items = vec![
        Line::new().text(format!("Files: {}", s.count)),
        Line::new().text(format!("Size: {}", format_bytes(s.bytes))),
        Line::new().text(format!("Newest: {}", when(s.newest))),
        Line::new().text(format!("Oldest: {}", when(s.oldest))),
    ];
    if !delete {
        return Ok(Planned::Done(
            Reply::ok(Line::new().text("Uploads of ").code(user_id.as_str())).list(items),
        ));
    }
    if s.count == 0 {
        return Err(CommandError::Refused(format!(
            "{user_id} has no uploads to delete"
        )));
    }
    let preview = Reply::new(Outcome::Pending)
        .line(
            Line::new()
                .bold("Delete all uploads of ")
                .code(user_id.as_str()),
        )
        .list(items)
        .line("Deleted files cannot be restored.");
    Ok(Planned::Confirm {
        preview,
        action: DeleteUserMediaAction { user_id },
    })
}

/// Deletes a user's media, 100 per call until none are left.
async fn execute_delete_user_media(ctx: &Ctx, user_id: &str) -> Result<Reply, CommandError> {
    let mut total = 0u64;
    for _ in 0..10_000 {
        let deleted = ctx
            .admin
            .send(&DeleteUserMedia {
                user_id: user_id.to_owned(),
                limit: 100,
            })
            .await?;
        total += deleted.total;
        if deleted.total == 0 {
            break;
        }
    }
    let left = summarize_user_media(ctx, user_id).await?.count;
    Ok(Reply::ok(
        Line::new()
            .text(format!("Deleted {total} files of "))
            .code(user_id)
            .text(format!("; {left} left.")),
    ))
}

