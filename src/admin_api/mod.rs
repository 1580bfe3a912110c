//! Typed clients for the Synapse Admin API and MAS's admin API: transport, auth, retries, error mapping and one request type per endpoint.
//!
//! This module owns everything Syndic knows about talking HTTP to Synapse and to the Matrix
//! Authentication Service (MAS):
//!
//! * [`AdminClient`]: a cheap-to-clone handle holding the HTTP client, the server's URL, where its
//!   `Authorization` header comes from (`auth.rs`: the bot's access token for Synapse, OAuth 2.0
//!   client credentials for MAS; neither ever appears in `Debug` output, logs or errors) and whose
//!   error shapes it reads ([`Service`]). [`mas::MasClient`] is the MAS face of the same client.
//! * [`Endpoint`]: one type per endpoint, declaring its method, path, query, body, response type
//!   and whether it may be retried after a transient failure.
//! * The retry policy ([`RetryPolicy`], applied in [`AdminClient::send`] only) and the mapping of
//!   Synapse and MAS errors to [`AdminError`] (in `error.rs` only).
//! * The Synapse endpoint catalogue, by area: [`server`], [`users`], [`moderation`], [`media`],
//!   [`rooms`], [`tokens`], [`reports`], [`health`]; MAS's in [`mas`].
//! * Calls that take several requests (paging, existence checks, alias resolution), as methods
//!   of [`AdminClient`] in `paging.rs` (MAS: [`mas::MasClient::all`]).
//!
//! Response field names follow Synapse exactly; see `docs/admin_api/*.md` in element-hq/synapse.
//! MAS's follow its OpenAPI description (`/api/spec.json` of a MAS with the admin API enabled).

pub(crate) mod accounts;
mod auth;
mod de;
mod error;
pub(crate) mod health;
pub(crate) mod mas;
pub(crate) mod media;
pub(crate) mod moderation;
mod paging;
pub(crate) mod reports;
pub(crate) mod rooms;
pub(crate) mod server;
pub(crate) mod tokens;
pub(crate) mod users;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;
use zeroize::Zeroize;

pub(crate) use error::{AdminError, Service};

/// Time allowed to establish a TCP/TLS connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for a whole request (send + response body).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout for endpoints that do heavy work synchronously (media deletion, deactivation…).
pub(crate) const LONG_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// One Admin API (or client-server API) endpoint: one type per endpoint.
///
/// Implementors are plain structs with `pub(crate)` fields holding the request parameters.
pub(crate) trait Endpoint {
    /// The decoded success response.
    type Response: DeserializeOwned;
    /// HTTP method.
    const METHOD: Method;
    /// Whether the request may be repeated after a connection error, a timeout or a
    /// 502/503/504: true for reads and idempotent deletes, false for other writes.
    /// (A 429 is always retried: the server did not process the request.)
    const RETRY_SAFE: bool;

    /// The method of this request: [`Self::METHOD`] unless one endpoint uses two.
    fn method(&self) -> Method {
        Self::METHOD
    }

    /// Path below the homeserver URL, starting with `/`, with every variable segment
    /// percent-encoded by [`encode_segment`].
    fn path(&self) -> String;

    /// Query parameters (values are form-encoded by the client).
    fn query(&self) -> Vec<(&'static str, String)> {
        vec![]
    }

    /// JSON body. `None` sends no body for GET/DELETE and `{}` for POST/PUT (Synapse requires
    /// a JSON object on most write endpoints).
    fn body(&self) -> Option<serde_json::Value> {
        None
    }

    /// What the request is about, for error messages: `user @x:y`, `room !r:s`, …
    fn subject(&self) -> String;

    /// Per-request timeout, when the endpoint can legitimately take longer than the default.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Decodes a 2xx response body. Override when the status code carries meaning
    /// (e.g. 201 Created vs 200 OK). An empty body decodes like `{}`.
    fn decode(&self, status: StatusCode, body: &[u8]) -> Result<Self::Response, serde_json::Error> {
        let _ = status;
        decode_json(body)
    }
}

