//! Moderation endpoints: password resets, bulk device deletion, redacting a user's events (and
//! following that task), and server notices.
//!
//! Reference: `docs/admin_api/user_admin_api.md` and `server_notices.md` in element-hq/synapse.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use serde::Deserialize;

use super::de::null_default;
use super::{Endpoint, LONG_REQUEST_TIMEOUT, encode_segment};

fn user_subject(user_id: &str) -> String {
    format!("user {user_id}")
}

/// `POST /_synapse/admin/v1/reset_password/{user_id}`: a new password, and (unless kept) every
/// device logged out.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ResetPassword {
    pub(crate) user_id: String,
    pub(crate) new_password: String,
    pub(crate) logout_devices: bool,
}

impl fmt::Debug for ResetPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResetPassword")
            .field("user_id", &self.user_id)
            .field("logout_devices", &self.logout_devices)
            .finish_non_exhaustive()
    }
}

impl Endpoint for ResetPassword {
    type Response = serde_json::Value;
    const METHOD: Method = Method::POST;
    // Setting the same password twice leaves the same password.
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/reset_password/{}",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "new_password": self.new_password,
            "logout_devices": self.logout_devices,
        }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `POST /_synapse/admin/v2/users/{user_id}/delete_devices`: logs out and deletes these devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteDevices {
    pub(crate) user_id: String,
    pub(crate) devices: Vec<String>,
}

impl Endpoint for DeleteDevices {
    type Response = serde_json::Value;
    const METHOD: Method = Method::POST;
    // Deleting a device that is gone already is a no-op.
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v2/users/{}/delete_devices",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "devices": self.devices }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

/// `POST /_synapse/admin/v1/user/{user_id}/redact`: redacts the user's events, in the given rooms
/// (none: every room they are in or banned from) and time window, as a background task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedactUser {
    pub(crate) user_id: String,
    pub(crate) rooms: Vec<String>,
    pub(crate) reason: Option<String>,
    pub(crate) after_ts: Option<i64>,
    pub(crate) before_ts: Option<i64>,
}

/// Response of [`RedactUser`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RedactStarted {
    pub(crate) redact_id: String,
}

impl Endpoint for RedactUser {
    type Response = RedactStarted;
    const METHOD: Method = Method::POST;
    // A second POST starts a second task.
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/user/{}/redact",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::json!({ "rooms": self.rooms });
        if let Some(reason) = &self.reason {
            body["reason"] = reason.clone().into();
        }
        if let Some(after) = self.after_ts {
            body["after_ts"] = after.into();
        }
        if let Some(before) = self.before_ts {
            body["before_ts"] = before.into();
        }
        Some(body)
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `GET /_synapse/admin/v1/user/redact_status/{redact_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedactStatus {
    pub(crate) redact_id: String,
}

/// Response of [`RedactStatus`]: `scheduled`, `active`, `complete` or `failed`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RedactTask {
    pub(crate) status: String,
    /// Events that could not be redacted, with why.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) failed_redactions: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

impl Endpoint for RedactStatus {
    type Response = RedactTask;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/user/redact_status/{}",
            encode_segment(&self.redact_id)
        )
    }

    fn subject(&self) -> String {
        format!("redaction {}", self.redact_id)
    }
}

/// `PUT /_synapse/admin/v1/send_server_notice/{txn_id}`: a message from the server, in the
/// user's server-notices room. The transaction ID makes a repeat (after a restart) a no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendServerNotice {
    pub(crate) txn_id: String,
    pub(crate) user_id: String,
    pub(crate) text: String,
}

/// Response of [`SendServerNotice`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct NoticeSent {
    pub(crate) event_id: String,
}

impl Endpoint for SendServerNotice {
    type Response = NoticeSent;
    const METHOD: Method = Method::PUT;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/send_server_notice/{}",
            encode_segment(&self.txn_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "user_id": self.user_id,
            "content": {"msgtype": "m.text", "body": self.text},
        }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_reset_never_shows_its_password() {
        let r = ResetPassword {
            user_id: "@a:x".into(),
            new_password: "hunter2-secret".into(),
            logout_devices: true,
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        assert_eq!(
            r.body().expect("body")["new_password"],
            serde_json::json!("hunter2-secret")
        );
    }

    #[test]
    fn a_redaction_sends_only_the_window_it_has() {
        let r = RedactUser {
            user_id: "@a:x".into(),
            rooms: vec![],
            reason: None,
            after_ts: Some(5),
            before_ts: None,
        };
        assert_eq!(
            r.body().expect("body"),
            serde_json::json!({"rooms": [], "after_ts": 5})
        );
    }
}
