//! User endpoints: query, list, create/modify, deactivate, devices, rooms, sessions, rate limits and media of a user.
//!
//! Reference: `docs/admin_api/user_admin_api.md` in element-hq/synapse.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::de::{
    lenient_bool, lenient_opt_bool, null_default, opt_string_or_int, opt_u64_or_string, ts_to_ms,
};
use super::media::DeletedMedia;
use super::{Endpoint, LONG_REQUEST_TIMEOUT, decode_json, encode_segment};

fn user_subject(user_id: &str) -> String {
    format!("user {user_id}")
}

// ---------------------------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------------------------

/// A third-party identifier (email address or phone number) of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Threepid {
    /// `email` or `msisdn`.
    pub(crate) medium: String,
    /// The address itself, e.g. `alice@example.com` or `447470274584`.
    pub(crate) address: String,
    /// When it was added (ms); only in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) added_at: Option<i64>,
    /// When it was validated (ms); only in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) validated_at: Option<i64>,
}

impl Threepid {
    /// A threepid for a request body.
    pub(crate) fn new(medium: impl Into<String>, address: impl Into<String>) -> Self {
        Threepid {
            medium: medium.into(),
            address: address.into(),
            added_at: None,
            validated_at: None,
        }
    }
}

/// A mapping to an SSO identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExternalId {
    /// The provider's `idp_id` (OIDC providers are prefixed `oidc-`).
    pub(crate) auth_provider: String,
    /// The user's ID at the provider.
    pub(crate) external_id: String,
}

/// Full account details, as returned by `GET`/`PUT /_synapse/admin/v2/users/{user_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserDetails {
    /// Fully-qualified user ID.
    pub(crate) name: String,
    /// Display name, if set.
    #[serde(default)]
    pub(crate) displayname: Option<String>,
    /// Avatar `mxc://` URL, if set.
    #[serde(default)]
    pub(crate) avatar_url: Option<String>,
    /// Third-party IDs.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) threepids: Vec<Threepid>,
    /// SSO identities.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) external_ids: Vec<ExternalId>,
    /// Whether the user is a server admin.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) admin: bool,
    /// Whether the account is deactivated.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) deactivated: bool,
    /// Whether the account is GDPR-erased.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) erased: bool,
    /// Whether the account is locked.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) locked: bool,
    /// Whether the account is suspended.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) suspended: bool,
    /// Whether the account is shadow-banned.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) shadow_banned: bool,
    /// Whether the account is a guest.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) is_guest: bool,
    /// Creation time as Synapse sends it: **seconds** on this endpoint (the raw `users`
    /// column), milliseconds on the list endpoint. Use [`UserDetails::creation_ts_ms`].
    #[serde(default)]
    pub(crate) creation_ts: Option<i64>,
    /// Last activity (ms), if ever seen.
    #[serde(default)]
    pub(crate) last_seen_ts: Option<i64>,
    /// `None` for normal users; `bot`, `support` or a configured type.
    #[serde(default)]
    pub(crate) user_type: Option<String>,
    /// The appservice that registered the user, if any.
    #[serde(default, deserialize_with = "opt_string_or_int")]
    pub(crate) appservice_id: Option<String>,
    /// Version of the policy documents the user was sent a server notice for.
    #[serde(default, deserialize_with = "opt_string_or_int")]
    pub(crate) consent_server_notice_sent: Option<String>,
    /// Version of the policy documents the user consented to.
    #[serde(default, deserialize_with = "opt_string_or_int")]
    pub(crate) consent_version: Option<String>,
    /// When the user consented (ms).
    #[serde(default)]
    pub(crate) consent_ts: Option<i64>,
    /// Only present when MSC3866 (registration approval) is enabled.
    #[serde(
        default,
        deserialize_with = "lenient_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) approved: Option<bool>,
    /// The account in MAS, when Synapse delegates to it (not Synapse's: filled in by
    /// [`super::accounts::Accounts::details`]).
    #[serde(skip)]
    pub(crate) mas: Option<super::accounts::MasAccount>,
}

