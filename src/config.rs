//! bot.toml → [`Config`]: the file's shape, secrets from files and the environment, and validation
//! with messages that name the file, the line and the key to fix.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::ruma::{OwnedDeviceId, OwnedRoomOrAliasId, OwnedServerName, OwnedUserId, UserId};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::auth::{Permission, Role, Roles};

/// Environment variable that may hold the bot's password instead of the file.
pub const PASSWORD_ENV: &str = "SYNDIC_PASSWORD";
/// Environment variable that may hold the recovery key used to restore the bot's identity.
pub const RECOVERY_KEY_ENV: &str = "SYNDIC_RECOVERY_KEY";

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// How the bot logs in.
#[derive(Debug, Clone)]
pub enum Login {
    /// `bot.password`, `bot.password_file` or `SYNDIC_PASSWORD`: a password login on the first
    /// start, the saved session afterwards.
    Password(Secret),
    /// `bot.access_token_file` + `bot.device_id`: a token issued for the bot (on a server that
    /// delegates accounts to MAS: a personal session or a compatibility token with the
    /// `urn:synapse:admin:*` scope), read on every start, so it can be replaced.
    AccessToken {
        token: Secret,
        device_id: OwnedDeviceId,
    },
}

impl Login {
    /// The password, for user-interactive authentication; `None` with a token.
    pub fn password(&self) -> Option<&Secret> {
        match self {
            Login::Password(p) => Some(p),
            Login::AccessToken { .. } => None,
        }
    }

    /// What `check-config` and the start-up log say about the login mode.
    pub fn describe(&self) -> String {
        match self {
            Login::Password(_) => "password login".to_owned(),
            Login::AccessToken { device_id, .. } => {
                format!("access token (bot.access_token_file), device {device_id}")
            }
        }
    }
}

/// A configuration problem, rendered as `file:line: key: what is wrong (what to do)`.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// The validated configuration the bot runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub homeserver_url: Url,
    /// The server name of this homeserver (the part after `:` in local user IDs).
    pub server_name: OwnedServerName,
    pub bot_user_id: OwnedUserId,
    /// How the bot logs in: its password, or an access token issued for it (by MAS).
    pub login: Login,
    /// Recovery key given back by the operator, used to restore the identity on a new store.
    pub recovery_key: Option<Secret>,
    /// Where the recovery key is written (mode 0600) and read back; unset: `<store_path>/recovery-key`.
    pub recovery_key_file: Option<PathBuf>,
    pub store_path: PathBuf,
    pub device_name: String,
    pub rooms: Vec<OwnedRoomOrAliasId>,
    pub prefix: String,
    pub max_event_age: Duration,
    pub confirm_timeout: Duration,
    pub roles: Roles,
    pub protected_users: BTreeSet<OwnedUserId>,
    /// Commands, `!confirm` and `!approve` only from sessions their owner cross-signed.
    pub require_verified_devices: bool,
    pub confirm_with: ConfirmWith,
    /// Permissions whose commands also need a second role holder's `!approve`.
    pub two_person: BTreeSet<Permission>,
    /// How long a message carrying a generated password stays before the bot redacts it.
    pub secret_ttl: Duration,
    /// Sets of more users than this need `--force`.
    pub max_bulk: usize,
    pub import: ImportSettings,
    /// The reports inbox; `None` without an `[inbox]` section.
    pub inbox: Option<InboxSettings>,
    /// Where `/metrics` and `/health` are served; `None` without a `[metrics]` section.
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub log_format: LogFormat,
    /// Matrix Authentication Service, when Synapse delegates accounts to it; `None` without a
    /// `[mas]` section.
    pub mas: Option<MasSettings>,
}

/// `[mas]`: how the bot reaches MAS's admin API (OAuth 2.0 client credentials, scope
/// `urn:mas:admin`).
#[derive(Debug, Clone)]
pub struct MasSettings {
    /// MAS's base URL (the listener with the `adminapi` and `oauth` resources).
    pub url: Url,
    pub client_id: String,
    pub client_secret: Secret,
}

/// `log.format`: how the bot writes its log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line, for log systems.
    Json,
}

/// `[inbox]`: abuse reports as cards in an admin room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxSettings {
    /// The admin room the cards go to; `None`: the first of `bot.rooms`.
    pub room: Option<String>,
    pub poll_interval: Duration,
    pub remind_after: Duration,
    /// New accounts are gathered into one notice this often; `None`: never.
    pub signups_every: Option<Duration>,
    /// Display names matching any of these (regular expressions, checked at load) are flagged.
    pub suspicious_names: Vec<String>,
    /// More new accounts than this within `wave_window` raise an alert at once.
    pub wave_threshold: usize,
    pub wave_window: Duration,
    /// The daily digest's time (hour, minute, UTC); `None`: only `!digest`.
    pub digest_at: Option<(u32, u32)>,
    /// Synapse unreachable for longer than this is reported once it answers again.
    pub outage_alert_after: Duration,
}

