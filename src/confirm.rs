//! Pending confirmations: a destructive command's preview waits here until the same sender reacts ✅
//! or types `!confirm <code>` in the same room before it expires. Kept in the store, so a restart
//! neither loses nor replays them.

use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use rusqlite::{OptionalExtension, params};

use crate::command::Action;
use crate::store::{Store, StoreError};

/// Letters and digits that cannot be confused when read on a phone (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 6;

/// A fresh random confirmation code, e.g. `K7QX2M`.
pub fn new_code() -> String {
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rand::random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// A previewed command waiting for its confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub code: String,
    pub room_id: OwnedRoomId,
    pub sender: OwnedUserId,
    pub command_event_id: OwnedEventId,
    pub preview_event_id: Option<OwnedEventId>,
    pub action: Action,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Why a confirmation or cancellation was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no pending command has code {0} (it ran, was cancelled or never existed)")]
    Unknown(String),
    #[error("code {0} expired; run the command again")]
    Expired(String),
    #[error("only {0} can confirm or cancel this")]
    OtherSender(OwnedUserId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a pending command is looked up.
pub enum Key<'a> {
    Code(&'a str),
    Preview(&'a str),
}

impl Store {
    pub fn insert_pending(&self, p: &Pending) -> Result<(), StoreError> {
        let action = serde_json::to_string(&p.action)
            .map_err(|e| StoreError(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.conn().execute(
            "INSERT INTO pending_confirmations (code, room_id, sender, command_event_id, preview_event_id, action, created_at, expires_at, job_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                p.code,
                p.room_id.as_str(),
                p.sender.as_str(),
                p.command_event_id.as_str(),
                p.preview_event_id.as_ref().map(|e| e.as_str()),
                action,
                p.created_at,
                p.expires_at,
                p.action.job_id()
            ],
        )?;
        Ok(())
    }

    /// Remembers which message showed the preview, so a ✅ on it confirms.
    pub fn attach_preview(&self, code: &str, preview: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE pending_confirmations SET preview_event_id = ?2 WHERE code = ?1",
            params![code, preview],
        )?;
        Ok(())
    }

    /// Takes the pending command if `sender` may decide on it in `room` now; removes it then (and
    /// when it expired). A wrong sender leaves it in place for the right one.
    pub fn take_pending(
        &self,
        key: Key<'_>,
        sender: &str,
        room: &str,
        now: i64,
    ) -> Result<Pending, ConfirmError> {
        let conn = self.conn();
        let (sql, value, shown) = match key {
            Key::Code(c) => {
                let c = c.trim().to_ascii_uppercase();
                (
                    "SELECT code, room_id, sender, command_event_id, preview_event_id, action, created_at, expires_at FROM pending_confirmations WHERE code = ?1",
                    c.clone(),
                    c,
                )
            }
            Key::Preview(e) => (
                "SELECT code, room_id, sender, command_event_id, preview_event_id, action, created_at, expires_at FROM pending_confirmations WHERE preview_event_id = ?1",
                e.to_owned(),
                "for that message".to_owned(),
            ),
        };
        let row = conn
            .query_row(sql, params![value], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .optional()
            .map_err(StoreError::from)?;
        // Another room's codes are not this room's business: answer as if unknown.
        let Some((code, room_id, owner, command_event_id, preview, action, created_at, expires_at)) =
            row.filter(|r| r.1 == room)
        else {
            return Err(ConfirmError::Unknown(shown));
        };
        let parse_err = |what: &str| ConfirmError::Unknown(format!("{code} ({what} unreadable)"));
        let owner_id = OwnedUserId::try_from(owner.as_str()).map_err(|_| parse_err("sender"))?;
        if owner != sender {
            return Err(ConfirmError::OtherSender(owner_id));
        }
        conn.execute(
            "DELETE FROM pending_confirmations WHERE code = ?1",
            params![code],
        )
        .map_err(StoreError::from)?;
        let action: Action = serde_json::from_str(&action).map_err(|_| parse_err("action"))?;
        if now > expires_at {
            // An expired import leaves no stored rows (and no passwords) behind.
            if let Some(job) = action.job_id() {
                conn.execute("DELETE FROM job_rows WHERE job_id = ?1", params![job])
                    .map_err(StoreError::from)?;
                conn.execute(
                    "DELETE FROM jobs WHERE id = ?1 AND state = 'awaiting_confirmation'",
                    params![job],
                )
                .map_err(StoreError::from)?;
            }
            return Err(ConfirmError::Expired(code));
        }
        Ok(Pending {
            room_id: OwnedRoomId::try_from(room_id.as_str()).map_err(|_| parse_err("room"))?,
            sender: owner_id,
            command_event_id: OwnedEventId::try_from(command_event_id.as_str())
                .map_err(|_| parse_err("event"))?,
            preview_event_id: preview.and_then(|p| OwnedEventId::try_from(p.as_str()).ok()),
            action,
            code,
            created_at,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(code: &str, expires_at: i64) -> Pending {
        Pending {
            code: code.into(),
            room_id: OwnedRoomId::try_from("!r:x").expect("room"),
            sender: OwnedUserId::try_from("@alice:x").expect("user"),
            command_event_id: OwnedEventId::try_from("$cmd").expect("event"),
            preview_event_id: None,
            action: Action::Deactivate {
                user_id: OwnedUserId::try_from("@spam:x").expect("user"),
                erase: true,
                force: false,
            },
            created_at: 100,
            expires_at,
        }
    }

    #[test]
    fn codes_are_unambiguous() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), CODE_LEN);
            assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{c}");
        }
    }

    #[test]
    fn confirmation_rules() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        store
            .insert_pending(&pending("AAAAAA", 200))
            .expect("insert");
        store.attach_preview("AAAAAA", "$preview").expect("attach");
        // Unknown code, other room: unknown.
        assert!(matches!(
            store.take_pending(Key::Code("BBBBBB"), "@alice:x", "!r:x", 150),
            Err(ConfirmError::Unknown(_))
        ));
        assert!(matches!(
            store.take_pending(Key::Code("AAAAAA"), "@alice:x", "!other:x", 150),
            Err(ConfirmError::Unknown(_))
        ));
        // Another admin cannot, and the pending stays.
        assert!(matches!(
            store.take_pending(Key::Code("AAAAAA"), "@bob:x", "!r:x", 150),
            Err(ConfirmError::OtherSender(_))
        ));
        // The sender can, by code (any case) or by the preview; only once.
        let p = store
            .take_pending(Key::Code("aaaaaa"), "@alice:x", "!r:x", 150)
            .expect("take");
        assert_eq!(
            p.preview_event_id.as_ref().map(|e| e.as_str()),
            Some("$preview")
        );
        assert_eq!(p.action, pending("AAAAAA", 200).action);
        assert!(matches!(
            store.take_pending(Key::Preview("$preview"), "@alice:x", "!r:x", 150),
            Err(ConfirmError::Unknown(_))
        ));
        // Expired: refused and gone.
        store
            .insert_pending(&pending("CCCCCC", 200))
            .expect("insert");
        assert!(matches!(
            store.take_pending(Key::Code("CCCCCC"), "@alice:x", "!r:x", 201),
            Err(ConfirmError::Expired(_))
        ));
        assert!(matches!(
            store.take_pending(Key::Code("CCCCCC"), "@alice:x", "!r:x", 150),
            Err(ConfirmError::Unknown(_))
        ));
    }
}