impl UserDetails {
    /// Creation time in milliseconds, whether Synapse sent seconds or milliseconds.
    pub(crate) fn creation_ts_ms(&self) -> Option<i64> {
        self.creation_ts.map(ts_to_ms)
    }
}

// ---------------------------------------------------------------------------------------------
// Query / list / upsert / deactivate
// ---------------------------------------------------------------------------------------------

/// `GET /_synapse/admin/v2/users/{user_id}`: details of one local account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryUser {
    /// Fully-qualified user ID.
    pub(crate) user_id: String,
}

impl Endpoint for QueryUser {
    type Response = UserDetails;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("/_synapse/admin/v2/users/{}", encode_segment(&self.user_id))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `GET /_synapse/admin/v2/users`: one page of local accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListUsers {
    /// Pagination token: `next_token` of the previous page.
    pub(crate) from: Option<String>,
    /// Page size (Synapse default 100).
    pub(crate) limit: u32,
    /// Include guests. Always sent; defaults to `false` because Synapse rejects
    /// `guests=true` (also its implicit default) when delegating auth to MAS.
    pub(crate) guests: bool,
    /// Include deactivated accounts.
    pub(crate) deactivated: bool,
    /// Include locked accounts (Synapse ≥ 1.93).
    pub(crate) locked: bool,
    /// Only admins (`Some(true)`), only non-admins (`Some(false)`), or both.
    pub(crate) admins: Option<bool>,
    /// Filter: localpart or display name contains this.
    pub(crate) name: Option<String>,
    /// Filter: user ID contains this (ignored by Synapse when `name` is set).
    pub(crate) user_id: Option<String>,
    /// `name` (default), `displayname`, `creation_ts`, `last_seen_ts`, `admin`, …
    pub(crate) order_by: Option<String>,
    /// `f` (default) or `b`.
    pub(crate) dir: Option<String>,
}

impl Default for ListUsers {
    fn default() -> Self {
        ListUsers {
            from: None,
            limit: 100,
            guests: false,
            deactivated: false,
            locked: false,
            admins: None,
            name: None,
            user_id: None,
            order_by: None,
            dir: None,
        }
    }
}

/// One entry of [`ListUsersResponse::users`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserListEntry {
    /// Fully-qualified user ID.
    pub(crate) name: String,
    /// Display name, if set.
    #[serde(default)]
    pub(crate) displayname: Option<String>,
    /// Avatar `mxc://` URL, if set.
    #[serde(default)]
    pub(crate) avatar_url: Option<String>,
    /// Whether the user is a server admin.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) admin: bool,
    /// Whether the account is deactivated.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) deactivated: bool,
    /// Whether the account is a guest.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) is_guest: bool,
    /// Whether the account is locked.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) locked: bool,
    /// Whether the account is GDPR-erased.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) erased: bool,
    /// Whether the account is shadow-banned.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) shadow_banned: bool,
    /// `None` for normal users; `bot`, `support`, …
    #[serde(default)]
    pub(crate) user_type: Option<String>,
    /// Creation time; milliseconds on this endpoint (seconds on [`QueryUser`]).
    #[serde(default)]
    pub(crate) creation_ts: Option<i64>,
    /// Last activity (ms), if ever seen.
    #[serde(default)]
    pub(crate) last_seen_ts: Option<i64>,
    /// Only present when MSC3866 is enabled.
    #[serde(
        default,
        deserialize_with = "lenient_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) approved: Option<bool>,
}

impl UserListEntry {
    /// Registered at or after `cutoff_ms` (an account of unknown age is not).
    pub(crate) fn registered_since(&self, cutoff_ms: i64) -> bool {
        self.creation_ts.is_some_and(|ts| ts >= cutoff_ms)
    }

    /// Not seen since `cutoff_ms`; never seen counts from its registration.
    pub(crate) fn inactive_since(&self, cutoff_ms: i64) -> bool {
        self.last_seen_ts.or(self.creation_ts).unwrap_or(0) < cutoff_ms
    }
}

