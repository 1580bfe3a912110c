//! Room endpoints: details, listing, members, delete (v2, async) and its status, block, make-room-admin and history purge.
//!
//! Reference: `docs/admin_api/rooms.md` and `docs/admin_api/purge_history_api.md` in
//! element-hq/synapse.

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::de::{lenient_bool, null_default, opt_u64_or_string};
use super::{EmptyResponse, Endpoint, encode_segment};

fn room_subject(room_id: &str) -> String {
    format!("room {room_id}")
}

/// Status of a background task (room deletion or history purge).
///
/// Current Synapse uses the task scheduler's `scheduled`/`active`/`complete`/`failed`/`cancelled`;
/// Synapse before 1.96 reported `new`/`purging`/`shutting_down`. Anything else is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub(crate) enum TaskStatus {
    /// Waiting to start (`scheduled`, or `new` in old versions).
    Scheduled,
    /// Running (`active`, or `purging`/`shutting_down` in old versions).
    Active,
    /// Finished successfully.
    Complete,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
    /// A status this client does not know.
    Other(String),
}

impl TaskStatus {
    /// The status as Synapse spells it.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            TaskStatus::Scheduled => "scheduled",
            TaskStatus::Active => "active",
            TaskStatus::Complete => "complete",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Other(s) => s,
        }
    }
}

impl From<String> for TaskStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "scheduled" | "new" => TaskStatus::Scheduled,
            "active" | "purging" | "shutting_down" => TaskStatus::Active,
            "complete" => TaskStatus::Complete,
            "failed" => TaskStatus::Failed,
            "cancelled" => TaskStatus::Cancelled,
            _ => TaskStatus::Other(s),
        }
    }
}

impl From<TaskStatus> for String {
    fn from(s: TaskStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Details, list, members
// ---------------------------------------------------------------------------------------------

/// `GET /_synapse/admin/v1/rooms/{room_id}`: all details of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomDetails {
    /// Room ID.
    pub(crate) room_id: String,
}

/// Response of [`RoomDetails`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoomInfo {
    /// Room ID.
    pub(crate) room_id: String,
    /// Room name.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Room topic.
    #[serde(default)]
    pub(crate) topic: Option<String>,
    /// Avatar `mxc://` URI.
    #[serde(default)]
    pub(crate) avatar: Option<String>,
    /// Canonical alias.
    #[serde(default)]
    pub(crate) canonical_alias: Option<String>,
    /// Joined members (all servers).
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) joined_members: u64,
    /// Joined local members.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) joined_local_members: u64,
    /// Local devices in the room.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) joined_local_devices: u64,
    /// Room version.
    #[serde(default)]
    pub(crate) version: Option<String>,
    /// Creator's user ID.
    #[serde(default)]
    pub(crate) creator: Option<String>,
    /// Encryption algorithm, `None` if unencrypted.
    #[serde(default)]
    pub(crate) encryption: Option<String>,
    /// Whether other servers may join.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) federatable: bool,
    /// Whether it is in the room directory.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) public: bool,
    /// `public`, `knock`, `invite`, `private`, …
    #[serde(default)]
    pub(crate) join_rules: Option<String>,
    /// `can_join` or `forbidden`.
    #[serde(default)]
    pub(crate) guest_access: Option<String>,
    /// `invited`, `joined`, `shared` or `world_readable`.
    #[serde(default)]
    pub(crate) history_visibility: Option<String>,
    /// Number of state events.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) state_events: u64,
    /// E.g. `m.space`; `None` for ordinary rooms.
    #[serde(default)]
    pub(crate) room_type: Option<String>,
    /// Whether all local users have forgotten the room (Synapse ≥ 1.66).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) forgotten: bool,
    /// Whether the room has been tombstoned.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) tombstoned: bool,
    /// Successor room of a tombstoned room.
    #[serde(default)]
    pub(crate) replacement_room: Option<String>,
}

