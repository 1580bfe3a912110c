//! A running Syndic for a test: its own bot account, an admin [`Human`] with the `admin` role, an
//! encrypted admin room they share, and a config written from a [`Spec`]. The bot runs in-process
//! (the same code as `syndic run`) and can be stopped and started again on the same store.
//! With [`Spec::mas`] all of it is on the MAS-mode Synapse: the bot logs in with a compat token
//! the stand-in issued (`bot.access_token_file`, `bot.device_id`) and reaches MAS's admin API
//! through a `[mas]` table.

use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use syndic::app::BotHandle;
use syndic::config::Config;
use tempfile::TempDir;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use super::{DEFAULT_TIMEOUT, Human, ReceivedMessage, RegisteredUser, Synapse};

/// The device the MAS-mode bot's compat token is issued for (`bot.device_id`).
pub const MAS_BOT_DEVICE: &str = "SYNDICBOT";

/// The bot's token file and the MAS client secret's file, beside the config (0600).
const MAS_TOKEN_FILE: &str = "bot-access-token";
const MAS_CLIENT_SECRET_FILE: &str = "mas-client-secret";

/// What goes into the test's bot.toml beyond the defaults.
#[derive(Default, Clone)]
pub struct Spec {
    /// Extra roles: (name, users, permissions).
    pub roles: Vec<(String, Vec<String>, Vec<String>)>,
    pub protected_users: Vec<String>,
    /// Extra `key = value` lines for the `[bot]` table, e.g. `confirm_timeout = "2s"`.
    pub bot_lines: Vec<String>,
    /// Extra `key = value` lines for the `[safety]` table.
    pub safety_lines: Vec<String>,
    /// Extra TOML appended at the end (e.g. an `[import]` table).
    pub tail: String,
    /// Create the admin room unencrypted (to test what the bot refuses there).
    pub unencrypted_room: bool,
    /// Where the bot reaches the homeserver (a [`super::proxy::Proxy`]), instead of Synapse itself.
    pub homeserver_url: Option<url::Url>,
    /// Leave `recovery_key_file` unset (the key goes to the store, the default) instead of
    /// `recovery-key.txt` beside the config.
    pub key_file_in_store: bool,
    /// More encrypted admin rooms made by the admin with the bot invited, listed in `bot.rooms`
    /// after the first ([`Fixture::extra_rooms`]).
    pub extra_rooms: usize,
    /// Run on [`Synapse::shared_mas`]: every account is made through the MAS stand-in and the
    /// bot logs in with a token ([`Spec::mas`]).
    pub mas: bool,
}

impl Spec {
    /// A spec for the MAS-mode Synapse (chain the other builders as usual).
    pub fn mas() -> Self {
        Spec {
            mas: true,
            ..Spec::default()
        }
    }
    pub fn role(mut self, name: &str, users: &[&UserId], allow: &[&str]) -> Self {
        self.roles.push((
            name.into(),
            users.iter().map(|u| u.to_string()).collect(),
            allow.iter().map(|s| (*s).to_owned()).collect(),
        ));
        self
    }
    pub fn protect(mut self, user: &str) -> Self {
        self.protected_users.push(user.into());
        self
    }
    pub fn safety_line(mut self, line: &str) -> Self {
        self.safety_lines.push(line.into());
        self
    }
    pub fn bot_line(mut self, line: &str) -> Self {
        self.bot_lines.push(line.into());
        self
    }
    pub fn extra_rooms(mut self, n: usize) -> Self {
        self.extra_rooms = n;
        self
    }
}

/// Purging media deletes every old enough file on the shared Synapse, other tests' attachments
/// included: such tests take this lock exclusively, every other fixture holds it shared.
static MEDIA: std::sync::LazyLock<Arc<RwLock<()>>> =
    std::sync::LazyLock::new(|| Arc::new(RwLock::new(())));

/// Held by a fixture: shared by ordinary tests, exclusive for tests that purge media.
pub enum MediaGuard {
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Exclusive(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

pub async fn media_shared() -> MediaGuard {
    MediaGuard::Shared(MEDIA.clone().read_owned().await)
}

pub async fn media_exclusive() -> MediaGuard {
    MediaGuard::Exclusive(MEDIA.clone().write_owned().await)
}

pub struct Fixture {
    pub synapse: &'static Synapse,
    /// Holds the `admin` role (`allow = ["*"]`).
    pub admin: Human,
    pub room_id: OwnedRoomId,
    /// The further admin rooms of [`Spec::extra_rooms`], joined by the bot like the first.
    pub extra_rooms: Vec<OwnedRoomId>,
    pub bot_user: RegisteredUser,
    pub bot_user_id: OwnedUserId,
    pub config_path: PathBuf,
    pub store: TempDir,
    handle: Option<BotHandle>,
    _media: MediaGuard,
}

/// Installs the run's log subscriber (once): the test's output, and the file the secrets check reads.
pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("SYNDIC_LOG")
            .unwrap_or_else(|_| "syndic=info,matrix_sdk=error,matrix_sdk::http_client=off".into());
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let console = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(tracing_subscriber::EnvFilter::new(filter));
        // Everything the bots log, at debug, for the check that no secret is in it.
        let file = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(super::secrets::log_writer())
            .with_filter(tracing_subscriber::EnvFilter::new(
                super::secrets::LOG_FILTER,
            ));
        let _ = tracing_subscriber::registry()
            .with(console)
            .with(file)
            .try_init();
    });
}

