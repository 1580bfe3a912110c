//! What both benchmarks set up: the harness's Synapse, a bot account (server admin), an admin
//! played by a real matrix-sdk client, an encrypted room they share, the bot's bot.toml, and
//! helpers to talk to the bot and to Synapse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use serde_json::{Value, json};
use tempfile::TempDir;

use super::client::{Human, Mark, ReceivedMessage, Seen};
use super::process::BotProcess;
use super::synapse::{RegisteredUser, Synapse, http_client};

/// How long the bot may take to start the first time (fresh login, cross-signing, recovery).
pub const FIRST_START_TIMEOUT: Duration = Duration::from_secs(180);

pub struct Env {
    pub synapse: &'static Synapse,
    /// Holds the `admin` role (`allow = ["*"]`); not a server admin.
    pub admin: Human,
    pub room_id: OwnedRoomId,
    pub bot_user: RegisteredUser,
    pub bot_user_id: OwnedUserId,
    pub config_path: PathBuf,
    /// The bot's release binary.
    pub bin: PathBuf,
    /// `<target>/bench`: logs and results.
    pub out_dir: PathBuf,
    /// The bot's config, store and recovery key (inside Synapse's scratch dir, so the harness
    /// watchdog deletes it even if the benchmark is killed).
    _dir: TempDir,
}

/// `$CARGO_TARGET_DIR` or `<repo>/target`.
pub fn target_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => manifest_dir.join(dir),
        None => manifest_dir.join("target"),
    }
}

