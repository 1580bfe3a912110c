//! The media group: `!purge-media` (with a preview measured through the per-user media listings),
//! `!user-media`, `!quarantine`, `!unquarantine`, `!protect-media`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{Action, CommandError, Planned, UserArg};
use crate::admin_api::media::{
    DeleteLocalMediaBefore, ProtectMedia, PurgeRemoteMediaCache, QuarantineMedia,
    QuarantineRoomMedia, QuarantineUserMedia, UnquarantineMedia,
};
use crate::admin_api::users::{DeleteUserMedia, ListUserMedia, ListUsers, MediaInfo};
use crate::bot::Bot;
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::store::now_secs;
use crate::units::{format_age, format_bytes};

/// How long the preview may spend listing media before it settles for an estimate.
const SCAN_BUDGET: Duration = Duration::from_secs(8);

/// An `mxc://server/id` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mxc {
    pub server: String,
    pub media_id: String,
}

impl std::str::FromStr for Mxc {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{:?} is not a media URI; write mxc://server/media-id",
                super::clip(s)
            )
        };
        let rest = s.strip_prefix("mxc://").ok_or_else(bad)?;
        let (server, media_id) = rest.split_once('/').ok_or_else(bad)?;
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:[]".contains(c))
        };
        if ok(server) && ok(media_id) && !media_id.contains(':') {
            Ok(Mxc {
                server: server.to_owned(),
                media_id: media_id.to_owned(),
            })
        } else {
            Err(bad())
        }
    }
}

impl std::fmt::Display for Mxc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mxc://{}/{}", self.server, self.media_id)
    }
}

/// What `!quarantine` applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineTarget {
    Media(Mxc),
    User(UserArg),
    Room(super::RoomArg),
}

impl std::str::FromStr for QuarantineTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("mxc://") {
            s.parse().map(QuarantineTarget::Media)
        } else if s.starts_with('@') {
            s.parse().map(QuarantineTarget::User)
        } else if s.starts_with('!') || s.starts_with('#') {
            s.parse().map(QuarantineTarget::Room)
        } else {
            Err(format!(
                "{:?} is not mxc://…, @user or !room",
                super::clip(s)
            ))
        }
    }
}

/// Which media `!purge-media` deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeScope {
    pub local: bool,
    pub remote: bool,
    pub size_gt: Option<u64>,
    pub keep_profiles: bool,
}

