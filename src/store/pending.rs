//! The `pending_confirmations` table: previews waiting for their confirmation. The rules for who
//! may decide on one are in `crate::confirm`; this file only stores and finds them.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreResult};

/// A stored pending confirmation. `action` is the confirmed action as JSON, opaque here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingRow {
    pub(crate) code: String,
    pub(crate) room_id: String,
    pub(crate) sender: String,
    pub(crate) command_event_id: String,
    pub(crate) preview_event_id: Option<String>,
    pub(crate) action: String,
    /// The job the action starts, dropped with the confirmation when it expires or is cancelled.
    pub(crate) job_id: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    /// It needs a second approver (`safety.two_person`) as well as its author.
    pub(crate) two_person: bool,
    pub(crate) author_confirmed: bool,
    pub(crate) approved_by: Option<String>,
}

const COLUMNS: &str = "code, room_id, sender, command_event_id, preview_event_id, action, job_id, created_at, expires_at, two_person, author_confirmed, approved_by";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingRow> {
    Ok(PendingRow {
        code: r.get(0)?,
        room_id: r.get(1)?,
        sender: r.get(2)?,
        command_event_id: r.get(3)?,
        preview_event_id: r.get(4)?,
        action: r.get(5)?,
        job_id: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        two_person: r.get(9)?,
        author_confirmed: r.get(10)?,
        approved_by: r.get(11)?,
    })
}

impl Store {
    pub(crate) fn insert_pending(&self, p: &PendingRow) -> StoreResult<()> {
        self.conn().execute(
            &format!("INSERT INTO pending_confirmations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                p.code,
                p.room_id,
                p.sender,
                p.command_event_id,
                p.preview_event_id,
                p.action,
                p.job_id,
                p.created_at,
                p.expires_at,
                p.two_person,
                p.author_confirmed,
                p.approved_by
            ],
        )?;
        Ok(())
    }

    /// Remembers which message showed the preview, so a ✅ on it confirms.
    pub(crate) fn attach_preview(&self, code: &str, preview: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE pending_confirmations SET preview_event_id = ?2 WHERE code = ?1",
            params![code, preview],
        )?;
        Ok(())
    }

    /// Records the author's confirmation of a preview that also needs a second approver.
    pub(crate) fn record_author_confirmed(&self, code: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE pending_confirmations SET author_confirmed = 1 WHERE code = ?1",
            params![code],
        )?;
        Ok(())
    }

    /// Records the second approver; the first one to approve is kept.
    pub(crate) fn record_approval(&self, code: &str, approver: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE pending_confirmations SET approved_by = ?2 WHERE code = ?1 AND approved_by IS NULL",
            params![code, approver],
        )?;
        Ok(())
    }

    pub(crate) fn pending_by_code(&self, code: &str) -> StoreResult<Option<PendingRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM pending_confirmations WHERE code = ?1"),
                params![code],
                from_row,
            )
            .optional()?)
    }

    pub(crate) fn pending_by_preview(&self, preview: &str) -> StoreResult<Option<PendingRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM pending_confirmations WHERE preview_event_id = ?1"),
                params![preview],
                from_row,
            )
            .optional()?)
    }

    /// Removes a pending confirmation; true only for the one call that removed it, so a code
    /// confirmed twice at once runs once.
    /// How many previews wait for their confirmation.
    pub(crate) fn pending_count(&self) -> StoreResult<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM pending_confirmations", [], |r| {
                r.get(0)
            })?)
    }

    pub(crate) fn remove_pending(&self, code: &str) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "DELETE FROM pending_confirmations WHERE code = ?1",
            params![code],
        )? == 1)
    }

    pub(super) fn prune_pending(&self, cutoff: i64) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM pending_confirmations WHERE expires_at < ?1",
            params![cutoff],
        )?;
        Ok(())
    }
}
