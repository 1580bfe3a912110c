//! The whole pipeline and the confirmation flow in-process: a recording chat port instead of
//! Matrix, a wiremock server instead of Synapse. Each test states the boundary it guards and
//! checks what reached "Synapse" (the requests the mock received), not only the replies.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, MessageType, RoomMessageEventContent,
};
use matrix_sdk::ruma::{
    EventId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId, owned_mxc_uri,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::confirmation::{ReactionIn, on_reaction};
use super::pipeline::{MessageIn, on_message};
use crate::admin_api::AdminClient;
use crate::admin_api::accounts::Accounts;
use crate::config::{Config, SecretSource};
use crate::context::Ctx;
use crate::matrix::chat::{Chat, ChatError, FileEvent};
use crate::report::{Attachment, Reply};
use crate::store::Store;

/// What the bot did in the room, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Reply {
        id: OwnedEventId,
        to: Option<OwnedEventId>,
        text: String,
    },
    React {
        to: OwnedEventId,
        key: String,
    },
    Unreact,
    Edit,
    File(String),
}

/// The chat port, recording instead of sending.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Sent>>,
    /// Joined members' power levels in the room.
    levels: Mutex<HashMap<OwnedUserId, i64>>,
}

impl Recorder {
    fn push(&self, s: Sent) -> OwnedEventId {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(s);
        OwnedEventId::try_from(format!("$bot{}", sent.len())).expect("event id")
    }

    fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Chat for Recorder {
    async fn reply(
        &self,
        _: &RoomId,
        to: Option<&EventId>,
        reply: &Reply,
    ) -> Result<crate::matrix::chat::Sent, ChatError> {
        let n = self.sent.lock().unwrap_or_else(|p| p.into_inner()).len() + 1;
        let id = OwnedEventId::try_from(format!("$bot{n}")).expect("event id");
        self.push(Sent::Reply {
            id: id.clone(),
            to: to.map(ToOwned::to_owned),
            text: reply.plain(),
        });
        Ok(crate::matrix::chat::Sent {
            event_id: id,
            secret_files: Vec::new(),
        })
    }
    async fn redact(&self, _: &RoomId, _: &EventId, _: &str) -> Result<(), ChatError> {
        Ok(())
    }
    async fn react(&self, _: &RoomId, to: &EventId, key: &str) -> Option<OwnedEventId> {
        Some(self.push(Sent::React {
            to: to.to_owned(),
            key: key.to_owned(),
        }))
    }
    async fn unreact(&self, _: &RoomId, _: &EventId) {
        self.push(Sent::Unreact);
    }
    async fn edit(&self, _: &RoomId, _: &EventId, _: &Reply) -> Result<(), ChatError> {
        self.push(Sent::Edit);
        Ok(())
    }
    async fn send_file(
        &self,
        _: &RoomId,
        _: Option<&EventId>,
        file: &Attachment,
    ) -> Result<OwnedEventId, ChatError> {
        Ok(self.push(Sent::File(file.filename.clone())))
    }
    async fn file_event(&self, _: &RoomId, _: &EventId) -> Option<FileEvent> {
        None
    }
    async fn download(&self, _: &FileMessageEventContent, _: u64) -> Result<Vec<u8>, ChatError> {
        Err(ChatError::Download("no files in this test".into()))
    }
    async fn power_level(&self, _: &RoomId, user: &UserId) -> Option<i64> {
        let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.get(user).copied()
    }
    async fn joined_members(&self, _: &RoomId) -> Vec<(OwnedUserId, i64)> {
        let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.iter().map(|(u, l)| (u.clone(), *l)).collect()
    }
}

struct NoEnv;
impl SecretSource for NoEnv {
    fn get(&self, _: &str) -> Option<String> {
        None
    }
}

const ROOM: &str = "!admins:example.org";
const ALICE: &str = "@alice:example.org";
const BOB: &str = "@bob:example.org";
const SPAM: &str = "%40spam%3Aexample.org";

struct Harness {
    ctx: Arc<Ctx>,
    chat: Arc<Recorder>,
    synapse: MockServer,
    _dir: tempfile::TempDir,
    next_event: Mutex<u32>,
}

impl Harness {
    async fn new(confirm_timeout: &str) -> Self {
        Self::new_with(confirm_timeout, "").await
    }

