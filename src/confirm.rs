//! The confirmation rules, pure: who may decide on a pending preview, in which room, until when;
//! and the codes. The pending previews themselves are stored by `crate::store`, and the flow that
//! shows a preview and reacts to ✅/❌/`!confirm` is in `crate::app`.

/// Letters and digits that cannot be confused when read on a phone (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 6;

/// A fresh random confirmation code, e.g. `K7QX2M`.
pub(crate) fn new_code() -> String {
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rand::random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// A code as typed: trimmed, any case.
pub(crate) fn normalize_code(typed: &str) -> String {
    typed.trim().to_ascii_uppercase()
}

/// What the rules need to know about a pending preview.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingFacts<'a> {
    pub(crate) code: &'a str,
    pub(crate) room: &'a str,
    pub(crate) owner: &'a str,
    pub(crate) expires_at: i64,
}

/// Why a confirmation or cancellation was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfirmError {
    #[error("no pending command has code {0} (it ran, was cancelled or never existed)")]
    Unknown(String),
    #[error("code {0} expired; run the command again")]
    Expired(String),
    #[error("only {0} can confirm or cancel this")]
    OtherSender(String),
}

/// Whether `sender`, in `room`, at `now`, may decide on the pending preview. Another room's codes
/// are not this room's business: they answer as if unknown. Expiry is checked last, so only the
/// owner learns that a code expired.
pub(crate) fn may_decide(
    p: PendingFacts<'_>,
    sender: &str,
    room: &str,
    now: i64,
) -> Result<(), ConfirmError> {
    if p.room != room {
        return Err(ConfirmError::Unknown(p.code.to_owned()));
    }
    if p.owner != sender {
        return Err(ConfirmError::OtherSender(p.owner.to_owned()));
    }
    if now > p.expires_at {
        return Err(ConfirmError::Expired(p.code.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unambiguous() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), CODE_LEN);
            assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{c}");
        }
        assert_eq!(normalize_code(" k7qx2m "), "K7QX2M");
    }

    #[test]
    fn decision_rules() {
        let p = PendingFacts {
            code: "AAAAAA",
            room: "!r:x",
            owner: "@alice:x",
            expires_at: 200,
        };
        let cases: &[(&str, &str, i64, Result<(), ConfirmError>)] = &[
            ("@alice:x", "!r:x", 150, Ok(())),
            ("@alice:x", "!r:x", 200, Ok(())),
            // Another room: as if the code did not exist.
            (
                "@alice:x",
                "!other:x",
                150,
                Err(ConfirmError::Unknown("AAAAAA".into())),
            ),
            // Another admin cannot, even in the right room, even before it expires.
            (
                "@bob:x",
                "!r:x",
                150,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
            (
                "@bob:x",
                "!r:x",
                201,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
            (
                "@alice:x",
                "!r:x",
                201,
                Err(ConfirmError::Expired("AAAAAA".into())),
            ),
        ];
        for (sender, room, now, expected) in cases {
            assert_eq!(
                &may_decide(p, sender, room, *now),
                expected,
                "{sender} in {room} at {now}"
            );
        }
    }
}
