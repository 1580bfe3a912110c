//! Roles and permissions: who may run what. Pure; fails closed.

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
    UserAdmin => "user.admin": "grant or remove the server-admin flag, and change server admins with --force (import, with user.import)",
    UserExport => "user.export": "export all accounts as a CSV file",
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
    pub allow: BTreeSet<Permission>,
    /// `allow = ["*"]`
    pub all: bool,
}

impl Role {
    pub fn grants(&self, permission: Permission) -> bool {
        self.all || self.allow.contains(&permission)
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

    pub fn roles_of<'a>(&'a self, user: &'a UserId) -> impl Iterator<Item = &'a Role> + 'a {
        self.0
            .iter()
            .filter(move |r| r.users.iter().any(|u| u == user))
    }

    /// Whether the user holds any role: senders without one are ignored silently.
    pub fn has_any_role(&self, user: &UserId) -> bool {
        self.roles_of(user).next().is_some()
    }

    pub fn allows(&self, user: &UserId, permission: Permission) -> bool {
        self.roles_of(user).any(|r| r.grants(permission))
    }

    /// Every permission in `required` must be granted by some role of `user`. An empty list still
    /// needs a role: nobody without one may run anything.
    pub fn authorize(&self, user: &UserId, required: &[Permission]) -> Result<(), Denied> {
        if !self.has_any_role(user) {
            return Err(Denied::NoRole);
        }
        match required.iter().find(|p| !self.allows(user, **p)) {
            Some(p) => Err(Denied::Missing(*p)),
            None => Ok(()),
        }
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
                allow: BTreeSet::new(),
                all: true,
            },
            Role {
                name: "helpdesk".into(),
                users: [uid("@bob:x"), uid("@carol:x")].into(),
                allow: [Permission::UserInfo, Permission::Help].into(),
                all: false,
            },
            Role {
                name: "deactivators".into(),
                users: [uid("@carol:x")].into(),
                allow: [Permission::UserDeactivate].into(),
                all: false,
            },
            Role {
                name: "empty".into(),
                users: [uid("@dave:x")].into(),
                allow: BTreeSet::new(),
                all: false,
            },
        ])
    }

    #[test]
    fn authorization_table() {
        use Permission::*;
        let r = roles();
        let cases: &[(&str, &[Permission], Result<(), Denied>)] = &[
            ("@alice:x", &[UserDeactivate, UserErase], Ok(())),
            ("@bob:x", &[UserInfo], Ok(())),
            (
                "@bob:x",
                &[UserDeactivate],
                Err(Denied::Missing(UserDeactivate)),
            ),
            // roles add up
            ("@carol:x", &[UserDeactivate], Ok(())),
            (
                "@carol:x",
                &[UserDeactivate, UserErase],
                Err(Denied::Missing(UserErase)),
            ),
            ("@dave:x", &[Help], Err(Denied::Missing(Help))),
            ("@dave:x", &[], Ok(())),
            ("@mallory:x", &[], Err(Denied::NoRole)),
            ("@mallory:x", &[Help], Err(Denied::NoRole)),
            // same localpart on another server is another person
            ("@alice:evil", &[Help], Err(Denied::NoRole)),
        ];
        for (user, required, expected) in cases {
            assert_eq!(
                &r.authorize(&uid(user), required),
                expected,
                "{user} {required:?}"
            );
        }
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
