//! `!export-users`: every user, a page at a time, as a CSV file in the import format.

use std::sync::Arc;

use futures_util::TryStreamExt as _;

use super::{CommandError, Declared, Never, Planned};
use crate::admin_api::users::ListUsers;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Attachment, Line, Reply};
use crate::users_csv::{ExportUser, write_users_csv};

/// Export all users as a CSV file that imports back unchanged (no passwords)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "export-users --include-deactivated")]
pub(crate) struct ExportUsers {
    /// Include deactivated accounts
    #[arg(long)]
    pub(crate) include_deactivated: bool,
}

impl Declared for ExportUsers {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserExport];

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        export(ctx, self.include_deactivated).await.map(Planned::Done)
    }
}

/// `!export-users`: every user, a page at a time, as CSV in the import format (no passwords).
async fn export(ctx: &Ctx, include_deactivated: bool) -> Result<Reply, CommandError> {
    let mut out = Vec::new();
    let mut count = 0usize;
    let mut first_page = true;
    let pages = ctx.admin.all_users(ListUsers {
        limit: 500,
        deactivated: include_deactivated,
        ..ListUsers::default()
    });
    futures_util::pin_mut!(pages);
    while let Some(page) = pages.try_next().await? {
        let rows: Vec<ExportUser> = page
            .users
            .into_iter()
            .map(|u| ExportUser {
                user_id: u.name,
                displayname: u.displayname,
                is_guest: u.is_guest,
                admin: u.admin,
                deactivated: u.deactivated,
                avatar_url: u.avatar_url,
                user_type: u.user_type,
                threepids: Vec::new(),
            })
            .collect();
        count += rows.len();
        // Each page is written as it comes: only the CSV text is kept, not the users.
        let mut page_bytes = Vec::new();
        write_users_csv(rows.iter(), &mut page_bytes)
            .map_err(|e| CommandError::Internal(e.to_string()))?;
        let body = if first_page {
            &page_bytes[..]
        } else {
            skip_header(&page_bytes)
        };
        out.extend_from_slice(body);
        first_page = false;
    }
    let what = if include_deactivated {
        "users, deactivated included"
    } else {
        "active users"
    };
    Ok(Reply::ok(
        Line::new()
            .text(format!("Exported {count} {what} as "))
            .code("users-export.csv")
            .text("; it imports back unchanged."),
    )
    .attach(Attachment {
        filename: "users-export.csv".into(),
        mime: "text/csv".into(),
        bytes: out,
        sensitive: false,
    }))
}

fn skip_header(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => &bytes[i + 1..],
        None => &[],
    }
}
