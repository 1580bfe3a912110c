//! What the daily digest reads about the server: failed scheduled tasks, federation destinations
//! in trouble, the largest media users and rooms, running background updates.
//!
//! Reference: `docs/admin_api/scheduled_tasks.md`, `federation.md`, `statistics.md` and
//! `background_updates.md` in element-hq/synapse.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use super::Endpoint;
use super::de::null_default;

/// `GET /_synapse/admin/v1/scheduled_tasks?status=failed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FailedTasks;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ScheduledTask {
    #[serde(default)]
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) timestamp_ms: i64,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ScheduledTasks {
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) scheduled_tasks: Vec<ScheduledTask>,
}

impl Endpoint for FailedTasks {
    type Response = ScheduledTasks;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/scheduled_tasks".into()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("status", "failed".into())]
    }

    fn subject(&self) -> String {
        "the scheduled tasks".into()
    }
}

/// `GET /_synapse/admin/v1/federation/destinations`: up to 1000, those failing first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Destinations;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Destination {
    pub(crate) destination: String,
    #[serde(default)]
    pub(crate) retry_interval: i64,
    #[serde(default)]
    pub(crate) failure_ts: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct DestinationList {
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) destinations: Vec<Destination>,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for Destinations {
    type Response = DestinationList;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/federation/destinations".into()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("limit", "1000".into()),
            ("order_by", "failure_ts".into()),
            ("dir", "b".into()),
        ]
    }

    fn subject(&self) -> String {
        "the federation destinations".into()
    }
}

/// `GET /_synapse/admin/v1/statistics/users/media`: the users with the most media bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaUsers {
    pub(crate) limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct MediaUser {
    pub(crate) user_id: String,
    #[serde(default)]
    pub(crate) media_count: u64,
    #[serde(default)]
    pub(crate) media_length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct MediaUserList {
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) users: Vec<MediaUser>,
}

impl Endpoint for MediaUsers {
    type Response = MediaUserList;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/statistics/users/media".into()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("limit", self.limit.to_string()),
            ("order_by", "media_length".into()),
            ("dir", "b".into()),
        ]
    }

    fn subject(&self) -> String {
        "the media statistics".into()
    }
}

/// `GET /_synapse/admin/v1/statistics/database/rooms`: rooms by estimated size (PostgreSQL only;
/// empty on SQLite).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RoomSizes;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RoomSize {
    pub(crate) room_id: String,
    #[serde(default)]
    pub(crate) estimated_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RoomSizeList {
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) rooms: Vec<RoomSize>,
}

impl Endpoint for RoomSizes {
    type Response = RoomSizeList;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/statistics/database/rooms".into()
    }

    fn subject(&self) -> String {
        "the room statistics".into()
    }
}

/// `GET /_synapse/admin/v1/background_updates/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BackgroundUpdates;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct BackgroundUpdate {
    pub(crate) name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct BackgroundUpdatesStatus {
    #[serde(default)]
    pub(crate) enabled: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) current_updates: BTreeMap<String, BackgroundUpdate>,
}

impl Endpoint for BackgroundUpdates {
    type Response = BackgroundUpdatesStatus;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/background_updates/status".into()
    }

    fn subject(&self) -> String {
        "the background updates".into()
    }
}
