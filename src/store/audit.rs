//! The `audit` table: one row per command the bot acted on or refused.

use rusqlite::params;

use super::{Store, StoreResult, now_secs};

impl Store {
    /// Appends to the audit trail. `command` must not hold secrets (no command takes one).
    pub(crate) fn audit(
        &self,
        room_id: &str,
        sender: &str,
        command: &str,
        outcome: &str,
    ) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO audit (at, room_id, sender, command, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now_secs(), room_id, sender, command, outcome],
        )?;
        Ok(())
    }
}
