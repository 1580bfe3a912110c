//! The `reports` table: every abuse report the inbox has seen, its card in the room, and who
//! handled it how; and `inbox_state`, the inbox's few marks (last wave alert, sign-ups told). A report is stored before its card is posted, so a restart posts the cards
//! still missing and never one twice.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreResult, now_secs};

/// Where a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub(crate) enum ReportState {
    Open,
    /// Handled here: `handled_by`, `handled_how`.
    Handled,
    /// Gone from Synapse without the bot: handled in another tool.
    Gone,
}

/// A report as first seen.
#[derive(Debug, Clone)]
pub(crate) struct NewReport {
    /// `event` or `user`.
    pub(crate) kind: &'static str,
    pub(crate) synapse_id: i64,
    pub(crate) received_ts: i64,
    pub(crate) reporter: String,
    pub(crate) target_user: Option<String>,
    pub(crate) room_id: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) reason: Option<String>,
    /// The reported event's media (`mxc://`), if it has any.
    pub(crate) media: Option<String>,
    /// The card's text, kept so it can be edited with the outcome.
    pub(crate) summary: String,
}

/// A stored report.
#[derive(Debug, Clone)]
pub(crate) struct ReportRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) synapse_id: i64,
    pub(crate) received_ts: i64,
    pub(crate) reporter: String,
    pub(crate) target_user: Option<String>,
    pub(crate) room_id: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) media: Option<String>,
    pub(crate) summary: String,
    pub(crate) state: ReportState,
    pub(crate) card_room: Option<String>,
    pub(crate) card_event: Option<String>,
    pub(crate) handled_by: Option<String>,
    pub(crate) handled_how: Option<String>,
    pub(crate) handled_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, synapse_id, received_ts, reporter, target_user, room_id, event_id, reason, media, summary, state, card_room, card_event, handled_by, handled_how, handled_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    let state: String = r.get(11)?;
    Ok(ReportRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        synapse_id: r.get(2)?,
        received_ts: r.get(3)?,
        reporter: r.get(4)?,
        target_user: r.get(5)?,
        room_id: r.get(6)?,
        event_id: r.get(7)?,
        reason: r.get(8)?,
        media: r.get(9)?,
        summary: r.get(10)?,
        state: state.parse().unwrap_or(ReportState::Open),
        card_room: r.get(12)?,
        card_event: r.get(13)?,
        handled_by: r.get(14)?,
        handled_how: r.get(15)?,
        handled_at: r.get(16)?,
    })
}

impl Store {
    /// A mark the inbox keeps (when the last wave alert went out, up to when sign-ups were told).
    pub(crate) fn inbox_mark(&self, key: &str) -> StoreResult<Option<i64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM inbox_state WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub(crate) fn set_inbox_mark(&self, key: &str, value: i64) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO inbox_state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// How many reports are open.
    pub(crate) fn open_report_count(&self) -> StoreResult<i64> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM reports WHERE state = 'open'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Stores a report not seen before; `None` when it was.
    pub(crate) fn add_report(&self, r: &NewReport) -> StoreResult<Option<i64>> {
        let conn = self.conn();
        let n = conn.execute(
            "INSERT OR IGNORE INTO reports (kind, synapse_id, received_ts, reporter, target_user, room_id, event_id, reason, media, summary, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open')",
            params![r.kind, r.synapse_id, r.received_ts, r.reporter, r.target_user, r.room_id, r.event_id, r.reason, r.media, r.summary],
        )?;
        Ok((n == 1).then(|| conn.last_insert_rowid()))
    }

