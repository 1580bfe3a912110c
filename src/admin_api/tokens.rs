//! Registration-token endpoints: list, create, look up, delete; and the token as commands show
//! it, whichever back end holds it.
//!
//! Reference: `docs/admin_api/registration_tokens.md` in element-hq/synapse.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{Endpoint, encode_segment};

fn token_subject(token: &str) -> String {
    format!("registration token {token}")
}

/// A registration token as Synapse reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RegistrationToken {
    pub(crate) token: String,
    /// How many registrations it allows; `None`: unlimited.
    #[serde(default)]
    pub(crate) uses_allowed: Option<u64>,
    /// Registrations in progress with it.
    #[serde(default)]
    pub(crate) pending: u64,
    /// Registrations completed with it.
    #[serde(default)]
    pub(crate) completed: u64,
    /// When it stops working (ms); `None`: never.
    #[serde(default)]
    pub(crate) expiry_time: Option<i64>,
    /// Revoked (MAS keeps revoked tokens; Synapse deletes them).
    #[serde(skip)]
    pub(crate) revoked: bool,
    /// Its ID in MAS, when MAS holds the tokens.
    #[serde(skip)]
    pub(crate) mas_id: Option<super::mas::Ulid>,
}

/// `GET /_synapse/admin/v1/registration_tokens[?valid=true]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListTokens {
    /// Only tokens that can still be used.
    pub(crate) valid_only: bool,
}

/// Response of [`ListTokens`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenList {
    #[serde(default)]
    pub(crate) registration_tokens: Vec<RegistrationToken>,
}

impl Endpoint for ListTokens {
    type Response = TokenList;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/registration_tokens".to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        if self.valid_only {
            vec![("valid", "true".to_owned())]
        } else {
            Vec::new()
        }
    }

    fn subject(&self) -> String {
        "registration tokens".to_owned()
    }
}

/// `POST /_synapse/admin/v1/registration_tokens/new`: a new token Synapse generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateToken {
    pub(crate) uses_allowed: Option<u64>,
    pub(crate) expiry_time: Option<i64>,
    pub(crate) length: u8,
}

impl Endpoint for CreateToken {
    type Response = RegistrationToken;
    const METHOD: Method = Method::POST;
    // A repeat would make a second token.
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        "/_synapse/admin/v1/registration_tokens/new".to_owned()
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "uses_allowed": self.uses_allowed,
            "expiry_time": self.expiry_time,
            "length": self.length,
        }))
    }

    fn subject(&self) -> String {
        "a new registration token".to_owned()
    }
}

/// `GET /_synapse/admin/v1/registration_tokens/{token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetToken {
    pub(crate) token: String,
}

impl Endpoint for GetToken {
    type Response = RegistrationToken;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/registration_tokens/{}",
            encode_segment(&self.token)
        )
    }

    fn subject(&self) -> String {
        token_subject(&self.token)
    }
}

/// `DELETE /_synapse/admin/v1/registration_tokens/{token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteToken {
    pub(crate) token: String,
}

impl Endpoint for DeleteToken {
    type Response = serde_json::Value;
    const METHOD: Method = Method::DELETE;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/registration_tokens/{}",
            encode_segment(&self.token)
        )
    }

    fn subject(&self) -> String {
        token_subject(&self.token)
    }
}