/// Response of [`ListUsers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListUsersResponse {
    /// This page.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) users: Vec<UserListEntry>,
    /// Pass as `from` to get the next page; `None` on the last page.
    #[serde(default, deserialize_with = "opt_string_or_int")]
    pub(crate) next_token: Option<String>,
    /// Number of users matching the filters.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for ListUsers {
    type Response = ListUsersResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v2/users".to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("limit", self.limit.to_string()),
            ("guests", self.guests.to_string()),
            ("deactivated", self.deactivated.to_string()),
            ("locked", self.locked.to_string()),
        ];
        if let Some(from) = &self.from {
            q.push(("from", from.clone()));
        }
        if let Some(admins) = self.admins {
            q.push(("admins", admins.to_string()));
        }
        if let Some(name) = &self.name {
            q.push(("name", name.clone()));
        }
        if let Some(user_id) = &self.user_id {
            q.push(("user_id", user_id.clone()));
        }
        if let Some(order_by) = &self.order_by {
            q.push(("order_by", order_by.clone()));
        }
        if let Some(dir) = &self.dir {
            q.push(("dir", dir.clone()));
        }
        q
    }

    fn subject(&self) -> String {
        "the user list".to_owned()
    }
}

/// `GET /_synapse/admin/v3/users?deactivated=true`: only the deactivated accounts (v3's
/// `deactivated` filters; v2's only includes them). Synapse ≥ 1.105.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListDeactivatedUsers {
    /// Pagination token: `next_token` of the previous page.
    pub(crate) from: Option<String>,
    pub(crate) limit: u32,
}

impl Endpoint for ListDeactivatedUsers {
    type Response = ListUsersResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v3/users".to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("limit", self.limit.to_string()),
            ("deactivated", "true".to_owned()),
            ("guests", "false".to_owned()),
        ];
        if let Some(from) = &self.from {
            q.push(("from", from.clone()));
        }
        q
    }

    fn subject(&self) -> String {
        "the deactivated accounts".to_owned()
    }
}

/// Body of [`UpsertUser`]: every field is optional and left unchanged when `None`.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct UpsertUserBody {
    /// New password (devices are logged out unless `logout_devices` is `false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) password: Option<String>,
    /// Whether setting a password logs out all devices (Synapse default `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) logout_devices: Option<bool>,
    /// New display name (`""` removes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) displayname: Option<String>,
    /// New avatar `mxc://` URL (`""` removes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) avatar_url: Option<String>,
    /// Replaces all third-party IDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) threepids: Option<Vec<Threepid>>,
    /// Replaces all SSO identities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) external_ids: Option<Vec<ExternalId>>,
    /// Grant or revoke server admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) admin: Option<bool>,
    /// Deactivate (`true`) or reactivate (`false`; needs a password with local auth).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) deactivated: Option<bool>,
    /// `bot`, `support` or a configured type. (Clearing the type is not supported here.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_type: Option<String>,
    /// Lock or unlock the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) locked: Option<bool>,
}

impl fmt::Debug for UpsertUserBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpsertUserBody")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("logout_devices", &self.logout_devices)
            .field("displayname", &self.displayname)
            .field("avatar_url", &self.avatar_url)
            .field("threepids", &self.threepids)
            .field("external_ids", &self.external_ids)
            .field("admin", &self.admin)
            .field("deactivated", &self.deactivated)
            .field("user_type", &self.user_type)
            .field("locked", &self.locked)
            .finish()
    }
}

/// `PUT /_synapse/admin/v2/users/{user_id}`: create a local account or modify an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpsertUser {
    /// Fully-qualified user ID.
    pub(crate) user_id: String,
    /// Fields to set.
    pub(crate) body: UpsertUserBody,
}

/// Response of [`UpsertUser`]: the account after the change, and whether it was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UpsertOutcome {
    /// `true` when Synapse answered 201 Created, `false` for 200 OK (modified).
    #[serde(skip)]
    pub(crate) created: bool,
    /// The account as Synapse now has it.
    #[serde(flatten)]
    pub(crate) user: UserDetails,
}

