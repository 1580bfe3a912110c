//! The real Synapse the end-to-end tests talk to.
//!
//! This file owns everything about the homeserver process:
//!
//! * [`ensure_venv`] installs the pinned `matrix-synapse` from PyPI into a cached virtualenv
//!   under the cargo target directory (once per checkout, guarded by a file lock, installed
//!   into a temporary directory and renamed into place so an interrupted install is redone);
//! * [`Synapse::shared`] starts ONE Synapse per test binary, lazily, on `127.0.0.1` and a free
//!   port, with a config written from scratch into a temporary directory. The process is
//!   started through a small Python watchdog that kills Synapse and deletes the directory as
//!   soon as the test process is gone (Rust never runs static destructors, so nothing on the
//!   Rust side could do it);
//! * [`Synapse::shared_mas`] starts a second one, also once, whose accounts belong to the MAS
//!   stand-in (`matrix_authentication_service` in its config, [`super::mas`]): no password
//!   login, no registration, every access token introspected by the stand-in;
//! * registration ([`Synapse::register`]: shared-secret, or the stand-in's control API in MAS
//!   mode) and admin-API helpers ([`Synapse::admin_get`] and friends) so tests can create users
//!   and assert effects on the server.
//!
//! The start-up is blocking and uses only `std` (no tokio), so it does not depend on whichever
//! test's runtime happens to call it first. The async helpers create their own short-lived
//! `reqwest` client per call, so they work from any test's runtime.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;
use url::Url;

use super::mas::Mas;

/// The Synapse release the harness installs and tests against.
pub const SYNAPSE_VERSION: &str = "1.163.2";

/// How long Synapse may take to answer `/health` after being spawned.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The server name of the shared homeserver (user ids are `@name:localhost`).
const SERVER_NAME: &str = "localhost";

/// Password of the harness-owned admin account used by the `admin_*` helpers.
const HARNESS_ADMIN_PASSWORD: &str = "harness-admin-password";

/// Runs Synapse as a child, polls every 0.5 s whether the test process (argv[1]) is still
/// alive and, once it is gone, terminates (then kills) Synapse and deletes the work dir.
/// If Synapse exits on its own, it writes `synapse.exited` so the harness can fail fast,
/// and keeps the directory (with the log) until the test process is gone.
/// With `SYNDIC_WATCHDOG_USER` set (PostgreSQL, when the tests run as root), the child runs as
/// that user.
pub(super) const WATCHDOG: &str = r#"
import os, pwd, shutil, signal, subprocess, sys, time
ppid = int(sys.argv[1])
workdir = sys.argv[2]
cmd = sys.argv[3:]
stop = False
def on_term(signum, frame):
    global stop
    stop = True
user = os.environ.get("SYNDIC_WATCHDOG_USER")
as_user = {}
if user:
    as_user = dict(user=user, group=pwd.getpwnam(user).pw_gid, extra_groups=[])
child = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, **as_user)
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGHUP, on_term)
def parent_alive():
    if os.getppid() != ppid:
        return False
    try:
        os.kill(ppid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
reported = False
while not stop and parent_alive():
    if not reported and child.poll() is not None:
        reported = True
        with open(os.path.join(workdir, "synapse.exited"), "w") as f:
            f.write(str(child.returncode))
    time.sleep(0.5)
if child.poll() is None:
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
shutil.rmtree(workdir, ignore_errors=True)
"#;

/// Logging config for Synapse: everything at INFO to stderr, which the watchdog sends to the
/// log file (no buffering, so the tail shown on failure is complete).
const LOG_CONFIG: &str = "\
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  console:
    class: logging.StreamHandler
    formatter: precise
loggers:
  synapse.storage.SQL:
    level: INFO
root:
  level: INFO
  handlers: [console]
disable_existing_loggers: false
";

/// A user created through shared-secret registration.
#[derive(Clone, Debug)]
pub struct RegisteredUser {
    /// Full Matrix id, e.g. `@alice-123-1:localhost`.
    pub user_id: String,
    /// The localpart that was registered.
    pub localpart: String,
    /// Access token of the device created by the registration itself.
    pub access_token: String,
    /// Device created by the registration itself.
    pub device_id: String,
    /// The password, for password logins (e.g. [`super::client::Human::login`]).
    pub password: String,
}

/// How a Synapse authenticates its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// Synapse's own accounts: password logins, shared-secret registration.
    Password,
    /// Delegated to the MAS stand-in (`matrix_authentication_service`).
    Mas,
}

