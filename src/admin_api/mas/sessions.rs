//! MAS sessions: compatibility (legacy Matrix logins), OAuth 2.0 and browser (user) sessions, listed per user and finished; the OAuth 2.0 client a session belongs to.
//!
//! Finishing is retry-safe: a repeat that finds the session finished gets MAS's 400 "… is
//! already finished", which maps to [`AdminError::AlreadyDone`](crate::admin_api::AdminError)
//! (`is_already_finished()`), so callers can count it as done.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{API, Page, PageRequest, Single, Ulid, paged};
use crate::admin_api::Endpoint;

/// `filter[status]` of the session lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    /// Not finished (MAS also has `finished`; the bot lists those with no filter).
    Active,
}

impl SessionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
        }
    }
}

/// A compatibility session: a login through the legacy Matrix login API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CompatSession {
    pub(crate) user_id: Ulid,
    /// The Matrix device ID.
    #[serde(default)]
    pub(crate) device_id: Option<String>,
    /// The browser session that started it, if any.
    #[serde(default)]
    pub(crate) user_session_id: Option<Ulid>,
    /// The redirect URI of an SSO login.
    #[serde(default)]
    pub(crate) redirect_uri: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) user_agent: Option<String>,
    #[serde(default)]
    pub(crate) last_active_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) last_active_ip: Option<String>,
    #[serde(default)]
    pub(crate) finished_at: Option<DateTime<Utc>>,
    /// The name the user gave the session, if any.
    #[serde(default)]
    pub(crate) human_name: Option<String>,
}

/// An OAuth 2.0 session (a Matrix client logged in through MAS, or a client-credentials one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OAuth2Session {
    pub(crate) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) finished_at: Option<DateTime<Utc>>,
    /// `None` for a client-credentials session.
    #[serde(default)]
    pub(crate) user_id: Option<Ulid>,
    #[serde(default)]
    pub(crate) user_session_id: Option<Ulid>,
    /// The client's MAS ID (see [`GetOAuth2Client`]).
    pub(crate) client_id: Ulid,
    pub(crate) scope: String,
    #[serde(default)]
    pub(crate) user_agent: Option<String>,
    #[serde(default)]
    pub(crate) last_active_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) last_active_ip: Option<String>,
    #[serde(default)]
    pub(crate) human_name: Option<String>,
}

/// A browser (cookie) session with MAS itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserSession {
    pub(crate) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) user_id: Ulid,
    #[serde(default)]
    pub(crate) user_agent: Option<String>,
    #[serde(default)]
    pub(crate) last_active_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) last_active_ip: Option<String>,
}

/// An OAuth 2.0 client registered with MAS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OAuth2Client {
    /// The OAuth 2.0 client identifier.
    pub(crate) client_id: String,
    /// The client's name, if it registered one: how a session is named to admins.
    #[serde(default)]
    pub(crate) client_name: Option<String>,
    #[serde(default)]
    pub(crate) client_uri: Option<String>,
    #[serde(default)]
    pub(crate) logo_uri: Option<String>,
    #[serde(default)]
    pub(crate) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(crate) grant_types: Vec<String>,
    /// Defined in MAS's configuration file rather than registered dynamically.
    #[serde(default)]
    pub(crate) is_static: bool,
}

/// Declares a list endpoint of sessions with `filter[user]`, `filter[status]` and paging.
macro_rules! session_list {
    ($(#[$doc:meta])* $name:ident, $attrs:ty, $path:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub(crate) struct $name {
            /// `filter[user]`: the sessions of this user.
            pub(crate) user: Option<Ulid>,
            /// `filter[status]`.
            pub(crate) status: Option<SessionStatus>,
            pub(crate) page: PageRequest,
        }

        impl Endpoint for $name {
            type Response = Page<$attrs>;
            const METHOD: Method = Method::GET;
            const RETRY_SAFE: bool = true;

            fn path(&self) -> String {
                format!(concat!("{}/", $path), API)
            }

            fn query(&self) -> Vec<(&'static str, String)> {
                let mut q = self.page.query();
                if let Some(user) = self.user {
                    q.push(("filter[user]", user.to_string()));
                }
                if let Some(status) = self.status {
                    q.push(("filter[status]", status.as_str().to_owned()));
                }
                q
            }

            fn subject(&self) -> String {
                // MAS answers 404 when the user filtered on does not exist.
                match self.user {
                    Some(user) => format!("MAS user {user}"),
                    None => concat!("MAS ", $what, "s").to_owned(),
                }
            }
        }

        paged!($name);
    };
}

/// Declares `POST /api/admin/v1/<kind>/{id}/finish`.
macro_rules! finish_session {
    ($(#[$doc:meta])* $name:ident, $attrs:ty, $path:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $name {
            pub(crate) id: Ulid,
        }

        impl Endpoint for $name {
            type Response = Single<$attrs>;
            const METHOD: Method = Method::POST;
            // A repeat finds it finished: `AdminError::is_already_finished`.
            const RETRY_SAFE: bool = true;

            fn path(&self) -> String {
                format!(concat!("{}/", $path, "/{}/finish"), API, self.id)
            }

            fn subject(&self) -> String {
                format!(concat!("MAS ", $what, " {}"), self.id)
            }
        }
    };
}

session_list!(
    /// `GET /api/admin/v1/compat-sessions`, oldest first.
    ListCompatSessions,
    CompatSession,
    "compat-sessions",
    "compatibility session"
);
session_list!(
    /// `GET /api/admin/v1/oauth2-sessions`, oldest first.
    ListOAuth2Sessions,
    OAuth2Session,
    "oauth2-sessions",
    "OAuth 2.0 session"
);
session_list!(
    /// `GET /api/admin/v1/user-sessions` (browser sessions), oldest first.
    ListUserSessions,
    UserSession,
    "user-sessions",
    "browser session"
);

finish_session!(
    /// `POST /api/admin/v1/compat-sessions/{id}/finish`: the device is removed from the
    /// homeserver by a job MAS schedules.
    FinishCompatSession,
    CompatSession,
    "compat-sessions",
    "compatibility session"
);
finish_session!(
    /// `POST /api/admin/v1/oauth2-sessions/{id}/finish`.
    FinishOAuth2Session,
    OAuth2Session,
    "oauth2-sessions",
    "OAuth 2.0 session"
);
finish_session!(
    /// `POST /api/admin/v1/user-sessions/{id}/finish`.
    FinishUserSession,
    UserSession,
    "user-sessions",
    "browser session"
);

/// `GET /api/admin/v1/oauth2-clients/{id}`: to name an OAuth 2.0 session's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetOAuth2Client {
    pub(crate) id: Ulid,
}

impl Endpoint for GetOAuth2Client {
    type Response = Single<OAuth2Client>;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/oauth2-clients/{}", self.id)
    }

    fn subject(&self) -> String {
        format!("MAS OAuth 2.0 client {}", self.id)
    }
}
