//! MAS's user registration tokens: list, look up, create, revoke.
//!
//! Requests name a token by its ID, never by the token string, so the string is in no path,
//! metric label or error message.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{API, Page, PageRequest, Single, Ulid, bool_query, paged};
use crate::admin_api::Endpoint;

fn token_subject(id: &Ulid) -> String {
    format!("MAS registration token {id}")
}

/// A registration token's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserRegistrationToken {
    /// The token string users register with.
    pub(crate) token: String,
    /// Not expired, not revoked and below its usage limit.
    pub(crate) valid: bool,
    /// How many registrations it allows; `None`: unlimited.
    #[serde(default)]
    pub(crate) usage_limit: Option<u32>,
    #[serde(default)]
    pub(crate) times_used: u32,
    pub(crate) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) last_used_at: Option<DateTime<Utc>>,
    /// `None`: never expires.
    #[serde(default)]
    pub(crate) expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) revoked_at: Option<DateTime<Utc>>,
}

/// `GET /api/admin/v1/user-registration-tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListRegistrationTokens {
    /// `filter[valid]`: only tokens that can (or cannot) still be used.
    pub(crate) valid: Option<bool>,
    pub(crate) page: PageRequest,
}

impl Endpoint for ListRegistrationTokens {
    type Response = Page<UserRegistrationToken>;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/user-registration-tokens")
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = self.page.query();
        if let Some(valid) = self.valid {
            q.push(("filter[valid]", bool_query(valid)));
        }
        q
    }

    fn subject(&self) -> String {
        "MAS registration tokens".to_owned()
    }
}

paged!(ListRegistrationTokens);

/// `POST /api/admin/v1/user-registration-tokens`: a new token (`token: None`: MAS makes one up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddRegistrationToken {
    pub(crate) token: Option<String>,
    /// `None`: unlimited.
    pub(crate) usage_limit: Option<u32>,
    /// `None`: never expires.
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

impl Endpoint for AddRegistrationToken {
    type Response = Single<UserRegistrationToken>;
    const METHOD: Method = Method::POST;
    // A repeat would make a second token.
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!("{API}/user-registration-tokens")
    }

    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::Map::new();
        if let Some(token) = &self.token {
            body.insert("token".to_owned(), token.as_str().into());
        }
        if let Some(limit) = self.usage_limit {
            body.insert("usage_limit".to_owned(), limit.into());
        }
        if let Some(expires_at) = self.expires_at {
            body.insert(
                "expires_at".to_owned(),
                serde_json::to_value(expires_at).unwrap_or_default(),
            );
        }
        Some(serde_json::Value::Object(body))
    }

    fn subject(&self) -> String {
        "a new MAS registration token".to_owned()
    }
}

/// `POST /api/admin/v1/user-registration-tokens/{id}/revoke`. A repeat gets 400 "… is already
/// revoked": [`AdminError::is_already_revoked`](crate::admin_api::AdminError::is_already_revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevokeRegistrationToken {
    pub(crate) id: Ulid,
}

impl Endpoint for RevokeRegistrationToken {
    type Response = Single<UserRegistrationToken>;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/user-registration-tokens/{}/revoke", self.id)
    }

    fn subject(&self) -> String {
        token_subject(&self.id)
    }
}