    /// With more of bot.toml after the roles (a `[safety]` section, say).
    async fn new_with(confirm_timeout: &str, tail: &str) -> Self {
        let synapse = MockServer::start().await;
        let dir = tempfile::tempdir().expect("tmp");
        let text = format!(
            r#"
[homeserver]
url = "{url}"
server_name = "example.org"

[bot]
user_id = "@syndic:example.org"
password = "unused"
store_path = "{store}"
rooms = ["{ROOM}"]
confirm_timeout = "{confirm_timeout}"

[[roles]]
name = "admin"
users = ["{ALICE}"]
allow = ["*"]

[[roles]]
name = "helpdesk"
users = ["{BOB}"]
allow = ["user.info", "help"]

{tail}
"#,
            url = synapse.uri(),
            store = dir.path().display(),
        );
        let config = Config::parse(&text, Path::new("/test/bot.toml"), &NoEnv).expect("config");
        let admin = AdminClient::new(config.homeserver_url.clone(), "token".into()).expect("admin");
        let store = Store::open(dir.path()).expect("store");
        let chat = Arc::new(Recorder::default());
        let rooms: HashSet<OwnedRoomId> = [OwnedRoomId::try_from(ROOM).expect("room")].into();
        let user_id = OwnedUserId::try_from("@syndic:example.org").expect("user");
        let accounts = Accounts::synapse_only(admin.clone());
        let ctx = Arc::new(Ctx::new(
            config,
            chat.clone(),
            admin,
            accounts,
            store,
            user_id,
            rooms,
        ));
        Harness {
            ctx,
            chat,
            synapse,
            _dir: dir,
            next_event: Mutex::new(0),
        }
    }

    fn event_id(&self) -> OwnedEventId {
        let mut n = self.next_event.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        OwnedEventId::try_from(format!("$in{n}")).expect("event id")
    }

    async fn say(&self, sender: &str, content: RoomMessageEventContent) -> OwnedEventId {
        self.say_from_session(sender, content, true).await
    }

    async fn say_from_session(
        &self,
        sender: &str,
        content: RoomMessageEventContent,
        verified: bool,
    ) -> OwnedEventId {
        let event_id = self.event_id();
        let msg = MessageIn {
            room_id: OwnedRoomId::try_from(ROOM).expect("room"),
            sender: OwnedUserId::try_from(sender).expect("sender"),
            event_id: event_id.clone(),
            room_encrypted: true,
            device_verified: verified,
            content,
            sent_at_ms: None,
        };
        on_message(self.ctx.clone(), msg).await;
        event_id
    }

    async fn type_text(&self, sender: &str, text: &str) -> OwnedEventId {
        self.say(sender, RoomMessageEventContent::text_plain(text))
            .await
    }

    async fn react(&self, sender: &str, target: &EventId, key: &str) {
        let reaction = ReactionIn {
            room_id: OwnedRoomId::try_from(ROOM).expect("room"),
            sender: OwnedUserId::try_from(sender).expect("sender"),
            event_id: self.event_id(),
            room_encrypted: true,
            key: key.to_owned(),
            target: target.to_owned(),
        };
        on_reaction(self.ctx.clone(), reaction).await;
    }

    /// Requests Synapse received, as `METHOD /path`.
    async fn requests(&self) -> Vec<String> {
        self.synapse
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }

    async fn deactivations(&self) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r.starts_with("POST /_synapse/admin/v1/deactivate/"))
            .count()
    }
}

/// A Synapse that knows @spam:example.org, an ordinary account in no rooms.
async fn mock_spam_account(synapse: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/_synapse/admin/v2/users/{SPAM}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "name": "@spam:example.org", "admin": false, "deactivated": false
        })))
        .mount(synapse)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/_synapse/admin/v1/users/{SPAM}/joined_rooms"
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"joined_rooms": [], "total": 0})),
        )
        .mount(synapse)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/_synapse/admin/v1/deactivate/{SPAM}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id_server_unbind_result": "success"
        })))
        .mount(synapse)
        .await;
}