impl Endpoint for RoomDetails {
    type Response = RoomInfo;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!("/_synapse/admin/v1/rooms/{}", encode_segment(&self.room_id))
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

/// `GET /_synapse/admin/v1/rooms`: one page of the rooms known to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListRooms {
    /// Offset: `next_batch` of the previous page, or 0.
    pub(crate) from: u64,
    /// Page size (Synapse default 100).
    pub(crate) limit: u32,
    /// `name` (default), `joined_members`, `joined_local_members`, `state_events`, …
    pub(crate) order_by: Option<String>,
    /// `f` (default) or `b`.
    pub(crate) dir: Option<String>,
    /// Filter on name, canonical alias localpart or room ID (must not be empty).
    pub(crate) search_term: Option<String>,
    /// Only public (`Some(true)`) or only non-public (`Some(false)`) rooms.
    pub(crate) public_rooms: Option<bool>,
    /// Only empty (`Some(true)`) or only non-empty (`Some(false)`) rooms.
    pub(crate) empty_rooms: Option<bool>,
}

impl Default for ListRooms {
    fn default() -> Self {
        ListRooms {
            from: 0,
            limit: 100,
            order_by: None,
            dir: None,
            search_term: None,
            public_rooms: None,
            empty_rooms: None,
        }
    }
}

/// One entry of [`RoomList::rooms`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoomListEntry {
    /// Room ID.
    pub(crate) room_id: String,
    /// Room name.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Canonical alias.
    #[serde(default)]
    pub(crate) canonical_alias: Option<String>,
    /// Joined members (all servers).
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) joined_members: u64,
    /// Joined local members.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) joined_local_members: u64,
    /// Room version.
    #[serde(default)]
    pub(crate) version: Option<String>,
    /// Creator's user ID.
    #[serde(default)]
    pub(crate) creator: Option<String>,
    /// Encryption algorithm, `None` if unencrypted.
    #[serde(default)]
    pub(crate) encryption: Option<String>,
    /// Whether other servers may join.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) federatable: bool,
    /// Whether it is in the room directory.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) public: bool,
    /// Join rule.
    #[serde(default)]
    pub(crate) join_rules: Option<String>,
    /// Guest access.
    #[serde(default)]
    pub(crate) guest_access: Option<String>,
    /// History visibility.
    #[serde(default)]
    pub(crate) history_visibility: Option<String>,
    /// Number of state events.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) state_events: u64,
    /// E.g. `m.space`.
    #[serde(default)]
    pub(crate) room_type: Option<String>,
}

/// Response of [`ListRooms`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoomList {
    /// This page.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) rooms: Vec<RoomListEntry>,
    /// Offset of this page.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) offset: u64,
    /// Number of rooms matching the filters.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total_rooms: u64,
    /// `from` of the next page; `None` on the last page. (Older docs call it `next_token`.)
    #[serde(default, alias = "next_token", deserialize_with = "opt_u64_or_string")]
    pub(crate) next_batch: Option<u64>,
    /// `from` of the previous page; `None` on the first page.
    #[serde(default, deserialize_with = "opt_u64_or_string")]
    pub(crate) prev_batch: Option<u64>,
}

impl Endpoint for ListRooms {
    type Response = RoomList;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        "/_synapse/admin/v1/rooms".to_owned()
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
        if let Some(term) = self.search_term.as_ref().filter(|t| !t.is_empty()) {
            q.push(("search_term", term.clone()));
        }
        if let Some(public) = self.public_rooms {
            q.push(("public_rooms", public.to_string()));
        }
        if let Some(empty) = self.empty_rooms {
            q.push(("empty_rooms", empty.to_string()));
        }
        q
    }

    fn subject(&self) -> String {
        "the room list".to_owned()
    }
}

/// `GET /_synapse/admin/v1/rooms/{room_id}/members`: all members of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomMembers {
    /// Room ID.
    pub(crate) room_id: String,
}