impl Env {
    /// Sets everything up (the bot is not started: see [`Env::start_bot`]). `extra_toml` is
    /// appended to the bot.toml (e.g. an `[import]` table).
    pub async fn set_up(synapse: &'static Synapse, extra_toml: &str) -> Env {
        let bin = std::env::var_os("SYNDIC_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("release").join("syndic"));
        assert!(
            bin.exists(),
            "{} does not exist: run scripts/bench, which builds it first (cargo build --release --bin syndic)",
            bin.display()
        );
        let out_dir = target_dir().join("bench");
        std::fs::create_dir_all(&out_dir).expect("creating target/bench");

        let localpart = synapse.unique_localpart("syndic-bench");
        let bot_user = synapse
            .register(&localpart, &format!("bot-pw-{localpart}"), true)
            .await;
        let bot_user_id = OwnedUserId::try_from(bot_user.user_id.as_str()).expect("bot id");
        let admin = Human::new(synapse, "admin").await;
        // The admin sends hundreds of messages; Synapse's default rc_message (0.2/s, burst 10)
        // would throttle the client, not the bot (which lifts its own limit).
        synapse
            .admin_post(
                &format!(
                    "/_synapse/admin/v1/users/{}/override_ratelimit",
                    admin.user_id()
                ),
                &json!({ "messages_per_second": 0, "burst_count": 0 }),
            )
            .await;
        let room = admin
            .create_encrypted_room(std::slice::from_ref(&bot_user_id), "syndic bench")
            .await;
        let room_id = room.room_id().to_owned();

        let dir = tempfile::Builder::new()
            .prefix("bench-bot-")
            .tempdir_in(synapse.scratch_dir())
            .expect("creating the bot's directory");
        let config_path = dir.path().join("bot.toml");
        let config = format!(
            "[homeserver]\nurl = {url:?}\n\n[bot]\nuser_id = {bot:?}\npassword = {pw:?}\nstore_path = {store:?}\nrooms = [{room:?}]\nrecovery_key_file = {key:?}\n\n[[roles]]\nname = \"admin\"\nusers = [{admin:?}]\nallow = [\"*\"]\n\n{extra_toml}\n",
            url = synapse.url().as_str(),
            bot = bot_user.user_id,
            pw = bot_user.password,
            store = dir.path().join("data").display().to_string(),
            room = room_id.as_str(),
            key = dir.path().join("recovery-key.txt").display().to_string(),
            admin = admin.user_id().as_str(),
        );
        std::fs::write(&config_path, config).expect("writing bot.toml");
        Env {
            synapse,
            admin,
            room_id,
            bot_user,
            bot_user_id,
            config_path,
            bin,
            out_dir,
            _dir: dir,
        }
    }

    /// Starts `syndic run` and waits until it is ready and the admin sees it in the room.
    pub async fn start_bot(&self, log_name: &str) -> BotProcess {
        let log = self.out_dir.join(log_name);
        let _ = std::fs::remove_file(&log);
        let mut bot = BotProcess::spawn(&self.bin, &self.config_path, &log);
        bot.wait_ready(FIRST_START_TIMEOUT).await;
        self.admin
            .wait_for_join(&self.room_id, &self.bot_user_id, Duration::from_secs(60))
            .await;
        bot
    }

    /// Sends a command as the admin.
    pub async fn say(&self, text: &str) -> OwnedEventId {
        self.admin.send_text(&self.room_id, text).await
    }

    /// The bot's reply to `event` that arrived after `mark`.
    pub async fn reply_to(
        &self,
        mark: Mark,
        event: &EventId,
        timeout: Duration,
    ) -> ReceivedMessage {
        self.reply_from(mark, event, &self.bot_user_id, timeout)
            .await
    }

    /// `bot`'s reply to `event` that arrived after `mark` (also for the comparison bots).
    pub async fn reply_from(
        &self,
        mark: Mark,
        event: &EventId,
        bot: &UserId,
        timeout: Duration,
    ) -> ReceivedMessage {
        let bot = bot.to_owned();
        let event = event.to_owned();
        self.admin
            .wait_for_message_after(
                mark,
                &self.room_id,
                move |m| m.sender == bot && m.in_reply_to.as_ref() == Some(&event),
                timeout,
            )
            .await
    }

    /// Sends a command and waits for the reply.
    pub async fn ask(&self, text: &str, timeout: Duration) -> ReceivedMessage {
        let mark = self.admin.mark();
        let id = self.say(text).await;
        self.reply_to(mark, &id, timeout).await
    }

    /// Uploads a CSV with a caption; returns the upload's ID and the bot's preview.
    pub async fn upload_csv(
        &self,
        name: &str,
        csv: &[u8],
        caption: &str,
        timeout: Duration,
    ) -> (OwnedEventId, ReceivedMessage) {
        let mark = self.admin.mark();
        let id = self
            .admin
            .send_file(&self.room_id, name, csv, "text/csv", Some(caption))
            .await;
        let preview = self.reply_to(mark, &id, timeout).await;
        assert!(
            preview.body.contains("!confirm "),
            "expected an import preview, got: {}",
            preview.body
        );
        (id, preview)
    }

    /// Waits for `Import #<job> finished.` (a new message, not an edit of the progress one).
    pub async fn import_summary(
        &self,
        mark: Mark,
        job: &str,
        timeout: Duration,
    ) -> ReceivedMessage {
        let bot = self.bot_user_id.clone();
        let head = format!("Import #{job} ");
        let summary = self
            .admin
            .wait_for_message_after(
                mark,
                &self.room_id,
                move |m| {
                    m.sender == bot
                        && m.replaces.is_none()
                        && m.body.starts_with(&head)
                        && (m.body.contains(" finished.") || m.body.contains(" cancelled."))
                },
                timeout,
            )
            .await;
        assert!(
            summary.body.contains(" finished."),
            "the import did not finish: {}",
            summary.body
        );
        summary
    }

    /// The bot's ⏳ reaction to `event`, if the admin's client saw one.
    pub fn working_reaction(&self, seen: &[Seen], event: &EventId) -> Option<OwnedEventId> {
        seen.iter().find_map(|s| match s {
            Seen::Reaction(r)
                if r.sender == self.bot_user_id
                    && r.relates_to == event
                    && r.key.starts_with('⏳') =>
            {
                Some(r.event_id.clone())
            }
            _ => None,
        })
    }

    /// `origin_server_ts` of an event in the room (ms since the epoch), as Synapse stored it.
    pub async fn origin_ts(&self, http: &reqwest::Client, event: &EventId) -> f64 {
        let mut url = self.synapse.url();
        url.path_segments_mut()
            .expect("http URL")
            .pop_if_empty()
            .extend([
                "_matrix",
                "client",
                "v3",
                "rooms",
                self.room_id.as_str(),
                "event",
                event.as_str(),
            ]);
        let reply: Value = http
            .get(url.clone())
            .bearer_auth(self.admin.access_token())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        reply["origin_server_ts"]
            .as_f64()
            .unwrap_or_else(|| panic!("no origin_server_ts in {reply}"))
    }

    /// The harness admin's token (a server admin, for direct Admin API calls).
    pub async fn server_admin(&self) -> RegisteredUser {
        self.synapse.harness_admin().await.clone()
    }
}

/// A reqwest client for direct calls (keep-alive, no proxy: everything is on loopback).
pub fn http() -> reqwest::Client {
    http_client()
}

/// `CODE` from a preview's `!confirm CODE`.
pub fn confirm_code(preview: &ReceivedMessage) -> String {
    let at = preview
        .body
        .find("!confirm ")
        .unwrap_or_else(|| panic!("no !confirm in {:?}", preview.body));
    preview.body[at + 9..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// `N` from a preview's `Job #N.`.
pub fn job_number(preview: &ReceivedMessage) -> String {
    let at = preview
        .body
        .rfind("Job #")
        .unwrap_or_else(|| panic!("no job number in {}", preview.body));
    preview.body[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// The number after `label` in a summary (e.g. `Created: 500`).
pub fn count_after(body: &str, label: &str) -> Option<u64> {
    let at = body.find(label)? + label.len();
    body[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}