impl Drop for Fixture {
    /// The bot's own secrets join the run's, and none may be in what the bots logged so far.
    fn drop(&mut self) {
        let data = self.store.path().join("data");
        if let Ok(session) = std::fs::read_to_string(data.join("session.json"))
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(&session)
        {
            remember_strings_named(&json, &["access_token", "refresh_token"]);
        }
        for key_file in [
            self.store.path().join("recovery-key.txt"),
            data.join("recovery-key"),
        ] {
            if let Ok(key) = std::fs::read_to_string(key_file) {
                super::secrets::remember(&key);
            }
        }
        if !std::thread::panicking() {
            super::secrets::assert_none_logged();
        }
    }
}

fn remember_strings_named(json: &serde_json::Value, names: &[&str]) {
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if names.contains(&k.as_str()) => {
                        super::secrets::remember(s)
                    }
                    _ => remember_strings_named(v, names),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                remember_strings_named(v, names);
            }
        }
        _ => {}
    }
}

impl Fixture {
    /// Sets everything up and starts the bot. `spec` gets the admin's ID to build roles.
    pub async fn start(spec: impl FnOnce(&UserId) -> Spec) -> Fixture {
        Self::start_with(spec, Vec::new()).await
    }

    /// Like [`Fixture::start`], inviting `others` to the room too (they join themselves).
    pub async fn start_with(spec: impl FnOnce(&UserId) -> Spec, others: Vec<&Human>) -> Fixture {
        Self::start_guarded(spec, others, media_shared().await).await
    }

    /// For tests that purge media: no other fixture runs meanwhile.
    pub async fn start_exclusive(
        spec: impl FnOnce(&UserId) -> Spec,
        others: Vec<&Human>,
    ) -> Fixture {
        Self::start_guarded(spec, others, media_exclusive().await).await
    }

    async fn start_guarded(
        spec: impl FnOnce(&UserId) -> Spec,
        others: Vec<&Human>,
        media: MediaGuard,
    ) -> Fixture {
        let mut fx = Self::prepare_guarded(spec, others, media).await;
        fx.start_bot().await;
        fx.wait_for_bot_to_join().await;
        fx
    }

    /// Everything [`Fixture::start`] sets up (accounts, room, config) but the bot is not started:
    /// for tests of the first start itself.
    pub async fn prepare(spec: impl FnOnce(&UserId) -> Spec) -> Fixture {
        Self::prepare_guarded(spec, Vec::new(), media_shared().await).await
    }

    /// Waits until the admin sees the bot in every admin room.
    pub async fn wait_for_bot_to_join(&self) {
        for room in std::iter::once(&self.room_id).chain(&self.extra_rooms) {
            self.admin
                .wait_for_join(room, &self.bot_user_id, DEFAULT_TIMEOUT)
                .await;
        }
    }

