//! Typed command arguments (users, rooms, ages, sizes) and their checks. Pure.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use matrix_sdk::ruma::{OwnedRoomOrAliasId, OwnedUserId, ServerName, UserId};

use super::CommandError;
use super::grammar::clip;
use crate::admin_api::{AdminClient, AdminError};
use crate::context::Ctx;

/// A user as typed: `@local:server` (or a pill, already turned into that by normalize) or a bare
/// localpart that [`UserArg::resolve`] completes with this homeserver's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserArg {
    Full(OwnedUserId),
    Local(String),
}

impl FromStr for UserArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with('@') {
            return UserId::parse(s)
                .map(UserArg::Full)
                .map_err(|_| format!("{:?} is not a user ID; write @name:server", clip(s)));
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
                clip(s)
            ))
        }
    }
}

impl UserArg {
    /// The full user ID, completing a bare localpart with `server`.
    pub(crate) fn resolve(&self, server: &ServerName) -> OwnedUserId {
        match self {
            UserArg::Full(id) => id.clone(),
            // The localpart was checked in from_str, so this cannot fail; fall back to a parse anyway.
            UserArg::Local(local) => UserId::parse_with_server_name(local.as_str(), server)
                .unwrap_or_else(|_| {
                    UserId::parse_with_server_name("invalid", server).expect("static localpart")
                }),
        }
    }

    /// The full user ID, if it is a user of this server; otherwise the refusal, naming what
    /// only local users can be (`looked up`, `changed here`).
    pub(crate) fn resolve_local(
        &self,
        server: &ServerName,
        what: &str,
    ) -> Result<OwnedUserId, CommandError> {
        let user_id = self.resolve(server);
        if user_id.server_name() != server {
            return Err(CommandError::Refused(format!(
                "{user_id} is on another server; only users of {server} can be {what}"
            )));
        }
        Ok(user_id)
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
pub(crate) struct RoomArg(pub(crate) OwnedRoomOrAliasId);

impl FromStr for RoomArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OwnedRoomOrAliasId::try_from(s).map(RoomArg).map_err(|_| {
            format!(
                "{:?} is not a room; write !id:server or #alias:server",
                clip(s)
            )
        })
    }
}

impl RoomArg {
    /// The room ID, an alias resolved through the Admin API.
    pub(crate) async fn resolve(&self, admin: &AdminClient) -> Result<String, AdminError> {
        Ok(admin.resolve_room(&self.0).await?.to_string())
    }
}

/// An age such as `30d` (see [`crate::units::parse_age`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Age(pub(crate) Duration);

impl FromStr for Age {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::units::parse_age(s)
            .map(Age)
            .map_err(|_| crate::units::UnitError::BadAge(clip(s)).to_string())
    }
}

impl Age {
    /// The moment this long from now, in ms since the epoch; never overflows.
    pub(crate) fn later_ms(self) -> i64 {
        let secs = i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX);
        crate::store::now_secs()
            .saturating_add(secs)
            .saturating_mul(1000)
    }

    /// The moment this long ago, in ms since the epoch; never overflows, whatever was typed.
    pub(crate) fn cutoff_ms(self) -> i64 {
        let secs = i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX);
        crate::store::now_secs()
            .saturating_sub(secs)
            .saturating_mul(1000)
    }

    /// Ages under a day need `--force`: `30s` (or `3m`, three minutes) typed for `30d` or three
    /// months must not wipe recent data.
    pub(crate) fn short_refusal(self, force: bool, what: &str) -> Option<String> {
        (self.0 < Duration::from_secs(86_400) && !force).then(|| {
            format!(
                "{} is less than a day: that would delete {what}. Add --force if you mean it",
                crate::units::format_age(self.0)
            )
        })
    }
}

/// Registration tokens and other secrets are shown only where the room is end-to-end encrypted.
pub(crate) fn only_encrypted(
    origin: &crate::context::Origin,
    what: &str,
) -> Result<(), CommandError> {
    if origin.room_encrypted {
        Ok(())
    } else {
        Err(CommandError::Refused(format!(
            "Refused: {what} is shown only in an encrypted room"
        )))
    }
}

/// Refuses to act on one of the bot's own admin rooms.
pub(crate) fn not_an_admin_room(ctx: &Ctx, room_id: &str) -> Result<(), CommandError> {
    if ctx.is_admin_room_id(room_id) {
        return Err(CommandError::Refused(format!(
            "Refused: {room_id} is one of the bot's admin rooms"
        )));
    }
    Ok(())
}

/// A size such as `10M` (see [`crate::units::parse_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size(pub(crate) u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::units::parse_size(s)
            .map(Size)
            .map_err(|_| crate::units::UnitError::BadSize(clip(s)).to_string())
    }
}

/// An `mxc://server/id` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mxc {
    pub(crate) server: String,
    pub(crate) media_id: String,
}

impl FromStr for Mxc {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{:?} is not a media URI; write mxc://server/media-id",
                clip(s)
            )
        };
        let rest = s.strip_prefix("mxc://").ok_or_else(bad)?;
        let (server, media_id) = rest.split_once('/').ok_or_else(bad)?;
        // Media IDs are what Synapse makes them: letters, digits, `_` and `-`; never a path.
        let id_ok = !media_id.is_empty()
            && media_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if id_ok && ServerName::parse(server).is_ok() && !server.chars().all(|c| c == '.') {
            Ok(Mxc {
                server: server.to_owned(),
                media_id: media_id.to_owned(),
            })
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for Mxc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mxc://{}/{}", self.server, self.media_id)
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

    #[test]
    fn short_ages_need_force() {
        let age = |s: u64| Age(Duration::from_secs(s));
        assert!(age(30).short_refusal(false, "x").is_some());
        assert!(age(86_399).short_refusal(false, "x").is_some());
        assert!(age(30).short_refusal(true, "x").is_none());
        assert!(age(86_400).short_refusal(false, "x").is_none());
        assert!(
            Age(Duration::MAX).cutoff_ms() < 0,
            "a huge age cannot overflow"
        );
    }

    #[test]
    fn mxc_uris() {
        assert_eq!(
            "mxc://example.org/AbC_1".parse::<Mxc>(),
            Ok(Mxc {
                server: "example.org".into(),
                media_id: "AbC_1".into()
            })
        );
        for bad in [
            "mxc://",
            "mxc://x",
            "mxc:///id",
            "http://x/y",
            "mxc://x/a/b",
            "mxc://x/a b",
            "mxc://../delete",
            "mxc://x/..",
            "mxc://x/a.b",
            "mxc://x:y:z/a",
        ] {
            assert!(bad.parse::<Mxc>().is_err(), "{bad}");
        }
    }
}