/// Limits and speed of CSV imports.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub max_file_size: u64,
    pub concurrency: usize,
    pub max_rows: usize,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            max_file_size: 10 * 1024 * 1024,
            concurrency: 4,
            max_rows: 100_000,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    homeserver: RawHomeserver,
    bot: RawBot,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    safety: RawSafety,
    #[serde(default)]
    import: RawImport,
    inbox: Option<RawInbox>,
    metrics: Option<RawMetrics>,
    #[serde(default)]
    log: RawLog,
    mas: Option<RawMas>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMas {
    url: Spanned<String>,
    client_id: Spanned<String>,
    client_secret_file: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    #[serde(default)]
    format: LogFormat,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInbox {
    room: Option<Spanned<String>>,
    poll_interval: Option<Spanned<String>>,
    remind_after: Option<Spanned<String>>,
    signups_every: Option<Spanned<String>>,
    #[serde(default)]
    suspicious_names: Vec<Spanned<String>>,
    wave_threshold: Option<Spanned<i64>>,
    wave_window: Option<Spanned<String>>,
    digest_at: Option<Spanned<String>>,
    outage_alert_after: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHomeserver {
    url: Spanned<String>,
    server_name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    user_id: Spanned<String>,
    password: Option<String>,
    password_file: Option<Spanned<String>>,
    access_token_file: Option<Spanned<String>>,
    device_id: Option<Spanned<String>>,
    recovery_key: Option<String>,
    recovery_key_file: Option<String>,
    store_path: String,
    #[serde(default = "default_device_name")]
    device_name: String,
    rooms: Spanned<Vec<Spanned<String>>>,
    #[serde(default = "default_prefix")]
    prefix: Spanned<String>,
    max_event_age: Option<Spanned<String>>,
    confirm_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: Spanned<String>,
    #[serde(default)]
    users: Vec<Spanned<String>>,
    min_power_level: Option<Spanned<i64>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafety {
    #[serde(default)]
    protected_users: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    require_verified_devices: bool,
    #[serde(default)]
    confirm_with: ConfirmWith,
    #[serde(default)]
    two_person: Vec<Spanned<String>>,
    secret_ttl: Option<Spanned<String>>,
    max_bulk: Option<Spanned<i64>>,
}

impl Default for RawSafety {
    fn default() -> Self {
        Self {
            protected_users: Vec::new(),
            require_verified_devices: true,
            confirm_with: ConfirmWith::default(),
            two_person: Vec::new(),
            secret_ttl: None,
            max_bulk: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// What confirms a preview (`safety.confirm_with`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmWith {
    /// ✅ on the preview or `!confirm <code>`. Reactions are sent in the clear by Element and
    /// matrix-sdk: they prove the account, not the device.
    #[default]
    Reaction,
    /// Only `!confirm <code>`, encrypted, from a verified session.
    Code,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawImport {
    max_file_size: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    max_rows: Option<Spanned<i64>>,
}

fn default_device_name() -> String {
    "Syndic".to_owned()
}

fn default_prefix() -> Spanned<String> {
    Spanned::new(0..0, "!".to_owned())
}

/// Where secrets come from besides the file: the process environment, or a fixed map in tests.
pub trait SecretSource {
    fn get(&self, name: &str) -> Option<String>;
}

/// Reads secrets from the process environment.
pub struct ProcessEnv;

impl SecretSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Reads and validates `path`, taking secrets from the process environment when the file has none.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: None,
            message: format!("cannot read the configuration file: {e}"),
        })?;
        Self::parse(&text, path, &ProcessEnv)
    }

    /// Validates a configuration text; `path` is used for messages and to resolve relative paths.
    pub fn parse(text: &str, path: &Path, env: &dyn SecretSource) -> Result<Self, ConfigError> {
        let err = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
            file: path.to_owned(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().to_owned();
            err(e.span(), message)
        })?;
        let base_dir = path.parent().unwrap_or(Path::new("."));

        let homeserver_url = Url::parse(raw.homeserver.url.get_ref()).map_err(|e| {
            err(
                Some(raw.homeserver.url.span()),
                format!("homeserver.url: not a URL ({e}); e.g. \"https://matrix.example.org\""),
            )
        })?;
        if !matches!(homeserver_url.scheme(), "http" | "https") {
            return Err(err(
                Some(raw.homeserver.url.span()),
                "homeserver.url: must start with https:// (or http:// for a local server)".into(),
            ));
        }

        let bot_user_id = parse_user_id(&raw.bot.user_id, "bot.user_id")
            .map_err(|m| err(Some(raw.bot.user_id.span()), m))?;
        let server_name = match &raw.homeserver.server_name {
            Some(s) => OwnedServerName::try_from(s.get_ref().as_str()).map_err(|_| {
                err(
                    Some(s.span()),
                    format!(
                        "homeserver.server_name: {:?} is not a server name",
                        s.get_ref()
                    ),
                )
            })?,
            None => bot_user_id.server_name().to_owned(),
        };
        if bot_user_id.server_name() != server_name {
            return Err(err(
                Some(raw.bot.user_id.span()),
                format!(
                    "bot.user_id: {bot_user_id} is not on this homeserver ({server_name}); the bot must be a local server admin"
                ),
            ));
        }

        // A secret's file, read whole into a `Secret` (zeroed when dropped), and its path.
        let read_secret_file = |key: &str, f: &Spanned<String>| {
            let file = base_dir.join(f.get_ref());
            match std::fs::read_to_string(&file) {
                Ok(text) => Ok((Secret::new(text), file)),
                Err(e) => Err(err(
                    Some(f.span()),
                    format!("{key}: cannot read {}: {e}", file.display()),
                )),
            }
        };
        let login = match (&raw.bot.access_token_file, &raw.bot.device_id) {
            (Some(f), _) if raw.bot.password.is_some() || raw.bot.password_file.is_some() => {
                return Err(err(
                    Some(f.span()),
                    "bot: set either a password (password, password_file) or access_token_file, not both".into(),
                ));
            }
            (Some(f), None) => {
                return Err(err(
                    Some(f.span()),
                    "bot.access_token_file needs bot.device_id: the device the token was issued for".into(),
                ));
            }
            (None, Some(d)) => {
                return Err(err(
                    Some(d.span()),
                    "bot.device_id is only used with bot.access_token_file (a password login makes its own device)".into(),
                ));
            }
            (Some(f), Some(d)) => {
                let (contents, file) = read_secret_file("bot.access_token_file", f)?;
                let token = Secret::new(contents.expose().trim().to_owned());
                if token.expose().is_empty() {
                    return Err(err(
                        Some(f.span()),
                        format!("bot.access_token_file: {} is empty", file.display()),
                    ));
                }
                if token
                    .expose()
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(err(
                        Some(f.span()),
                        format!(
                            "bot.access_token_file: {} holds more than one token (whitespace inside)",
                            file.display()
                        ),
                    ));
                }
                let device = d.get_ref().trim();
                if device.is_empty() || device.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(err(
                        Some(d.span()),
                        "bot.device_id: not a device ID (no spaces; e.g. SYNDICBOT)".into(),
                    ));
                }
                Login::AccessToken {
                    token,
                    device_id: OwnedDeviceId::from(device),
                }
            }
            (None, None) => {
                let password = match (&raw.bot.password, &raw.bot.password_file) {
                    (Some(_), Some(f)) => {
                        return Err(err(
                            Some(f.span()),
                            "bot: set either password or password_file, not both".into(),
                        ));
                    }
                    (Some(p), None) => Secret::new(p.clone()),
                    (None, Some(f)) => {
                        let (contents, _) = read_secret_file("bot.password_file", f)?;
                        Secret::new(contents.expose().trim_end_matches(['\n', '\r']).to_owned())
                    }
                    (None, None) => match env.get(PASSWORD_ENV) {
                        Some(p) => Secret::new(p),
                        None => {
                            return Err(err(
                                None,
                                format!(
                                    "bot: no password: set bot.password, bot.password_file or the {PASSWORD_ENV} environment variable"
                                ),
                            ));
                        }
                    },
                };
                if password.expose().is_empty() {
                    return Err(err(None, "bot: the password is empty".into()));
                }
                Login::Password(password)
            }
        };

        let recovery_key_file = raw.bot.recovery_key_file.as_ref().map(|f| base_dir.join(f));
        let recovery_key = match (&raw.bot.recovery_key, env.get(RECOVERY_KEY_ENV)) {
            (Some(k), _) => Some(Secret::new(k.clone())),
            (None, Some(k)) => Some(Secret::new(k)),
            (None, None) => recovery_key_file
                .as_ref()
                .and_then(|f| std::fs::read_to_string(f).ok())
                .map(|k| Secret::new(k.trim().to_owned()))
                .filter(|k| !k.expose().is_empty()),
        };

        let mut rooms = Vec::new();
        for room in raw.bot.rooms.get_ref() {
            let id = OwnedRoomOrAliasId::try_from(room.get_ref().as_str()).map_err(|_| {
                err(
                    Some(room.span()),
                    format!(
                        "bot.rooms: {:?} is not a room ID (!id:server) or alias (#name:server)",
                        room.get_ref()
                    ),
                )
            })?;
            rooms.push(id);
        }
        if rooms.is_empty() {
            return Err(err(
                Some(raw.bot.rooms.span()),
                "bot.rooms: list at least one admin room".into(),
            ));
        }

        let prefix = raw.bot.prefix.get_ref().clone();
        if prefix.is_empty()
            || prefix.chars().any(char::is_whitespace)
            || prefix.chars().count() > 3
        {
            return Err(err(
                Some(raw.bot.prefix.span()),
                "bot.prefix: use one to three non-space characters, e.g. \"!\"".into(),
            ));
        }

        let max_event_age = parse_duration_key(
            raw.bot.max_event_age.as_ref(),
            "bot.max_event_age",
            Duration::from_secs(300),
        )
        .map_err(|(s, m)| err(s, m))?;
        let confirm_timeout = parse_duration_key(
            raw.bot.confirm_timeout.as_ref(),
            "bot.confirm_timeout",
            Duration::from_secs(600),
        )
        .map_err(|(s, m)| err(s, m))?;

        let mut roles = Vec::new();
        let mut role_names = BTreeSet::new();
        for role in &raw.roles {
            let name = role.name.get_ref().trim().to_owned();
            if name.is_empty() || !role_names.insert(name.clone()) {
                return Err(err(
                    Some(role.name.span()),
                    format!("roles.name: {name:?} is empty or used twice"),
                ));
            }
            let mut users = BTreeSet::new();
            for user in &role.users {
                users.insert(
                    parse_user_id(user, "roles.users").map_err(|m| err(Some(user.span()), m))?,
                );
            }
            let min_power_level = match &role.min_power_level {
                // Matrix power levels are integers within ±(2^53 − 1).
                Some(level) if level.get_ref().unsigned_abs() > (1 << 53) - 1 => {
                    return Err(err(
                        Some(level.span()),
                        "roles.min_power_level: use a power level such as 50 or 100".into(),
                    ));
                }
                Some(level) => Some(*level.get_ref()),
                None => None,
            };
            let mut allow = BTreeSet::new();
            let mut all = false;
            for perm in &role.allow {
                if perm.get_ref() == "*" {
                    all = true;
                    continue;
                }
                let p = Permission::from_name(perm.get_ref()).ok_or_else(|| {
                    err(
                        Some(perm.span()),
                        format!(
                            "roles.allow: unknown permission {:?}; known: *, {}",
                            perm.get_ref(),
                            Permission::names().join(", ")
                        ),
                    )
                })?;
                allow.insert(p);
            }
            roles.push(Role {
                name,
                users,
                min_power_level,
                allow,
                all,
            });
        }

        let mut protected_users = BTreeSet::new();
        for user in &raw.safety.protected_users {
            protected_users.insert(
                parse_user_id(user, "safety.protected_users")
                    .map_err(|m| err(Some(user.span()), m))?,
            );
        }

        let mut two_person = BTreeSet::new();
        for perm in &raw.safety.two_person {
            let p = Permission::from_name(perm.get_ref()).ok_or_else(|| {
                err(
                    Some(perm.span()),
                    format!(
                        "safety.two_person: unknown permission {:?}; known: {}",
                        perm.get_ref(),
                        Permission::names().join(", ")
                    ),
                )
            })?;
            two_person.insert(p);
        }

        let secret_ttl = parse_duration_key(
            raw.safety.secret_ttl.as_ref(),
            "safety.secret_ttl",
            Duration::from_secs(15 * 60),
        )
        .map_err(|(s, m)| err(s, m))?;
        let max_bulk = match &raw.safety.max_bulk {
            None => 50,
            Some(v) if (1..=100_000).contains(v.get_ref()) => *v.get_ref() as usize,
            Some(v) => {
                return Err(err(
                    Some(v.span()),
                    "safety.max_bulk: use a number from 1 to 100000".into(),
                ));
            }
        };

        let mut import = ImportSettings::default();
        if let Some(size) = &raw.import.max_file_size {
            import.max_file_size = crate::units::parse_size(size.get_ref())
                .map_err(|e| err(Some(size.span()), format!("import.max_file_size: {e}")))?;
        }
        if let Some(c) = &raw.import.concurrency {
            let v = *c.get_ref();
            if !(1..=32).contains(&v) {
                return Err(err(
                    Some(c.span()),
                    "import.concurrency: use a number from 1 to 32".into(),
                ));
            }
            import.concurrency = v as usize;
        }
        if let Some(r) = &raw.import.max_rows {
            let v = *r.get_ref();
            if !(1..=1_000_000).contains(&v) {
                return Err(err(
                    Some(r.span()),
                    "import.max_rows: use a number from 1 to 1000000".into(),
                ));
            }
            import.max_rows = v as usize;
        }

        let inbox = match &raw.inbox {
            None => None,
            Some(i) => Some(InboxSettings {
                room: i.room.as_ref().map(|r| r.get_ref().clone()),
                poll_interval: parse_duration_key(
                    i.poll_interval.as_ref(),
                    "inbox.poll_interval",
                    Duration::from_secs(30),
                )
                .map_err(|(s, m)| err(s, m))?,
                remind_after: parse_duration_key(
                    i.remind_after.as_ref(),
                    "inbox.remind_after",
                    Duration::from_secs(12 * 3600),
                )
                .map_err(|(s, m)| err(s, m))?,
                signups_every: match &i.signups_every {
                    None => None,
                    Some(v) => Some(
                        parse_duration_key(Some(v), "inbox.signups_every", Duration::ZERO)
                            .map_err(|(s, m)| err(s, m))?,
                    ),
                },
                suspicious_names: {
                    let mut names = Vec::new();
                    for re in &i.suspicious_names {
                        regex::Regex::new(re.get_ref()).map_err(|e| {
                            err(
                                Some(re.span()),
                                format!(
                                    "inbox.suspicious_names: {:?} is not a regular expression ({})",
                                    re.get_ref(),
                                    e.to_string().lines().last().unwrap_or("").trim()
                                ),
                            )
                        })?;
                        names.push(re.get_ref().clone());
                    }
                    names
                },
                wave_threshold: match &i.wave_threshold {
                    None => 20,
                    Some(v) if (1..=1_000_000).contains(v.get_ref()) => *v.get_ref() as usize,
                    Some(v) => {
                        return Err(err(
                            Some(v.span()),
                            "inbox.wave_threshold: use a number from 1 to 1000000".into(),
                        ));
                    }
                },
                wave_window: parse_duration_key(
                    i.wave_window.as_ref(),
                    "inbox.wave_window",
                    Duration::from_secs(600),
                )
                .map_err(|(s, m)| err(s, m))?,
                digest_at: match &i.digest_at {
                    None => None,
                    Some(v) => Some(parse_hh_mm(v.get_ref()).ok_or_else(|| {
                        err(
                            Some(v.span()),
                            format!(
                                "inbox.digest_at: {:?} is not a time; write it as \"08:30\" (UTC)",
                                v.get_ref()
                            ),
                        )
                    })?),
                },
                outage_alert_after: parse_duration_key(
                    i.outage_alert_after.as_ref(),
                    "inbox.outage_alert_after",
                    Duration::from_secs(120),
                )
                .map_err(|(s, m)| err(s, m))?,
            }),
        };
        if let Some(i) = &inbox
            && i.signups_every.is_some_and(|d| d < Duration::from_secs(5))
        {
            return Err(err(
                raw.inbox
                    .as_ref()
                    .and_then(|r| r.signups_every.as_ref())
                    .map(|p| p.span()),
                "inbox.signups_every: use at least \"5s\"".into(),
            ));
        }
        if let Some(i) = &inbox
            && i.poll_interval < Duration::from_secs(1)
        {
            return Err(err(
                raw.inbox
                    .as_ref()
                    .and_then(|r| r.poll_interval.as_ref())
                    .map(|p| p.span()),
                "inbox.poll_interval: use at least \"1s\"".into(),
            ));
        }

        let metrics_listen = match &raw.metrics {
            None => None,
            Some(m) => Some(match &m.listen {
                None => std::net::SocketAddr::from(([127, 0, 0, 1], 9108)),
                Some(l) => l.get_ref().parse().map_err(|_| {
                    err(
                        Some(l.span()),
                        format!(
                            "metrics.listen: {:?} is not an address; write it as \"127.0.0.1:9108\"",
                            l.get_ref()
                        ),
                    )
                })?,
            }),
        };

        let mas = match &raw.mas {
            None => None,
            Some(m) => {
                let url = Url::parse(m.url.get_ref())
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                    .ok_or_else(|| {
                        err(
                            Some(m.url.span()),
                            format!(
                                "mas.url: {:?} is not an http(s) URL; e.g. \"https://auth.example.org/\"",
                                m.url.get_ref()
                            ),
                        )
                    })?;
                let client_id = m.client_id.get_ref().trim().to_owned();
                if client_id.is_empty() || client_id.chars().any(char::is_whitespace) {
                    return Err(err(
                        Some(m.client_id.span()),
                        "mas.client_id: the ID of the client-credentials client (e.g. 01J44RKQYM4G3TNVANTMTDYTX6)".into(),
                    ));
                }
                let (contents, file) =
                    read_secret_file("mas.client_secret_file", &m.client_secret_file)?;
                let client_secret = Secret::new(contents.expose().trim().to_owned());
                if client_secret.expose().is_empty() {
                    return Err(err(
                        Some(m.client_secret_file.span()),
                        format!("mas.client_secret_file: {} is empty", file.display()),
                    ));
                }
                if login.password().is_some() {
                    return Err(err(
                        Some(m.url.span()),
                        "mas: with MAS the bot logs in with bot.access_token_file and bot.device_id (a token MAS issued with the urn:synapse:admin:* scope), not a password".into(),
                    ));
                }
                Some(MasSettings {
                    url,
                    client_id,
                    client_secret,
                })
            }
        };

        Ok(Config {
            homeserver_url,
            server_name,
            bot_user_id,
            login,
            recovery_key,
            recovery_key_file,
            store_path: base_dir.join(&raw.bot.store_path),
            device_name: raw.bot.device_name,
            rooms,
            prefix,
            max_event_age,
            confirm_timeout,
            roles: Roles::new(roles),
            protected_users,
            require_verified_devices: raw.safety.require_verified_devices,
            confirm_with: raw.safety.confirm_with,
            two_person,
            secret_ttl,
            max_bulk,
            import,
            inbox,
            metrics_listen,
            log_format: raw.log.format,
            mas,
        })
    }
}