    async fn prepare_guarded(
        spec: impl FnOnce(&UserId) -> Spec,
        others: Vec<&Human>,
        media: MediaGuard,
    ) -> Fixture {
        init_logging();
        // The admin's ID is known before its account exists: the spec (which may name it in a
        // role) decides which Synapse the account is made on.
        let admin_localpart = super::synapse::unique_localpart("admin");
        let admin_id =
            OwnedUserId::try_from(super::synapse::user_id_of(&admin_localpart)).expect("admin id");
        let spec = spec(&admin_id);
        let synapse = if spec.mas {
            Synapse::shared_mas()
        } else {
            Synapse::shared()
        };
        let localpart = synapse.unique_localpart("syndic");
        let bot_user = synapse
            .register(&localpart, &format!("bot-pw-{localpart}"), true)
            .await;
        let bot_user_id = OwnedUserId::try_from(bot_user.user_id.as_str()).expect("bot id");
        let admin = Human::with_localpart(synapse, &admin_localpart).await;
        let mut invite = vec![bot_user_id.clone()];
        invite.extend(others.iter().map(|h| h.user_id()));
        let room = if spec.unencrypted_room {
            admin.create_plain_room(&invite, "syndic test").await
        } else {
            admin.create_encrypted_room(&invite, "syndic test").await
        };
        let room_id = room.room_id().to_owned();
        for other in &others {
            other.join(&room_id).await;
        }
        let mut extra_rooms = Vec::new();
        for i in 0..spec.extra_rooms {
            let name = format!("syndic test {}", i + 2);
            let room = admin.create_encrypted_room(&invite, &name).await;
            for other in &others {
                other.join(room.room_id()).await;
            }
            extra_rooms.push(room.room_id().to_owned());
        }
        let rooms_line = admin_rooms_line(std::iter::once(&room_id).chain(&extra_rooms));

        let store = tempfile::Builder::new()
            .prefix("syndic-e2e-bot-")
            .tempdir()
            .expect("tempdir");
        let config_path = store.path().join("bot.toml");
        let mut roles = format!(
            "[[roles]]\nname = \"admin\"\nusers = [\"{}\"]\nallow = [\"*\"]\n",
            admin.user_id()
        );
        for (name, users, allow) in &spec.roles {
            roles.push_str(&format!(
                "\n[[roles]]\nname = {name:?}\nusers = {users:?}\nallow = {allow:?}\n"
            ));
        }
        let (login_lines, mas_table) = match synapse.mas() {
            None => (
                format!("password = {:?}\n", bot_user.password),
                String::new(),
            ),
            Some(_) => mas_login(synapse, &bot_user, store.path()).await,
        };
        let config = format!(
            "[homeserver]\nurl = \"{url}\"\n\n[bot]\nuser_id = \"{bot}\"\n{login_lines}store_path = \"data\"\n{rooms_line}\n{key_file}{bot_lines}\n\n{roles}\n[safety]\nprotected_users = {protected:?}\n{safety_lines}\n\n{mas_table}{tail}\n",
            url = spec.homeserver_url.clone().unwrap_or_else(|| synapse.url()),
            bot = bot_user.user_id,
            key_file = if spec.key_file_in_store {
                ""
            } else {
                "recovery_key_file = \"recovery-key.txt\"\n"
            },
            bot_lines = spec.bot_lines.join("\n"),
            protected = spec.protected_users,
            safety_lines = spec.safety_lines.join("\n"),
            tail = spec.tail,
        );
        std::fs::write(&config_path, config).expect("write config");

        Fixture {
            synapse,
            admin,
            room_id,
            extra_rooms,
            bot_user,
            bot_user_id,
            config_path,
            store,
            handle: None,
            _media: media,
        }
    }

