//! The reports inbox (and, each poll, `super::watch`'s sign-ups, waves, digest and health):
//! Synapse's event and user reports read every `inbox.poll_interval`, each new
//! one stored and posted as one card in the inbox room; cards of reports handled here or gone from
//! Synapse (handled in another tool) edited to say so; one reminder for reports left open past
//! `inbox.remind_after`. A report is stored before its card is posted, so a restart neither
//! re-posts a card nor loses a report that arrived while the bot was down.

use std::collections::HashSet;
use std::sync::Arc;

use matrix_sdk::ruma::{EventId, OwnedRoomId, RoomId};
use tracing::{info, warn};

use crate::admin_api::AdminError;
use crate::admin_api::reports::{
    DeleteReport, EventReportDetails, ListReports, ReportEntry, ReportKind,
};
use crate::context::Ctx;
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::store::{NewReport, ReportRow, ReportState, now_secs};

/// Report pages read per poll, 100 each: a backlog larger than this is read over several polls.
const MAX_PAGES: u64 = 50;

fn kind_name(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Event => "event",
        ReportKind::User => "user",
    }
}

fn kind_of(row: &ReportRow) -> ReportKind {
    if row.kind == "user" {
        ReportKind::User
    } else {
        ReportKind::Event
    }
}

/// The room the cards go to: the configured one if it is an admin room, else the first admin room.
pub(crate) fn inbox_room(ctx: &Ctx) -> Option<OwnedRoomId> {
    let settings = ctx.config.inbox.as_ref()?;
    if let Some(room) = &settings.room {
        return RoomId::parse(room.as_str())
            .ok()
            .filter(|r| ctx.is_admin_room(r));
    }
    ctx.config
        .rooms
        .iter()
        .filter_map(|r| RoomId::parse(r.as_str()).ok())
        .find(|r| ctx.is_admin_room(r))
        .or_else(|| {
            let mut rooms: Vec<&OwnedRoomId> = ctx.rooms.iter().collect();
            rooms.sort();
            rooms.first().map(|r| (*r).clone())
        })
}

/// Polls until the bot stops (only with an `[inbox]` section).
pub(crate) fn start(ctx: &Arc<Ctx>) {
    let Some(settings) = ctx.config.inbox.clone() else {
        return;
    };
    let Some(room) = inbox_room(ctx) else {
        warn!("inbox.room is not one of the admin rooms: the inbox is off");
        return;
    };
    info!(room_id = %room, "reports inbox on");
    let c = ctx.clone();
    ctx.spawn(async move {
        let mut health = super::watch::Health::default();
        loop {
            health.check(&c, &room, &settings).await;
            poll_once(&c, &room, settings.remind_after).await;
            super::watch::check_wave(&c, &room, &settings).await;
            super::watch::tell_signups(&c, &room, &settings).await;
            super::watch::daily_digest(&c, &room, &settings).await;
            tokio::time::sleep(settings.poll_interval).await;
        }
    });
}

/// One poll: new reports stored and posted, vanished ones closed, reminders sent.
pub(crate) async fn poll_once(ctx: &Ctx, room: &RoomId, remind_after: std::time::Duration) {
    for kind in [ReportKind::Event, ReportKind::User] {
        match list_all(ctx, kind).await {
            Ok(Some(entries)) => {
                let seen: HashSet<i64> = entries.iter().map(|e| e.id).collect();
                for entry in entries {
                    store_new(ctx, kind, entry).await;
                }
                close_vanished(ctx, kind, &seen).await;
            }
            // This Synapse has no such list (user reports before 1.152).
            Ok(None) => {}
            Err(e) => warn!("cannot read the {} reports: {e}", kind_name(kind)),
        }
    }
    post_missing_cards(ctx, room).await;
    remind(ctx, remind_after).await;
}

