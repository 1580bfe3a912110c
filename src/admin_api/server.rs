//! Server-level endpoints: Synapse version, room alias resolution, and whether Synapse delegates
//! authentication to MAS.
//!
//! `ResolveRoomAlias` is a client-server API endpoint called with the same token.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::de::null_default;
use super::{Endpoint, encode_segment};

/// `GET /_synapse/admin/v1/server_version`: the running Synapse version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerVersion;

/// Response of [`ServerVersion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServerVersionResponse {
    /// E.g. `1.163.2`.
    pub(crate) server_version: String,
    /// Only sent by Synapse before 1.94.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) python_version: Option<String>,
}

impl Endpoint for ServerVersion {
    type Response = ServerVersionResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/server_version".to_owned()
    }

    fn subject(&self) -> String {
        "the server version endpoint".to_owned()
    }
}

/// `GET /_matrix/client/v3/directory/room/{alias}`: the room an alias points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolveRoomAlias {
    /// Full alias, e.g. `#room:example.org`.
    pub(crate) alias: String,
}

/// Response of [`ResolveRoomAlias`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResolvedRoomAlias {
    /// The room ID the alias points to.
    pub(crate) room_id: String,
    /// Servers that know the room.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) servers: Vec<String>,
}

impl Endpoint for ResolveRoomAlias {
    type Response = ResolvedRoomAlias;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_matrix/client/v3/directory/room/{}",
            encode_segment(&self.alias)
        )
    }

    fn subject(&self) -> String {
        format!("room alias {}", self.alias)
    }
}

/// `GET /_matrix/client/v1/auth_metadata`: the OAuth 2.0 server Synapse delegates authentication
/// to. Synapse serves it only when it delegates to MAS (404 otherwise), which makes it the probe
/// for which back end owns the accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AuthMetadata;

/// Response of [`AuthMetadata`] (only what the bot reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuthMetadataResponse {
    /// MAS's issuer, e.g. `https://auth.example.org/`.
    pub(crate) issuer: String,
}

impl Endpoint for AuthMetadata {
    type Response = AuthMetadataResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_matrix/client/v1/auth_metadata".to_owned()
    }

    fn subject(&self) -> String {
        "the authentication metadata".to_owned()
    }
}