    /// Rewrites `bot.rooms` in the config to exactly `rooms` (takes effect at the next
    /// [`Fixture::start_bot`]).
    pub fn set_admin_rooms(&self, rooms: &[&OwnedRoomId]) {
        let config = std::fs::read_to_string(&self.config_path).expect("read config");
        let line = admin_rooms_line(rooms.iter().copied());
        let rewritten: Vec<String> = config
            .lines()
            .map(|l| {
                if l.starts_with("rooms = [") {
                    line.clone()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        assert!(
            config.lines().any(|l| l.starts_with("rooms = [")),
            "no rooms line in the config"
        );
        std::fs::write(&self.config_path, rewritten.join("\n") + "\n").expect("write config");
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path).expect("valid test config")
    }

    pub async fn start_bot(&mut self) {
        self.try_start_bot().await.expect("the bot starts");
    }

    /// Starts the bot; the error if it does not start.
    pub async fn try_start_bot(&mut self) -> anyhow::Result<()> {
        assert!(self.handle.is_none(), "bot already running");
        self.handle = Some(syndic::app::start(self.config()).await?);
        Ok(())
    }

    /// Whether the admin's client sees the bot's `device` as cross-signed by its owner
    /// (Element's "verified by its owner"), asking the server for fresh keys until it does or
    /// `timeout` passes.
    pub async fn cross_signed_by_owner(&self, device: &str, timeout: Duration) -> bool {
        let encryption = self.admin.client.encryption();
        let device_id: matrix_sdk::ruma::OwnedDeviceId = device.into();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let _ = encryption.request_user_identity(&self.bot_user_id).await;
            if let Ok(Some(d)) = encryption.get_device(&self.bot_user_id, &device_id).await
                && d.is_cross_signed_by_owner()
            {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub async fn stop_bot(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }

    /// Waits until the bot stops by itself (a fatal error), at most `timeout`.
    pub async fn wait_for_bot_to_stop(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let handle = self.handle.as_mut().expect("bot running");
        let result = tokio::time::timeout(timeout, handle.wait())
            .await
            .expect("the bot did not stop");
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
        result
    }

    pub fn bot(&self) -> &BotHandle {
        self.handle.as_ref().expect("bot running")
    }

    /// Sends a command as the admin.
    pub async fn say(&self, text: &str) -> OwnedEventId {
        self.admin.send_text(&self.room_id, text).await
    }

    /// Sends a command as the admin and waits for the bot's reply to it.
    pub async fn ask(&self, text: &str) -> ReceivedMessage {
        let id = self.say(text).await;
        self.reply_to(&self.admin, &id).await
    }

    /// Sends a command as `who` and waits for the bot's reply to it.
    pub async fn ask_as(&self, who: &Human, text: &str) -> ReceivedMessage {
        let id = who.send_text(&self.room_id, text).await;
        self.reply_to(who, &id).await
    }

    /// Sends a command as the admin in another admin room and waits for the bot's reply there.
    pub async fn ask_in(&self, room: &OwnedRoomId, text: &str) -> ReceivedMessage {
        let id = self.admin.send_text(room, text).await;
        self.reply_in(&self.admin, room, &id).await
    }

    /// The bot's reply to `event`, as seen by `who`.
    pub async fn reply_to(&self, who: &Human, event: &EventId) -> ReceivedMessage {
        self.reply_in(who, &self.room_id, event).await
    }

    /// The bot's reply to `event` in `room`, as seen by `who`.
    pub async fn reply_in(
        &self,
        who: &Human,
        room: &OwnedRoomId,
        event: &EventId,
    ) -> ReceivedMessage {
        let bot = self.bot_user_id.clone();
        let event = event.to_owned();
        who.wait_for_message(
            room,
            move |m| m.sender == bot && m.in_reply_to.as_ref() == Some(&event),
            DEFAULT_TIMEOUT,
        )
        .await
    }

    /// GET on the Admin API as the harness admin.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        self.synapse.admin_get(path).await
    }

    /// The user's record on Synapse (`GET /_synapse/admin/v2/users/<id>`).
    pub async fn user_on_server(&self, user_id: &str) -> serde_json::Value {
        self.admin_get(&format!("/_synapse/admin/v2/users/{user_id}"))
            .await
    }

    /// Registers a plain user (not in the room) and returns its ID.
    pub async fn plain_user(&self, prefix: &str) -> String {
        let localpart = self.synapse.unique_localpart(prefix);
        self.synapse
            .register(&localpart, &format!("pw-{localpart}"), false)
            .await
            .user_id
    }
}

/// The MAS-mode bot's login: a compat token with the Synapse-admin scope for
/// [`MAS_BOT_DEVICE`] (what `mas-cli manage issue-compatibility-token ...
/// --yes-i-want-to-grant-synapse-admin-privileges` gives an operator) in a 0600 file beside the
/// config, and the `[mas]` table with the admin client's secret in another. Returns the `[bot]`
/// lines and the table.
async fn mas_login(
    synapse: &Synapse,
    bot_user: &RegisteredUser,
    dir: &std::path::Path,
) -> (String, String) {
    let mas = synapse.mas().expect("a MAS-mode Synapse");
    let token = mas
        .compat_token(&bot_user.localpart, Some(MAS_BOT_DEVICE), true)
        .await;
    write_private(&dir.join(MAS_TOKEN_FILE), &token.access_token);
    let login_lines =
        format!("access_token_file = {MAS_TOKEN_FILE:?}\ndevice_id = {MAS_BOT_DEVICE:?}\n");
    write_private(&dir.join(MAS_CLIENT_SECRET_FILE), mas.client_secret());
    let table = format!(
        "[mas]\nurl = {url:?}\nclient_id = {id:?}\nclient_secret_file = {MAS_CLIENT_SECRET_FILE:?}\n\n",
        url = mas.url().as_str(),
        id = mas.client_id(),
    );
    (login_lines, table)
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &std::path::Path, contents: &str) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    file.write_all(contents.as_bytes())
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The `bot.rooms` line of the config for `rooms`.
fn admin_rooms_line<'a>(rooms: impl IntoIterator<Item = &'a OwnedRoomId>) -> String {
    let ids: Vec<String> = rooms.into_iter().map(|r| r.to_string()).collect();
    format!("rooms = {ids:?}")
}

/// The confirmation code in a preview (`!confirm ABC123`).
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

/// `syndic check-config --config <config>` as an admin runs it: whether it passed, and what it
/// printed.
pub fn check_config(config: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndic"))
        .args(["check-config", "--config"])
        .arg(config)
        .output()
        .expect("run syndic");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Generous pause for "nothing happens" assertions.
pub const QUIET: Duration = Duration::from_secs(4);