/// Decodes a JSON response body, treating an empty body as `{}`.
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"{}")
    } else {
        serde_json::from_slice(body)
    }
}

/// Bytes [`encode_segment`] escapes: everything except RFC 3986 unreserved characters
/// (`A-Za-z0-9-._~`; `NON_ALPHANUMERIC` already keeps letters and digits).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (user ID, room ID, alias, media ID…): every byte except
/// RFC 3986 unreserved characters, so `@a:b` becomes `%40a%3Ab` and `/` can never split a segment.
/// A segment of dots only (`.`, `..`) is encoded whole: URL joining would otherwise collapse it
/// and turn `media/../delete` into another endpoint.
pub(crate) fn encode_segment(segment: &str) -> String {
    if !segment.is_empty() && segment.bytes().all(|b| b == b'.') {
        return "%2E".repeat(segment.len());
    }
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// An empty JSON object response (`{}`), as returned by many write endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmptyResponse {}

/// Bounds on retries. The defaults suit a chat bot: a few seconds at most before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Total attempts per request, including the first one.
    pub(crate) max_attempts: u32,
    /// First backoff for transient failures; doubled after each failure.
    pub(crate) base_backoff: Duration,
    /// Ceiling for a single backoff.
    pub(crate) max_backoff: Duration,
    /// Ceiling for the sum of all waits of one request; a 429 asking for longer gives up.
    pub(crate) max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_total_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The policy for background jobs (imports) that must ride out a Synapse restart rather than
    /// answer quickly: 9 attempts, backoff 0.5 s doubling up to 30 s (0.5, 1, 2, 4, 8, 16, 30,
    /// 30 s: 91.5 s of waiting in all), at most 120 s of waiting per request.
    ///
    /// Like every policy it only repeats transient failures of `RETRY_SAFE` endpoints (and any
    /// 429). Use it with [`AdminClient::with_retry_policy`] on a clone of the bot's client.
    pub(crate) fn patient() -> Self {
        RetryPolicy {
            max_attempts: 9,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
        }
    }

    /// Backoff before attempt `attempt + 1` after `attempt` failed transiently (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// A handle on the admin API of one server, authenticated as the bot: Synapse's Admin API
/// (a fixed access token), or MAS's admin API (through [`mas::MasClient`]: OAuth 2.0 client
/// credentials).
///
/// Cloning is cheap (the HTTP connection pool and the token, or the cached MAS token, are shared).
#[derive(Clone)]
pub(crate) struct AdminClient {
    http: reqwest::Client,
    /// The homeserver's URL, or MAS's.
    base: Url,
    /// Where the `Authorization` header comes from.
    auth: auth::AuthSource,
    /// Whose API this is: the error shapes and the names in messages.
    service: Service,
    retry: RetryPolicy,
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AdminClient");
        d.field("service", &self.service)
            .field("base", &self.base.as_str());
        self.auth.describe(&mut d);
        d.field("retry", &self.retry).finish()
    }
}

/// Result of one attempt, as seen by the retry loop.
enum Attempt<T> {
    /// Final: success or an error that must not be retried.
    Done(Result<T, AdminError>),
    /// 429: always retryable; carries the server's requested wait.
    RateLimited {
        wait: Option<Duration>,
        error: AdminError,
    },
    /// Connection error, timeout, 502/503/504: retryable only for retry-safe endpoints.
    Transient(AdminError),
    /// The request was never sent: getting MAS's access token failed transiently. Retryable for
    /// every endpoint.
    NotSent(AdminError),
    /// MAS answered 401 to a request made with `header`, a token from the client credentials:
    /// forget it and repeat once with a fresh one (the request was not processed).
    TokenRejected {
        error: AdminError,
        header: HeaderValue,
    },
}