impl Endpoint for UpsertUser {
    type Response = UpsertOutcome;
    const METHOD: Method = Method::PUT;
    /// Idempotent: the body sets absolute values (password, names, flags, whole threepid and
    /// SSO lists), so sending the same body again leaves the account in the same state, whether
    /// or not the first request landed. The only visible difference: a retried creation whose
    /// 201 was lost answers 200, so [`UpsertOutcome::created`] is then `false`.
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("/_synapse/admin/v2/users/{}", encode_segment(&self.user_id))
    }

    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.body).ok()
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }

    fn decode(&self, status: StatusCode, body: &[u8]) -> Result<UpsertOutcome, serde_json::Error> {
        Ok(UpsertOutcome {
            created: status == StatusCode::CREATED,
            user: decode_json(body)?,
        })
    }
}

/// `POST /_synapse/admin/v1/deactivate/{user_id}`: deactivate an account (optionally GDPR-erase it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeactivateUser {
    /// Fully-qualified user ID.
    pub(crate) user_id: String,
    /// Also erase the user (hide their messages from future joiners, drop profile).
    pub(crate) erase: bool,
}

/// Response of [`DeactivateUser`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeactivateResponse {
    /// `success` or `no-support`: whether threepids could be unbound from identity servers.
    #[serde(default)]
    pub(crate) id_server_unbind_result: Option<String>,
}

impl Endpoint for DeactivateUser {
    type Response = DeactivateResponse;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/deactivate/{}",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "erase": self.erase }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

/// `PUT /_synapse/admin/v1/suspend/{user_id}`: suspend an account (it can read, not send, join
/// or change its profile) or lift the suspension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SuspendUser {
    pub(crate) user_id: String,
    pub(crate) suspend: bool,
}

impl Endpoint for SuspendUser {
    type Response = serde_json::Value;
    const METHOD: Method = Method::PUT;
    // Setting a flag to a value twice leaves it at that value.
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/suspend/{}",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "suspend": self.suspend }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `PUT /_synapse/admin/v2/users/{user_id}` with only `locked`: lock an account (logged out, no
/// new logins, nothing deleted) or unlock it. Send it only for an account known to exist: this
/// endpoint creates missing ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockUser {
    pub(crate) user_id: String,
    pub(crate) locked: bool,
}

impl Endpoint for LockUser {
    type Response = UserDetails;
    const METHOD: Method = Method::PUT;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("/_synapse/admin/v2/users/{}", encode_segment(&self.user_id))
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "locked": self.locked }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `PUT /_synapse/admin/v1/users/{user_id}/admin`: grant or remove the server-admin flag. Synapse
/// does not check that the account exists: look it up first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetServerAdmin {
    pub(crate) user_id: String,
    pub(crate) admin: bool,
}

impl Endpoint for SetServerAdmin {
    type Response = serde_json::Value;
    const METHOD: Method = Method::PUT;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/users/{}/admin",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "admin": self.admin }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `POST` / `DELETE /_synapse/admin/v1/users/{user_id}/shadow_ban`: the account's messages and
/// invites silently go nowhere (it is not told), or that ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShadowBanUser {
    pub(crate) user_id: String,
    pub(crate) ban: bool,
}

impl Endpoint for ShadowBanUser {
    type Response = serde_json::Value;
    // POST and DELETE differ: the method is chosen per request in `method()`.
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = true;

    fn method(&self) -> Method {
        if self.ban {
            Method::POST
        } else {
            Method::DELETE
        }
    }

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/users/{}/shadow_ban",
            encode_segment(&self.user_id)
        )
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Devices, rooms, sessions
// ---------------------------------------------------------------------------------------------

/// `GET /_synapse/admin/v2/users/{user_id}/devices`: all devices of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListDevices {
    /// Fully-qualified user ID.
    pub(crate) user_id: String,
}

/// One device of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Device {
    /// Device ID.
    pub(crate) device_id: String,
    /// Name set by the user, if any.
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    /// Last IP address seen (may lag a few minutes).
    #[serde(default)]
    pub(crate) last_seen_ip: Option<String>,
    /// Last user agent seen.
    #[serde(default)]
    pub(crate) last_seen_user_agent: Option<String>,
    /// Last activity (ms).
    #[serde(default)]
    pub(crate) last_seen_ts: Option<i64>,
    /// Owner.
    #[serde(default)]
    pub(crate) user_id: Option<String>,
    /// Whether this is a dehydrated device.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) dehydrated: bool,
}