/// `HH:MM` (24-hour) → (hour, minute).
fn parse_hh_mm(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.trim().len() == 5).then_some((h, m))
}

fn parse_user_id(value: &Spanned<String>, key: &str) -> Result<OwnedUserId, String> {
    let v = value.get_ref();
    UserId::parse(v.as_str()).map_err(|_| {
        format!("{key}: {v:?} is not a Matrix user ID; write it as \"@name:example.org\"")
    })
}

fn parse_duration_key(
    value: Option<&Spanned<String>>,
    key: &str,
    default: Duration,
) -> Result<Duration, (Option<std::ops::Range<usize>>, String)> {
    match value {
        None => Ok(default),
        Some(v) => humantime::parse_duration(v.get_ref()).map_err(|e| {
            (
                Some(v.span()),
                format!(
                    "{key}: {:?} is not a duration ({e}); e.g. \"5m\"",
                    v.get_ref()
                ),
            )
        }),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |prefix| prefix.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct FakeEnv(HashMap<&'static str, &'static str>);
    impl SecretSource for FakeEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    const GOOD: &str = r#"
[homeserver]
url = "https://matrix.example.org"

[bot]
user_id = "@syndic:example.org"
password = "change-me"
store_path = "./syndic-data"
rooms = ["!abcdef:example.org"]
prefix = "!"

[[roles]]
name = "admin"
users = ["@alice:example.org"]
allow = ["*"]

[[roles]]
name = "helpdesk"
users = ["@bob:example.org"]
allow = ["user.info", "help"]

[safety]
protected_users = ["@ceo:example.org"]
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(
            text,
            Path::new("/etc/syndic/bot.toml"),
            &FakeEnv(HashMap::new()),
        )
    }

    #[test]
    fn the_issue_example_parses() {
        let c = parse(GOOD).expect("valid");
        assert_eq!(c.server_name.as_str(), "example.org");
        assert_eq!(c.store_path, Path::new("/etc/syndic/./syndic-data"));
        assert_eq!(c.prefix, "!");
        assert_eq!(c.confirm_timeout, Duration::from_secs(600));
        assert!(
            c.protected_users
                .contains(<&UserId>::try_from("@ceo:example.org").unwrap())
        );
        assert!(matches!(&c.login, Login::Password(p) if format!("{p:?}") == "Secret(<redacted>)"));
        assert!(!format!("{c:?}").contains("change-me"));
    }

    #[test]
    fn the_example_file_in_the_repo_is_valid() {
        let text = include_str!("../bot.example.toml");
        parse(text).expect("bot.example.toml must stay valid");
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "\"user.info\", \"help\"",
                "\"user.infoo\", \"help\"",
                20,
                "unknown permission \"user.infoo\"",
            ),
            (
                "users = [\"@bob:example.org\"]",
                "users = [\"bob\"]",
                19,
                "roles.users: \"bob\" is not a Matrix user ID",
            ),
            (
                "prefix = \"!\"",
                "prefix = \"!\"\ncolour = \"red\"",
                11,
                "unknown field `colour`",
            ),
            (
                "url = \"https://matrix.example.org\"",
                "url = \"matrix\"",
                3,
                "homeserver.url: not a URL",
            ),
            (
                "rooms = [\"!abcdef:example.org\"]",
                "rooms = [\"abcdef\"]",
                9,
                "bot.rooms: \"abcdef\" is not a room ID",
            ),
            (
                "rooms = [\"!abcdef:example.org\"]",
                "rooms = []",
                9,
                "list at least one admin room",
            ),
            (
                "protected_users = [\"@ceo:example.org\"]",
                "protected_users = [\"ceo@example.org\"]",
                23,
                "safety.protected_users",
            ),
        ];
        for (from, to, line, needle) in cases {
            let text = GOOD.replace(from, to);
            let e = parse(&text).expect_err(to);
            assert_eq!(e.line, Some(*line), "{to}: {e}");
            assert!(e.to_string().contains(needle), "{to}: {e}");
            assert!(e.to_string().starts_with("/etc/syndic/bot.toml:"), "{e}");
        }
    }

    #[test]
    fn the_bot_must_be_local() {
        let text = GOOD
            .replace(
                "url = \"https://matrix.example.org\"",
                "url = \"https://matrix.example.org\"\nserver_name = \"example.org\"",
            )
            .replace(
                "user_id = \"@syndic:example.org\"",
                "user_id = \"@syndic:other.org\"",
            );
        let e = parse(&text).expect_err("remote bot");
        assert_eq!(e.line, Some(7));
        assert!(e.to_string().contains("not on this homeserver"), "{e}");
    }

    #[test]
    fn password_comes_from_env_when_the_file_has_none() {
        let text = GOOD.replace("password = \"change-me\"\n", "");
        let e = parse(&text).expect_err("no password");
        assert!(e.to_string().contains(PASSWORD_ENV));
        let env = FakeEnv(HashMap::from([(PASSWORD_ENV, "from-env")]));
        let c = Config::parse(&text, Path::new("bot.toml"), &env).expect("env password");
        assert_eq!(c.login.password().map(Secret::expose), Some("from-env"));
    }

    #[test]
    fn an_access_token_file_with_a_device_id_replaces_the_password() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let token = dir.path().join("token");
        std::fs::write(&token, "mct_secret-token\n").expect("writing the token");
        let with_token = |extra: &str| {
            GOOD.replace(
                "password = \"change-me\"\n",
                &format!(
                    "access_token_file = {:?}\n{extra}",
                    token.display().to_string()
                ),
            )
        };
        let c = parse(&with_token("device_id = \"SYNDICBOT\"\n")).expect("token login");
        match &c.login {
            Login::AccessToken { token, device_id } => {
                assert_eq!(token.expose(), "mct_secret-token");
                assert_eq!(device_id.as_str(), "SYNDICBOT");
            }
            other => panic!("expected a token login, got {other:?}"),
        }
        assert!(c.login.password().is_none());
        assert!(
            !format!("{c:?}").contains("mct_secret"),
            "the token is redacted"
        );

        // A password from the environment does not turn a token login into a password login.
        let env = FakeEnv(HashMap::from([(PASSWORD_ENV, "from-env")]));
        let c = Config::parse(
            &with_token("device_id = \"SYNDICBOT\"\n"),
            Path::new("bot.toml"),
            &env,
        )
        .expect("token login");
        assert!(c.login.password().is_none());

        for (text, says) in [
            (with_token(""), "needs bot.device_id"),
            (
                with_token("device_id = \"SYNDICBOT\"\npassword = \"x\"\n"),
                "not both",
            ),
            (with_token("device_id = \"TWO WORDS\"\n"), "not a device ID"),
            (
                GOOD.replace(
                    "password = \"change-me\"\n",
                    "password = \"x\"\ndevice_id = \"D\"\n",
                ),
                "only used with bot.access_token_file",
            ),
        ] {
            let e = parse(&text).expect_err(says);
            assert!(e.to_string().contains(says), "{e}");
        }
        std::fs::write(&token, "\n").expect("emptying the token");
        let e = parse(&with_token("device_id = \"SYNDICBOT\"\n")).expect_err("empty");
        assert!(e.to_string().contains("is empty"), "{e}");
        std::fs::write(&token, "one two").expect("two tokens");
        let e = parse(&with_token("device_id = \"SYNDICBOT\"\n")).expect_err("two");
        assert!(e.to_string().contains("more than one token"), "{e}");
        assert!(
            !e.to_string().contains("one two"),
            "the file's contents are not shown"
        );
    }

    #[test]
    fn a_mas_section_needs_a_token_login_and_a_readable_secret() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let token = dir.path().join("token");
        std::fs::write(&token, "mct_secret-token\n").expect("writing the token");
        let secret = dir.path().join("mas-secret");
        std::fs::write(&secret, "client-secret-value\n").expect("writing the secret");
        let token_login = GOOD.replace(
            "password = \"change-me\"\n",
            &format!(
                "access_token_file = {:?}\ndevice_id = \"SYNDICBOT\"\n",
                token.display().to_string()
            ),
        );
        let mas = |url: &str, id: &str, file: &str| {
            format!("\n[mas]\nurl = {url:?}\nclient_id = {id:?}\nclient_secret_file = {file:?}\n")
        };
        let secret_path = secret.display().to_string();
        let c = parse(&format!(
            "{token_login}{}",
            mas(
                "http://127.0.0.1:8081/",
                "01J44RKQYM4G3TNVANTMTDYTX6",
                &secret_path
            )
        ))
        .expect("a MAS config");
        let m = c.mas.as_ref().expect("the [mas] section");
        assert_eq!(m.url.as_str(), "http://127.0.0.1:8081/");
        assert_eq!(m.client_id, "01J44RKQYM4G3TNVANTMTDYTX6");
        assert_eq!(m.client_secret.expose(), "client-secret-value");
        assert!(!format!("{c:?}").contains("client-secret-value"));
        assert!(parse(&token_login).expect("no MAS").mas.is_none());

        for (text, says) in [
            (
                format!(
                    "{GOOD}{}",
                    mas("http://127.0.0.1:8081/", "ID", &secret_path)
                ),
                "not a password",
            ),
            (
                format!("{token_login}{}", mas("ftp://x/", "ID", &secret_path)),
                "mas.url",
            ),
            (
                format!("{token_login}{}", mas("http://x/", " ", &secret_path)),
                "mas.client_id",
            ),
            (
                format!(
                    "{token_login}{}",
                    mas("http://x/", "ID", "/nonexistent/secret")
                ),
                "mas.client_secret_file: cannot read",
            ),
        ] {
            let e = parse(&text).expect_err(says);
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn password_and_password_file_together_are_refused() {
        let text = GOOD.replace(
            "password = \"change-me\"",
            "password = \"x\"\npassword_file = \"/run/secrets/syndic\"",
        );
        assert!(parse(&text).is_err());
    }

    #[test]
    fn a_sender_may_hold_several_roles() {
        let text = GOOD.replace(
            "users = [\"@bob:example.org\"]",
            "users = [\"@bob:example.org\", \"@alice:example.org\"]",
        );
        let c = parse(&text).expect("valid");
        let alice = <&UserId>::try_from("@alice:example.org").unwrap();
        assert_eq!(c.roles.of(alice, None).roles, ["admin", "helpdesk"]);
    }

    #[test]
    fn roles_by_power_level_and_two_person_permissions_parse() {
        let text = GOOD
            .replace(
                "allow = [\"user.info\", \"help\"]",
                "allow = [\"user.info\", \"help\"]\nmin_power_level = 50",
            )
            .replace(
                "[safety]",
                "[safety]\ntwo_person = [\"user.erase\", \"room.delete\"]",
            );
        let c = parse(&text).expect("valid");
        let eve = <&UserId>::try_from("@eve:example.org").unwrap();
        assert_eq!(c.roles.of(eve, Some(50)).roles, ["helpdesk"]);
        assert!(!c.roles.of(eve, None).has_any_role());
        assert!(c.roles.by_power_level());
        assert_eq!(
            c.two_person,
            [Permission::UserErase, Permission::RoomDelete].into()
        );
        let e = parse(&text.replace("\"room.delete\"]", "\"room.nuke\"]")).expect_err("unknown");
        assert!(
            e.to_string()
                .contains("safety.two_person: unknown permission"),
            "{e}"
        );
        let e = parse(&text.replace("= 50", "= 9007199254740992")).expect_err("range");
        assert!(e.to_string().contains("roles.min_power_level"), "{e}");
    }

    #[test]
    fn the_inbox_and_the_account_safety_keys_parse_with_their_defaults() {
        let c = parse(GOOD).expect("valid");
        assert_eq!(c.inbox, None, "no [inbox] section: no inbox");
        assert_eq!(c.secret_ttl, Duration::from_secs(900));
        assert_eq!(c.max_bulk, 50);
        let text = format!(
            "{}\n[inbox]\nsuspicious_names = [\"(?i)crypto\"]\ndigest_at = \"08:30\"\n",
            GOOD.replace("[safety]", "[safety]\nsecret_ttl = \"5m\"\nmax_bulk = 10")
        );
        let c = parse(&text).expect("valid");
        assert_eq!((c.secret_ttl, c.max_bulk), (Duration::from_secs(300), 10));
        let inbox = c.inbox.expect("inbox");
        assert_eq!(inbox.poll_interval, Duration::from_secs(30));
        assert_eq!(inbox.remind_after, Duration::from_secs(12 * 3600));
        assert_eq!(
            (inbox.wave_threshold, inbox.wave_window),
            (20, Duration::from_secs(600))
        );
        assert_eq!(inbox.signups_every, None);
        assert_eq!(inbox.digest_at, Some((8, 30)));
        assert_eq!(inbox.outage_alert_after, Duration::from_secs(120));
        for (bad, key) in [
            ("digest_at = \"25:00\"", "inbox.digest_at"),
            ("suspicious_names = [\"(\"]", "inbox.suspicious_names"),
            ("wave_threshold = 0", "inbox.wave_threshold"),
            ("signups_every = \"1s\"", "inbox.signups_every"),
            ("poll_interval = \"soon\"", "inbox.poll_interval"),
        ] {
            let text = format!("{GOOD}\n[inbox]\n{bad}\n");
            let e = parse(&text).expect_err(bad);
            assert!(e.to_string().contains(key), "{bad}: {e}");
        }
        let e = parse(&GOOD.replace("[safety]", "[safety]\nmax_bulk = 0")).expect_err("zero");
        assert!(e.to_string().contains("safety.max_bulk"), "{e}");
    }
}