/// A request body, wiped when the request is done: it may hold a password (MAS's set-password)
/// or a registration token. (The copy reqwest serializes cannot be reached.)
struct WipedBody(Option<serde_json::Value>);

impl Drop for WipedBody {
    fn drop(&mut self) {
        fn wipe(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => s.zeroize(),
                serde_json::Value::Array(a) => a.iter_mut().for_each(wipe),
                serde_json::Value::Object(o) => o.values_mut().for_each(wipe),
                _ => {}
            }
        }
        if let Some(v) = &mut self.0 {
            wipe(v);
        }
    }
}

/// `path` below `base`, keeping any path prefix of the base.
fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    let sep = if path.starts_with('/') { "" } else { "/" };
    url.set_path(&format!("{prefix}{sep}{path}"));
    url
}

/// Checks that `base` can be the base URL of an API: http(s), a host, a path that can take
/// segments. `what` names it in errors (`the homeserver URL`, `the MAS URL`).
fn check_base_url(base: &Url, what: &str) -> Result<(), AdminError> {
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(AdminError::InvalidConfig {
            reason: format!(
                "{what} must be http(s)://host[:port][/prefix], got scheme `{}`",
                base.scheme()
            ),
        });
    }
    if base.host_str().is_none() {
        return Err(AdminError::InvalidConfig {
            reason: format!("{what} has no host"),
        });
    }
    Ok(())
}

