//! The user group: `!user` (look up an account) and `!deactivate` (preview, confirm, execute).

use matrix_sdk::ruma::{OwnedUserId, UserId};

use super::{Action, CommandError, Planned, UserArg};
use crate::admin_api::users::{
    DeactivateUser, JoinedRooms, ListDevices, QueryUser, UserDetails, Whois,
};
use crate::bot::Bot;
use crate::report::{Line, Reply, format_time_ms, yes_no};

/// What the refusal rules of `!deactivate` need to know; `details` is `None` until the user was
/// looked up.
pub struct DeactivateFacts<'a> {
    pub target: &'a UserId,
    pub sender: &'a UserId,
    pub bot: &'a UserId,
    pub server_name: &'a str,
    pub protected: bool,
    pub force: bool,
    pub details: Option<&'a UserDetails>,
}

/// Why `!deactivate` will not go ahead, if it will not. Checks that need no lookup come first, so
/// they hold before any I/O.
pub fn deactivate_refusal(f: &DeactivateFacts<'_>) -> Option<String> {
    let t = f.target;
    if t == f.bot {
        return Some("I will not deactivate myself".into());
    }
    if t == f.sender {
        return Some("you cannot deactivate your own account from here".into());
    }
    if f.protected {
        return Some(format!("{t} is a protected user (safety.protected_users)"));
    }
    if t.server_name().as_str() != f.server_name {
        return Some(format!(
            "{t} is on another server ({}); only users of {} can be deactivated",
            t.server_name(),
            f.server_name
        ));
    }
    let d = f.details?;
    if d.deactivated {
        return Some(format!("{t} is already deactivated"));
    }
    if d.admin && !f.force {
        return Some(format!(
            "{t} is a server admin; add --force if you really mean it"
        ));
    }
    None
}

async fn lookup(bot: &Bot, user_id: &UserId) -> Result<UserDetails, CommandError> {
    Ok(bot
        .admin
        .send(&QueryUser {
            user_id: user_id.to_string(),
        })
        .await?)
}

fn facts<'a>(
    bot: &'a Bot,
    sender: &'a UserId,
    target: &'a UserId,
    force: bool,
    details: Option<&'a UserDetails>,
) -> DeactivateFacts<'a> {
    DeactivateFacts {
        target,
        sender,
        bot: &bot.user_id,
        server_name: bot.config.server_name.as_str(),
        protected: bot.config.protected_users.contains(target),
        force,
        details,
    }
}

/// `!user <user>`.
pub async fn info(bot: &Bot, user: &UserArg) -> Result<Reply, CommandError> {
    let user_id = user.resolve(&bot.config.server_name);
    if user_id.server_name() != bot.config.server_name {
        return Err(CommandError::Refused(format!(
            "{user_id} is on another server; only users of {} can be looked up",
            bot.config.server_name
        )));
    }
    let id = user_id.to_string();
    let (query, list_devices, joined_rooms, whois) = (
        QueryUser {
            user_id: id.clone(),
        },
        ListDevices {
            user_id: id.clone(),
        },
        JoinedRooms {
            user_id: id.clone(),
        },
        Whois { user_id: id },
    );
    let (details, devices, rooms, whois) = tokio::join!(
        bot.admin.send(&query),
        bot.admin.send(&list_devices),
        bot.admin.send(&joined_rooms),
        bot.admin.send(&whois),
    );
    let d = details?;
    let last_seen = d
        .last_seen_ts
        .or_else(|| whois.ok().and_then(|w| w.last_seen_ms()));
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
    Ok(Reply::ok(title).list(vec![
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
            "Locked: {} · Shadow-banned: {}",
            yes_no(d.locked),
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
    ]))
}

