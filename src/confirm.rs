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

/// What a sender does about a pending preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// `!confirm <code>` or ✅ by its author.
    Confirm,
    /// `!approve <code>` or ✅ by a second role holder (`safety.two_person`).
    Approve,
    /// `!cancel <code>` or ❌.
    Cancel,
}

/// What the rules need to know about a pending preview.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingFacts<'a> {
    pub(crate) code: &'a str,
    pub(crate) room: &'a str,
    pub(crate) owner: &'a str,
    pub(crate) expires_at: i64,
    /// It needs a second approver as well as its author (`safety.two_person`).
    pub(crate) two_person: bool,
    pub(crate) author_confirmed: bool,
    pub(crate) approved_by: Option<&'a str>,
}

/// What follows from an accepted act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Everyone needed has agreed: run it.
    Run,
    /// Recorded; it still waits for the second approver.
    AwaitApprover,
    /// Recorded; it still waits for its author's confirmation.
    AwaitAuthor,
    /// Drop it: nothing runs.
    Drop,
}

/// Why a confirmation, approval or cancellation was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfirmError {
    #[error("no pending command has code {0} (it ran, was cancelled or never existed)")]
    Unknown(String),
    #[error("code {0} expired; run the command again")]
    Expired(String),
    #[error("only {0} can confirm or cancel this")]
    OtherSender(String),
    #[error("only {0} can confirm this; a second approver sends !approve {1}")]
    ApproveInstead(String, String),
    #[error("you made this command: a different role holder must approve it")]
    OwnCommand,
    #[error("code {0} needs no second approver; only its author confirms it")]
    NoApprovalNeeded(String),
    #[error("your roles do not allow this command, so you cannot approve it")]
    NotAnApprover,
}

