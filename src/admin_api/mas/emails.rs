//! A MAS user's email addresses (list, add) and upstream OAuth 2.0 links (accounts at an identity provider).

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{API, Page, PageRequest, Single, Ulid, paged};
use crate::admin_api::Endpoint;

/// An email address of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserEmail {
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) user_id: Ulid,
    pub(crate) email: String,
}

/// `GET /api/admin/v1/user-emails`: email addresses, of one user or one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListUserEmails {
    /// `filter[user]`.
    pub(crate) user: Option<Ulid>,
    /// `filter[email]`: this exact address (who has it).
    pub(crate) email: Option<String>,
    pub(crate) page: PageRequest,
}

impl Endpoint for ListUserEmails {
    type Response = Page<UserEmail>;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/user-emails")
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = self.page.query();
        if let Some(user) = self.user {
            q.push(("filter[user]", user.to_string()));
        }
        if let Some(email) = &self.email {
            q.push(("filter[email]", email.clone()));
        }
        q
    }

    fn subject(&self) -> String {
        match self.user {
            Some(user) => format!("MAS user {user}"),
            None => "MAS email addresses".to_owned(),
        }
    }
}

paged!(ListUserEmails);

/// `POST /api/admin/v1/user-emails`: adds an address to a user, ignoring MAS's email policy.
/// 409 ([`AdminError::is_conflict`](crate::admin_api::AdminError::is_conflict)): the address
/// is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddUserEmail {
    pub(crate) user_id: Ulid,
    pub(crate) email: String,
}

impl Endpoint for AddUserEmail {
    type Response = Single<UserEmail>;
    const METHOD: Method = Method::POST;
    // A repeat after a lost answer would get 409.
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!("{API}/user-emails")
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "user_id": self.user_id, "email": self.email }))
    }

    fn subject(&self) -> String {
        // MAS answers 404 when the user does not exist.
        format!("MAS user {}", self.user_id)
    }
}

/// A link between a MAS user and an account at an upstream identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UpstreamOAuthLink {
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) provider_id: Ulid,
    /// The account's subject at the provider, unique per provider.
    pub(crate) subject: String,
    /// `None` for a link not (yet) attached to a user.
    #[serde(default)]
    pub(crate) user_id: Option<Ulid>,
    /// A readable name of the upstream account.
    #[serde(default)]
    pub(crate) human_account_name: Option<String>,
}

/// `GET /api/admin/v1/upstream-oauth-links`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListUpstreamOAuthLinks {
    /// `filter[user]`.
    pub(crate) user: Option<Ulid>,
    pub(crate) page: PageRequest,
}

impl Endpoint for ListUpstreamOAuthLinks {
    type Response = Page<UpstreamOAuthLink>;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/upstream-oauth-links")
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = self.page.query();
        if let Some(user) = self.user {
            q.push(("filter[user]", user.to_string()));
        }
        q
    }

    fn subject(&self) -> String {
        match self.user {
            Some(user) => format!("MAS user {user}"),
            None => "MAS upstream OAuth links".to_owned(),
        }
    }
}

paged!(ListUpstreamOAuthLinks);
