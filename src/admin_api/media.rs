//! Media endpoints: query, quarantine, protect, delete local media and purge the remote media cache.
//!
//! Reference: `docs/admin_api/media_admin_api.md` in element-hq/synapse. Listing and deleting
//! the media *of a user* live in [`super::users`].

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::de::{lenient_opt_bool, null_default};
use super::{EmptyResponse, Endpoint, LONG_REQUEST_TIMEOUT, encode_segment};

fn media_subject(server_name: &str, media_id: &str) -> String {
    format!("media mxc://{server_name}/{media_id}")
}

/// Response of the media deletion endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedMedia {
    /// IDs of the deleted media.
    #[serde(default, deserialize_with = "null_default")]
    pub deleted_media: Vec<String>,
    /// Number of deleted media.
    #[serde(default, deserialize_with = "null_default")]
    pub total: u64,
}

/// Response of the bulk quarantine endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedCount {
    /// Number of media items quarantined.
    #[serde(default, deserialize_with = "null_default")]
    pub num_quarantined: u64,
}

/// `GET /_synapse/admin/v1/media/{server_name}/{media_id}`: details of a local or cached remote media item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryMedia {
    /// Origin server of the media.
    pub server_name: String,
    /// Media ID.
    pub media_id: String,
}

/// Details of one media item, in [`QueryMediaResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaDetails {
    /// Origin server for remote media; `None` for local media.
    #[serde(default)]
    pub media_origin: Option<String>,
    /// Uploader, for local media.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Media ID.
    pub media_id: String,
    /// MIME type.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub media_length: Option<u64>,
    /// File name given at upload.
    #[serde(default)]
    pub upload_name: Option<String>,
    /// Upload (or fetch) time (ms).
    #[serde(default)]
    pub created_ts: Option<i64>,
    /// On-disk ID of cached remote media.
    #[serde(default)]
    pub filesystem_id: Option<String>,
    /// URL this media is a preview of, for URL-preview images.
    #[serde(default)]
    pub url_cache: Option<String>,
    /// Last access (ms).
    #[serde(default)]
    pub last_access_ts: Option<i64>,
    /// Who quarantined it, if quarantined.
    #[serde(default)]
    pub quarantined_by: Option<String>,
    /// Whether it requires authenticated download.
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub authenticated: Option<bool>,
    /// Whether it is protected from quarantine (`None` for remote media).
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub safe_from_quarantine: Option<bool>,
    /// SHA-256 of the content, if known.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Response of [`QueryMedia`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryMediaResponse {
    /// The media item.
    pub media_info: MediaDetails,
}

impl Endpoint for QueryMedia {
    type Response = QueryMediaResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/media/{}/{}",
            encode_segment(&self.server_name),
            encode_segment(&self.media_id)
        )
    }

    fn subject(&self) -> String {
        media_subject(&self.server_name, &self.media_id)
    }
}

/// `GET /_synapse/admin/v1/room/{room_id}/media`: `mxc://` URIs of media in a room's unencrypted events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRoomMedia {
    /// Room ID.
    pub room_id: String,
}

/// Response of [`ListRoomMedia`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMediaResponse {
    /// Local `mxc://` URIs.
    #[serde(default, deserialize_with = "null_default")]
    pub local: Vec<String>,
    /// Remote `mxc://` URIs.
    #[serde(default, deserialize_with = "null_default")]
    pub remote: Vec<String>,
}

impl Endpoint for ListRoomMedia {
    type Response = RoomMediaResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/room/{}/media",
            encode_segment(&self.room_id)
        )
    }

    fn subject(&self) -> String {
        format!("room {}", self.room_id)
    }
}

/// `POST /_synapse/admin/v1/purge_media_cache?before_ts=`: purge cached remote media last accessed before a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRemoteMediaCache {
    /// Cut-off, in **milliseconds** since the epoch (Synapse rejects second-based values).
    pub before_ts: u64,
}

/// Response of [`PurgeRemoteMediaCache`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgedRemoteMedia {
    /// Number of media items deleted.
    #[serde(default, deserialize_with = "null_default")]
    pub deleted: u64,
}

impl Endpoint for PurgeRemoteMediaCache {
    type Response = PurgedRemoteMedia;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        "/_synapse/admin/v1/purge_media_cache".to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("before_ts", self.before_ts.to_string())]
    }

    fn subject(&self) -> String {
        "the remote media cache".to_owned()
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

/// `POST /_synapse/admin/v1/media/delete?before_ts=&size_gt=&keep_profiles=`: delete local media last accessed before a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteLocalMediaBefore {
    /// Cut-off (last access), in **milliseconds** since the epoch.
    pub before_ts: u64,
    /// Only delete files larger than this many bytes (Synapse default 0).
    pub size_gt: Option<u64>,
    /// Keep media used as avatars (Synapse default `true`).
    pub keep_profiles: bool,
}