/// Response of [`ListDevices`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DevicesResponse {
    /// The devices.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) devices: Vec<Device>,
    /// Number of devices.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for ListDevices {
    type Response = DevicesResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v2/users/{}/devices",
            encode_segment(&self.user_id)
        )
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `GET /_synapse/admin/v1/users/{user_id}/joined_rooms`: rooms a user is joined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinedRooms {
    /// Fully-qualified user ID.
    pub(crate) user_id: String,
}

/// Response of [`JoinedRooms`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JoinedRoomsResponse {
    /// Room IDs.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) joined_rooms: Vec<String>,
    /// Number of rooms.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for JoinedRooms {
    type Response = JoinedRoomsResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/users/{}/joined_rooms",
            encode_segment(&self.user_id)
        )
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `GET /_synapse/admin/v1/whois/{user_id}`: active sessions (IPs, user agents) of a local user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Whois {
    /// Fully-qualified user ID.
    pub(crate) user_id: String,
}

/// One connection of a [`WhoisSession`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WhoisConnection {
    /// Client IP address.
    #[serde(default)]
    pub(crate) ip: Option<String>,
    /// Last activity on this connection (ms).
    #[serde(default)]
    pub(crate) last_seen: Option<i64>,
    /// Client user agent.
    #[serde(default)]
    pub(crate) user_agent: Option<String>,
}

/// A session in [`WhoisDevice::sessions`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WhoisSession {
    /// Connections of the session.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) connections: Vec<WhoisConnection>,
}

/// A device in [`WhoisResponse::devices`] (Synapse puts everything under the key `""`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WhoisDevice {
    /// Sessions of the device.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) sessions: Vec<WhoisSession>,
}

/// Response of [`Whois`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WhoisResponse {
    /// The user asked about.
    #[serde(default)]
    pub(crate) user_id: String,
    /// Devices by device ID.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) devices: BTreeMap<String, WhoisDevice>,
}

impl WhoisResponse {
    /// All connections, across devices and sessions.
    pub(crate) fn connections(&self) -> impl Iterator<Item = &WhoisConnection> {
        self.devices
            .values()
            .flat_map(|d| d.sessions.iter())
            .flat_map(|s| s.connections.iter())
    }

    /// The most recent `last_seen` (ms) over all connections, if any.
    pub(crate) fn last_seen_ms(&self) -> Option<i64> {
        self.connections().filter_map(|c| c.last_seen).max()
    }
}

impl Endpoint for Whois {
    type Response = WhoisResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("/_synapse/admin/v1/whois/{}", encode_segment(&self.user_id))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Rate-limit overrides
// ---------------------------------------------------------------------------------------------

/// A per-user rate-limit override. Both fields are `None` when no override is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RatelimitOverride {
    /// Actions per second; `0` disables rate limiting for the user.
    #[serde(default)]
    pub(crate) messages_per_second: Option<u64>,
    /// Burst size.
    #[serde(default)]
    pub(crate) burst_count: Option<u64>,
}

/// `POST /_synapse/admin/v1/users/{user_id}/override_ratelimit`: set a rate-limit override (0/0 disables rate limiting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverrideRatelimit {
    /// Fully-qualified local user ID.
    pub(crate) user_id: String,
    /// Actions per second; `0` disables rate limiting.
    pub(crate) messages_per_second: u32,
    /// Burst size.
    pub(crate) burst_count: u32,
}

impl Endpoint for OverrideRatelimit {
    type Response = RatelimitOverride;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/users/{}/override_ratelimit",
            encode_segment(&self.user_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "messages_per_second": self.messages_per_second,
            "burst_count": self.burst_count,
        }))
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Media of a user
// ---------------------------------------------------------------------------------------------

