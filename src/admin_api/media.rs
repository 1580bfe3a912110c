//! Media endpoints: quarantine, protect, delete local media and purge the remote media cache.
//!
//! Reference: `docs/admin_api/media_admin_api.md` in element-hq/synapse. Listing and deleting
//! the media *of a user* live in [`super::users`].

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::de::null_default;
use super::{EmptyResponse, Endpoint, LONG_REQUEST_TIMEOUT, encode_segment};

fn media_subject(server_name: &str, media_id: &str) -> String {
    format!("media mxc://{server_name}/{media_id}")
}

/// Response of the media deletion endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeletedMedia {
    /// IDs of the deleted media.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) deleted_media: Vec<String>,
    /// Number of deleted media.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

/// Response of the bulk quarantine endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QuarantinedCount {
    /// Number of media items quarantined.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) num_quarantined: u64,
}

/// `POST /_synapse/admin/v1/purge_media_cache?before_ts=`: purge cached remote media last accessed before a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PurgeRemoteMediaCache {
    /// Cut-off, in **milliseconds** since the epoch (Synapse rejects second-based values).
    pub(crate) before_ts: u64,
}

/// Response of [`PurgeRemoteMediaCache`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurgedRemoteMedia {
    /// Number of media items deleted.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) deleted: u64,
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
pub(crate) struct DeleteLocalMediaBefore {
    /// Cut-off (last access), in **milliseconds** since the epoch.
    pub(crate) before_ts: u64,
    /// Only delete files larger than this many bytes (Synapse default 0).
    pub(crate) size_gt: Option<u64>,
    /// Keep media used as avatars (Synapse default `true`).
    pub(crate) keep_profiles: bool,
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

/// `POST /_synapse/admin/v1/media/quarantine/{server_name}/{media_id}`: quarantine one media item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuarantineMedia {
    /// Origin server of the media.
    pub(crate) server_name: String,
    /// Media ID.
    pub(crate) media_id: String,
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
pub(crate) struct UnquarantineMedia {
    /// Origin server of the media.
    pub(crate) server_name: String,
    /// Media ID.
    pub(crate) media_id: String,
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

/// `GET /_synapse/admin/v1/room/{room_id}/media`: the mxc URIs of the media in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomMedia {
    /// Room ID.
    pub(crate) room_id: String,
}

/// The media a room's events refer to, as `mxc://` URIs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct RoomMediaList {
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) local: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) remote: Vec<String>,
}

impl Endpoint for RoomMedia {
    type Response = RoomMediaList;
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

/// `POST /_synapse/admin/v1/room/{room_id}/media/quarantine`: quarantine all media in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuarantineRoomMedia {
    /// Room ID.
    pub(crate) room_id: String,
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
pub(crate) struct QuarantineUserMedia {
    /// Fully-qualified local user ID.
    pub(crate) user_id: String,
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
pub(crate) struct ProtectMedia {
    /// Local media ID.
    pub(crate) media_id: String,
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

#[cfg(test)]
mod tests {
    use super::*;

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