impl Endpoint for DeleteLocalMediaBefore {
    type Response = DeletedMedia;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        "/_synapse/admin/v1/media/delete".to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("before_ts", self.before_ts.to_string())];
        if let Some(size_gt) = self.size_gt {
            q.push(("size_gt", size_gt.to_string()));
        }
        q.push(("keep_profiles", self.keep_profiles.to_string()));
        q
    }

    fn subject(&self) -> String {
        "local media".to_owned()
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

/// `DELETE /_synapse/admin/v1/media/{server_name}/{media_id}`: delete one local media item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteMedia {
    /// The local server name.
    pub server_name: String,
    /// Media ID.
    pub media_id: String,
}

impl Endpoint for DeleteMedia {
    type Response = DeletedMedia;
    const METHOD: Method = Method::DELETE;
    /// Idempotent (a retry after a lost response may report "does not exist").
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/media/{}/{}",
            encode_segment(&self.server_name),
            encode_segment(&self.media_id)
        )
    }

    fn subject(&self) -> String {
        media_subject(&self.server_name, &self.media_id)
    }
}

/// `POST /_synapse/admin/v1/media/quarantine/{server_name}/{media_id}`: quarantine one media item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineMedia {
    /// Origin server of the media.
    pub server_name: String,
    /// Media ID.
    pub media_id: String,
}

impl Endpoint for QuarantineMedia {
    type Response = EmptyResponse;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/media/quarantine/{}/{}",
            encode_segment(&self.server_name),
            encode_segment(&self.media_id)
        )
    }

    fn subject(&self) -> String {
        media_subject(&self.server_name, &self.media_id)
    }
}

/// `POST /_synapse/admin/v1/media/unquarantine/{server_name}/{media_id}`: remove one media item from quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnquarantineMedia {
    /// Origin server of the media.
    pub server_name: String,
    /// Media ID.
    pub media_id: String,
}

impl Endpoint for UnquarantineMedia {
    type Response = EmptyResponse;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/media/unquarantine/{}/{}",
            encode_segment(&self.server_name),
            encode_segment(&self.media_id)
        )
    }

    fn subject(&self) -> String {
        media_subject(&self.server_name, &self.media_id)
    }
}

/// `POST /_synapse/admin/v1/room/{room_id}/media/quarantine`: quarantine all media in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRoomMedia {
    /// Room ID.
    pub room_id: String,
}

impl Endpoint for QuarantineRoomMedia {
    type Response = QuarantinedCount;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/room/{}/media/quarantine",
            encode_segment(&self.room_id)
        )
    }

    fn subject(&self) -> String {
        format!("room {}", self.room_id)
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

/// `POST /_synapse/admin/v1/user/{user_id}/media/quarantine`: quarantine all local media of a local user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineUserMedia {
    /// Fully-qualified local user ID.
    pub user_id: String,
}

impl Endpoint for QuarantineUserMedia {
    type Response = QuarantinedCount;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/user/{}/media/quarantine",
            encode_segment(&self.user_id)
        )
    }

    fn subject(&self) -> String {
        format!("user {}", self.user_id)
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        Some(LONG_REQUEST_TIMEOUT)
    }
}

/// `POST /_synapse/admin/v1/media/protect/{media_id}`: protect a local media item from quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectMedia {
    /// Local media ID.
    pub media_id: String,
}

impl Endpoint for ProtectMedia {
    type Response = EmptyResponse;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/media/protect/{}",
            encode_segment(&self.media_id)
        )
    }

    fn subject(&self) -> String {
        format!("local media {}", self.media_id)
    }
}

/// `POST /_synapse/admin/v1/media/unprotect/{media_id}`: let a local media item be quarantined again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnprotectMedia {
    /// Local media ID.
    pub media_id: String,
}

impl Endpoint for UnprotectMedia {
    type Response = EmptyResponse;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/media/unprotect/{}",
            encode_segment(&self.media_id)
        )
    }

    fn subject(&self) -> String {
        format!("local media {}", self.media_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_info_shapes() {
        let r: QueryMediaResponse = serde_json::from_str(
            r#"{"media_info": {"media_origin": "remote.com", "user_id": null, "media_id": "sdg",
                "media_type": "img/png", "media_length": 67, "upload_name": "test.png",
                "created_ts": 300, "filesystem_id": "wgeweg", "url_cache": null,
                "last_access_ts": 400, "quarantined_by": null, "authenticated": false,
                "safe_from_quarantine": null, "sha256": "ebf4"}}"#,
        )
        .unwrap();
        assert_eq!(r.media_info.media_origin.as_deref(), Some("remote.com"));
        assert_eq!(r.media_info.safe_from_quarantine, None);
        assert_eq!(r.media_info.authenticated, Some(false));
    }

    #[test]
    fn delete_before_query() {
        let q = DeleteLocalMediaBefore {
            before_ts: 1_700_000_000_000,
            size_gt: None,
            keep_profiles: true,
        }
        .query();
        assert_eq!(
            q,
            vec![
                ("before_ts", "1700000000000".to_owned()),
                ("keep_profiles", "true".to_owned())
            ]
        );
    }
}
