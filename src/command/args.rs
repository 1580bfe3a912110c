//! Typed command arguments (users, rooms, ages, sizes) and their checks. Pure.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use matrix_sdk::ruma::{OwnedRoomOrAliasId, OwnedUserId, ServerName, UserId};

/// A user as typed: `@local:server` (or a pill, already turned into that by normalize) or a bare
/// localpart that [`UserArg::resolve`] completes with this homeserver's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserArg {
    Full(OwnedUserId),
    Local(String),
}

impl FromStr for UserArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with('@') {
            return UserId::parse(s)
                .map(UserArg::Full)
                .map_err(|_| format!("{:?} is not a user ID; write @name:server", super::clip(s)));
        }
        let ok = !s.is_empty()
            && s.len() <= 255
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._=-/+".contains(c));
        if ok {
            Ok(UserArg::Local(s.to_owned()))
        } else {
            Err(format!(
                "{:?} is not a user; write @name:server or just the name",
                super::clip(s)
            ))
        }
    }
}

impl UserArg {
    /// The full user ID, completing a bare localpart with `server`.
    pub fn resolve(&self, server: &ServerName) -> OwnedUserId {
        match self {
            UserArg::Full(id) => id.clone(),
            // The localpart was checked in from_str, so this cannot fail; fall back to a parse anyway.
            UserArg::Local(local) => UserId::parse_with_server_name(local.as_str(), server)
                .unwrap_or_else(|_| {
                    UserId::parse_with_server_name("invalid", server).expect("static localpart")
                }),
        }
    }
}

impl fmt::Display for UserArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserArg::Full(id) => id.fmt(f),
            UserArg::Local(l) => l.fmt(f),
        }
    }
}

/// A room as typed: `!id:server` or `#alias:server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomArg(pub OwnedRoomOrAliasId);

impl FromStr for RoomArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OwnedRoomOrAliasId::try_from(s).map(RoomArg).map_err(|_| {
            format!(
                "{:?} is not a room; write !id:server or #alias:server",
                super::clip(s)
            )
        })
    }
}

/// An age such as `30d` (see [`crate::units::parse_age`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub Duration);

impl FromStr for Age {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::units::parse_age(s)
            .map(Age)
            .map_err(|_| crate::units::UnitError::BadAge(super::clip(s)).to_string())
    }
}

/// A size such as `10M` (see [`crate::units::parse_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::units::parse_size(s)
            .map(Size)
            .map_err(|_| crate::units::UnitError::BadSize(super::clip(s)).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_args() {
        let server = <&ServerName>::try_from("example.org").expect("server");
        let cases: &[(&str, Option<&str>)] = &[
            ("@spam:example.org", Some("@spam:example.org")),
            ("@spam:other.org", Some("@spam:other.org")),
            ("spam", Some("@spam:example.org")),
            (
                "spam.bot_1=x-y/z+q",
                Some("@spam.bot_1=x-y/z+q:example.org"),
            ),
            ("Spam", None),
            ("spam:example.org", None),
            ("@spam", None),
            ("", None),
            ("sp am", None),
            ("#room:example.org", None),
        ];
        for (input, expected) in cases {
            let got = input
                .parse::<UserArg>()
                .ok()
                .map(|u| u.resolve(server).to_string());
            assert_eq!(got.as_deref(), *expected, "{input}");
        }
    }
}