    pub(crate) fn report(&self, id: i64) -> StoreResult<Option<ReportRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM reports WHERE id = ?1"),
                params![id],
                row,
            )
            .optional()?)
    }

    pub(crate) fn report_by_card(&self, card_event: &str) -> StoreResult<Option<ReportRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM reports WHERE card_event = ?1"),
                params![card_event],
                row,
            )
            .optional()?)
    }

    /// Reports newest first, optionally only open ones or those naming `user`.
    pub(crate) fn reports(
        &self,
        open_only: bool,
        user: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<(Vec<ReportRow>, usize)> {
        let conn = self.conn();
        let filter =
            "(?1 = 0 OR state = 'open') AND (?2 IS NULL OR target_user = ?2 OR reporter = ?2)";
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM reports WHERE {filter}"),
            params![open_only, user],
            |r| r.get(0),
        )?;
        let mut q = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM reports WHERE {filter} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = q
            .query_map(params![open_only, user, limit as i64, offset as i64], row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, usize::try_from(total).unwrap_or(0)))
    }

    /// Open reports of `kind` (to notice those gone from Synapse).
    pub(crate) fn open_reports(&self, kind: &str) -> StoreResult<Vec<ReportRow>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM reports WHERE kind = ?1 AND state = 'open'"
        ))?;
        let rows = q
            .query_map(params![kind], row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Reports whose card was never posted (a restart in between).
    pub(crate) fn reports_without_card(&self) -> StoreResult<Vec<ReportRow>> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM reports WHERE card_event IS NULL AND state = 'open' ORDER BY id"
        ))?;
        let rows = q.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How many earlier reports name `user` (as the reported sender or user).
    pub(crate) fn reports_naming(&self, user: &str, before_id: i64) -> StoreResult<i64> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM reports WHERE target_user = ?1 AND id < ?2",
            params![user, before_id],
            |r| r.get(0),
        )?)
    }

    pub(crate) fn set_report_card(&self, id: i64, room: &str, event: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE reports SET card_room = ?2, card_event = ?3 WHERE id = ?1",
            params![id, room, event],
        )?;
        Ok(())
    }

    /// Marks an open report handled (or gone); false if it was not open.
    pub(crate) fn close_report(
        &self,
        id: i64,
        state: ReportState,
        by: Option<&str>,
        how: &str,
    ) -> StoreResult<bool> {
        let state: &'static str = state.into();
        let n = self.conn().execute(
            "UPDATE reports SET state = ?2, handled_by = ?3, handled_how = ?4, handled_at = ?5 WHERE id = ?1 AND state = 'open'",
            params![id, state, by, how, now_secs()],
        )?;
        Ok(n == 1)
    }

    /// Open reports received before `before_ms` that were never reminded of; marks them reminded.
    pub(crate) fn take_reports_to_remind(&self, before_ms: i64) -> StoreResult<Vec<ReportRow>> {
        let conn = self.conn();
        let rows = {
            let mut q = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM reports WHERE state = 'open' AND reminded = 0 AND card_event IS NOT NULL AND received_ts < ?1"
            ))?;
            q.query_map(params![before_ms], row)?
                .collect::<Result<Vec<_>, _>>()?
        };
        for r in &rows {
            conn.execute(
                "UPDATE reports SET reminded = 1 WHERE id = ?1",
                params![r.id],
            )?;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: i64) -> NewReport {
        NewReport {
            kind: "event",
            synapse_id: id,
            received_ts: 1000 * id,
            reporter: "@r:x".into(),
            target_user: Some("@spam:x".into()),
            room_id: Some("!room:x".into()),
            event_id: Some("$e".into()),
            reason: Some("spam".into()),
            media: None,
            summary: "card".into(),
        }
    }

    #[test]
    fn a_report_is_stored_once_handled_once_and_reminded_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let first = store.add_report(&report(1)).expect("add").expect("new");
        assert_eq!(store.add_report(&report(1)).expect("again"), None);
        let second = store.add_report(&report(2)).expect("add").expect("new");
        assert_eq!(store.reports_naming("@spam:x", second).expect("n"), 1);
        assert_eq!(store.reports_without_card().expect("cards").len(), 2);
        store
            .set_report_card(first, "!admin:x", "$card")
            .expect("card");
        assert_eq!(
            store
                .report_by_card("$card")
                .expect("by card")
                .map(|r| r.id),
            Some(first)
        );
        assert!(
            store
                .close_report(first, ReportState::Handled, Some("@a:x"), "dismissed")
                .expect("close")
        );
        assert!(
            !store
                .close_report(first, ReportState::Handled, Some("@b:x"), "dismissed")
                .expect("twice")
        );
        let (open, total) = store.reports(true, None, 10, 0).expect("list");
        assert_eq!((open.len(), total), (1, 1));
        store
            .set_report_card(second, "!admin:x", "$card2")
            .expect("card");
        assert_eq!(store.take_reports_to_remind(5000).expect("remind").len(), 1);
        assert!(
            store
                .take_reports_to_remind(5000)
                .expect("again")
                .is_empty()
        );
    }
}