/// One local media item, as listed by [`ListUserMedia`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MediaInfo {
    /// Media ID (the part after `mxc://server/`).
    pub(crate) media_id: String,
    /// Size in bytes.
    #[serde(default)]
    pub(crate) media_length: Option<u64>,
    /// MIME type.
    #[serde(default)]
    pub(crate) media_type: Option<String>,
    /// Upload time (ms).
    #[serde(default)]
    pub(crate) created_ts: Option<i64>,
    /// Last access (ms); `None` if never accessed.
    #[serde(default)]
    pub(crate) last_access_ts: Option<i64>,
    /// Who quarantined it, if quarantined.
    #[serde(default)]
    pub(crate) quarantined_by: Option<String>,
    /// Whether it is protected from quarantine.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) safe_from_quarantine: bool,
    /// File name given at upload, if any.
    #[serde(default)]
    pub(crate) upload_name: Option<String>,
    /// URL this media is a preview of, for URL-preview images.
    #[serde(default)]
    pub(crate) url_cache: Option<String>,
    /// Uploader.
    #[serde(default)]
    pub(crate) user_id: Option<String>,
    /// Whether the media requires authenticated download.
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub(crate) authenticated: Option<bool>,
    /// SHA-256 of the content (Synapse ≥ 1.128).
    #[serde(default)]
    pub(crate) sha256: Option<String>,
}

/// `GET /_synapse/admin/v1/users/{user_id}/media`: one page of local media uploaded by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListUserMedia {
    /// Fully-qualified local user ID.
    pub(crate) user_id: String,
    /// Offset: `next_token` of the previous page, or 0.
    pub(crate) from: u64,
    /// Page size (Synapse default 100).
    pub(crate) limit: u32,
    /// `created_ts` (default), `media_length`, `last_access_ts`, `media_type`, …
    pub(crate) order_by: Option<String>,
    /// `f` or `b` (newest first is the default when neither field is set).
    pub(crate) dir: Option<String>,
}

/// Response of [`ListUserMedia`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserMediaResponse {
    /// This page.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) media: Vec<MediaInfo>,
    /// Pass as `from` to get the next page; `None` on the last page.
    #[serde(default, deserialize_with = "opt_u64_or_string")]
    pub(crate) next_token: Option<u64>,
    /// Total number of media of the user.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for ListUserMedia {
    type Response = UserMediaResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/users/{}/media",
            encode_segment(&self.user_id)
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("from", self.from.to_string()),
            ("limit", self.limit.to_string()),
        ];
        if let Some(order_by) = &self.order_by {
            q.push(("order_by", order_by.clone()));
        }
        if let Some(dir) = &self.dir {
            q.push(("dir", dir.clone()));
        }
        q
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }
}

/// `DELETE /_synapse/admin/v1/users/{user_id}/media`: delete up to `limit` of a user's local media, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteUserMedia {
    /// Fully-qualified local user ID.
    pub(crate) user_id: String,
    /// How many media to delete in this call (Synapse default 100). Repeat until `total` is 0.
    pub(crate) limit: u32,
}

