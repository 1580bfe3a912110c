//! The `handled_events` table: each event acts at most once, across restarts.

use rusqlite::params;

use super::{Store, StoreResult, now_secs};

impl Store {
    /// Records that an event is being handled. Returns false when it already was: the caller must
    /// then do nothing, so a command never runs twice.
    pub(crate) fn claim_event(&self, event_id: &str) -> StoreResult<bool> {
        // Cached: one claim per event the bot sees.
        let n = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO handled_events (event_id, handled_at) VALUES (?1, ?2)",
            )?
            .execute(params![event_id, now_secs()])?;
        Ok(n == 1)
    }

    #[cfg(test)]
    pub(crate) fn was_handled(&self, event_id: &str) -> StoreResult<bool> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM handled_events WHERE event_id = ?1",
                params![event_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub(super) fn prune_events(&self, cutoff: i64) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM handled_events WHERE handled_at < ?1",
            params![cutoff],
        )?;
        Ok(())
    }
}