/// Every report Synapse lists; `None` when it has no such list.
async fn list_all(ctx: &Ctx, kind: ReportKind) -> Result<Option<Vec<ReportEntry>>, AdminError> {
    let mut out = Vec::new();
    let mut from = 0u64;
    for _ in 0..MAX_PAGES {
        let page = match ctx
            .admin
            .send(&ListReports {
                kind,
                from,
                limit: 100,
            })
            .await
        {
            Ok(p) => p,
            Err(e) if kind == ReportKind::User && (e.is_not_found() || e.is_unrecognized()) => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let n = page.event_reports.len() as u64;
        out.extend(page.event_reports);
        match page.next_token.and_then(|t| t.parse::<u64>().ok()) {
            Some(next) if n > 0 && next > from => from = next,
            _ => break,
        }
    }
    Ok(Some(out))
}

/// What the card says about the reported event: its type and time, and its text where it is not
/// encrypted.
fn describe_event(event: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let kind = event["type"].as_str().unwrap_or("?");
    let ts = event["origin_server_ts"].as_i64().map(format_time_ms);
    out.push(format!(
        "Event: {kind}{}",
        ts.map(|t| format!(" at {t}")).unwrap_or_default()
    ));
    if kind == "m.room.message"
        && let Some(body) = event["content"]["body"].as_str()
    {
        out.push(format!("Text: {}", crate::text::clip(body, 300)));
    }
    if kind == "m.room.encrypted" {
        out.push("Text: encrypted (not readable by the server)".into());
    }
    out
}

async fn store_new(ctx: &Ctx, kind: ReportKind, e: ReportEntry) {
    let mut summary = Vec::new();
    let mut media = None;
    let target_user = match kind {
        ReportKind::Event => e.sender.clone(),
        ReportKind::User => e.target_user_id.clone(),
    };
    match kind {
        ReportKind::Event => {
            let room = e
                .name
                .clone()
                .or(e.canonical_alias.clone())
                .unwrap_or_else(|| "(no name)".into());
            summary.push(format!(
                "About: {} in {room} ({})",
                target_user.as_deref().unwrap_or("?"),
                e.room_id.as_deref().unwrap_or("?")
            ));
            if let Ok(details) = ctx.admin.send(&EventReportDetails { id: e.id }).await {
                summary.extend(describe_event(&details.event_json));
                media = details.event_json["content"]["url"]
                    .as_str()
                    .filter(|u| u.starts_with("mxc://"))
                    .map(str::to_owned);
            }
        }
        ReportKind::User => summary.push(format!(
            "About: the account {}",
            target_user.as_deref().unwrap_or("?")
        )),
    }
    let new = NewReport {
        kind: kind_name(kind),
        synapse_id: e.id,
        received_ts: e.received_ts,
        reporter: e.user_id.clone(),
        target_user,
        room_id: e.room_id.clone(),
        event_id: e.event_id.clone(),
        reason: e.reason.clone(),
        media,
        summary: summary.join("\n"),
    };
    if let Err(err) = ctx.store.add_report(&new) {
        warn!("cannot store report {}: {err}", e.id);
    }
}

/// The card of a report, with its state.
pub(crate) fn card(ctx: &Ctx, r: &ReportRow) -> Reply {
    let earlier = r
        .target_user
        .as_deref()
        .and_then(|u| ctx.store.reports_naming(u, r.id).ok())
        .unwrap_or(0);
    let outcome = match r.state {
        ReportState::Open => Outcome::Pending,
        _ => Outcome::Success,
    };
    let head = Line::new().bold(format!(
        "Report #{} ({} report, {})",
        r.id,
        r.kind,
        format_time_ms(r.received_ts)
    ));
    let mut items = vec![Line::new().text("From: ").code(r.reporter.as_str())];
    for line in r.summary.lines() {
        items.push(Line::new().text(line.to_owned()));
    }
    items.push(Line::new().text(format!(
        "Reason: {}",
        r.reason
            .as_deref()
            .filter(|s| !s.is_empty())
            .map_or_else(|| "(none given)".to_owned(), |s| crate::text::clip(s, 300))
    )));
    if let Some(user) = &r.target_user {
        items.push(Line::new().text(format!("Earlier reports naming {user}: {earlier}")));
    }
    let mut reply = Reply::new(outcome).line(head).list(items);
    reply = match r.state {
        ReportState::Open => reply.line(match (r.kind.as_str(), r.media.is_some()) {
            ("user", _) => "React: ✅ dismiss · ⏸ suspend · 🔨 offboard",
            (_, true) => {
                "React: ✅ dismiss · 🗑 redact · ⏸ suspend sender · ☣ quarantine media · 🔨 offboard"
            }
            (_, false) => "React: ✅ dismiss · 🗑 redact · ⏸ suspend sender · 🔨 offboard",
        }),
        ReportState::Handled => reply.line(Line::new().bold(format!(
            "Handled by {} ({}) at {}",
            r.handled_by.as_deref().unwrap_or("?"),
            r.handled_how.as_deref().unwrap_or("?"),
            r.handled_at
                .map(|s| format_time_ms(s.saturating_mul(1000)))
                .unwrap_or_default()
        ))),
        ReportState::Gone => {
            reply.line(Line::new().bold("Gone from Synapse: handled in another tool."))
        }
    };
    reply
}

async fn post_missing_cards(ctx: &Ctx, room: &RoomId) {
    let rows = match ctx.store.reports_without_card() {
        Ok(r) => r,
        Err(e) => {
            warn!("{e}");
            return;
        }
    };
    for r in rows {
        match ctx.reply(room, None, &card(ctx, &r)).await {
            Ok(event) => {
                if let Err(e) = ctx
                    .store
                    .set_report_card(r.id, room.as_str(), event.as_str())
                {
                    warn!("{e}");
                }
            }
            Err(e) => warn!("cannot post the card of report #{}: {e}", r.id),
        }
    }
}

/// Re-renders the card of a stored report (after it was handled or vanished).
pub(crate) async fn refresh_card(ctx: &Ctx, id: i64) {
    let Ok(Some(r)) = ctx.store.report(id) else {
        return;
    };
    let (Some(room), Some(event)) = (r.card_room.as_deref(), r.card_event.as_deref()) else {
        return;
    };
    let (Ok(room), Ok(event)) = (RoomId::parse(room), EventId::parse(event)) else {
        return;
    };
    if let Err(e) = ctx.chat.edit(&room, &event, &card(ctx, &r)).await {
        warn!("cannot edit the card of report #{id}: {e}");
    }
}

async fn close_vanished(ctx: &Ctx, kind: ReportKind, listed: &HashSet<i64>) {
    let open = match ctx.store.open_reports(kind_name(kind)) {
        Ok(o) => o,
        Err(e) => {
            warn!("{e}");
            return;
        }
    };
    for r in open.into_iter().filter(|r| !listed.contains(&r.synapse_id)) {
        if let Ok(true) = ctx
            .store
            .close_report(r.id, ReportState::Gone, None, "gone from Synapse")
        {
            refresh_card(ctx, r.id).await;
        }
    }
}

async fn remind(ctx: &Ctx, after: std::time::Duration) {
    let cutoff = now_secs()
        .saturating_sub(i64::try_from(after.as_secs()).unwrap_or(i64::MAX))
        .saturating_mul(1000);
    let rows = match ctx.store.take_reports_to_remind(cutoff) {
        Ok(r) => r,
        Err(e) => {
            warn!("{e}");
            return;
        }
    };
    for r in rows {
        let (Some(room), Some(event)) = (r.card_room.as_deref(), r.card_event.as_deref()) else {
            continue;
        };
        let (Ok(room), Ok(event)) = (RoomId::parse(room), EventId::parse(event)) else {
            continue;
        };
        let nudge = Reply::new(Outcome::Pending).line(format!(
            "Report #{} is still open, since {}.",
            r.id,
            format_time_ms(r.received_ts)
        ));
        if let Err(e) = ctx.reply(&room, Some(&event), &nudge).await {
            warn!("cannot remind of report #{}: {e}", r.id);
        }
    }
}

/// Dismisses a report: deleted on Synapse, recorded as handled by `by`, its card edited. An
/// error when it is not open.
pub(crate) async fn dismiss(ctx: &Ctx, r: &ReportRow, by: &str) -> Result<(), DismissError> {
    if r.state != ReportState::Open {
        return Err(DismissError::NotOpen(r.state));
    }
    match ctx
        .admin
        .send(&DeleteReport {
            kind: kind_of(r),
            id: r.synapse_id,
        })
        .await
    {
        Ok(_) => {}
        // Gone already (another tool): it is no longer open either way.
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(DismissError::Admin(e)),
    }
    ctx.store
        .close_report(r.id, ReportState::Handled, Some(by), "dismissed")?;
    refresh_card(ctx, r.id).await;
    Ok(())
}

/// Records that a report was acted on (its sender suspended, offboarded…) and edits its card.
pub(crate) async fn mark_handled(ctx: &Ctx, id: i64, by: &str, how: &str) {
    if let Ok(true) = ctx
        .store
        .close_report(id, ReportState::Handled, Some(by), how)
    {
        refresh_card(ctx, id).await;
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum DismissError {
    #[error("it is {}, not open", <&'static str>::from(*.0).replace('_', " "))]
    NotOpen(ReportState),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_shows_the_text_of_unencrypted_messages_only() {
        let plain = serde_json::json!({"type": "m.room.message", "origin_server_ts": 0, "content": {"body": "buy now"}});
        assert!(describe_event(&plain).iter().any(|l| l == "Text: buy now"));
        let secret =
            serde_json::json!({"type": "m.room.encrypted", "content": {"ciphertext": "x"}});
        assert!(
            describe_event(&secret)
                .iter()
                .all(|l| !l.contains("ciphertext") && !l.contains("\"x\""))
        );
    }
}