/// Whether `sender`, in `room`, at `now`, may do `act` on the pending preview, and what follows.
/// `may_approve` says whether the sender's roles allow the command itself (a second approver
/// must be able to run it). Another room's codes are not this room's business: they answer as
/// if unknown. Expiry is checked after the sender, so only those involved learn that a code
/// expired. The author can never approve their own command, whatever device they use.
pub(crate) fn decide_step(
    p: PendingFacts<'_>,
    sender: &str,
    room: &str,
    now: i64,
    act: Act,
    may_approve: bool,
) -> Result<Step, ConfirmError> {
    if p.room != room {
        return Err(ConfirmError::Unknown(p.code.to_owned()));
    }
    let is_owner = p.owner == sender;
    let approver = p.two_person && !is_owner && may_approve;
    match act {
        Act::Confirm if !is_owner && approver => {
            return Err(ConfirmError::ApproveInstead(
                p.owner.to_owned(),
                p.code.to_owned(),
            ));
        }
        Act::Confirm | Act::Cancel if !is_owner && !approver => {
            return Err(ConfirmError::OtherSender(p.owner.to_owned()));
        }
        Act::Approve if !p.two_person => {
            return Err(ConfirmError::NoApprovalNeeded(p.code.to_owned()));
        }
        Act::Approve if is_owner => return Err(ConfirmError::OwnCommand),
        Act::Approve if !approver => return Err(ConfirmError::NotAnApprover),
        _ => {}
    }
    if now > p.expires_at {
        return Err(ConfirmError::Expired(p.code.to_owned()));
    }
    Ok(match act {
        Act::Cancel => Step::Drop,
        Act::Confirm if !p.two_person || p.approved_by.is_some() => Step::Run,
        Act::Confirm => Step::AwaitApprover,
        Act::Approve if p.author_confirmed => Step::Run,
        Act::Approve => Step::AwaitAuthor,
    })
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

    fn facts(
        two_person: bool,
        author_confirmed: bool,
        approved_by: Option<&str>,
    ) -> PendingFacts<'_> {
        PendingFacts {
            code: "AAAAAA",
            room: "!r:x",
            owner: "@alice:x",
            expires_at: 200,
            two_person,
            author_confirmed,
            approved_by,
        }
    }

    #[test]
    fn decision_rules() {
        use Act::*;
        let p = facts(false, false, None);
        type Case<'a> = (&'a str, &'a str, i64, Act, bool, Result<Step, ConfirmError>);
        let cases: &[Case<'_>] = &[
            ("@alice:x", "!r:x", 150, Confirm, true, Ok(Step::Run)),
            ("@alice:x", "!r:x", 200, Confirm, true, Ok(Step::Run)),
            ("@alice:x", "!r:x", 150, Cancel, true, Ok(Step::Drop)),
            // Another room: as if the code did not exist.
            (
                "@alice:x",
                "!other:x",
                150,
                Confirm,
                true,
                Err(ConfirmError::Unknown("AAAAAA".into())),
            ),
            // Another admin cannot, even in the right room, even before it expires.
            (
                "@bob:x",
                "!r:x",
                150,
                Confirm,
                true,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
            (
                "@bob:x",
                "!r:x",
                150,
                Cancel,
                true,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
            (
                "@bob:x",
                "!r:x",
                201,
                Confirm,
                true,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
            (
                "@bob:x",
                "!r:x",
                150,
                Approve,
                true,
                Err(ConfirmError::NoApprovalNeeded("AAAAAA".into())),
            ),
            (
                "@alice:x",
                "!r:x",
                201,
                Confirm,
                true,
                Err(ConfirmError::Expired("AAAAAA".into())),
            ),
        ];
        for (sender, room, now, act, may, expected) in cases {
            assert_eq!(
                &decide_step(p, sender, room, *now, *act, *may),
                expected,
                "{sender} {act:?} in {room} at {now}"
            );
        }
    }

    #[test]
    fn two_person_rules() {
        use Act::*;
        let fresh = facts(true, false, None);
        let confirmed = facts(true, true, None);
        let approved = facts(true, false, Some("@bob:x"));
        type Case<'a> = (
            PendingFacts<'a>,
            &'a str,
            Act,
            bool,
            Result<Step, ConfirmError>,
        );
        let cases: &[Case<'_>] = &[
            // Either order: the second of the two runs it.
            (fresh, "@alice:x", Confirm, true, Ok(Step::AwaitApprover)),
            (fresh, "@bob:x", Approve, true, Ok(Step::AwaitAuthor)),
            (confirmed, "@bob:x", Approve, true, Ok(Step::Run)),
            (approved, "@alice:x", Confirm, true, Ok(Step::Run)),
            // The author alone never completes it: confirming again still waits, approving is
            // refused (from any of their devices: the account decides).
            (
                confirmed,
                "@alice:x",
                Confirm,
                true,
                Ok(Step::AwaitApprover),
            ),
            (
                confirmed,
                "@alice:x",
                Approve,
                true,
                Err(ConfirmError::OwnCommand),
            ),
            (
                fresh,
                "@alice:x",
                Approve,
                true,
                Err(ConfirmError::OwnCommand),
            ),
            // A role holder without the command's permissions cannot approve.
            (
                confirmed,
                "@carol:x",
                Approve,
                false,
                Err(ConfirmError::NotAnApprover),
            ),
            (
                confirmed,
                "@carol:x",
                Confirm,
                false,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
            (
                confirmed,
                "@bob:x",
                Confirm,
                true,
                Err(ConfirmError::ApproveInstead(
                    "@alice:x".into(),
                    "AAAAAA".into(),
                )),
            ),
            // An approver may also drop it.
            (confirmed, "@bob:x", Cancel, true, Ok(Step::Drop)),
            (
                confirmed,
                "@carol:x",
                Cancel,
                false,
                Err(ConfirmError::OtherSender("@alice:x".into())),
            ),
        ];
        for (p, sender, act, may, expected) in cases {
            assert_eq!(
                &decide_step(*p, sender, "!r:x", 150, *act, *may),
                expected,
                "{sender} {act:?} on {p:?}"
            );
        }
        assert_eq!(
            decide_step(confirmed, "@bob:x", "!r:x", 201, Approve, true),
            Err(ConfirmError::Expired("AAAAAA".into()))
        );
    }
}