/// `!deactivate`: refusals, then the preview.
pub async fn plan_deactivate(
    bot: &Bot,
    sender: &UserId,
    user: &UserArg,
    erase: bool,
    force: bool,
    dry_run: bool,
) -> Result<Planned, CommandError> {
    let target = user.resolve(&bot.config.server_name);
    if let Some(why) = deactivate_refusal(&facts(bot, sender, &target, force, None)) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let details = lookup(bot, &target).await?;
    if let Some(why) = deactivate_refusal(&facts(bot, sender, &target, force, Some(&details))) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let rooms = bot
        .admin
        .send(&JoinedRooms {
            user_id: target.to_string(),
        })
        .await
        .map(|r| r.total.to_string())
        .unwrap_or_else(|_| "?".into());
    let mut title = Line::new()
        .bold(if erase {
            "Deactivate and erase "
        } else {
            "Deactivate "
        })
        .code(target.as_str());
    if let Some(name) = details.displayname.as_deref().filter(|n| !n.is_empty()) {
        title = title.text(format!(" ({name})"));
    }
    let what = if erase {
        "Irreversible: logged out everywhere, removed from all rooms, can never log in again; messages hidden from new members, name and avatar removed."
    } else {
        "Logged out everywhere, removed from all rooms, cannot log in; the account's messages stay visible."
    };
    let preview = Reply::new(crate::report::Outcome::Pending)
        .line(title)
        .list(vec![
            Line::new().text(format!(
                "Created: {}",
                details
                    .creation_ts_ms()
                    .map_or_else(|| "unknown".into(), format_time_ms)
            )),
            Line::new().text(format!("Server admin: {}", yes_no(details.admin))),
            Line::new().text(format!("Joined rooms: {rooms}")),
        ])
        .line(what);
    Ok(Planned::Confirm {
        preview,
        action: Action::Deactivate {
            user_id: target,
            erase,
            force,
        },
        dry_run,
    })
}

/// Runs a confirmed `!deactivate`, re-checking the rules first: the account may have changed since
/// the preview.
pub async fn execute_deactivate(
    bot: &Bot,
    sender: &UserId,
    target: &OwnedUserId,
    erase: bool,
    force: bool,
) -> Result<Reply, CommandError> {
    let details = lookup(bot, target).await?;
    if let Some(why) = deactivate_refusal(&facts(bot, sender, target, force, Some(&details))) {
        return Err(CommandError::Refused(format!("Not done: {why}")));
    }
    bot.admin
        .send(&DeactivateUser {
            user_id: target.to_string(),
            erase,
        })
        .await?;
    let after = lookup(bot, target).await?;
    let line = Line::new()
        .text("Deactivated ")
        .code(target.as_str())
        .text(if erase { " and erased." } else { "." });
    Ok(Reply::ok(line).line(format!(
        "Synapse now reports: deactivated {}, erased {}.",
        yes_no(after.deactivated),
        yes_no(after.erased)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(admin: bool, deactivated: bool) -> UserDetails {
        serde_json::from_value(
            serde_json::json!({"name": "@t:x", "admin": admin, "deactivated": deactivated}),
        )
        .expect("details")
    }

    #[test]
    fn refusal_table() {
        let id = |s: &str| UserId::parse(s).expect("id");
        let (alice, bot, spam, remote) =
            (id("@alice:x"), id("@bot:x"), id("@spam:x"), id("@spam:y"));
        let normal = details(false, false);
        let admin = details(true, false);
        let gone = details(false, true);
        let base = DeactivateFacts {
            target: &spam,
            sender: &alice,
            bot: &bot,
            server_name: "x",
            protected: false,
            force: false,
            details: None,
        };
        let cases: Vec<(DeactivateFacts<'_>, Option<&str>)> = vec![
            (DeactivateFacts { ..base }, None),
            (
                DeactivateFacts {
                    details: Some(&normal),
                    ..base
                },
                None,
            ),
            (
                DeactivateFacts {
                    target: &bot,
                    ..base
                },
                Some("I will not deactivate myself"),
            ),
            (
                DeactivateFacts {
                    target: &alice,
                    ..base
                },
                Some("you cannot deactivate your own account"),
            ),
            (
                DeactivateFacts {
                    protected: true,
                    ..base
                },
                Some("protected user"),
            ),
            (
                DeactivateFacts {
                    target: &remote,
                    ..base
                },
                Some("on another server"),
            ),
            (
                DeactivateFacts {
                    details: Some(&gone),
                    ..base
                },
                Some("already deactivated"),
            ),
            (
                DeactivateFacts {
                    details: Some(&admin),
                    ..base
                },
                Some("server admin; add --force"),
            ),
            (
                DeactivateFacts {
                    details: Some(&admin),
                    force: true,
                    ..base
                },
                None,
            ),
            // --force does not override the other rules.
            (
                DeactivateFacts {
                    protected: true,
                    force: true,
                    ..base
                },
                Some("protected user"),
            ),
            (
                DeactivateFacts {
                    target: &bot,
                    force: true,
                    ..base
                },
                Some("myself"),
            ),
        ];
        for (f, expected) in cases {
            let got = deactivate_refusal(&f);
            match expected {
                None => assert_eq!(got, None, "{}", f.target),
                Some(needle) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(needle)),
                    "{} → {got:?}",
                    f.target
                ),
            }
        }
    }
}