/// The preview's event ID and its code.
fn preview_of(sent: &[Sent]) -> (OwnedEventId, String) {
    sent.iter()
        .find_map(|s| match s {
            Sent::Reply { id, text, .. } if text.contains("!confirm ") => {
                let code = text
                    .split("!confirm ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .expect("a code")
                    .to_owned();
                Some((id.clone(), code))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no preview in {sent:?}"))
}

fn replies(sent: &[Sent]) -> Vec<&str> {
    sent.iter()
        .filter_map(|s| match s {
            Sent::Reply { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_preview_waits_for_its_sender_and_runs_once() {
    let h = Harness::new("10m").await;
    mock_spam_account(&h.synapse).await;
    let command = h.type_text(ALICE, "!deactivate @spam:example.org").await;
    let sent = h.chat.take();
    let (preview, code) = preview_of(&sent);
    assert!(
        replies(&sent)[0].starts_with("Deactivate @spam:example.org"),
        "{sent:?}"
    );
    assert_eq!(h.deactivations().await, 0, "a preview changes nothing");

    // ✅ by another role holder is refused and leaves the preview waiting for its author.
    h.react(BOB, &preview, "✅").await;
    let sent = h.chat.take();
    assert!(
        replies(&sent)
            .iter()
            .any(|r| r.starts_with("Only @alice:example.org can confirm")),
        "{sent:?}"
    );
    assert_eq!(
        h.deactivations().await,
        0,
        "another sender's ✅ must not confirm"
    );
    h.type_text(BOB, &format!("!confirm {code}")).await;
    assert_eq!(
        h.deactivations().await,
        0,
        "another sender's code must not confirm"
    );
    h.chat.take();

    // ✅ by the author runs it, once, and marks the command.
    h.react(ALICE, &preview, "✅\u{FE0F}").await;
    let sent = h.chat.take();
    assert_eq!(h.deactivations().await, 1, "{sent:?}");
    assert!(
        replies(&sent)
            .iter()
            .any(|r| r.starts_with("Deactivated @spam:example.org.")),
        "{sent:?}"
    );
    assert!(sent.contains(&Sent::React {
        to: command,
        key: "✅".into()
    }));

    // The same code, or a replayed ✅, never runs it again.
    h.type_text(ALICE, &format!("!confirm {code}")).await;
    h.react(ALICE, &preview, "✅").await;
    let sent = h.chat.take();
    assert_eq!(h.deactivations().await, 1, "a used code must not run twice");
    assert!(
        replies(&sent)
            .iter()
            .any(|r| r.starts_with(&format!("No pending command has code {code}"))),
        "{sent:?}"
    );
}

#[tokio::test]
async fn an_expired_code_runs_nothing() {
    let h = Harness::new("1s").await;
    mock_spam_account(&h.synapse).await;
    h.type_text(ALICE, "!deactivate @spam:example.org --erase")
        .await;
    let (_, code) = preview_of(&h.chat.take());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    h.type_text(ALICE, &format!("!confirm {code}")).await;
    let sent = h.chat.take();
    assert!(
        replies(&sent)
            .iter()
            .any(|r| r.starts_with(&format!("Code {code} expired"))),
        "{sent:?}"
    );
    assert_eq!(h.deactivations().await, 0, "an expired code must not run");
}

#[tokio::test]
async fn a_narrower_role_is_refused_before_any_request() {
    let h = Harness::new("10m").await;
    mock_spam_account(&h.synapse).await;
    let command = h.type_text(BOB, "!deactivate @spam:example.org").await;
    let sent = h.chat.take();
    assert_eq!(
        replies(&sent),
        vec!["Refused: your role does not allow this (needs permission user.deactivate)."]
    );
    assert!(sent.contains(&Sent::React {
        to: command,
        key: "❌".into()
    }));
    assert_eq!(
        h.requests().await,
        Vec::<String>::new(),
        "authorization comes before any I/O"
    );
    // A role holder may look up, and only look up. A query's reply is its whole answer: no ✅
    // on the command (one send less); a query that fails still gets ❌.
    let lookup = h.type_text(BOB, "!user spam").await;
    let sent = h.chat.take();
    assert!(
        replies(&sent)[0].starts_with("@spam:example.org"),
        "the same sender's permitted command runs"
    );
    assert!(
        !sent
            .iter()
            .any(|s| matches!(s, Sent::React { to, .. } if *to == lookup)),
        "{sent:?}"
    );
    let missing = h.type_text(BOB, "!user @nobody:elsewhere.org").await;
    let sent = h.chat.take();
    assert!(
        sent.contains(&Sent::React {
            to: missing,
            key: "❌".into()
        }),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_file_on_a_command_that_takes_none_is_refused() {
    let h = Harness::new("10m").await;
    let mut file =
        FileMessageEventContent::plain("!ping".into(), owned_mxc_uri!("mxc://example.org/AbCdEf"));
    file.filename = Some("users.csv".into());
    h.say(ALICE, RoomMessageEventContent::new(MessageType::File(file)))
        .await;
    let sent = h.chat.take();
    let said = replies(&sent);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("!ping takes no file; these do: ") && said[0].contains("!import-users"),
        "{said:?}"
    );
    assert_eq!(
        h.requests().await,
        Vec::<String>::new(),
        "nothing was asked of Synapse"
    );
}

#[tokio::test]
async fn the_same_event_is_acted_on_once_and_strangers_are_not_answered_here() {
    let h = Harness::new("10m").await;
    let mut seen = HashMap::new();
    let id = h.type_text(ALICE, "!help").await;
    seen.insert(id.clone(), h.chat.take().len());
    // The gate drops strangers before the pipeline; the pipeline itself still claims events once.
    let msg = MessageIn {
        room_id: OwnedRoomId::try_from(ROOM).expect("room"),
        sender: OwnedUserId::try_from(ALICE).expect("sender"),
        event_id: id.clone(),
        room_encrypted: true,
        device_verified: true,
        content: RoomMessageEventContent::text_plain("!help"),
        sent_at_ms: None,
    };
    on_message(h.ctx.clone(), msg).await;
    assert!(
        h.chat.take().is_empty(),
        "a replayed event must not be answered twice"
    );
    assert_eq!(seen[&id], 1, "help was answered (a query gets no ✅)");
}

#[tokio::test]
async fn a_schedule_whose_room_is_no_longer_an_admin_room_is_paused() {
    let h = Harness::new("10m").await;
    let spec = crate::store::ScheduleSpec {
        interval: Duration::from_secs(60),
        at: None,
        argv: vec!["ping".into()],
    };
    h.ctx
        .store
        .create_schedule("!gone:example.org", ALICE, "$made", &spec, true)
        .expect("schedule");
    h.type_text(ALICE, "!schedules").await;
    let sent = h.chat.take();
    assert!(
        replies(&sent)[0].contains("paused: !gone:example.org is no longer an admin room"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn an_unverified_session_is_refused_before_the_command_is_read() {
    let h = Harness::new("10m").await;
    mock_spam_account(&h.synapse).await;
    h.say_from_session(
        ALICE,
        RoomMessageEventContent::text_plain("!deactivate @spam:example.org"),
        false,
    )
    .await;
    let sent = h.chat.take();
    assert!(
        replies(&sent)[0].starts_with("Verify this session first"),
        "{sent:?}"
    );
    assert_eq!(
        h.requests().await,
        Vec::<String>::new(),
        "nothing reached Synapse"
    );
}

#[tokio::test]
async fn a_card_button_needing_a_second_approver_is_refused_and_changes_nothing() {
    let h = Harness::new_with("10m", "[safety]\ntwo_person = [\"user.suspend\"]\n").await;
    let id = h
        .ctx
        .store
        .add_report(&crate::store::NewReport {
            kind: "event",
            synapse_id: 1,
            received_ts: 0,
            reporter: BOB.into(),
            target_user: Some("@spam:example.org".into()),
            room_id: Some(ROOM.into()),
            event_id: Some("$reported".into()),
            reason: None,
            media: None,
            summary: "About: @spam:example.org".into(),
        })
        .expect("store")
        .expect("new");
    h.ctx
        .store
        .set_report_card(id, ROOM, "$card")
        .expect("card");
    let card = OwnedEventId::try_from("$card").expect("id");
    h.react(ALICE, &card, "⏸").await;
    assert_eq!(
        h.requests().await,
        Vec::<String>::new(),
        "nothing was asked of Synapse"
    );
    let row = h.ctx.store.report(id).expect("read").expect("row");
    assert_eq!(row.state, crate::store::ReportState::Open);
}

#[tokio::test]
async fn a_card_button_where_only_typed_codes_count_says_what_to_type_and_does_nothing() {
    let h = Harness::new_with("10m", "[safety]\nconfirm_with = \"code\"\n").await;
    let id = h
        .ctx
        .store
        .add_report(&crate::store::NewReport {
            kind: "user",
            synapse_id: 7,
            received_ts: 0,
            reporter: BOB.into(),
            target_user: Some("@spam:example.org".into()),
            room_id: None,
            event_id: None,
            reason: None,
            media: None,
            summary: "About: the account @spam:example.org".into(),
        })
        .expect("store")
        .expect("new");
    h.ctx
        .store
        .set_report_card(id, ROOM, "$card7")
        .expect("card");
    let card = OwnedEventId::try_from("$card7").expect("id");
    h.react(ALICE, &card, "⏸").await;
    assert_eq!(
        h.requests().await,
        Vec::<String>::new(),
        "nothing was asked of Synapse"
    );
    let sent = h.chat.take();
    let said = replies(&sent);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("!suspend @spam:example.org"), "{said:?}");
}
