//! MAS's site configuration (what users may do, the password rules) and version.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::API;
use crate::admin_api::Endpoint;

/// MAS's site configuration. Flags missing from an older MAS read as `false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SiteConfig {
    /// The Matrix server name MAS serves.
    pub(crate) server_name: String,
    #[serde(default)]
    pub(crate) password_login_enabled: bool,
    #[serde(default)]
    pub(crate) password_registration_enabled: bool,
    #[serde(default)]
    pub(crate) password_registration_email_required: bool,
    #[serde(default)]
    pub(crate) password_registration_token_required: bool,
    /// Deprecated by MAS in favour of `password_registration_token_required`.
    #[serde(default)]
    pub(crate) registration_token_required: bool,
    #[serde(default)]
    pub(crate) email_change_allowed: bool,
    #[serde(default)]
    pub(crate) displayname_change_allowed: bool,
    #[serde(default)]
    pub(crate) password_change_allowed: bool,
    #[serde(default)]
    pub(crate) account_recovery_allowed: bool,
    #[serde(default)]
    pub(crate) account_deactivation_allowed: bool,
    #[serde(default)]
    pub(crate) captcha_enabled: bool,
    /// The zxcvbn score (0–4) a new password must reach: what a generated password must pass.
    pub(crate) minimum_password_complexity: u8,
}

/// `GET /api/admin/v1/site-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GetSiteConfig;

impl Endpoint for GetSiteConfig {
    type Response = SiteConfig;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/site-config")
    }

    fn subject(&self) -> String {
        "MAS's site configuration".to_owned()
    }
}

/// MAS's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Version {
    /// e.g. `v1.0.0`.
    pub(crate) version: String,
}

/// `GET /api/admin/v1/version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GetVersion;

impl Endpoint for GetVersion {
    type Response = Version;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("{API}/version")
    }

    fn subject(&self) -> String {
        "MAS's version".to_owned()
    }
}
