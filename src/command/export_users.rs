//! `!export-users`: every user, a page at a time, as a CSV file in the import format.

use std::sync::Arc;

use futures_util::{StreamExt as _, TryStreamExt as _};

use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::accounts::ListAdmins;
use crate::admin_api::users::{ListUsers, QueryUser, UserListEntry};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Attachment, Line, Reply};
use crate::users_csv::{ExportUser, Medium, Threepid, write_users_csv};

/// Per-user lookups in flight while exporting (the list gives no threepids).
const DETAILS_IN_FLIGHT: usize = 8;

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
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        export(ctx, self.include_deactivated).await.map(Planned::Done)
    }
}

/// `!export-users`: every user, a page at a time, as CSV in the import format (no passwords).
async fn export(ctx: &Ctx, include_deactivated: bool) -> Result<Reply, CommandError> {
    let mut out = Vec::new();
    let mut count = 0usize;
    let mut first_page = true;
    // With MAS, Synapse's admin flag is false: MAS's admins, read once for the whole export.
    let admins = ctx.accounts.list_admins().await?;
    let pages = ctx.admin.all_users(ListUsers {
        limit: 500,
        deactivated: include_deactivated,
        ..ListUsers::default()
    });
    futures_util::pin_mut!(pages);
    while let Some(page) = pages.try_next().await? {
        // The list endpoint gives no threepids: each user's details do. An export without them
        // would look like "no threepids" to a later `--on-conflict update`.
        let rows: Vec<ExportUser> = futures_util::stream::iter(page.users)
            .map(|u| export_user(ctx, &admins, u))
            .buffered(DETAILS_IN_FLIGHT)
            .try_collect()
            .await?;
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

async fn export_user(
    ctx: &Ctx,
    admins: &ListAdmins,
    u: UserListEntry,
) -> Result<ExportUser, CommandError> {
    let admin = admins.is_admin(&u);
    let details = ctx
        .admin
        .send(&QueryUser {
            user_id: u.name.clone(),
        })
        .await?;
    let threepids = details
        .threepids
        .iter()
        .filter_map(|t| {
            let medium = match t.medium.as_str() {
                "email" => Medium::Email,
                "msisdn" => Medium::Msisdn,
                _ => return None,
            };
            Some(Threepid {
                medium,
                address: t.address.clone(),
            })
        })
        .collect();
    Ok(ExportUser {
        user_id: u.name,
        displayname: u.displayname,
        is_guest: u.is_guest,
        admin,
        deactivated: u.deactivated,
        avatar_url: u.avatar_url,
        user_type: u.user_type,
        threepids,
    })
}

fn skip_header(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => &bytes[i + 1..],
        None => &[],
    }
}
