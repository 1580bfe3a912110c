//! `!user`: look up an account (with MAS: its flags from MAS, its e-mail addresses and upstream
//! identities).

use std::sync::Arc;

use super::args::UserArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::users::{JoinedRooms, ListDevices, Whois};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms, yes_no};

/// Show an account: name, flags, creation, last seen, devices, rooms
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "user @alice:example.org")]
pub(crate) struct User {
    /// @name:server, a mention, or just the name
    pub(crate) user: UserArg,
}

impl Declared for User {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserInfo];
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        info(ctx, &self.user).await.map(Planned::Done)
    }
}

/// `!user <user>`.
async fn info(ctx: &Ctx, user: &UserArg) -> Result<Reply, CommandError> {
    let user_id = user.resolve_local(&ctx.config.server_name, "looked up")?;
    let id = user_id.to_string();
    let (list_devices, joined_rooms, whois) = (
        ListDevices {
            user_id: id.clone(),
        },
        JoinedRooms { user_id: id.clone() },
        Whois { user_id: id },
    );
    let (details, devices, rooms, sessions) = tokio::join!(
        ctx.accounts.details(&user_id),
        ctx.admin.send(&list_devices),
        ctx.admin.send(&joined_rooms),
        ctx.admin.send(&whois),
    );
    let d = details?;
    // Both read Synapse's `user_ips`, but whois also sees the last few seconds Synapse has not
    // written there yet (it writes them every 5 s), and Synapse before 1.96 sends no
    // `last_seen_ts` with the details. Asked alongside the rest, it costs no extra wait.
    let last_seen = d
        .last_seen_ts
        .max(sessions.ok().and_then(|w| w.last_seen_ms()));
    let count = |r: Result<u64, _>| {
        r.map_or_else(
            |_: crate::admin_api::AdminError| "?".to_owned(),
            |n| n.to_string(),
        )
    };
    let mut title = Line::new().code(user_id.as_str());
    if let Some(name) = d.displayname.as_deref().filter(|n| !n.is_empty()) {
        title = title.text(format!(" — {name}"));
    }
    let mut lines = vec![
        Line::new().text(format!(
            "Admin: {} · Guest: {}",
            yes_no(d.admin),
            yes_no(d.is_guest)
        )),
        Line::new().text(format!(
            "Deactivated: {} · Erased: {}",
            yes_no(d.deactivated),
            yes_no(d.erased)
        )),
        Line::new().text(format!(
            "Locked: {} · Suspended: {} · Shadow-banned: {}",
            yes_no(d.locked),
            yes_no(d.suspended),
            yes_no(d.shadow_banned)
        )),
        Line::new().text(format!(
            "Created: {}",
            d.creation_ts_ms()
                .map_or_else(|| "unknown".into(), format_time_ms)
        )),
        Line::new().text(format!(
            "Last seen: {}",
            last_seen.map_or_else(|| "never".into(), format_time_ms)
        )),
        Line::new().text(format!(
            "Devices: {} · Rooms: {}",
            count(devices.map(|d| d.total)),
            count(rooms.map(|r| r.total)),
        )),
    ];
    if d.mas.is_some() {
        // Where MAS owns accounts, it holds the e-mail addresses and upstream identities.
        let profile = ctx.accounts.profile(&d).await?;
        let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
        lines.push(Line::new().text(format!("E-mail (MAS): {}", list(&profile.emails))));
        if !profile.upstream.is_empty() {
            lines.push(Line::new().text(format!("Signs in with: {}", list(&profile.upstream))));
        }
    }
    Ok(Reply::ok(title).list(lines))
}

