//! The MAS stand-in a MAS-mode Synapse delegates its accounts to, and the tests' handle on it.
//!
//! This file owns the stand-in's process ([`start`]: `mas_standin.py` under the harness
//! watchdog, with the Synapse venv's Python, started before Synapse) and [`Mas`]: its base URL,
//! the admin API's client credentials, the admin API itself ([`Mas::get`], [`Mas::post`], …,
//! with a cached client-credentials token), the compat password login, and the stand-in's
//! test-control API (`/_standin/...`, documented at the top of `mas_standin.py`).
//!
//! Every password, token and secret that passes through here is given to
//! [`super::secrets::remember`], so the run's check finds it if a bot ever logs it.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::synapse::{WATCHDOG, http_client, log_tail, random_hex};

/// The stand-in's source; written into its work directory at start.
const STANDIN_SOURCE: &str = include_str!("mas_standin.py");

/// The client the admin API is reached with (client credentials, scope `urn:mas:admin`).
pub const ADMIN_CLIENT_ID: &str = "01J44RKQYM4G3TNVANTMTDYTX6";

/// How long the stand-in's admin-API tokens live (MAS's default access-token lifetime).
const ADMIN_TOKEN_TTL: Duration = Duration::from_secs(300);

/// A cached admin token is replaced once it has less than this left.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

/// The zxcvbn score a password must reach through the admin API (`set-password`).
pub const MIN_PASSWORD_COMPLEXITY: u8 = 3;

/// How long the stand-in may take to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the stand-in did not start.
pub(super) enum StartError {
    /// It exited during start-up.
    Exited(String),
    /// Anything else.
    Fatal(String),
}

/// A token issued for a compat session (`/_standin/compat-token` or the compat password login).
#[derive(Clone, Debug)]
pub struct CompatToken {
    /// `@localpart:localhost`.
    pub user_id: String,
    pub access_token: String,
    pub device_id: String,
    /// The compat session's ID (for `/compat-sessions/{id}`); `None` for a password login.
    pub session_id: Option<String>,
}

/// An OAuth 2.0 session made through `/_standin/oauth2-session`.
#[derive(Clone, Debug)]
pub struct OAuth2Session {
    /// The session's ID (for `/oauth2-sessions/{id}`).
    pub id: String,
    pub access_token: String,
    pub device_id: String,
}