impl AdminClient {
    /// Creates a client for `homeserver` (e.g. `https://matrix.example.org`) using the bot's
    /// access token, which must belong to a server admin for `/_synapse/admin` endpoints.
    pub(crate) fn new(homeserver: Url, mut access_token: String) -> Result<Self, AdminError> {
        check_base_url(&homeserver, "the homeserver URL")?;
        let token = access_token.trim();
        if token.is_empty() {
            return Err(AdminError::InvalidConfig {
                reason: "the access token is empty".to_owned(),
            });
        }
        let mut auth_header = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            AdminError::InvalidConfig {
                reason: "the access token contains characters not allowed in an HTTP header"
                    .to_owned(),
            }
        })?;
        auth_header.set_sensitive(true);
        access_token.zeroize();
        Self::build(
            Service::Synapse,
            homeserver,
            auth::AuthSource::Bearer(Arc::new(auth_header)),
        )
    }

    /// A client of MAS's admin API at `base` (e.g. `https://auth.example.org`), authenticated
    /// with OAuth 2.0 client credentials (`client_secret_basic`); see [`mas::MasClient::new`].
    fn with_client_credentials(
        base: Url,
        client_id: String,
        mut client_secret: String,
    ) -> Result<Self, AdminError> {
        check_base_url(&base, "the MAS URL")?;
        let secret = zeroize::Zeroizing::new(client_secret.trim().to_owned());
        client_secret.zeroize();
        let client_id = client_id.trim().to_owned();
        if client_id.is_empty()
            || client_id.contains(':')
            || client_id.chars().any(char::is_control)
        {
            return Err(AdminError::InvalidConfig {
                reason: "the MAS client ID must be non-empty, without `:` or control characters"
                    .to_owned(),
            });
        }
        if secret.is_empty() {
            return Err(AdminError::InvalidConfig {
                reason: "the MAS client secret is empty".to_owned(),
            });
        }
        if secret.chars().any(char::is_control) {
            return Err(AdminError::InvalidConfig {
                reason: "the MAS client secret contains control characters".to_owned(),
            });
        }
        let mut base = base;
        base.set_query(None);
        base.set_fragment(None);
        let token_url = join_path(&base, auth::TOKEN_PATH);
        Self::build(
            Service::Mas,
            base,
            auth::AuthSource::client_credentials(token_url, client_id, secret),
        )
    }

    /// The client for `base`, with the shared HTTP settings.
    fn build(service: Service, base: Url, auth: auth::AuthSource) -> Result<Self, AdminError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("syndic/", env!("CARGO_PKG_VERSION")))
            // The admin API never redirects; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AdminError::InvalidConfig {
                reason: format!("cannot build the HTTP client: {}", e.without_url()),
            })?;

        let mut base = base;
        base.set_query(None);
        base.set_fragment(None);
        Ok(AdminClient {
            http,
            base,
            auth,
            service,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy (mainly for tests and impatient callers).
    pub(crate) fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// `host[:port]` of the server, for error messages.
    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("(unknown host)");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// Full URL of `ep`: base URL (with any path prefix) + endpoint path + query.
    fn url_for<E: Endpoint>(&self, ep: &E) -> Url {
        let mut url = join_path(&self.base, &ep.path());
        let query = ep.query();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// The metric label of a request path: its variable segments (IDs, names, tokens) left out.
    fn endpoint_label(&self, path: &str) -> String {
        match self.service {
            Service::Synapse => crate::metrics::endpoint_label(path),
            Service::Mas => mas::endpoint_label(path),
        }
    }

    /// Sends `ep`, retrying according to the [`RetryPolicy`] and `E::RETRY_SAFE`, and decodes
    /// the response.
    ///
    /// Retries: a 429 is retried for every endpoint, honouring `retry_after_ms` / `Retry-After`;
    /// connection errors, timeouts and 502/503/504 are retried with exponential backoff only when
    /// `E::RETRY_SAFE`. Everything else is returned at once. With MAS, a request that could not
    /// get an access token (transiently) is retried for every endpoint (it was never sent), and a
    /// 401 drops the cached token and repeats the request once with a fresh one.
    pub(crate) async fn send<E: Endpoint>(&self, ep: &E) -> Result<E::Response, AdminError> {
        let url = self.url_for(ep);
        let body = WipedBody(match (ep.body(), ep.method()) {
            (Some(b), _) => Some(b),
            (None, m) if m == Method::POST || m == Method::PUT => {
                Some(serde_json::Value::Object(serde_json::Map::new()))
            }
            (None, _) => None,
        });
        let policy = self.retry;
        // The label, not the path: a path can name a registration token or a user.
        let endpoint = self.endpoint_label(url.path());
        let span = tracing::info_span!("admin_api", method = %ep.method(), endpoint = %endpoint);
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        let mut token_renewed = false;
        loop {
            attempt += 1;
            let sent = self
                .attempt(ep, &url, &endpoint, body.0.as_ref())
                .instrument(span.clone())
                .await;
            let (wait, error, rate_limited) = match sent {
                Attempt::Done(result) => return result,
                Attempt::TokenRejected { error, header } => {
                    if token_renewed {
                        tracing::warn!(
                            method = %ep.method(),
                            endpoint = %endpoint,
                            error = %error,
                            "MAS rejected a freshly issued access token"
                        );
                        return Err(error);
                    }
                    tracing::debug!(
                        method = %ep.method(),
                        endpoint = %endpoint,
                        "MAS rejected the cached access token; repeating with a new one"
                    );
                    token_renewed = true;
                    self.forget_token(&header).await;
                    // The repeat is not a retry: the request was not processed.
                    attempt -= 1;
                    continue;
                }
                Attempt::NotSent(error) => (policy.backoff(attempt), error, false),
                Attempt::RateLimited { wait, error } => {
                    (wait.unwrap_or_else(|| policy.backoff(attempt)), error, true)
                }
                Attempt::Transient(error) => {
                    if !E::RETRY_SAFE {
                        tracing::debug!(
                            method = %ep.method(),
                            endpoint = %endpoint,
                            error = %error,
                            "admin API write failed transiently; not retrying a non-idempotent request"
                        );
                        return Err(error);
                    }
                    (policy.backoff(attempt), error, false)
                }
            };
            if attempt >= policy.max_attempts || waited.saturating_add(wait) > policy.max_total_wait
            {
                tracing::warn!(
                    method = %ep.method(),
                    endpoint = %endpoint,
                    attempts = attempt,
                    error = %error,
                    "admin API request failed; giving up"
                );
                return Err(error);
            }
            crate::metrics::get().admin_retry(rate_limited);
            if rate_limited {
                tracing::debug!(
                    method = %ep.method(),
                    endpoint = %endpoint,
                    attempt,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "admin API request rate-limited; retrying"
                );
            } else {
                tracing::warn!(
                    method = %ep.method(),
                    endpoint = %endpoint,
                    attempt,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %error,
                    "admin API request failed transiently; retrying"
                );
            }
            tokio::time::sleep(wait).await;
            waited = waited.saturating_add(wait);
        }
    }

    /// One HTTP exchange, classified for the retry loop; `endpoint` is the path's metric label.
    async fn attempt<E: Endpoint>(
        &self,
        ep: &E,
        url: &Url,
        endpoint: &str,
        body: Option<&serde_json::Value>,
    ) -> Attempt<E::Response> {
        let authorization = match self.authorization().await {
            Ok(header) => header,
            Err(failure) => return failure.into(),
        };
        let mut req = self
            .http
            .request(ep.method(), url.clone())
            .header(AUTHORIZATION, authorization.clone());
        if let Some(timeout) = ep.timeout() {
            req = req.timeout(timeout);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                crate::metrics::get().admin_request(endpoint, 0);
                return Attempt::Transient(self.transport_error(&e, ep.timeout()));
            }
        };
        let status = resp.status();
        crate::metrics::get().admin_request(endpoint, status.as_u16());
        let retry_after_header = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Transient(self.transport_error(&e, ep.timeout())),
        };

        if status.is_success() {
            return Attempt::Done(ep.decode(status, &bytes).map_err(|e| {
                AdminError::UnexpectedResponse {
                    service: self.service,
                    status: status.as_u16(),
                    reason: format!(
                        "could not decode the response: {}",
                        error::one_line(&e.to_string())
                    ),
                }
            }));
        }
        if status.is_redirection() {
            return Attempt::Done(Err(AdminError::UnexpectedResponse {
                service: self.service,
                status: status.as_u16(),
                reason: format!(
                    "{} redirected the request; configure its final URL \
                     (e.g. https:// instead of http://)",
                    self.service
                ),
            }));
        }
        let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
            error::rate_limit_wait(&bytes, retry_after_header.as_deref())
        } else {
            None
        };
        let err = error::map_error_response(
            self.service,
            status.as_u16(),
            &bytes,
            &ep.subject(),
            &self.host(),
            retry_after,
        );
        match status.as_u16() {
            401 if self.auth.is_renewable() => Attempt::TokenRejected {
                error: err,
                header: authorization,
            },
            429 => Attempt::RateLimited {
                wait: retry_after,
                error: err,
            },
            502..=504 => Attempt::Transient(err),
            _ => Attempt::Done(Err(err)),
        }
    }

    /// Reduces a reqwest error to a one-line, URL-free [`AdminError::Unreachable`].
    fn transport_error(&self, e: &reqwest::Error, timeout: Option<Duration>) -> AdminError {
        let reason = if e.is_connect() && e.is_timeout() {
            format!("connection timed out after {}s", CONNECT_TIMEOUT.as_secs())
        } else if e.is_timeout() {
            format!(
                "no complete answer within {}s (the request may still be running on the server)",
                timeout.unwrap_or(REQUEST_TIMEOUT).as_secs()
            )
        } else {
            // The innermost cause is the informative one ("Connection refused", "dns error…");
            // the outer reqwest error would include the URL.
            let mut cause: &dyn std::error::Error = e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let text = if std::ptr::addr_eq(cause, e as &dyn std::error::Error) {
                "request failed".to_owned()
            } else {
                cause.to_string()
            };
            let kind = if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            format!("{kind}: {}", error::one_line(&text))
        };
        AdminError::Unreachable {
            service: self.service,
            host: self.host(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests;
