//! MAS users: list and count, look up by ID or username, create, set the password, admin flag, lock, unlock, deactivate, reactivate.

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{API, Count, Page, PageRequest, Single, Ulid, bool_query, paged};
use crate::admin_api::{Endpoint, encode_segment};

fn user_subject(id: &Ulid) -> String {
    format!("MAS user {id}")
}

/// A MAS user's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct User {
    /// The localpart of the user's Matrix ID.
    pub(crate) username: String,
    pub(crate) created_at: DateTime<Utc>,
    /// When the user was locked; `None`: not locked.
    #[serde(default)]
    pub(crate) locked_at: Option<DateTime<Utc>>,
    /// When the user was deactivated; `None`: not deactivated.
    #[serde(default)]
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    /// Whether the user may request admin privileges (`can_request_admin` in older MAS).
    #[serde(alias = "can_request_admin")]
    pub(crate) admin: bool,
    /// Whether the user was a guest before the migration to MAS.
    #[serde(default)]
    pub(crate) legacy_guest: bool,
}

/// `filter[status]` of [`ListUsers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserStatus {
    /// Neither locked nor deactivated (MAS also has `locked` and `deactivated`; the bot does not
    /// filter on them).
    Active,
}

impl UserStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
        }
    }
}

/// `GET /api/admin/v1/users`: users by ID order, filtered; with [`Count::Only`], just the count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListUsers {
    pub(crate) page: PageRequest,
    /// `filter[admin]`: users with (or without) the admin flag.
    pub(crate) admin: Option<bool>,
    /// `filter[status]`.
    pub(crate) status: Option<UserStatus>,
    /// `filter[search]`: usernames containing this text.
    pub(crate) search: Option<String>,
    /// `count`: MAS's default is to count.
    pub(crate) count: Option<Count>,
}

impl ListUsers {
    /// The same filters, asking for the count only (read it with [`Page::count`]).
    pub(crate) fn count_only(self) -> Self {
        ListUsers {
            count: Some(Count::Only),
            ..self
        }
    }
}

impl Endpoint for ListUsers {
    type Response = Page<User>;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/users")
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = if self.count == Some(Count::Only) {
            Vec::new()
        } else {
            self.page.query()
        };
        if let Some(admin) = self.admin {
            q.push(("filter[admin]", bool_query(admin)));
        }
        if let Some(status) = self.status {
            q.push(("filter[status]", status.as_str().to_owned()));
        }
        if let Some(search) = &self.search {
            q.push(("filter[search]", search.clone()));
        }
        if let Some(count) = self.count {
            q.push(("count", count.as_str().to_owned()));
        }
        q
    }

    fn subject(&self) -> String {
        "MAS users".to_owned()
    }
}

paged!(ListUsers);

/// `GET /api/admin/v1/users/by-username/{username}`: the user whose localpart is `username`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetUserByUsername {
    pub(crate) username: String,
}

impl Endpoint for GetUserByUsername {
    type Response = Single<User>;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/users/by-username/{}", encode_segment(&self.username))
    }

    fn subject(&self) -> String {
        format!("MAS user {}", self.username)
    }
}

/// `POST /api/admin/v1/users`: a new user (MAS asks the homeserver whether the name is free,
/// unless `skip_homeserver_check`). 409: the username is taken or reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateUser {
    pub(crate) username: String,
    pub(crate) displayname: Option<String>,
    pub(crate) avatar_url: Option<String>,
    pub(crate) skip_homeserver_check: bool,
}

impl Endpoint for CreateUser {
    type Response = Single<User>;
    const METHOD: Method = Method::POST;
    // A repeat after a lost answer would fail on the name it just took.
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!("{API}/users")
    }

    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::json!({
            "username": self.username,
            "skip_homeserver_check": self.skip_homeserver_check,
        });
        if let Some(displayname) = &self.displayname {
            body["displayname"] = displayname.as_str().into();
        }
        if let Some(avatar_url) = &self.avatar_url {
            body["avatar_url"] = avatar_url.as_str().into();
        }
        Some(body)
    }

    fn subject(&self) -> String {
        format!("MAS user {}", self.username)
    }
}

/// `POST /api/admin/v1/users/{id}/set-password` (204 No Content). MAS checks the password's
/// strength against `minimum_password_complexity` unless `skip_check`; 400 when too weak, 403
/// when password login is disabled.
///
/// The password is wiped from memory when this is dropped and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SetPassword {
    pub(crate) id: Ulid,
    pub(crate) password: Zeroizing<String>,
    pub(crate) skip_check: bool,
}

impl fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetPassword")
            .field("id", &self.id)
            .field("password", &"<redacted>")
            .field("skip_check", &self.skip_check)
            .finish()
    }
}

impl Endpoint for SetPassword {
    type Response = ();
    const METHOD: Method = Method::POST;
    // Setting the same password again changes nothing more.
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/users/{}/set-password", self.id)
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "password": self.password.as_str(),
            "skip_password_check": self.skip_check,
        }))
    }

    fn subject(&self) -> String {
        user_subject(&self.id)
    }

    fn decode(&self, _status: StatusCode, _body: &[u8]) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

/// `POST /api/admin/v1/users/{id}/set-admin`: whether the user may request admin privileges
/// (existing sessions keep what they were granted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetAdmin {
    pub(crate) id: Ulid,
    pub(crate) admin: bool,
}

impl Endpoint for SetAdmin {
    type Response = Single<User>;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/users/{}/set-admin", self.id)
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "admin": self.admin }))
    }

    fn subject(&self) -> String {
        user_subject(&self.id)
    }
}

/// Declares a `POST /api/admin/v1/users/{id}/<action>` endpoint without a body, answering the
/// user.
macro_rules! user_action {
    ($(#[$doc:meta])* $name:ident, $action:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $name {
            pub(crate) id: Ulid,
        }

        impl Endpoint for $name {
            type Response = Single<User>;
            const METHOD: Method = Method::POST;
            const RETRY_SAFE: bool = true;

            fn path(&self) -> String {
                format!(concat!("{}/users/{}/", $action), API, self.id)
            }

            fn subject(&self) -> String {
                user_subject(&self.id)
            }
        }
    };
}

user_action!(
    /// `POST /api/admin/v1/users/{id}/lock`: the user can do nothing until unlocked; sessions
    /// are kept.
    LockUser,
    "lock"
);
user_action!(
    /// `POST /api/admin/v1/users/{id}/unlock` (does not reactivate a deactivated user).
    UnlockUser,
    "unlock"
);
user_action!(
    /// `POST /api/admin/v1/users/{id}/reactivate` (does not unlock a locked user).
    ReactivateUser,
    "reactivate"
);

/// `POST /api/admin/v1/users/{id}/deactivate`: ends every session and has the homeserver make
/// the user leave all rooms; the homeserver also erases the user unless `skip_erase`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeactivateUser {
    pub(crate) id: Ulid,
    pub(crate) skip_erase: bool,
}

impl Endpoint for DeactivateUser {
    type Response = Single<User>;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/users/{}/deactivate", self.id)
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "skip_erase": self.skip_erase }))
    }

    fn subject(&self) -> String {
        user_subject(&self.id)
    }
}
