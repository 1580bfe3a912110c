//! The gate: which events the bot acts on at all, silent for what it drops; and which files a
//! command may read (its own attachment or the one it replies to), refused in one line. Pure.

use std::time::Duration;

use matrix_sdk::deserialized_responses::{VerificationLevel, VerificationState};
use matrix_sdk::ruma::UserId;

/// What the bot knows about an event before reading its content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventFacts<'a> {
    pub sender: &'a UserId,
    pub bot: &'a UserId,
    pub in_admin_room: bool,
    pub is_edit: bool,
    /// How long ago the server received the event.
    pub age: Duration,
    pub room_encrypted: bool,
    pub event_encrypted: bool,
    pub sender_has_role: bool,
}

/// Why an event was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ignored {
    OtherRoom,
    OwnEvent,
    Edit,
    TooOld(Duration),
    /// A plain-text event in an encrypted room: its sender is not vouched for by encryption.
    Unencrypted,
    NoRole,
}

/// Decides whether to look at an event. Duplicates are checked after this, against the store.
pub(crate) fn gate(f: &EventFacts<'_>, max_age: Duration) -> Result<(), Ignored> {
    if !f.in_admin_room {
        return Err(Ignored::OtherRoom);
    }
    if f.sender == f.bot {
        return Err(Ignored::OwnEvent);
    }
    if f.is_edit {
        return Err(Ignored::Edit);
    }
    if f.age > max_age {
        return Err(Ignored::TooOld(f.age));
    }
    if f.room_encrypted && !f.event_encrypted {
        return Err(Ignored::Unencrypted);
    }
    if !f.sender_has_role {
        return Err(Ignored::NoRole);
    }
    Ok(())
}

/// What vouches for a file a command is about: its own attachment, or the file message it
/// replies to (which the gate never saw: anyone in the room may have posted it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileFacts {
    pub room_encrypted: bool,
    /// The file's event arrived encrypted.
    pub event_encrypted: bool,
    /// The attachment itself is encrypted (`file` with its key and hash, not a plain `url`).
    pub media_encrypted: bool,
    pub sender_has_role: bool,
}

/// Why a file is not read. Said in one line; nothing is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FileRefused {
    #[error("that file was sent by someone without a role here; I read only files the team sent")]
    NoRole,
    #[error(
        "that file was sent unencrypted in an encrypted room, so nothing vouches for who sent it; send it again from Element"
    )]
    Unencrypted,
}

/// Decides whether a command may read a file.
pub(crate) fn file_gate(f: &FileFacts) -> Result<(), FileRefused> {
    if !f.sender_has_role {
        return Err(FileRefused::NoRole);
    }
    if f.room_encrypted && !(f.event_encrypted && f.media_encrypted) {
        return Err(FileRefused::Unencrypted);
    }
    Ok(())
}

/// Whether the session that sent an encrypted event is cross-signed by its owner. A device its
/// owner never signed, an unknown device, a changed identity or a mismatched sender is not: a
/// password alone (a stolen one, too) does not make a session one the team can trust.
pub(crate) fn signed_by_owner(state: &VerificationState) -> bool {
    matches!(
        state,
        VerificationState::Verified
            | VerificationState::Unverified(VerificationLevel::UnverifiedIdentity)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sessions_their_owner_signed_count() {
        use matrix_sdk::deserialized_responses::DeviceLinkProblem;
        let cases = [
            (VerificationState::Verified, true),
            (
                VerificationState::Unverified(VerificationLevel::UnverifiedIdentity),
                true,
            ),
            (
                VerificationState::Unverified(VerificationLevel::UnsignedDevice),
                false,
            ),
            (
                VerificationState::Unverified(VerificationLevel::VerificationViolation),
                false,
            ),
            (
                VerificationState::Unverified(VerificationLevel::MismatchedSender),
                false,
            ),
            (
                VerificationState::Unverified(VerificationLevel::None(
                    DeviceLinkProblem::MissingDevice,
                )),
                false,
            ),
        ];
        for (state, expected) in cases {
            assert_eq!(signed_by_owner(&state), expected, "{state:?}");
        }
    }

    #[test]
    fn files_come_from_the_team_and_encrypted_where_the_room_is() {
        let ok = FileFacts {
            room_encrypted: true,
            event_encrypted: true,
            media_encrypted: true,
            sender_has_role: true,
        };
        let cases = [
            (ok, Ok(())),
            (
                FileFacts {
                    sender_has_role: false,
                    ..ok
                },
                Err(FileRefused::NoRole),
            ),
            (
                FileFacts {
                    event_encrypted: false,
                    ..ok
                },
                Err(FileRefused::Unencrypted),
            ),
            (
                FileFacts {
                    media_encrypted: false,
                    ..ok
                },
                Err(FileRefused::Unencrypted),
            ),
            // An unencrypted room has nothing to check but the sender.
            (
                FileFacts {
                    room_encrypted: false,
                    event_encrypted: false,
                    media_encrypted: false,
                    sender_has_role: true,
                },
                Ok(()),
            ),
            (
                FileFacts {
                    room_encrypted: false,
                    event_encrypted: false,
                    media_encrypted: false,
                    sender_has_role: false,
                },
                Err(FileRefused::NoRole),
            ),
        ];
        for (facts, expected) in cases {
            assert_eq!(file_gate(&facts), expected, "{facts:?}");
        }
    }

    #[test]
    fn gate_table() {
        let alice = UserId::parse("@alice:x").expect("id");
        let bot = UserId::parse("@bot:x").expect("id");
        let ok = EventFacts {
            sender: &alice,
            bot: &bot,
            in_admin_room: true,
            is_edit: false,
            age: Duration::from_secs(1),
            room_encrypted: true,
            event_encrypted: true,
            sender_has_role: true,
        };
        let max = Duration::from_secs(300);
        let cases: Vec<(EventFacts<'_>, Result<(), Ignored>)> = vec![
            (ok, Ok(())),
            (
                EventFacts {
                    room_encrypted: false,
                    event_encrypted: false,
                    ..ok
                },
                Ok(()),
            ),
            (
                EventFacts {
                    in_admin_room: false,
                    ..ok
                },
                Err(Ignored::OtherRoom),
            ),
            (EventFacts { sender: &bot, ..ok }, Err(Ignored::OwnEvent)),
            (
                EventFacts {
                    is_edit: true,
                    ..ok
                },
                Err(Ignored::Edit),
            ),
            (
                EventFacts {
                    age: Duration::from_secs(301),
                    ..ok
                },
                Err(Ignored::TooOld(Duration::from_secs(301))),
            ),
            (
                EventFacts {
                    event_encrypted: false,
                    ..ok
                },
                Err(Ignored::Unencrypted),
            ),
            (
                EventFacts {
                    sender_has_role: false,
                    ..ok
                },
                Err(Ignored::NoRole),
            ),
            // The room check comes first: strangers elsewhere are not even looked at.
            (
                EventFacts {
                    in_admin_room: false,
                    sender_has_role: false,
                    ..ok
                },
                Err(Ignored::OtherRoom),
            ),
        ];
        for (facts, expected) in cases {
            assert_eq!(gate(&facts, max), expected, "{facts:?}");
        }
    }
}
