//! Roles and permissions: who may run what. Pure; fails closed.
//!
//! A role is held by the users it lists, and (with `min_power_level`) by every joined member of
//! the admin room whose power level there is at least that: [`Roles::of`] resolves both into the
//! [`Grants`] one sender has in one room, which every check then reads.

use std::collections::BTreeSet;
use std::fmt;

use matrix_sdk::ruma::{OwnedUserId, UserId};

macro_rules! permissions {
    ($($variant:ident => $name:literal: $about:literal,)*) => {
        /// A permission a role can be granted with `allow = [...]`; each command requires one or more.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum Permission { $(#[doc = $about] $variant,)* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The name used in bot.toml.
            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            pub fn about(self) -> &'static str {
                match self { $(Permission::$variant => $about,)* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    Help => "help": "see the commands one may run and how to use them",
    Ping => "ping": "check that the bot and Synapse answer",
    UserInfo => "user.info": "look up accounts",
    UserDeactivate => "user.deactivate": "deactivate accounts",
    UserErase => "user.erase": "erase deactivated accounts' messages and profiles (with user.deactivate)",
    UserImport => "user.import": "create ordinary accounts from a CSV file",
    UserUpdate => "user.update": "change existing accounts from a CSV file (import --on-conflict update, with user.import)",
    UserAdmin => "user.admin": "grant or remove the server-admin flag (!make-admin, !revoke-admin, import rows with user.import; changing admins in an import also needs --force)",
    UserExport => "user.export": "export all accounts as a CSV file",
    UserWhois => "user.whois": "see an account's sessions: IP addresses, user agents, last seen",
    UserSuspend => "user.suspend": "suspend and unsuspend accounts (they can read, not send)",
    UserLock => "user.lock": "lock and unlock accounts (logged out, no new logins)",
    UserShadowBan => "user.shadow-ban": "shadow-ban accounts and lift it (their messages silently go nowhere)",
    UserPassword => "user.password": "reset an account's password to a generated one, shown only in an encrypted room",
    UserCreate => "user.create": "create one account with a generated password (--admin also needs user.admin)",
    UserDevices => "user.devices": "log out and delete an account's devices",
    UserRedact => "user.redact": "redact an account's messages",
    NoticeSend => "notice.send": "send server notices to accounts",
    ReportView => "report.view": "see abuse reports (!reports, !report)",
    ReportHandle => "report.handle": "dismiss abuse reports (!dismiss, ✅ on a report's card)",
    DigestView => "digest.view": "read the daily digest (!digest): new accounts, reports, failed tasks, federation, media, updates",
    JobView => "job.view": "see jobs and their progress",
    JobCancel => "job.cancel": "stop running jobs",
    MediaList => "media.list": "list a user's uploads",
    MediaDelete => "media.delete": "delete a user's uploads (with media.list)",
    MediaPurge => "media.purge": "delete old media, local and cached",
    MediaQuarantine => "media.quarantine": "quarantine, release and protect media",
    RoomInfo => "room.info": "look up and list rooms",
    RoomDelete => "room.delete": "delete rooms",
    RoomBlock => "room.block": "block and unblock rooms",
    RoomMakeAdmin => "room.make-admin": "give a local user the highest power level in a room",
    RoomPurgeHistory => "room.purge-history": "delete old events of a room",
    TokenManage => "token.manage": "list, create, look up and delete registration tokens",
    Schedule => "schedule": "make, list and remove schedules",
    AuditView => "audit.view": "read the audit trail: who ran or was refused what, when",
}

impl Permission {
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|p| p.name()).collect()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `[[roles]]` entry.
#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub users: BTreeSet<OwnedUserId>,
    /// Joined members of the admin room with at least this power level there hold the role too.
    pub min_power_level: Option<i64>,
    pub allow: BTreeSet<Permission>,
    /// `allow = ["*"]`
    pub all: bool,
}

impl Role {
    pub fn grants(&self, permission: Permission) -> bool {
        self.all || self.allow.contains(&permission)
    }

    /// Whether `user`, with `power_level` in the room (`None`: not joined there), holds the role.
    fn held_by(&self, user: &UserId, power_level: Option<i64>) -> bool {
        self.users.iter().any(|u| u == user)
            || matches!((self.min_power_level, power_level), (Some(min), Some(level)) if level >= min)
    }
}

/// What one sender may do in one room: the union of the roles they hold there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// The names of the roles held, in configuration order; empty for someone without a role.
    pub roles: Vec<String>,
    all: bool,
    allow: BTreeSet<Permission>,
}

impl Grants {
    /// Whether any role is held: senders without one are ignored silently.
    pub fn has_any_role(&self) -> bool {
        !self.roles.is_empty()
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.all || self.allow.contains(&permission)
    }

    /// Every permission in `required` must be granted by some role held. An empty list still
    /// needs a role: nobody without one may run anything.
    pub fn authorize(&self, required: &[Permission]) -> Result<(), Denied> {
        if !self.has_any_role() {
            return Err(Denied::NoRole);
        }
        match required.iter().find(|p| !self.allows(**p)) {
            Some(p) => Err(Denied::Missing(*p)),
            None => Ok(()),
        }
    }
}

/// All roles of the configuration.
#[derive(Debug, Clone, Default)]
pub struct Roles(Vec<Role>);