/// Response of [`RoomMembers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoomMembersResponse {
    /// User IDs.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) members: Vec<String>,
    /// Number of members.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for RoomMembers {
    type Response = RoomMembersResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/rooms/{}/members",
            encode_segment(&self.room_id)
        )
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Delete (v2) and its status
// ---------------------------------------------------------------------------------------------

/// `DELETE /_synapse/admin/v2/rooms/{room_id}`: shut down (and by default purge) a room in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteRoom {
    /// Room ID.
    pub(crate) room_id: String,
    /// Prevent future joins.
    pub(crate) block: bool,
    /// Remove all traces of the room from the database (Synapse default `true`).
    pub(crate) purge: bool,
    /// Purge even if local users are still in the room (only with `purge`).
    pub(crate) force_purge: bool,
    /// If set, create a notice room owned by this local user and move local members there.
    pub(crate) new_room_user_id: Option<String>,
    /// Name of the notice room.
    pub(crate) room_name: Option<String>,
    /// First message in the notice room.
    pub(crate) message: Option<String>,
}

impl DeleteRoom {
    /// Shut down and purge `room_id` with Synapse's defaults (no block, no notice room).
    pub(crate) fn new(room_id: impl Into<String>) -> Self {
        DeleteRoom {
            room_id: room_id.into(),
            block: false,
            purge: true,
            force_purge: false,
            new_room_user_id: None,
            room_name: None,
            message: None,
        }
    }
}

/// Response of [`DeleteRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteRoomStarted {
    /// Pass to [`DeleteRoomStatus`] to follow progress.
    pub(crate) delete_id: String,
}

impl Endpoint for DeleteRoom {
    type Response = DeleteRoomStarted;
    const METHOD: Method = Method::DELETE;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!("/_synapse/admin/v2/rooms/{}", encode_segment(&self.room_id))
    }

    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::json!({
            "block": self.block,
            "purge": self.purge,
            "force_purge": self.force_purge,
        });
        if let Some(obj) = body.as_object_mut() {
            if let Some(user) = &self.new_room_user_id {
                obj.insert("new_room_user_id".into(), user.clone().into());
            }
            if let Some(name) = &self.room_name {
                obj.insert("room_name".into(), name.clone().into());
            }
            if let Some(message) = &self.message {
                obj.insert("message".into(), message.clone().into());
            }
        }
        Some(body)
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

/// What happened to the members and aliases of a room being deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShutdownRoomResult {
    /// Local users removed from the room.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) kicked_users: Vec<String>,
    /// Local users that could not be removed.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) failed_to_kick_users: Vec<String>,
    /// Local aliases moved to the new room.
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) local_aliases: Vec<String>,
    /// The notice room, if one was created.
    #[serde(default)]
    pub(crate) new_room_id: Option<String>,
}

/// A room deletion task, from [`DeleteRoomStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteTask {
    /// Task ID.
    #[serde(default)]
    pub(crate) delete_id: Option<String>,
    /// Room being deleted.
    #[serde(default)]
    pub(crate) room_id: Option<String>,
    /// Progress.
    pub(crate) status: TaskStatus,
    /// Error message when `status` is failed (not sent by all versions).
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Shutdown result; `None` until members have been removed.
    #[serde(default)]
    pub(crate) shutdown_room: Option<ShutdownRoomResult>,
}

/// `GET /_synapse/admin/v2/rooms/delete_status/{delete_id}`: progress of one room deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteRoomStatus {
    /// From [`DeleteRoomStarted::delete_id`].
    pub(crate) delete_id: String,
}

impl Endpoint for DeleteRoomStatus {
    type Response = DeleteTask;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v2/rooms/delete_status/{}",
            encode_segment(&self.delete_id)
        )
    }

    fn subject(&self) -> String {
        format!("room deletion task {}", self.delete_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Block, make room admin
// ---------------------------------------------------------------------------------------------

/// `PUT /_synapse/admin/v1/rooms/{room_id}/block`: block or unblock a room (even one unknown to the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockRoom {
    /// Room ID.
    pub(crate) room_id: String,
    /// `true` to block, `false` to unblock.
    pub(crate) block: bool,
}

/// Response of [`BlockRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockResponse {
    /// Whether the room is now blocked.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) block: bool,
}