/// The running stand-in.
pub struct Mas {
    url: Url,
    client_id: String,
    client_secret: String,
    log_path: PathBuf,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for Mas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mas")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Starts the stand-in in `dir` (created here; its watchdog deletes it with the test process)
/// on a port it picks itself, telling it Synapse's URL and the secret they share. Waits until
/// it prints its listening line.
pub(super) fn start(
    python: &Path,
    dir: &Path,
    synapse_url: &Url,
    shared_secret: &str,
) -> Result<Mas, StartError> {
    let fatal = |what: String| StartError::Fatal(what);
    fs::create_dir_all(dir).map_err(|e| fatal(format!("creating {}: {e}", dir.display())))?;
    let script = dir.join("mas_standin.py");
    fs::write(&script, STANDIN_SOURCE)
        .map_err(|e| fatal(format!("writing {}: {e}", script.display())))?;
    let log_path = dir.join("mas-standin.log");
    let log = File::create(&log_path)
        .map_err(|e| fatal(format!("creating {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| fatal(format!("duplicating the log handle: {e}")))?;
    let client_secret = random_hex(24);
    super::secrets::remember(&client_secret);
    super::secrets::remember(shared_secret);
    Command::new(python)
        .arg("-c")
        .arg(WATCHDOG)
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(python)
        .arg(&script)
        .args(["--port", "0", "--synapse-url", synapse_url.as_str()])
        .args(["--secret", shared_secret])
        .args([
            "--client-id",
            ADMIN_CLIENT_ID,
            "--client-secret",
            &client_secret,
        ])
        .args([
            "--min-password-complexity",
            &MIN_PASSWORD_COMPLEXITY.to_string(),
            "--token-ttl",
            &ADMIN_TOKEN_TTL.as_secs().to_string(),
            "--server-name",
            "localhost",
        ])
        .current_dir(dir)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Like Synapse: a Ctrl-C reaches the tests only, the watchdog stops the child.
        .process_group(0)
        .spawn()
        .map_err(|e| fatal(format!("spawning {}: {e}", python.display())))?;

    let started = Instant::now();
    let port = loop {
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(port) = log.lines().find_map(|line| {
            line.strip_prefix("mas-standin listening on 127.0.0.1:")
                .and_then(|p| p.trim().parse::<u16>().ok())
        }) {
            break port;
        }
        // The watchdog's marker that its child exited (named after Synapse, its first child).
        if dir.join("synapse.exited").exists() {
            return Err(StartError::Exited(format!(
                "the MAS stand-in exited during start-up:\n{}",
                log_tail(&log_path, 30)
            )));
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(fatal(format!(
                "the MAS stand-in did not start within {STARTUP_TIMEOUT:?}:\n{}",
                log_tail(&log_path, 30)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "MAS stand-in is up on 127.0.0.1:{port} (log: {})",
        log_path.display()
    );
    Ok(Mas {
        url: Url::parse(&format!("http://127.0.0.1:{port}/")).expect("valid URL"),
        client_id: ADMIN_CLIENT_ID.to_owned(),
        client_secret,
        log_path,
        token: Mutex::new(None),
    })
}

impl Mas {
    /// Base URL, `http://127.0.0.1:PORT/` (also the OIDC issuer).
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// The admin API client's ID.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The admin API client's secret.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// The stand-in's log (one line per request, no secrets).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Absolute URL of a path on the stand-in (`path` starts with `/`).
    pub fn endpoint(&self, path: &str) -> Url {
        let base = self.url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}"))
            .unwrap_or_else(|e| panic!("bad MAS stand-in path {path:?}: {e}"))
    }

    /// A fresh admin-API token: client credentials (HTTP Basic), scope `urn:mas:admin`.
    pub async fn admin_token(&self) -> String {
        let (status, reply) = self
            .token_request(&self.client_id, &self.client_secret, "urn:mas:admin")
            .await;
        assert!(
            status.is_success(),
            "client-credentials grant failed: {status}: {reply}"
        );
        let token = reply["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {reply}"))
            .to_owned();
        super::secrets::remember(&token);
        token
    }

    /// `POST /oauth2/token` with `grant_type=client_credentials`, the given client credentials
    /// (HTTP Basic) and scope; the status and the JSON body, for tests of refusals.
    pub async fn token_request(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: &str,
    ) -> (StatusCode, Value) {
        let endpoint = self.endpoint("/oauth2/token");
        let response = http_client()
            .post(endpoint.clone())
            .basic_auth(client_id, Some(client_secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "client_credentials")
                    .append_pair("scope", scope)
                    .finish(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {endpoint}: {e}"));
        read_json(response, "POST", &endpoint).await
    }

    /// The cached admin token, renewed shortly before it expires.
    async fn cached_token(&self) -> String {
        {
            let cached = self.token.lock().expect("token lock");
            if let Some((token, expires)) = cached.as_ref()
                && Instant::now() + TOKEN_MARGIN < *expires
            {
                return token.clone();
            }
        }
        let issued = Instant::now();
        let token = self.admin_token().await;
        *self.token.lock().expect("token lock") = Some((token.clone(), issued + ADMIN_TOKEN_TTL));
        token
    }

    /// An admin-API request with the harness's admin token: the status and the JSON body
    /// (`Value::Null` when empty or not JSON). `path` is under `/api/admin/v1` (`/users?...`);
    /// a path starting with `/api/` is taken as it is.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let token = self.cached_token().await;
        self.request_with_token(method, path, body, &token).await
    }

    /// Like [`Self::request`] with any bearer token (for tests of refusals).
    pub async fn request_with_token(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: &str,
    ) -> (StatusCode, Value) {
        let endpoint = self.endpoint(&admin_path(path));
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
        read_json(response, method.as_str(), &endpoint).await
    }

    /// `GET` on the admin API; panics unless 2xx.
    pub async fn get(&self, path: &str) -> Value {
        self.expect_success(Method::GET, path, None).await
    }

    /// `POST` with a JSON body on the admin API; panics unless 2xx.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        self.expect_success(Method::POST, path, Some(body)).await
    }

    /// `PUT` with a JSON body on the admin API; panics unless 2xx.
    pub async fn put(&self, path: &str, body: &Value) -> Value {
        self.expect_success(Method::PUT, path, Some(body)).await
    }

    async fn expect_success(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let (status, reply) = self.request(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "{method} {path} on the MAS admin API failed: {status}: {reply}"
        );
        reply
    }

    /// The MAS user ID (a ULID) of `username`.
    pub async fn user_id_of(&self, username: &str) -> String {
        let user = self.get(&format!("/users/by-username/{username}")).await;
        user["data"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no data.id in {user}"))
            .to_owned()
    }

    /// `POST /_standin/users`: a user (provisioned in Synapse) with a password set without the
    /// complexity check; the single-user JSON:API document.
    pub async fn create_user(
        &self,
        username: &str,
        password: Option<&str>,
        admin: bool,
        displayname: Option<&str>,
    ) -> Value {
        let mut body = json!({ "username": username, "admin": admin });
        if let Some(password) = password {
            super::secrets::remember(password);
            body["password"] = json!(password);
        }
        if let Some(name) = displayname {
            body["displayname"] = json!(name);
        }
        self.control(Method::POST, "/_standin/users", Some(&body))
            .await
    }

    /// `POST /_standin/compat-token`: like `mas-cli manage issue-compatibility-token`; with
    /// `admin`, the token carries `urn:synapse:admin:*` (a Synapse admin's token).
    pub async fn compat_token(
        &self,
        username: &str,
        device_id: Option<&str>,
        admin: bool,
    ) -> CompatToken {
        let mut body = json!({ "username": username, "admin": admin });
        if let Some(device) = device_id {
            body["device_id"] = json!(device);
        }
        let reply = self
            .control(Method::POST, "/_standin/compat-token", Some(&body))
            .await;
        let token = compat_token_from(&reply);
        super::secrets::remember(&token.access_token);
        token
    }

    /// `POST /_standin/oauth2-session`: an OAuth 2.0 session of "Element X" (or `client_id`)
    /// with a device in Synapse.
    pub async fn oauth2_session(
        &self,
        username: &str,
        client_id: Option<&str>,
        device_id: Option<&str>,
        user_agent: Option<&str>,
        ip: Option<&str>,
    ) -> OAuth2Session {
        let body = json!({
            "username": username,
            "client_id": client_id,
            "device_id": device_id,
            "user_agent": user_agent,
            "ip": ip,
        });
        let reply = self
            .control(Method::POST, "/_standin/oauth2-session", Some(&body))
            .await;
        let field = |name: &str| {
            reply[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {reply}"))
                .to_owned()
        };
        let session = OAuth2Session {
            id: field("id"),
            access_token: field("access_token"),
            device_id: field("device_id"),
        };
        super::secrets::remember(&session.access_token);
        session
    }

    /// `POST /_standin/user-session`: a browser session; its ID.
    pub async fn user_session(
        &self,
        username: &str,
        user_agent: Option<&str>,
        ip: Option<&str>,
    ) -> String {
        let body = json!({ "username": username, "user_agent": user_agent, "ip": ip });
        let reply = self
            .control(Method::POST, "/_standin/user-session", Some(&body))
            .await;
        reply["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {reply}"))
            .to_owned()
    }

    /// `POST /_standin/upstream-link`: links the user to the stand-in's upstream provider; the
    /// link's JSON:API document.
    pub async fn upstream_link(
        &self,
        username: &str,
        subject: &str,
        human_account_name: Option<&str>,
    ) -> Value {
        let body = json!({
            "username": username,
            "subject": subject,
            "human_account_name": human_account_name,
        });
        self.control(Method::POST, "/_standin/upstream-link", Some(&body))
            .await
    }

    /// `POST /_standin/fail`: the next `count` admin-API requests with `method` (`"*"` for any)
    /// on a path starting with `path_prefix` (e.g. `/api/admin/v1/users`) answer `status` and
    /// `{"errors": [{"title": title}]}`.
    pub async fn fail(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        title: &str,
        count: u32,
    ) {
        let body = json!({
            "method": method,
            "path_prefix": path_prefix,
            "status": status,
            "title": title,
            "count": count,
        });
        self.control(Method::POST, "/_standin/fail", Some(&body))
            .await;
    }

    /// `GET /_standin/requests?since=N`: the admin-API requests seen from index `since` on
    /// (`{"index", "method", "path", "query", "status"}` each) and the index to ask from next.
    pub async fn requests_since(&self, since: usize) -> (usize, Vec<Value>) {
        let reply = self
            .control(
                Method::GET,
                &format!("/_standin/requests?since={since}"),
                None,
            )
            .await;
        let next = reply["next"].as_u64().expect("next") as usize;
        let requests = reply["requests"].as_array().cloned().unwrap_or_default();
        (next, requests)
    }

    /// `GET /_standin/info`: the issuer, the admin client, "Element X"'s client ID and the
    /// upstream provider's ID.
    pub async fn info(&self) -> Value {
        self.control(Method::GET, "/_standin/info", None).await
    }

    /// The compat password login a real MAS serves for legacy clients
    /// (`POST /_matrix/client/v3/login` on MAS): a new compat session and its device in Synapse.
    pub async fn password_login(
        &self,
        localpart: &str,
        password: &str,
        device_display_name: &str,
    ) -> CompatToken {
        let endpoint = self.endpoint("/_matrix/client/v3/login");
        let body = json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": localpart },
            "password": password,
            "initial_device_display_name": device_display_name,
        });
        let response = http_client()
            .post(endpoint.clone())
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {endpoint}: {e}"));
        let (status, reply) = read_json(response, "POST", &endpoint).await;
        assert!(
            status.is_success(),
            "compat password login of {localpart} failed: {status}: {reply}"
        );
        let token = compat_token_from(&reply);
        super::secrets::remember(&token.access_token);
        token
    }

    /// A control-API call; panics unless 2xx.
    async fn control(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let endpoint = self.endpoint(path);
        let mut request = http_client().request(method.clone(), endpoint.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {endpoint}: {e}"));
        let (status, reply) = read_json(response, method.as_str(), &endpoint).await;
        assert!(
            status.is_success(),
            "{method} {path} on the MAS stand-in failed: {status}: {reply}"
        );
        reply
    }
}

/// `/api/admin/v1` + `path`, unless `path` already starts with `/api/`.
fn admin_path(path: &str) -> String {
    if path.starts_with("/api/") {
        path.to_owned()
    } else {
        format!("/api/admin/v1{path}")
    }
}

fn compat_token_from(reply: &Value) -> CompatToken {
    let field = |name: &str| {
        reply[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {reply}"))
            .to_owned()
    };
    CompatToken {
        user_id: field("user_id"),
        access_token: field("access_token"),
        device_id: field("device_id"),
        session_id: reply["session_id"].as_str().map(str::to_owned),
    }
}

async fn read_json(
    response: reqwest::Response,
    method: &str,
    endpoint: &Url,
) -> (StatusCode, Value) {
    let status = response.status();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("{method} {endpoint}: reading the body: {e}"));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