/// One of the Synapses shared by every test of the test binary ([`Synapse::shared`],
/// [`Synapse::shared_mas`]).
pub struct Synapse {
    url: Url,
    port: u16,
    dir: PathBuf,
    log_path: PathBuf,
    shared_secret: String,
    admin: tokio::sync::OnceCell<RegisteredUser>,
    mas: Option<Mas>,
}

impl std::fmt::Debug for Synapse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synapse")
            .field("url", &self.url.as_str())
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Synapse {
    /// The shared homeserver, started on first use (installing Synapse first if needed).
    ///
    /// Blocking: call it at the start of a test (it returns at once after the first call).
    /// If the start failed, every caller panics with the same explanation.
    pub fn shared() -> &'static Synapse {
        static SHARED: OnceLock<Result<Synapse, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Synapse::start(Auth::Password)) {
            Ok(synapse) => synapse,
            Err(why) => panic!("the shared Synapse could not be started: {why}"),
        }
    }

    /// The shared homeserver whose accounts the MAS stand-in owns, started on first use with
    /// its stand-in (which starts first). Blocking, like [`Self::shared`].
    pub fn shared_mas() -> &'static Synapse {
        static SHARED_MAS: OnceLock<Result<Synapse, String>> = OnceLock::new();
        match SHARED_MAS.get_or_init(|| Synapse::start(Auth::Mas)) {
            Ok(synapse) => synapse,
            Err(why) => panic!("the shared MAS-mode Synapse could not be started: {why}"),
        }
    }

    /// The MAS stand-in this Synapse delegates to; `None` for [`Self::shared`].
    pub fn mas(&self) -> Option<&Mas> {
        self.mas.as_ref()
    }

    /// Base URL of the client API, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// The port Synapse listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The homeserver's server name, `localhost`.
    pub fn server_name(&self) -> &str {
        SERVER_NAME
    }

    /// Synapse's SQLite database, `None` when it runs on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        Some(self.dir.join("homeserver.db")).filter(|p| p.exists())
    }

    /// Synapse's log file (deleted when the test process exits).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A directory for test scratch files (client stores, …) that the watchdog deletes
    /// with Synapse's own files when the test process is gone, however it ended.
    pub fn scratch_dir(&self) -> PathBuf {
        let dir = self.dir.join("scratch");
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        dir
    }

    /// The last `lines` lines of Synapse's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }

    /// `@localpart:localhost`.
    pub fn user_id(&self, localpart: &str) -> String {
        format!("@{localpart}:{SERVER_NAME}")
    }

    /// A localpart no other test (of this or a concurrently running test binary) uses:
    /// `<prefix>-<pid>-<n>`.
    pub fn unique_localpart(&self, prefix: &str) -> String {
        unique_localpart(prefix)
    }

    /// Registers a user through the shared-secret admin API (no registration token needed).
    /// In MAS mode the stand-in creates the user (`/_standin/users`, provisioned in Synapse)
    /// and issues a compat token for a device of its own, with the Synapse-admin scope when
    /// `admin`: that token and device play the registration's.
    pub async fn register(&self, localpart: &str, password: &str, admin: bool) -> RegisteredUser {
        self.register_with_display_name(localpart, password, admin, None)
            .await
    }

    /// Like [`Self::register`], also setting the display name (Synapse's default is the
    /// localpart).
    pub async fn register_with_display_name(
        &self,
        localpart: &str,
        password: &str,
        admin: bool,
        display_name: Option<&str>,
    ) -> RegisteredUser {
        if let Some(mas) = &self.mas {
            return register_on_mas(mas, localpart, password, admin, display_name).await;
        }
        let http = http_client();
        let endpoint = self.endpoint("/_synapse/admin/v1/register");
        let nonce: Value = http
            .get(endpoint.clone())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("GET {endpoint} (registration nonce): {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {endpoint}: body is not JSON: {e}"));
        let nonce = nonce["nonce"]
            .as_str()
            .unwrap_or_else(|| panic!("GET {endpoint}: no nonce in {nonce}"))
            .to_owned();

        let mut mac = Hmac::<Sha1>::new_from_slice(self.shared_secret.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(nonce.as_bytes());
        mac.update(b"\0");
        mac.update(localpart.as_bytes());
        mac.update(b"\0");
        mac.update(password.as_bytes());
        mac.update(b"\0");
        mac.update(if admin {
            b"admin".as_slice()
        } else {
            b"notadmin".as_slice()
        });
        let mac = hex::encode(mac.finalize().into_bytes());

        let mut body = json!({
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac,
        });
        if let Some(name) = display_name {
            body["displayname"] = json!(name);
        }
        let response = http
            .post(endpoint.clone())
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {endpoint} (register {localpart}): {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "registering {localpart} failed: {status}: {text}"
        );
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("registering {localpart}: reply is not JSON ({e}): {text}"));
        let field = |name: &str| {
            reply[name]
                .as_str()
                .unwrap_or_else(|| panic!("registering {localpart}: no {name} in {reply}"))
                .to_owned()
        };
        super::secrets::remember(password);
        super::secrets::remember(&field("access_token"));
        RegisteredUser {
            user_id: field("user_id"),
            localpart: localpart.to_owned(),
            access_token: field("access_token"),
            device_id: field("device_id"),
            password: password.to_owned(),
        }
    }

    /// The harness-owned server admin (registered on first use), whose token the `admin_*`
    /// helpers use. Tests must not deactivate or log it out.
    pub async fn harness_admin(&self) -> &RegisteredUser {
        self.admin
            .get_or_init(|| async {
                let localpart = self.unique_localpart("harness-admin");
                self.register(&localpart, HARNESS_ADMIN_PASSWORD, true)
                    .await
            })
            .await
    }

    /// Sends an admin-API (or any client-API) request as the harness admin and returns the
    /// status code and the JSON body (`Value::Null` if the body is empty or not JSON).
    /// `path` starts with `/`, e.g. `/_synapse/admin/v2/users/@x:localhost`.
    pub async fn admin_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (reqwest::StatusCode, Value) {
        let token = self.harness_admin().await.access_token.clone();
        let endpoint = self.endpoint(path);
        let mut request = http_client()
            .request(method.clone(), endpoint.clone())
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {endpoint}: {e}"));
        let status = response.status();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {endpoint}: reading the body: {e}"));
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` as the harness admin; panics unless the status is 2xx.
    pub async fn admin_get(&self, path: &str) -> Value {
        self.admin_expect_success(reqwest::Method::GET, path, None)
            .await
    }

    /// `POST path` with a JSON body as the harness admin; panics unless the status is 2xx.
    pub async fn admin_post(&self, path: &str, body: &Value) -> Value {
        self.admin_expect_success(reqwest::Method::POST, path, Some(body))
            .await
    }

    /// `PUT path` with a JSON body as the harness admin; panics unless the status is 2xx.
    pub async fn admin_put(&self, path: &str, body: &Value) -> Value {
        self.admin_expect_success(reqwest::Method::PUT, path, Some(body))
            .await
    }

    async fn admin_expect_success(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Value {
        let (status, reply) = self.admin_request(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "{method} {path} as the harness admin failed: {status}: {reply}"
        );
        reply
    }

    /// Absolute URL for a path on this homeserver (`path` starts with `/`).
    pub fn endpoint(&self, path: &str) -> Url {
        let base = self.url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}"))
            .unwrap_or_else(|e| panic!("bad homeserver path {path:?}: {e}"))
    }

    fn start(auth: Auth) -> Result<Synapse, String> {
        let python = ensure_venv().join("bin").join("python");
        if auth == Auth::Mas {
            // The stand-in checks passwords set through the admin API with zxcvbn.
            ensure_package(&python, "zxcvbn", "zxcvbn==4.5.0")?;
        }
        let database = match Database::chosen()? {
            Database::Sqlite => None,
            Database::Postgres => {
                ensure_package(&python, "psycopg2", "psycopg2-binary==2.9.10")?;
                let dir = tempfile::Builder::new()
                    .prefix("syndic-e2e-postgres-")
                    .tempdir()
                    .map_err(|e| format!("creating PostgreSQL's temp dir: {e}"))?
                    // The watchdog deletes it once the test process is gone.
                    .keep();
                let pg = super::postgres::start(&python, WATCHDOG, &dir, free_port()?)?;
                eprintln!(
                    "PostgreSQL is up on 127.0.0.1:{} (data in {})",
                    pg.port,
                    dir.display()
                );
                Some(json!({
                    "name": "psycopg2",
                    "args": {
                        "user": super::postgres::DATABASE,
                        "database": super::postgres::DATABASE,
                        "host": "127.0.0.1",
                        "port": pg.port,
                        "cp_min": 1,
                        "cp_max": 10,
                    },
                }))
            }
        };
        let mut last_error = String::new();
        // A port picked as free can be taken by someone else before Synapse binds it;
        // such a start fails fast, so simply try again on another port.
        for attempt in 1..=3 {
            match Synapse::start_once(&python, database.clone(), auth) {
                Ok(synapse) => return Ok(synapse),
                Err(StartError::Exited(why)) => {
                    eprintln!("Synapse start attempt {attempt} failed: {why}");
                    last_error = why;
                }
                Err(StartError::Fatal(why)) => return Err(why),
            }
        }
        Err(last_error)
    }

    /// Starts Synapse on SQLite, or on the database `database` describes; in MAS mode, its
    /// stand-in first (in `<dir>/mas`, under its own watchdog).
    fn start_once(
        python: &Path,
        database: Option<Value>,
        auth: Auth,
    ) -> Result<Synapse, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("syndic-e2e-synapse-")
            .tempdir()
            .map_err(|e| StartError::Fatal(format!("creating Synapse's temp dir: {e}")))?
            // The watchdog deletes it once the test process is gone.
            .keep();
        let port = free_port().map_err(StartError::Fatal)?;
        let shared_secret = random_hex(32);
        let config_path = dir.join("homeserver.yaml");
        let log_path = dir.join("homeserver.log");
        let synapse_url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("valid URL");
        let mas = match auth {
            Auth::Password => None,
            Auth::Mas => Some(
                super::mas::start(python, &dir.join("mas"), &synapse_url, &shared_secret).map_err(
                    |e| match e {
                        super::mas::StartError::Exited(why) => StartError::Exited(why),
                        super::mas::StartError::Fatal(why) => StartError::Fatal(why),
                    },
                )?,
            ),
        };
        let mut config = homeserver_config(&dir, port, &shared_secret, mas.as_ref());
        if let Some(database) = database {
            config["database"] = database;
        }
        let write = |path: &Path, text: &str| {
            fs::write(path, text)
                .map_err(|e| StartError::Fatal(format!("writing {}: {e}", path.display())))
        };
        // JSON is YAML, and serde_json gets the quoting right.
        write(
            &config_path,
            &serde_json::to_string_pretty(&config).expect("the config serializes"),
        )?;
        write(&dir.join("log.yaml"), LOG_CONFIG)?;

        let log = File::create(&log_path)
            .map_err(|e| StartError::Fatal(format!("creating {}: {e}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| StartError::Fatal(format!("duplicating the log handle: {e}")))?;
        Command::new(python)
            .arg("-c")
            .arg(WATCHDOG)
            .arg(std::process::id().to_string())
            .arg(&dir)
            .arg(python)
            .args(["-m", "synapse.app.homeserver", "--config-path"])
            .arg(&config_path)
            .current_dir(&dir)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Own process group: a Ctrl-C on `cargo test` goes to the tests only, and the
            // watchdog then shuts Synapse down in order.
            .process_group(0)
            .spawn()
            .map_err(|e| StartError::Fatal(format!("spawning {}: {e}", python.display())))?;

        let started = Instant::now();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if health_ok(address) {
                break;
            }
            if dir.join("synapse.exited").exists() {
                return Err(StartError::Exited(format!(
                    "Synapse exited during start-up; last lines of {}:\n{}",
                    log_path.display(),
                    log_tail(&log_path, 40)
                )));
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                return Err(StartError::Fatal(format!(
                    "Synapse did not answer /health on port {port} within {STARTUP_TIMEOUT:?}; \
                     last lines of {}:\n{}",
                    log_path.display(),
                    log_tail(&log_path, 40)
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "Synapse {SYNAPSE_VERSION}{} is up on 127.0.0.1:{port} after {:.1} s (log: {})",
            if mas.is_some() { " (MAS mode)" } else { "" },
            started.elapsed().as_secs_f32(),
            log_path.display()
        );
        Ok(Synapse {
            url: synapse_url,
            port,
            dir,
            log_path,
            shared_secret,
            admin: tokio::sync::OnceCell::new(),
            mas,
        })
    }
}

enum StartError {
    /// Synapse started but exited (e.g. its port was taken meanwhile): worth a retry.
    Exited(String),
    /// Anything else: retrying won't help.
    Fatal(String),
}

/// The whole `homeserver.yaml`, written from scratch (so there is no slow
/// `--generate-config` run; Synapse generates the missing signing key itself on start).
/// With `mas`, accounts are delegated to it: the MAS section with the shared secret, password
/// login off, and no registration (neither open nor shared-secret).
fn homeserver_config(dir: &Path, port: u16, shared_secret: &str, mas: Option<&Mas>) -> Value {
    let path = |name: &str| dir.join(name).display().to_string();
    // Generous limits for everything parallel tests do from 127.0.0.1 at once.
    let lots = json!({ "per_second": 1000, "burst_count": 10000 });
    let mut config = json!({
        "server_name": SERVER_NAME,
        "public_baseurl": format!("http://127.0.0.1:{port}/"),
        "pid_file": path("homeserver.pid"),
        "listeners": [{
            "port": port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": false,
            "x_forwarded": false,
            // `client` also serves /_synapse/admin and the media repository;
            // no `federation` resource: this server federates with nobody.
            "resources": [{ "names": ["client"], "compress": false }],
        }],
        "database": { "name": "sqlite3", "args": { "database": path("homeserver.db") } },
        "log_config": path("log.yaml"),
        "media_store_path": path("media_store"),
        "signing_key_path": path("localhost.signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": random_hex(32),
        "form_secret": random_hex(32),
        // Open only with a registration token, so `!token-create` can be tried for real.
        "enable_registration": true,
        "registration_requires_token": true,
        // `!notice` sends server notices from this account.
        "server_notices": { "system_mxid_localpart": "notices", "room_name": "Server notices" },
        "report_stats": false,
        "enable_metrics": false,
        "trusted_key_servers": [],
        "suppress_key_server_warning": true,
        "federation_domain_whitelist": [],
        "url_preview_enabled": false,
        "enable_media_repo": true,
        "max_upload_size": "50M",
        "presence": { "enabled": false },
        // Keep `rc_message` at Synapse's defaults: the bot must cope with them itself.
        "rc_login": { "address": lots, "account": lots, "failed_attempts": lots },
        "rc_registration": lots,
        "rc_joins": { "local": lots, "remote": lots },
        "rc_joins_per_room": lots,
        "rc_invites": { "per_room": lots, "per_user": lots, "per_issuer": lots },
        "rc_3pid_validation": lots,
        "rc_key_requests": lots,
        "rc_room_creation": lots,
        "rc_media_create": lots,
        "rc_admin_redaction": lots,
        "rc_delayed_event_mgmt": lots,
        "rc_presence": { "per_user": lots },
    });
    if let Some(mas) = mas {
        let settings = config.as_object_mut().expect("an object");
        for key in [
            "registration_shared_secret",
            "enable_registration",
            "registration_requires_token",
        ] {
            settings.remove(key);
        }
        settings.insert(
            "matrix_authentication_service".into(),
            json!({ "enabled": true, "endpoint": mas.url().as_str(), "secret": shared_secret }),
        );
        settings.insert("password_config".into(), json!({ "enabled": false }));
    }
    config
}

/// The database under the shared Synapse: SQLite unless `SYNDIC_TEST_DATABASE=postgres`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn chosen() -> Result<Database, String> {
        match std::env::var("SYNDIC_TEST_DATABASE").as_deref() {
            Err(_) | Ok("" | "sqlite") => Ok(Database::Sqlite),
            Ok("postgres" | "postgresql") => Ok(Database::Postgres),
            Ok(other) => Err(format!(
                "SYNDIC_TEST_DATABASE={other:?}: use sqlite or postgres"
            )),
        }
    }
}

/// `pip install` of one requirement into `python`'s environment, quietly.
fn pip_install(python: &Path, requirement: &str) -> Command {
    let mut command = Command::new(python);
    command.args(["-m", "pip", "install", "--quiet"]).args([
        "--disable-pip-version-check",
        "--no-input",
        requirement,
    ]);
    command
}

/// A Python package the venv needs beyond Synapse (PostgreSQL's driver, zxcvbn for the MAS
/// stand-in), installed from PyPI on first use: `module` is what must import, `requirement`
/// the pinned package.
fn ensure_package(python: &Path, module: &str, requirement: &str) -> Result<(), String> {
    let has = |python: &Path| {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has(python) {
        return Ok(());
    }
    eprintln!("Installing {requirement} into the Synapse venv (once)...");
    // Test binaries may start at once: one installs, the others wait (pip is not reentrant).
    let lock_path = target_dir().join("synapse-venv.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("opening {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if has(python) {
        return Ok(());
    }
    let status = pip_install(python, requirement)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running pip: {e}"))?;
    if status.success() && has(python) {
        Ok(())
    } else {
        Err(format!("installing {requirement} failed"))
    }
}

/// The directory cargo builds into: `$CARGO_TARGET_DIR` (at run or build time), else
/// `<repo>/target`.
pub fn target_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let configured = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from));
    match configured {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => manifest_dir.join(dir),
        None => manifest_dir.join("target"),
    }
}

/// Whether `venv` holds a working Synapse of the pinned version.
fn venv_ok(venv: &Path) -> bool {
    let python = venv.join("bin").join("python");
    python.exists()
        && Command::new(&python)
            .args([
                "-c",
                // `synapse.__version__` gets git details appended when run inside a git
                // checkout (like this repo), so ask the package metadata instead.
                &format!(
                    "import sys, importlib.metadata, synapse; \
                     sys.exit(importlib.metadata.version('matrix-synapse') != '{SYNAPSE_VERSION}')"
                ),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// The cached virtualenv with the pinned Synapse, installed on first use:
/// `<target dir>/synapse-venv`. Several test binaries may call this at once; a file lock
/// makes exactly one of them install. The Python used to create the venv is `python3` on
/// `PATH`, or `$SYNDIC_E2E_PYTHON`.
pub fn ensure_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let target = target_dir();
        let venv = target.join("synapse-venv");
        if venv_ok(&venv) {
            return venv;
        }
        fs::create_dir_all(&target)
            .unwrap_or_else(|e| panic!("creating {}: {e}", target.display()));
        let lock_path = target.join("synapse-venv.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", lock_path.display()));
        // flock: released by the OS even if this process dies mid-install.
        lock.lock()
            .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
        if !venv_ok(&venv) {
            install_venv(&target, &venv);
        }
        drop(lock);
        venv
    })
    .clone()
}

/// Installs into a fresh temporary directory next to `venv`, then renames it into place.
/// Call with the install lock held.
fn install_venv(target: &Path, venv: &Path) {
    // Left-overs of interrupted installs (nobody else installs while we hold the lock).
    if let Ok(entries) = fs::read_dir(target) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("synapse-venv.tmp-")
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    if venv.exists() {
        fs::remove_dir_all(venv)
            .unwrap_or_else(|e| panic!("removing the broken {}: {e}", venv.display()));
    }
    let staging = target.join(format!("synapse-venv.tmp-{}", std::process::id()));
    eprintln!(
        "installing Synapse {SYNAPSE_VERSION} into {} (about 40 s, once)",
        venv.display()
    );
    let started = Instant::now();
    let system_python = std::env::var_os("SYNDIC_E2E_PYTHON").unwrap_or_else(|| "python3".into());
    run(Command::new(&system_python)
        .args(["-m", "venv"])
        .arg(&staging));
    run(pip_install(
        &staging.join("bin").join("python"),
        &format!("matrix-synapse=={SYNAPSE_VERSION}"),
    )
    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"));
    assert!(
        venv_ok(&staging),
        "pip installed matrix-synapse=={SYNAPSE_VERSION} into {} but `import synapse` fails there",
        staging.display()
    );
    fs::rename(&staging, venv)
        .unwrap_or_else(|e| panic!("renaming {} to {}: {e}", staging.display(), venv.display()));
    eprintln!(
        "installed Synapse {SYNAPSE_VERSION} in {:.0} s",
        started.elapsed().as_secs_f32()
    );
}

/// Runs a set-up command to completion; panics with its output if it fails.
fn run(command: &mut Command) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("finding a free port on 127.0.0.1: {e}"))
}

/// Whether `GET /health` answers 200, with plain blocking `std::net`.
fn health_ok(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200")
}

/// The last `lines` lines of a log file (or why it could not be read).
pub(super) fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// `2 * bytes` random hex digits from the OS.
pub(super) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut buffer))
        .expect("reading /dev/urandom");
    hex::encode(buffer)
}

/// A fresh HTTP client for one call: `reqwest` clients must not outlive the runtime they
/// were used on, and each test has its own. No proxy: everything is on loopback.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("building a reqwest client")
}

/// A localpart no other test (of this or a concurrently running test binary) uses:
/// `<prefix>-<pid>-<n>`. The same counter serves both shared Synapses.
pub fn unique_localpart(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", prefix.to_lowercase(), std::process::id())
}

/// `@localpart:localhost` (both shared Synapses have the same server name).
pub fn user_id_of(localpart: &str) -> String {
    format!("@{localpart}:{SERVER_NAME}")
}

/// [`Synapse::register`] in MAS mode: the stand-in creates and provisions the user, sets the
/// password, and issues a compat token (Synapse admin when `admin`) on a device of its own.
async fn register_on_mas(
    mas: &Mas,
    localpart: &str,
    password: &str,
    admin: bool,
    display_name: Option<&str>,
) -> RegisteredUser {
    mas.create_user(localpart, Some(password), admin, display_name)
        .await;
    let token = mas.compat_token(localpart, None, admin).await;
    RegisteredUser {
        user_id: token.user_id,
        localpart: localpart.to_owned(),
        access_token: token.access_token,
        device_id: token.device_id,
        password: password.to_owned(),
    }
}