/// Ages under a day need `--force`: `30s` typed for `30d` must not wipe a server.
pub fn purge_refusal(age: Duration, force: bool) -> Option<String> {
    (age < Duration::from_secs(86_400) && !force).then(|| {
        format!(
            "{} is less than a day: that would delete recent media. Add --force if you mean it",
            format_age(age)
        )
    })
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

/// Lists every local user's media (bounded by [`SCAN_BUDGET`]) and counts what the deletion would take.
async fn scan_local(bot: &Bot, cutoff_ms: i64, scope: PurgeScope) -> Result<Scan, CommandError> {
    let started = Instant::now();
    let mut scan = Scan {
        complete: true,
        ..Scan::default()
    };
    let mut from: Option<String> = None;
    let mut avatars = HashSet::new();
    let mut users = Vec::new();
    loop {
        let page = bot
            .admin
            .send(&ListUsers {
                from: from.clone(),
                limit: 500,
                deactivated: true,
                ..ListUsers::default()
            })
            .await?;
        scan.users_total = page.total;
        for u in page.users {
            if let Some(a) = u.avatar_url.as_deref().and_then(|a| a.rsplit('/').next()) {
                avatars.insert(a.to_owned());
            }
            users.push(u.name);
        }
        match page.next_token {
            Some(t) if !t.is_empty() => from = Some(t),
            _ => break,
        }
    }
    let matches = |m: &MediaInfo| {
        let accessed = m.last_access_ts.or(m.created_ts).unwrap_or(i64::MAX);
        accessed < cutoff_ms
            && m.media_length.unwrap_or(0) > scope.size_gt.unwrap_or(0)
            && m.quarantined_by.is_none()
            && !m.safe_from_quarantine
            && !(scope.keep_profiles && avatars.contains(&m.media_id))
    };
    let mut listings = futures_util::stream::iter(users)
        .map(|user| async move { all_user_media(bot, &user).await })
        .buffer_unordered(4);
    while let Some(media) = listings.next().await {
        let media = media?;
        scan.users_scanned += 1;
        for m in media.iter().filter(|m| matches(m)) {
            scan.files += 1;
            scan.bytes += m.media_length.unwrap_or(0);
            scan.sizes
                .insert(m.media_id.clone(), m.media_length.unwrap_or(0));
        }
        if started.elapsed() > SCAN_BUDGET {
            scan.complete = scan.users_scanned >= scan.users_total;
            break;
        }
    }
    Ok(scan)
}

async fn all_user_media(bot: &Bot, user: &str) -> Result<Vec<MediaInfo>, CommandError> {
    let mut out = Vec::new();
    let mut from = 0u64;
    loop {
        let page = bot
            .admin
            .send(&ListUserMedia {
                user_id: user.to_owned(),
                from,
                limit: 500,
                order_by: None,
                dir: None,
            })
            .await?;
        let n = page.media.len() as u64;
        out.extend(page.media);
        match page.next_token {
            Some(next) if n > 0 => from = next,
            _ => break,
        }
    }
    Ok(out)
}

/// `!purge-media`: refusals, then the preview.
pub async fn plan_purge(
    bot: &Bot,
    age: Duration,
    scope: PurgeScope,
    force: bool,
    dry_run: bool,
) -> Result<Planned, CommandError> {
    if let Some(why) = purge_refusal(age, force) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let cutoff_ms = (now_secs() - age.as_secs() as i64) * 1000;
    let mut items = vec![Line::new().text(format!(
        "Not accessed since: {} ({} ago)",
        format_time_ms(cutoff_ms),
        format_age(age)
    ))];
    if scope.local {
        let scan = scan_local(bot, cutoff_ms, scope).await?;
        let what = format!("{} files, {}", scan.files, format_bytes(scan.bytes));
        let text = if scan.complete {
            format!("Local uploads: {what}")
        } else {
            format!(
                "Local uploads: at least {what} (estimate: {} of {} users listed in time)",
                scan.users_scanned, scan.users_total
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
    Ok(Planned::Confirm {
        preview,
        action: Action::PurgeMedia {
            before_ms: cutoff_ms,
            scope,
        },
        dry_run,
    })
}

/// Runs a confirmed `!purge-media`.
pub async fn execute_purge(
    bot: &Bot,
    before_ms: i64,
    scope: PurgeScope,
) -> Result<Reply, CommandError> {
    let before_ts = before_ms.max(0) as u64;
    let mut items = Vec::new();
    if scope.local {
        // Synapse reports only the deleted IDs: their sizes come from a listing taken just before.
        let scan = scan_local(bot, before_ms, scope).await?;
        let deleted = bot
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
        let purged = bot.admin.send(&PurgeRemoteMediaCache { before_ts }).await?;
        items.push(Line::new().text(format!(
            "Remote cache: {} files deleted (Synapse does not report their size)",
            purged.deleted
        )));
    }
    Ok(Reply::ok(Line::new().bold("Media purged")).list(items))
}

/// A user's uploads: count, bytes, newest, oldest.
struct UserMediaSummary {
    count: u64,
    bytes: u64,
    newest: Option<i64>,
    oldest: Option<i64>,
}

async fn summarize_user_media(bot: &Bot, user_id: &str) -> Result<UserMediaSummary, CommandError> {
    let media = all_user_media(bot, user_id).await?;
    Ok(UserMediaSummary {
        count: media.len() as u64,
        bytes: media.iter().filter_map(|m| m.media_length).sum(),
        newest: media.iter().filter_map(|m| m.created_ts).max(),
        oldest: media.iter().filter_map(|m| m.created_ts).min(),
    })
}

/// `!user-media <user> [--delete]`.
pub async fn plan_user_media(
    bot: &Bot,
    user: &UserArg,
    delete: bool,
) -> Result<Planned, CommandError> {
    let user_id = user.resolve(&bot.config.server_name);
    if user_id.server_name() != bot.config.server_name {
        return Err(CommandError::Refused(format!(
            "{user_id} is on another server; only local uploads are listed"
        )));
    }
    let s = summarize_user_media(bot, user_id.as_str()).await?;
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
        action: Action::DeleteUserMedia { user_id },
        dry_run: false,
    })
}

/// Deletes a user's media, 100 per call until none are left.
pub async fn execute_delete_user_media(bot: &Bot, user_id: &str) -> Result<Reply, CommandError> {
    let mut total = 0u64;
    for _ in 0..10_000 {
        let deleted = bot
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
    let left = summarize_user_media(bot, user_id).await?.count;
    Ok(Reply::ok(
        Line::new()
            .text(format!("Deleted {total} files of "))
            .code(user_id)
            .text(format!("; {left} left.")),
    ))
}

/// `!quarantine`: one file, every upload of a user, or every file in a room. Reversible per file.
pub async fn quarantine(bot: &Bot, target: &QuarantineTarget) -> Result<Reply, CommandError> {
    match target {
        QuarantineTarget::Media(m) => {
            bot.admin
                .send(&QuarantineMedia {
                    server_name: m.server.clone(),
                    media_id: m.media_id.clone(),
                })
                .await?;
            Ok(Reply::ok(
                Line::new()
                    .text("Quarantined ")
                    .code(m.to_string())
                    .text("."),
            ))
        }
        QuarantineTarget::User(u) => {
            let user_id = u.resolve(&bot.config.server_name);
            let n = bot
                .admin
                .send(&QuarantineUserMedia {
                    user_id: user_id.to_string(),
                })
                .await?;
            Ok(Reply::ok(
                Line::new()
                    .text(format!("Quarantined {} files of ", n.num_quarantined))
                    .code(user_id.as_str())
                    .text("."),
            ))
        }
        QuarantineTarget::Room(r) => {
            let room_id = super::room::resolve(bot, r).await?;
            let n = bot
                .admin
                .send(&QuarantineRoomMedia {
                    room_id: room_id.clone(),
                })
                .await?;
            Ok(Reply::ok(
                Line::new()
                    .text(format!("Quarantined {} files in ", n.num_quarantined))
                    .code(room_id)
                    .text("."),
            ))
        }
    }
}

pub async fn unquarantine(bot: &Bot, m: &Mxc) -> Result<Reply, CommandError> {
    bot.admin
        .send(&UnquarantineMedia {
            server_name: m.server.clone(),
            media_id: m.media_id.clone(),
        })
        .await?;
    Ok(Reply::ok(
        Line::new()
            .text("Released ")
            .code(m.to_string())
            .text(" from quarantine."),
    ))
}

pub async fn protect(bot: &Bot, m: &Mxc) -> Result<Reply, CommandError> {
    if m.server != bot.config.server_name.as_str() {
        return Err(CommandError::Refused(format!(
            "only local media can be protected; {m} is from {}",
            m.server
        )));
    }
    bot.admin
        .send(&ProtectMedia {
            media_id: m.media_id.clone(),
        })
        .await?;
    Ok(Reply::ok(
        Line::new()
            .text("Protected ")
            .code(m.to_string())
            .text(" from quarantine and purges."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ages_need_force() {
        assert!(purge_refusal(Duration::from_secs(30), false).is_some());
        assert!(purge_refusal(Duration::from_secs(86_399), false).is_some());
        assert!(purge_refusal(Duration::from_secs(30), true).is_none());
        assert!(purge_refusal(Duration::from_secs(86_400), false).is_none());
    }

    #[test]
    fn mxc_and_targets() {
        assert_eq!(
            "mxc://example.org/AbC_1".parse::<Mxc>(),
            Ok(Mxc {
                server: "example.org".into(),
                media_id: "AbC_1".into()
            })
        );
        for bad in [
            "mxc://",
            "mxc://x",
            "mxc:///id",
            "http://x/y",
            "mxc://x/a/b",
            "mxc://x/a b",
        ] {
            assert!(bad.parse::<Mxc>().is_err(), "{bad}");
        }
        assert!(matches!(
            "@a:b".parse::<QuarantineTarget>(),
            Ok(QuarantineTarget::User(_))
        ));
        assert!(matches!(
            "!r:b".parse::<QuarantineTarget>(),
            Ok(QuarantineTarget::Room(_))
        ));
        assert!(matches!(
            "mxc://b/c".parse::<QuarantineTarget>(),
            Ok(QuarantineTarget::Media(_))
        ));
        assert!("bob".parse::<QuarantineTarget>().is_err());
    }
}