impl Endpoint for DeleteUserMedia {
    type Response = DeletedMedia;
    const METHOD: Method = Method::DELETE;
    /// Not idempotent: repeating it deletes the *next* `limit` media.
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/users/{}/media",
            encode_segment(&self.user_id)
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("limit", self.limit.to_string())]
    }

    fn subject(&self) -> String {
        user_subject(&self.user_id)
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_details_from_docs_and_variants() {
        let json = r#"{
            "name": "@user:example.com", "displayname": null,
            "threepids": [{"medium": "email", "address": "a@b.c", "added_at": 1586458409743, "validated_at": 1586458409743}],
            "avatar_url": null, "is_guest": 0, "admin": 1, "deactivated": false, "erased": false,
            "shadow_banned": false, "creation_ts": 1560432506, "last_seen_ts": 1732919539393,
            "appservice_id": null, "consent_server_notice_sent": null, "consent_version": null,
            "consent_ts": null, "external_ids": [{"auth_provider": "oidc-x", "external_id": "1"}],
            "user_type": null, "locked": false, "suspended": false
        }"#;
        let u: UserDetails = serde_json::from_str(json).unwrap();
        assert!(u.admin);
        assert!(!u.is_guest);
        assert_eq!(u.creation_ts_ms(), Some(1_560_432_506_000));
        assert_eq!(u.threepids[0].address, "a@b.c");
        assert_eq!(u.external_ids[0].auth_provider, "oidc-x");
        // Minimal body still decodes.
        let u: UserDetails = serde_json::from_str(r#"{"name": "@a:b"}"#).unwrap();
        assert!(!u.admin && u.creation_ts_ms().is_none());
    }

    #[test]
    fn list_users_next_token_string_or_number() {
        let r: ListUsersResponse =
            serde_json::from_str(r#"{"users": [{"name": "@a:b", "creation_ts": 1560432668000}], "next_token": "100", "total": 200}"#)
                .unwrap();
        assert_eq!(r.next_token.as_deref(), Some("100"));
        assert_eq!(r.users[0].creation_ts, Some(1_560_432_668_000));
        let r: ListUsersResponse =
            serde_json::from_str(r#"{"users": [], "next_token": 100, "total": 200}"#).unwrap();
        assert_eq!(r.next_token.as_deref(), Some("100"));
        let r: ListUsersResponse = serde_json::from_str(r#"{"users": [], "total": 0}"#).unwrap();
        assert_eq!(r.next_token, None);
    }

    #[test]
    fn whois_last_seen() {
        let json = r#"{"user_id": "@u:s", "devices": {"": {"sessions": [{"connections": [
            {"ip": "1.2.3.4", "last_seen": 1417222374433, "user_agent": "Mozilla"},
            {"ip": "1.2.3.10", "last_seen": 1417222374500, "user_agent": "Dalvik"}]}]}}}"#;
        let w: WhoisResponse = serde_json::from_str(json).unwrap();
        assert_eq!(w.last_seen_ms(), Some(1_417_222_374_500));
        assert_eq!(w.connections().count(), 2);
    }

    #[test]
    fn upsert_body_skips_none_and_redacts_password() {
        let body = UpsertUserBody {
            password: Some("hunter2".into()),
            admin: Some(false),
            threepids: Some(vec![Threepid::new("email", "a@b.c")]),
            ..Default::default()
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"password": "hunter2", "admin": false,
                "threepids": [{"medium": "email", "address": "a@b.c"}]})
        );
        let ep = UpsertUser {
            user_id: "@a:b".into(),
            body,
        };
        assert!(!format!("{ep:?}").contains("hunter2"));
    }

    #[test]
    fn upsert_decode_uses_status() {
        let ep = UpsertUser {
            user_id: "@a:b".into(),
            body: UpsertUserBody::default(),
        };
        let body = br#"{"name": "@a:b", "admin": false}"#;
        assert!(ep.decode(StatusCode::CREATED, body).unwrap().created);
        assert!(!ep.decode(StatusCode::OK, body).unwrap().created);
    }

    #[test]
    fn user_media_and_ratelimit_shapes() {
        let r: UserMediaResponse = serde_json::from_str(
            r#"{"media": [{"created_ts": 100400, "last_access_ts": null, "media_id": "qX",
                "media_length": 67, "media_type": "image/png", "quarantined_by": null,
                "safe_from_quarantine": false, "upload_name": "test1.png"}], "next_token": 3, "total": 2}"#,
        )
        .unwrap();
        assert_eq!(r.next_token, Some(3));
        assert_eq!(r.media[0].media_length, Some(67));
        let none: RatelimitOverride = serde_json::from_str("{}").unwrap();
        assert_eq!(none, RatelimitOverride::default());
        let set: RatelimitOverride =
            serde_json::from_str(r#"{"messages_per_second": 0, "burst_count": 0}"#).unwrap();
        assert_eq!(
            (set.messages_per_second, set.burst_count),
            (Some(0), Some(0))
        );
    }

    #[test]
    fn list_users_query() {
        let q = ListUsers {
            name: Some("bob".into()),
            ..Default::default()
        }
        .query();
        assert!(q.contains(&("guests", "false".to_owned())));
        assert!(q.contains(&("limit", "100".to_owned())));
        assert!(q.contains(&("name", "bob".to_owned())));
        assert!(!q.iter().any(|(k, _)| *k == "from"));
    }
}
