//! `!purge-media`: delete media not accessed for a while, with a preview measured through the
//! per-user media listings within a time budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};

use super::args::{Age, Size};
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::media::{DeleteLocalMediaBefore, PurgeRemoteMediaCache};
use crate::admin_api::users::{ListUsers, MediaInfo};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::units::{format_age, format_bytes};

/// How long the preview may spend listing media before it settles for an estimate.
const SCAN_BUDGET: Duration = Duration::from_secs(8);

/// Delete media not accessed for <age>: remote cache and local uploads; shows a preview
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(
    after_help = "purge-media 90d --remote-only",
    long_about = "Ages: s, m (minutes), h, d, w, y, combined like 1d12h; under a day needs --force. Sizes: K, M, G (binary: 1K = 1024 bytes)."
)]
pub(crate) struct PurgeMedia {
    /// Not accessed for this long, e.g. 30d, 12h, 2w, 1d12h
    age: Age,
    /// Only this server's uploads
    #[arg(long, conflicts_with = "remote_only")]
    local_only: bool,
    /// Only the cache of other servers' media
    #[arg(long)]
    remote_only: bool,
    /// Only files larger than this (K, M, G; binary units)
    #[arg(long, value_name = "SIZE")]
    larger_than: Option<Size>,
    /// Delete profile pictures and room avatars too
    #[arg(long)]
    include_profiles: bool,
    /// Allow an age under one day
    #[arg(long)]
    force: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

impl Declared for PurgeMedia {
    type Action = PurgeMediaAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::MediaPurge];
    const AREA: Area = Area::Media;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        _: &Origin,
    ) -> Result<Planned<PurgeMediaAction>, CommandError> {
        let scope = PurgeScope {
            local: !self.remote_only,
            remote: !self.local_only,
            size_gt: self.larger_than.map(|s| s.0),
            keep_profiles: !self.include_profiles,
        };
        plan_purge(ctx, self.age, scope, self.force, self.dry_run).await
    }
}

/// A confirmed `!purge-media`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurgeMediaAction {
    before_ms: i64,
    scope: PurgeScope,
}

impl Execute for PurgeMediaAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::MediaPurge]
    }

    async fn execute(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        execute_purge(ctx, self.before_ms, self.scope).await
    }
}

/// Which media `!purge-media` deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurgeScope {
    pub(crate) local: bool,
    pub(crate) remote: bool,
    pub(crate) size_gt: Option<u64>,
    pub(crate) keep_profiles: bool,
}

/// The result of listing local media for the preview.
#[derive(Debug, Default)]
struct Scan {
    files: u64,
    bytes: u64,
    users_scanned: u64,
    users_total: u64,
    complete: bool,
    /// Matching media by ID, to measure the bytes a deletion freed.
    sizes: HashMap<String, u64>,
}

/// Lists every local user's media, a page of users at a time (bounded by [`SCAN_BUDGET`]), and
/// counts what the deletion would take. A user's own profile picture is recognised by its media
/// ID; only one page of users is held at a time.
async fn scan_local(ctx: &Ctx, cutoff_ms: i64, scope: PurgeScope) -> Result<Scan, CommandError> {
    let started = Instant::now();
    let mut scan = Scan {
        complete: true,
        ..Scan::default()
    };
    let matches = |m: &MediaInfo, avatar: Option<&str>| {
        let accessed = m.last_access_ts.or(m.created_ts).unwrap_or(i64::MAX);
        accessed < cutoff_ms
            && m.media_length.unwrap_or(0) > scope.size_gt.unwrap_or(0)
            && m.quarantined_by.is_none()
            && !m.safe_from_quarantine
            && !(scope.keep_profiles && avatar == Some(m.media_id.as_str()))
    };
    let pages = ctx.admin.all_users(ListUsers {
        limit: 500,
        deactivated: true,
        ..ListUsers::default()
    });
    futures_util::pin_mut!(pages);
    'pages: while let Some(page) = pages.try_next().await? {
        scan.users_total = page.total;
        let mut listings = futures_util::stream::iter(page.users)
            .map(|u| async move {
                let avatar = u
                    .avatar_url
                    .as_deref()
                    .and_then(|a| a.rsplit('/').next())
                    .map(str::to_owned);
                (avatar, ctx.admin.all_user_media(&u.name).await)
            })
            .buffer_unordered(4);
        while let Some((avatar, media)) = listings.next().await {
            let media = media?;
            scan.users_scanned += 1;
            for m in media.iter().filter(|m| matches(m, avatar.as_deref())) {
                scan.files += 1;
                scan.bytes += m.media_length.unwrap_or(0);
                scan.sizes
                    .insert(m.media_id.clone(), m.media_length.unwrap_or(0));
            }
            if started.elapsed() > SCAN_BUDGET {
                scan.complete = scan.users_scanned >= scan.users_total;
                break 'pages;
            }
        }
    }
    Ok(scan)
}

