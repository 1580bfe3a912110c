//! The `secret_messages` table: the bot's messages that carry a generated password, and when each
//! is to be redacted. Kept in the store so a restart does not leave a password in the room.

use rusqlite::params;

use super::{Store, StoreResult};

/// One of the bot's messages to redact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretMessage {
    pub(crate) room_id: String,
    pub(crate) event_id: String,
}

impl Store {
    /// Remembers that `event_id` in `room_id` holds a secret, to be redacted at `redact_at`.
    pub(crate) fn add_secret_message(
        &self,
        room_id: &str,
        event_id: &str,
        redact_at: i64,
    ) -> StoreResult<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO secret_messages (event_id, room_id, redact_at) VALUES (?1, ?2, ?3)",
            params![event_id, room_id, redact_at],
        )?;
        Ok(())
    }

    /// The messages whose time has come.
    pub(crate) fn due_secret_messages(&self, now: i64) -> StoreResult<Vec<SecretMessage>> {
        let conn = self.conn();
        let mut q = conn.prepare(
            "SELECT room_id, event_id FROM secret_messages WHERE redact_at <= ?1 ORDER BY redact_at",
        )?;
        let rows = q
            .query_map(params![now], |r| {
                Ok(SecretMessage {
                    room_id: r.get(0)?,
                    event_id: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Redacted: forgotten.
    pub(crate) fn forget_secret_message(&self, event_id: &str) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM secret_messages WHERE event_id = ?1",
            params![event_id],
        )?;
        Ok(())
    }

    /// Could not be redacted now: tried again at `at`.
    pub(crate) fn postpone_secret_message(&self, event_id: &str, at: i64) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE secret_messages SET redact_at = ?2 WHERE event_id = ?1",
            params![event_id, at],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_messages_come_due_once_and_can_be_postponed() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        store.add_secret_message("!r:x", "$a", 100).expect("add");
        store.add_secret_message("!r:x", "$b", 200).expect("add");
        assert_eq!(store.due_secret_messages(99).expect("due"), vec![]);
        let due = store.due_secret_messages(150).expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].event_id, "$a");
        store.postpone_secret_message("$a", 300).expect("postpone");
        assert!(
            store
                .due_secret_messages(250)
                .expect("due")
                .iter()
                .all(|m| m.event_id == "$b")
        );
        store.forget_secret_message("$b").expect("forget");
        let left = store.due_secret_messages(1000).expect("due");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].event_id, "$a");
    }
}