impl Endpoint for BlockRoom {
    type Response = BlockResponse;
    const METHOD: Method = Method::PUT;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/rooms/{}/block",
            encode_segment(&self.room_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "block": self.block }))
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

/// `GET /_synapse/admin/v1/rooms/{room_id}/block`: whether a room is blocked, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomBlockStatus {
    /// Room ID.
    pub(crate) room_id: String,
}

/// Response of [`RoomBlockStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockStatus {
    /// Whether the room is blocked.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) block: bool,
    /// Who blocked it (only when blocked).
    #[serde(default)]
    pub(crate) user_id: Option<String>,
}

impl Endpoint for RoomBlockStatus {
    type Response = BlockStatus;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/rooms/{}/block",
            encode_segment(&self.room_id)
        )
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

/// `POST /_synapse/admin/v1/rooms/{room_id_or_alias}/make_room_admin`: give a local user the highest power in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MakeRoomAdmin {
    /// Room ID or alias.
    pub(crate) room_id: String,
    /// User to promote; `None` promotes the bot itself.
    pub(crate) user_id: Option<String>,
}

impl Endpoint for MakeRoomAdmin {
    type Response = EmptyResponse;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/rooms/{}/make_room_admin",
            encode_segment(&self.room_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(match &self.user_id {
            Some(user) => serde_json::json!({ "user_id": user }),
            None => serde_json::json!({}),
        })
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Purge history
// ---------------------------------------------------------------------------------------------

/// `POST /_synapse/admin/v1/purge_history/{room_id}`: purge events older than a time, in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PurgeHistory {
    /// Room ID.
    pub(crate) room_id: String,
    /// Purge events before this time (ms since the epoch).
    pub(crate) purge_up_to_ts: u64,
    /// Also delete events sent by local users (off by default: they may be the only copy).
    pub(crate) delete_local_events: bool,
}

/// Response of [`PurgeHistory`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurgeStarted {
    /// Pass to [`PurgeHistoryStatus`] to follow progress.
    pub(crate) purge_id: String,
}

impl Endpoint for PurgeHistory {
    type Response = PurgeStarted;
    const METHOD: Method = Method::POST;
    const RETRY_SAFE: bool = false;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/purge_history/{}",
            encode_segment(&self.room_id)
        )
    }

    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "purge_up_to_ts": self.purge_up_to_ts,
            "delete_local_events": self.delete_local_events,
        }))
    }

    fn subject(&self) -> String {
        room_subject(&self.room_id)
    }
}

/// `GET /_synapse/admin/v1/purge_history_status/{purge_id}`: progress of a history purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PurgeHistoryStatus {
    /// From [`PurgeStarted::purge_id`].
    pub(crate) purge_id: String,
}

/// Response of [`PurgeHistoryStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurgeStatus {
    /// `active`, `complete` or `failed`.
    pub(crate) status: TaskStatus,
    /// Error message when failed.
    #[serde(default)]
    pub(crate) error: Option<String>,
}