/// Why a command was refused by [`Roles::authorize`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("you have no role here")]
    NoRole,
    #[error("your role does not allow this (needs permission {0})")]
    Missing(Permission),
}

impl Roles {
    pub fn new(roles: Vec<Role>) -> Self {
        Self(roles)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.0.iter()
    }

    /// Whether some role is granted by power level, so the room's state must be read.
    pub fn by_power_level(&self) -> bool {
        self.0.iter().any(|r| r.min_power_level.is_some())
    }

    /// What `user` may do in a room where their power level is `power_level` (`None` when they
    /// are not joined there, or it is not known: power-level roles then do not count).
    pub fn of(&self, user: &UserId, power_level: Option<i64>) -> Grants {
        let mut grants = Grants::default();
        for role in self.0.iter().filter(|r| r.held_by(user, power_level)) {
            grants.roles.push(role.name.clone());
            grants.all |= role.all;
            grants.allow.extend(role.allow.iter().copied());
        }
        grants
    }

    /// The users the configuration names in roles granting every one of `required`.
    pub fn listed_users_allowed(&self, required: &[Permission]) -> BTreeSet<OwnedUserId> {
        let users: BTreeSet<&OwnedUserId> = self.0.iter().flat_map(|r| &r.users).collect();
        users
            .into_iter()
            .filter(|u| self.of(u, None).authorize(required).is_ok())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(s: &str) -> OwnedUserId {
        UserId::parse(s).expect("test id")
    }

    fn roles() -> Roles {
        Roles::new(vec![
            Role {
                name: "admin".into(),
                users: [uid("@alice:x")].into(),
                min_power_level: None,
                allow: BTreeSet::new(),
                all: true,
            },
            Role {
                name: "helpdesk".into(),
                users: [uid("@bob:x"), uid("@carol:x")].into(),
                min_power_level: None,
                allow: [Permission::UserInfo, Permission::Help].into(),
                all: false,
            },
            Role {
                name: "deactivators".into(),
                users: [uid("@carol:x")].into(),
                min_power_level: None,
                allow: [Permission::UserDeactivate].into(),
                all: false,
            },
            Role {
                name: "empty".into(),
                users: [uid("@dave:x")].into(),
                min_power_level: None,
                allow: BTreeSet::new(),
                all: false,
            },
            Role {
                name: "moderators".into(),
                users: BTreeSet::new(),
                min_power_level: Some(50),
                allow: [Permission::RoomBlock, Permission::Help].into(),
                all: false,
            },
        ])
    }

    #[test]
    fn authorization_table() {
        use Permission::*;
        let r = roles();
        type Case<'a> = (&'a str, Option<i64>, &'a [Permission], Result<(), Denied>);
        let cases: &[Case<'_>] = &[
            ("@alice:x", None, &[UserDeactivate, UserErase], Ok(())),
            ("@bob:x", None, &[UserInfo], Ok(())),
            (
                "@bob:x",
                None,
                &[UserDeactivate],
                Err(Denied::Missing(UserDeactivate)),
            ),
            // roles add up
            ("@carol:x", None, &[UserDeactivate], Ok(())),
            (
                "@carol:x",
                None,
                &[UserDeactivate, UserErase],
                Err(Denied::Missing(UserErase)),
            ),
            ("@dave:x", None, &[Help], Err(Denied::Missing(Help))),
            ("@dave:x", None, &[], Ok(())),
            ("@mallory:x", None, &[], Err(Denied::NoRole)),
            ("@mallory:x", None, &[Help], Err(Denied::NoRole)),
            // same localpart on another server is another person
            ("@alice:evil", None, &[Help], Err(Denied::NoRole)),
            // power level in the room grants the moderators role, from 50 up
            ("@mallory:x", Some(50), &[RoomBlock], Ok(())),
            ("@mallory:x", Some(i64::MAX), &[RoomBlock], Ok(())),
            ("@mallory:x", Some(49), &[Help], Err(Denied::NoRole)),
            (
                "@mallory:x",
                Some(100),
                &[RoomDelete],
                Err(Denied::Missing(RoomDelete)),
            ),
            // listed and power-level roles combine
            ("@bob:x", Some(50), &[UserInfo, RoomBlock], Ok(())),
            (
                "@bob:x",
                Some(0),
                &[RoomBlock],
                Err(Denied::Missing(RoomBlock)),
            ),
        ];
        for (user, level, required, expected) in cases {
            assert_eq!(
                &r.of(&uid(user), *level).authorize(required),
                expected,
                "{user} at {level:?} {required:?}"
            );
        }
    }

    #[test]
    fn listed_users_allowed_names_only_those_granted_everything() {
        use Permission::*;
        let r = roles();
        let names = |perms: &[Permission]| -> Vec<String> {
            r.listed_users_allowed(perms)
                .iter()
                .map(|u| u.to_string())
                .collect()
        };
        assert_eq!(names(&[UserDeactivate]), ["@alice:x", "@carol:x"]);
        assert_eq!(names(&[UserDeactivate, UserErase]), ["@alice:x"]);
        assert_eq!(names(&[RoomBlock]), ["@alice:x"]);
    }

    #[test]
    fn every_permission_name_round_trips() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_name(p.name()), Some(*p));
        }
        assert_eq!(Permission::from_name("*"), None);
        assert_eq!(Permission::from_name("USER.INFO"), None);
    }
}