impl Scan {
    /// Files and bytes scaled from the users listed to all users (for an incomplete scan).
    fn extrapolated(&self) -> (u64, u64) {
        if self.users_scanned == 0 {
            return (self.files, self.bytes);
        }
        let factor = self.users_total as f64 / self.users_scanned as f64;
        (
            (self.files as f64 * factor).round() as u64,
            (self.bytes as f64 * factor).round() as u64,
        )
    }
}

/// `!purge-media`: refusals, then the preview.
async fn plan_purge(
    ctx: &Ctx,
    typed_age: Age,
    scope: PurgeScope,
    force: bool,
    dry_run: bool,
) -> Result<Planned<PurgeMediaAction>, CommandError> {
    if let Some(why) = typed_age.short_refusal(force, "recent media") {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let age = typed_age.0;
    let cutoff_ms = typed_age.cutoff_ms();
    let mut items = vec![Line::new().text(format!(
        "Not accessed since: {} ({} ago)",
        format_time_ms(cutoff_ms),
        format_age(age)
    ))];
    if scope.local {
        let scan = scan_local(ctx, cutoff_ms, scope).await?;
        let what = format!("{} files, {}", scan.files, format_bytes(scan.bytes));
        let text = if scan.complete {
            format!("Local uploads: {what}")
        } else {
            let (files, bytes) = scan.extrapolated();
            format!(
                "Local uploads: at least {what}, about {files} files, {} for all users (estimate: {} of {} users listed in time)",
                format_bytes(bytes),
                scan.users_scanned,
                scan.users_total
            )
        };
        items.push(Line::new().text(text));
        if let Some(gt) = scope.size_gt {
            items.push(Line::new().text(format!("Only files larger than {}", format_bytes(gt))));
        }
        items.push(Line::new().text(if scope.keep_profiles {
            "Profile pictures and room avatars are kept"
        } else {
            "Profile pictures and room avatars are deleted too (--include-profiles)"
        }));
    }
    if scope.remote {
        items.push(Line::new().text("Cached media from other servers: Synapse counts them only while deleting (they can be fetched again)"));
    }
    let preview = Reply::new(Outcome::Pending)
        .line(Line::new().bold("Purge media"))
        .list(items)
        .line("Deleted local files cannot be restored.");
    if dry_run {
        return Ok(Planned::DryRun(preview));
    }
    Ok(Planned::Confirm {
        preview,
        action: PurgeMediaAction {
            before_ms: cutoff_ms,
            scope,
        },
    })
}

/// Runs a confirmed `!purge-media`.
async fn execute_purge(
    ctx: &Ctx,
    before_ms: i64,
    scope: PurgeScope,
) -> Result<Reply, CommandError> {
    let before_ts = before_ms.max(0) as u64;
    let mut items = Vec::new();
    if scope.local {
        // Synapse reports only the deleted IDs: their sizes come from a listing taken just before.
        let scan = scan_local(ctx, before_ms, scope).await?;
        let deleted = ctx
            .admin
            .send(&DeleteLocalMediaBefore {
                before_ts,
                size_gt: scope.size_gt,
                keep_profiles: scope.keep_profiles,
            })
            .await?;
        let known: u64 = deleted
            .deleted_media
            .iter()
            .filter_map(|id| scan.sizes.get(id))
            .sum();
        let all_known = deleted
            .deleted_media
            .iter()
            .all(|id| scan.sizes.contains_key(id));
        items.push(Line::new().text(format!(
            "Local: {} files deleted, {}{} freed",
            deleted.total,
            if all_known { "" } else { "at least " },
            format_bytes(known)
        )));
    }
    if scope.remote {
        let purged = ctx.admin.send(&PurgeRemoteMediaCache { before_ts }).await?;
        items.push(Line::new().text(format!(
            "Remote cache: {} files deleted (Synapse does not report their size)",
            purged.deleted
        )));
    }
    Ok(Reply::ok(Line::new().bold("Media purged")).list(items))
}