impl Endpoint for PurgeHistoryStatus {
    type Response = PurgeStatus;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/purge_history_status/{}",
            encode_segment(&self.purge_id)
        )
    }

    fn subject(&self) -> String {
        format!("history purge task {}", self.purge_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_details_from_docs() {
        let r: RoomInfo = serde_json::from_str(
            r##"{"room_id": "!m:matrix.org", "name": "Music Theory", "avatar": "mxc://matrix.org/A",
                "topic": "Theory", "canonical_alias": "#musictheory:matrix.org",
                "joined_members": 127, "joined_local_members": 2, "joined_local_devices": 2,
                "version": "1", "creator": "@foo:matrix.org", "encryption": null,
                "federatable": true, "public": 1, "join_rules": "invite", "guest_access": null,
                "history_visibility": "shared", "state_events": 93534, "room_type": "m.space",
                "forgotten": false, "tombstoned": false, "replacement_room": null}"##,
        )
        .unwrap();
        assert_eq!(r.joined_members, 127);
        assert!(r.public);
        // A room without stats rows has nulls.
        let r: RoomInfo = serde_json::from_str(
            r#"{"room_id": "!x:s", "joined_members": null, "state_events": null}"#,
        )
        .unwrap();
        assert_eq!(r.joined_members, 0);
    }

    #[test]
    fn room_list_pagination() {
        let r: RoomList = serde_json::from_str(
            r#"{"rooms": [], "offset": 100, "prev_batch": 0, "total_rooms": 150}"#,
        )
        .unwrap();
        assert_eq!((r.next_batch, r.prev_batch), (None, Some(0)));
        let r: RoomList = serde_json::from_str(
            r#"{"rooms": [], "offset": 0, "total_rooms": 150, "next_token": 100}"#,
        )
        .unwrap();
        assert_eq!(r.next_batch, Some(100));
    }

    #[test]
    fn delete_status_shapes() {
        let t: DeleteTask = serde_json::from_str(
            r##"{"status": "active", "delete_id": "bHk", "room_id": "!r:e",
                "shutdown_room": {"kicked_users": ["@f:e"], "failed_to_kick_users": [],
                "local_aliases": ["#b:e"], "new_room_id": "!n:e"}}"##,
        )
        .unwrap();
        assert_eq!(t.status, TaskStatus::Active);
        assert_eq!(
            t.shutdown_room.unwrap().new_room_id.as_deref(),
            Some("!n:e")
        );
        let t: DeleteTask =
            serde_json::from_str(r#"{"status": "scheduled", "shutdown_room": null}"#).unwrap();
        assert_eq!(t.status, TaskStatus::Scheduled);
        let t: DeleteTask = serde_json::from_str(
            r#"{"delete_id": "d1", "room_id": "!r:e", "status": "failed", "error": "boom"}"#,
        )
        .unwrap();
        assert_eq!(t.status, TaskStatus::Failed);
        assert_eq!(t.error.as_deref(), Some("boom"));
        let t: DeleteTask = serde_json::from_str(r#"{"status": "purging"}"#).unwrap();
        assert_eq!(t.status, TaskStatus::Active);
        let p: PurgeStatus = serde_json::from_str(r#"{"status": "weird"}"#).unwrap();
        assert_eq!(p.status, TaskStatus::Other("weird".into()));
        assert_eq!(p.status.to_string(), "weird");
    }

    #[test]
    fn delete_room_body() {
        let mut ep = DeleteRoom::new("!r:s");
        ep.block = true;
        ep.message = Some("bye".into());
        assert_eq!(
            ep.body().unwrap(),
            serde_json::json!({"block": true, "purge": true, "force_purge": false, "message": "bye"})
        );
    }
}

/// `GET /_synapse/admin/v1/rooms/{room_id}/context/{event_id}?limit=0`: one event, as the server
/// has it (sender, time), whoever may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventContext {
    pub(crate) room_id: String,
    pub(crate) event_id: String,
}

/// The event of [`EventContext`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ContextEvent {
    pub(crate) sender: String,
    pub(crate) origin_server_ts: i64,
}

/// Response of [`EventContext`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct EventContextResponse {
    pub(crate) event: ContextEvent,
}

impl Endpoint for EventContext {
    type Response = EventContextResponse;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/rooms/{}/context/{}",
            encode_segment(&self.room_id),
            encode_segment(&self.event_id)
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("limit", "0".into())]
    }

    fn subject(&self) -> String {
        format!("event {}", self.event_id)
    }
}
