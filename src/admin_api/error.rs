//! `AdminError` and the single mapping from an HTTP status + error body to it: Synapse's
//! `{errcode, error}`, MAS's JSON:API `{"errors": [{"title"}]}` and the OAuth 2.0 token endpoint's
//! `{error, error_description}`.
//!
//! Every message is one line an admin can act on. None of them contains an access token, the MAS
//! client secret, a request body or a URL query string: tokens and secrets only ever travel in the
//! `Authorization` header, and transport errors are reduced to the host name and the root cause.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// The message Synapse sends (403 `M_FORBIDDEN`) when the caller is not a server admin.
const NOT_ADMIN_MESSAGE: &str = "not a server admin";

/// Longest reason or message copied from a response into an error.
const MAX_REASON_CHARS: usize = 200;

/// Which server's API a client talks to: it decides the error shapes and how messages name the
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Service {
    /// Synapse's Admin API (and the client-server API): `{errcode, error}` errors.
    Synapse,
    /// The Matrix Authentication Service's admin API: JSON:API `{"errors": [{"title"}]}` errors.
    Mas,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Synapse => "the homeserver",
            Service::Mas => "MAS",
        })
    }
}

/// What MAS did not accept about the bot's OAuth 2.0 client (see [`AdminError::MasCredentials`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MasCredentialProblem {
    /// `invalid_client`: unknown client ID or wrong secret.
    InvalidClient,
    /// `unauthorized_client`: the client may not use the client credentials grant.
    GrantNotAllowed,
    /// `invalid_scope` / `access_denied`: MAS's policy refused the `urn:mas:admin` scope.
    Scope,
    /// An admin API call answered 401 although the token was fresh.
    TokenRejected,
}

/// Why an Admin API (Synapse or MAS) call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AdminError {
    /// `M_NOT_FOUND`: the user, room, media or task the request was about does not exist.
    #[error("{subject} does not exist")]
    NotFound {
        /// What the request was about, e.g. `user @x:example.org`.
        subject: String,
        /// Synapse's own message, e.g. `User not found`.
        message: String,
    },
    /// `M_FORBIDDEN` (403), or a 403 from MAS.
    #[error("{}", forbidden_text(*.service, *.not_server_admin, message))]
    Forbidden {
        /// The server that refused.
        service: Service,
        /// True when Synapse says the bot's account is not a server admin.
        not_server_admin: bool,
        /// The server's message.
        message: String,
    },
    /// 401: the access token is missing, unknown or expired.
    #[error("the homeserver rejected the bot's access token ({errcode}: {message})")]
    Unauthorized {
        /// `M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN`, …
        errcode: String,
        /// Synapse's message.
        message: String,
    },
    /// 429 (`M_LIMIT_EXCEEDED`), still rate-limited after the client's retries.
    #[error("{}", rate_limited_text(*.service, *.retry_after_ms))]
    RateLimited {
        /// The server that is rate-limiting.
        service: Service,
        /// How long the server asked us to wait, if it said.
        retry_after_ms: Option<u64>,
    },
    /// Any other Synapse error body `{errcode, error}`.
    #[error("Synapse refused the request: {message} ({errcode}, HTTP {status})")]
    Synapse {
        /// HTTP status code.
        status: u16,
        /// Matrix error code, e.g. `M_UNKNOWN`, `M_INVALID_PARAM`.
        errcode: String,
        /// Synapse's human-readable message.
        message: String,
    },
    /// A MAS error body `{"errors": [{"title"}]}` not covered by another variant (400, 409,
    /// 500…), or a token endpoint error other than the bot's credentials.
    #[error("MAS refused the request: {message} (HTTP {status})")]
    Mas {
        /// HTTP status code.
        status: u16,
        /// MAS's error titles, joined by `; `.
        message: String,
    },
    /// MAS answered 400 "… is already finished" (a session) or "… is already revoked" (a
    /// registration token): the change had been made before, e.g. by an earlier attempt.
    #[error("{subject} is already {state}")]
    AlreadyDone {
        /// What the request was about, e.g. `MAS compatibility session 01…`.
        subject: String,
        /// `finished` or `revoked`.
        state: &'static str,
    },
    /// The back end that owns accounts has no such operation (a command asked MAS for something
    /// only Synapse does, or the other way round); `what` says what instead, as one sentence.
    #[error("{what}")]
    NotOnBackend {
        /// What cannot be done here, and what to use instead.
        what: String,
    },
    /// MAS did not accept the bot's OAuth 2.0 client credentials, refused it the admin scope, or
    /// rejected the access token it had issued.
    #[error("{}", mas_credentials_text(*.problem, *.status, message))]
    MasCredentials {
        /// HTTP status code (401, 400 or 403).
        status: u16,
        /// What was not accepted.
        problem: MasCredentialProblem,
        /// MAS's description, if any (never contains the secret).
        message: String,
    },
    /// The server could not be reached: connection failure, timeout, or a reverse proxy
    /// answering 502/503/504 without an error body of the server.
    #[error("{service} {host} could not be reached: {reason}")]
    Unreachable {
        /// The server that could not be reached.
        service: Service,
        /// Host (and port) of the server, never the path or query.
        host: String,
        /// Root cause, e.g. `connection refused`, `timed out after 60s`.
        reason: String,
    },
    /// A response that is neither a success we can decode nor an error of the server.
    #[error("unexpected response from {service} (HTTP {status}): {reason}")]
    UnexpectedResponse {
        /// The server that answered.
        service: Service,
        /// HTTP status code.
        status: u16,
        /// Short description of what was wrong.
        reason: String,
    },
    /// The client could not be built from the given configuration.
    #[error("invalid Admin API client configuration: {reason}")]
    InvalidConfig {
        /// What is wrong (never contains the token).
        reason: String,
    },
}

fn forbidden_text(service: Service, not_server_admin: bool, message: &str) -> String {
    if not_server_admin {
        "the bot's account is not a server admin".to_owned()
    } else {
        format!("{service} refused: {message}")
    }
}

fn rate_limited_text(service: Service, retry_after_ms: Option<u64>) -> String {
    match retry_after_ms {
        Some(ms) => format!(
            "{service} is rate-limiting the bot; try again in {}s",
            ms.div_ceil(1000)
        ),
        None => format!("{service} is rate-limiting the bot; try again later"),
    }
}

fn mas_credentials_text(problem: MasCredentialProblem, status: u16, message: &str) -> String {
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    match problem {
        MasCredentialProblem::InvalidClient => "MAS did not accept the bot's client credentials \
             ([mas] client_id / client_secret_file; the client must be listed in MAS's \
             policy.data.admin_clients)"
            .to_owned(),
        MasCredentialProblem::GrantNotAllowed => format!(
            "MAS does not let the bot's client use the client credentials grant ([mas] \
             client_id; in MAS's clients, give it client_auth_method: client_secret_basic){said}"
        ),
        MasCredentialProblem::Scope => format!(
            "MAS did not grant the bot's client the urn:mas:admin scope ([mas] client_id; the \
             client must be listed in MAS's policy.data.admin_clients){said}"
        ),
        MasCredentialProblem::TokenRejected => {
            format!("MAS rejected the bot's access token (HTTP {status}){said}")
        }
    }
}

impl AdminError {
    /// True for `M_NOT_FOUND` and MAS's 404 with an error body.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, AdminError::NotFound { .. })
    }

    /// True for a 409 Conflict (MAS: username reserved, email address already in use…).
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(
            self,
            AdminError::Mas { status: 409, .. } | AdminError::Synapse { status: 409, .. }
        )
    }

    /// True when MAS says the session was already finished: a repeated finish, done.
    pub(crate) fn is_already_finished(&self) -> bool {
        matches!(
            self,
            AdminError::AlreadyDone {
                state: "finished",
                ..
            }
        )
    }

    /// True when MAS says the registration token was already revoked: a repeated revoke, done.
    pub(crate) fn is_already_revoked(&self) -> bool {
        matches!(
            self,
            AdminError::AlreadyDone {
                state: "revoked",
                ..
            }
        )
    }

    /// True for 403 `M_FORBIDDEN` (e.g. a token without the admin scope).
    pub(crate) fn is_forbidden(&self) -> bool {
        matches!(self, AdminError::Forbidden { .. })
    }

    /// True when Synapse does not know the endpoint (`M_UNRECOGNIZED`, or a bare 404/405): an
    /// older version.
    pub(crate) fn is_unrecognized(&self) -> bool {
        match self {
            AdminError::Synapse { errcode, .. } => errcode == "M_UNRECOGNIZED",
            AdminError::UnexpectedResponse { status, .. } => matches!(status, 404 | 405),
            _ => false,
        }
    }

    /// The Matrix error code, when the error came from a Synapse error body.
    #[cfg(test)]
    pub(crate) fn errcode(&self) -> Option<&str> {
        match self {
            AdminError::NotFound { .. } => Some("M_NOT_FOUND"),
            AdminError::Forbidden { .. } => Some("M_FORBIDDEN"),
            AdminError::RateLimited { .. } => Some("M_LIMIT_EXCEEDED"),
            AdminError::Unauthorized { errcode, .. } | AdminError::Synapse { errcode, .. } => {
                Some(errcode)
            }
            AdminError::Mas { .. }
            | AdminError::NotOnBackend { .. }
            | AdminError::AlreadyDone { .. }
            | AdminError::MasCredentials { .. }
            | AdminError::Unreachable { .. }
            | AdminError::UnexpectedResponse { .. }
            | AdminError::InvalidConfig { .. } => None,
        }
    }

    /// The HTTP status of the response that caused the error, if there was one.
    #[cfg(test)]
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            AdminError::NotFound { .. } => Some(404),
            AdminError::Forbidden { .. } => Some(403),
            AdminError::Unauthorized { .. } => Some(401),
            AdminError::RateLimited { .. } => Some(429),
            AdminError::AlreadyDone { .. } => Some(400),
            AdminError::Synapse { status, .. }
            | AdminError::Mas { status, .. }
            | AdminError::MasCredentials { status, .. }
            | AdminError::UnexpectedResponse { status, .. } => Some(*status),
            AdminError::Unreachable { .. }
            | AdminError::InvalidConfig { .. }
            | AdminError::NotOnBackend { .. } => None,
        }
    }
}

/// A Matrix error body. Extra fields (e.g. `retry_after_ms`) are read separately.
#[derive(Debug, Deserialize)]
struct MatrixErrorBody {
    #[serde(default)]
    errcode: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    retry_after_ms: Option<u64>,
}

/// Parses a Matrix error body, if `body` is one.
fn parse_matrix_error(body: &[u8]) -> Option<MatrixErrorBody> {
    serde_json::from_slice::<MatrixErrorBody>(body)
        .ok()
        .filter(|e| e.errcode.is_some() || e.error.is_some())
}

/// How long a 429 response asks us to wait: `retry_after_ms` in the body wins over the
/// `Retry-After` header (whole seconds).
pub(crate) fn rate_limit_wait(body: &[u8], retry_after_header: Option<&str>) -> Option<Duration> {
    if let Some(ms) = parse_matrix_error(body).and_then(|e| e.retry_after_ms) {
        return Some(Duration::from_millis(ms));
    }
    retry_after_header
        .and_then(|h| h.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Truncates `s` to [`MAX_REASON_CHARS`] characters and flattens it to one line.
pub(crate) fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() > MAX_REASON_CHARS {
        let cut: String = flat.chars().take(MAX_REASON_CHARS).collect();
        format!("{cut}…")
    } else {
        flat.to_owned()
    }
}

/// Maps a non-2xx response to an [`AdminError`]. The one place that knows the error shapes of
/// Synapse and MAS.
///
/// * `service`: whose API answered, which decides the body's shape.
/// * `subject`: what the request was about (from [`Endpoint::subject`](super::Endpoint::subject)).
/// * `host`: host of the server, used when a gateway error means it is unreachable.
/// * `retry_after`: the wait a 429 asked for (see [`rate_limit_wait`]).
pub(crate) fn map_error_response(
    service: Service,
    status: u16,
    body: &[u8],
    subject: &str,
    host: &str,
    retry_after: Option<Duration>,
) -> AdminError {
    if status == 429 {
        return rate_limited(service, retry_after);
    }
    match service {
        Service::Synapse => map_synapse_error(status, body, subject, host, retry_after),
        Service::Mas => map_mas_error(status, body, subject, host),
    }
}

fn rate_limited(service: Service, retry_after: Option<Duration>) -> AdminError {
    AdminError::RateLimited {
        service,
        retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// A response without an error body of `service`: a gateway error, or something else answering.
fn not_an_error_body(service: Service, status: u16, host: &str) -> AdminError {
    let (kind, exposed) = match service {
        Service::Synapse => ("Matrix", "the admin API (/_synapse/admin)"),
        Service::Mas => (
            "MAS",
            "MAS's admin API (the adminapi resource of an http.listeners entry)",
        ),
    };
    match status {
        502..=504 => AdminError::Unreachable {
            service,
            host: host.to_owned(),
            reason: gateway_reason(service, status),
        },
        404 => AdminError::UnexpectedResponse {
            service,
            status,
            reason: format!("not found, and not a {kind} error: is {exposed} exposed at this URL?"),
        },
        _ => AdminError::UnexpectedResponse {
            service,
            status,
            reason: format!("the error body is not a {kind} error (a reverse proxy answered?)"),
        },
    }
}

fn map_synapse_error(
    status: u16,
    body: &[u8],
    subject: &str,
    host: &str,
    retry_after: Option<Duration>,
) -> AdminError {
    let Some(err) = parse_matrix_error(body) else {
        return not_an_error_body(Service::Synapse, status, host);
    };
    let errcode = err.errcode.unwrap_or_else(|| "M_UNKNOWN".to_owned());
    let message = one_line(err.error.as_deref().unwrap_or("no message"));
    match (status, errcode.as_str()) {
        (_, "M_NOT_FOUND") => AdminError::NotFound {
            subject: subject.to_owned(),
            message,
        },
        (_, "M_LIMIT_EXCEEDED") => rate_limited(Service::Synapse, retry_after),
        (401, _) | (_, "M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN") => {
            AdminError::Unauthorized { errcode, message }
        }
        (403, "M_FORBIDDEN") => AdminError::Forbidden {
            service: Service::Synapse,
            not_server_admin: message.to_ascii_lowercase().contains(NOT_ADMIN_MESSAGE),
            message,
        },
        _ => AdminError::Synapse {
            status,
            errcode,
            message,
        },
    }
}

/// A MAS (JSON:API) error body: `{"errors": [{"title": "…"}, …]}`.
#[derive(Debug, Deserialize)]
struct MasErrorBody {
    errors: Vec<MasErrorItem>,
}

#[derive(Debug, Deserialize)]
struct MasErrorItem {
    #[serde(default)]
    title: Option<String>,
}

/// The titles of a MAS error body joined by `; ` (one line, clipped), if `body` is one.
fn parse_mas_error(body: &[u8]) -> Option<String> {
    let err = serde_json::from_slice::<MasErrorBody>(body).ok()?;
    let titles: Vec<&str> = err
        .errors
        .iter()
        .filter_map(|e| e.title.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if titles.is_empty() {
        return None;
    }
    Some(one_line(&titles.join("; ")))
}

/// `finished` or `revoked` when a MAS title says "… is already finished/revoked".
fn already_state(titles: &str) -> Option<&'static str> {
    titles.split("; ").find_map(|title| {
        let (_, rest) = title.rsplit_once(" is already ")?;
        match rest.trim_end_matches(['.', '!']) {
            "finished" => Some("finished"),
            "revoked" => Some("revoked"),
            _ => None,
        }
    })
}

fn map_mas_error(status: u16, body: &[u8], subject: &str, host: &str) -> AdminError {
    let Some(message) = parse_mas_error(body) else {
        return not_an_error_body(Service::Mas, status, host);
    };
    match status {
        404 => AdminError::NotFound {
            subject: subject.to_owned(),
            message,
        },
        401 => AdminError::MasCredentials {
            status,
            problem: MasCredentialProblem::TokenRejected,
            message,
        },
        403 => AdminError::Forbidden {
            service: Service::Mas,
            not_server_admin: false,
            message,
        },
        400 => match already_state(&message) {
            Some(state) => AdminError::AlreadyDone {
                subject: subject.to_owned(),
                state,
            },
            None => AdminError::Mas { status, message },
        },
        _ => AdminError::Mas { status, message },
    }
}

/// An OAuth 2.0 error body (RFC 6749 §5.2): `{"error": "invalid_client", "error_description": …}`.
#[derive(Debug, Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Maps a non-2xx answer of MAS's token endpoint (`POST /oauth2/token`) to an [`AdminError`].
/// The client secret is never part of a response, so nothing here can leak it.
pub(crate) fn map_token_error_response(
    status: u16,
    body: &[u8],
    host: &str,
    retry_after: Option<Duration>,
) -> AdminError {
    if status == 429 {
        return rate_limited(Service::Mas, retry_after);
    }
    let Ok(err) = serde_json::from_slice::<OAuthErrorBody>(body) else {
        return match (status, parse_mas_error(body)) {
            (_, Some(message)) => AdminError::Mas { status, message },
            // client_secret_basic refused without a body: the credentials.
            (401, None) => AdminError::MasCredentials {
                status,
                problem: MasCredentialProblem::InvalidClient,
                message: String::new(),
            },
            (_, None) => not_an_error_body(Service::Mas, status, host),
        };
    };
    let description = one_line(err.error_description.as_deref().unwrap_or(""));
    let problem = match err.error.as_str() {
        "invalid_client" => Some(MasCredentialProblem::InvalidClient),
        "unauthorized_client" => Some(MasCredentialProblem::GrantNotAllowed),
        "invalid_scope" | "access_denied" => Some(MasCredentialProblem::Scope),
        _ => None,
    };
    match problem {
        Some(problem) => AdminError::MasCredentials {
            status,
            problem,
            message: description,
        },
        None => {
            let code = one_line(&err.error);
            let message = if description.is_empty() {
                format!("no access token: {code}")
            } else {
                format!("no access token: {code}: {description}")
            };
            AdminError::Mas { status, message }
        }
    }
}

fn gateway_reason(service: Service, status: u16) -> String {
    let name = match service {
        Service::Synapse => "Synapse",
        Service::Mas => "MAS",
    };
    match status {
        502 => format!("the reverse proxy answered 502 Bad Gateway (is {name} running?)"),
        503 => format!("{service} answered 503 Service Unavailable"),
        _ => "the reverse proxy answered 504 Gateway Timeout; the request may still be \
              running on the server"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: &str) -> AdminError {
        map_error_response(
            Service::Synapse,
            status,
            body.as_bytes(),
            "user @x:example.org",
            "hs.example",
            None,
        )
    }

    #[test]
    fn mapping_table() {
        let cases: &[(u16, &str, &str)] = &[
            (
                404,
                r#"{"errcode":"M_NOT_FOUND","error":"User not found"}"#,
                "user @x:example.org does not exist",
            ),
            (
                403,
                r#"{"errcode":"M_FORBIDDEN","error":"You are not a server admin"}"#,
                "the bot's account is not a server admin",
            ),
            (
                403,
                r#"{"errcode":"M_FORBIDDEN","error":"Shutdown of this room is forbidden"}"#,
                "the homeserver refused: Shutdown of this room is forbidden",
            ),
            (
                400,
                r#"{"errcode":"M_UNKNOWN","error":"Can only look up local users"}"#,
                "Synapse refused the request: Can only look up local users (M_UNKNOWN, HTTP 400)",
            ),
            (
                400,
                r#"{"errcode":"M_INVALID_PARAM","error":"Query parameter before_ts you provided is from the year 1970."}"#,
                "Synapse refused the request: Query parameter before_ts you provided is from the \
                 year 1970. (M_INVALID_PARAM, HTTP 400)",
            ),
            (
                401,
                r#"{"errcode":"M_UNKNOWN_TOKEN","error":"Invalid access token passed."}"#,
                "the homeserver rejected the bot's access token (M_UNKNOWN_TOKEN: Invalid access token passed.)",
            ),
            (
                429,
                r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":2500}"#,
                "the homeserver is rate-limiting the bot; try again later",
            ),
            (
                500,
                "<html><body>Internal Server Error</body></html>",
                "unexpected response from the homeserver (HTTP 500): the error body is not a \
                 Matrix error (a reverse proxy answered?)",
            ),
            (
                500,
                r#"{"errcode":"M_UNKNOWN","error":"Internal server error"}"#,
                "Synapse refused the request: Internal server error (M_UNKNOWN, HTTP 500)",
            ),
            (
                502,
                "<html>Bad Gateway</html>",
                "the homeserver hs.example could not be reached: the reverse proxy answered 502 \
                 Bad Gateway (is Synapse running?)",
            ),
            (
                404,
                "Not Found",
                "unexpected response from the homeserver (HTTP 404): not found, and not a Matrix \
                 error: is the admin API (/_synapse/admin) exposed at this URL?",
            ),
            (
                404,
                r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#,
                "Synapse refused the request: Unrecognized request (M_UNRECOGNIZED, HTTP 404)",
            ),
            (
                400,
                r#"{"error":"no code"}"#,
                "Synapse refused the request: no code (M_UNKNOWN, HTTP 400)",
            ),
        ];
        for (status, body, want) in cases {
            let got = map(*status, body).to_string();
            let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(got, want, "status {status} body {body}");
            assert!(!got.contains('\n'));
        }
    }

    #[test]
    fn variants_and_helpers() {
        let e = map(404, r#"{"errcode":"M_NOT_FOUND","error":"Room not found"}"#);
        assert!(e.is_not_found());
        assert_eq!(e.errcode(), Some("M_NOT_FOUND"));
        let e = map(
            403,
            r#"{"errcode":"M_FORBIDDEN","error":"You are not a server admin"}"#,
        );
        assert!(matches!(
            e,
            AdminError::Forbidden {
                not_server_admin: true,
                ..
            }
        ));
        let e = map(400, r#"{"errcode":"M_BAD_JSON","error":"x"}"#);
        assert_eq!(e.errcode(), Some("M_BAD_JSON"));
        assert_eq!(e.status(), Some(400));
        assert!(!e.is_not_found());
        let e = map(500, "oops");
        assert_eq!(e.errcode(), None);
        let e = map_error_response(
            Service::Synapse,
            429,
            b"{}",
            "s",
            "h",
            Some(Duration::from_millis(2500)),
        );
        assert_eq!(
            e,
            AdminError::RateLimited {
                service: Service::Synapse,
                retry_after_ms: Some(2500)
            }
        );
        assert_eq!(
            e.to_string(),
            "the homeserver is rate-limiting the bot; try again in 3s"
        );
    }

    #[test]
    fn rate_limit_hints() {
        let body =
            br#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":50}"#;
        assert_eq!(
            rate_limit_wait(body, Some("7")),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            rate_limit_wait(b"{}", Some("7")),
            Some(Duration::from_secs(7))
        );
        assert_eq!(rate_limit_wait(b"", None), None);
        assert_eq!(
            rate_limit_wait(b"", Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }

    #[test]
    fn long_messages_are_truncated_to_one_line() {
        let long = "a\nb".repeat(300);
        let body = serde_json::json!({"errcode": "M_UNKNOWN", "error": long}).to_string();
        let msg = map(400, &body).to_string();
        assert!(!msg.contains('\n'));
        assert!(msg.chars().count() < 300);
    }

    fn map_mas(status: u16, body: &str) -> AdminError {
        map_error_response(
            Service::Mas,
            status,
            body.as_bytes(),
            "MAS user 01040G2081040G2081040G2081",
            "auth.example",
            None,
        )
    }

    #[test]
    fn mas_mapping_table() {
        let cases: &[(u16, &str, &str)] = &[
            (
                404,
                r#"{"errors":[{"title":"User ID 01040G2081040G2081040G2081 not found"}]}"#,
                "MAS user 01040G2081040G2081040G2081 does not exist",
            ),
            (
                401,
                r#"{"errors":[{"title":"Invalid access token"}]}"#,
                "MAS rejected the bot's access token (HTTP 401): Invalid access token",
            ),
            (
                403,
                r#"{"errors":[{"title":"Password auth is disabled"}]}"#,
                "MAS refused: Password auth is disabled",
            ),
            (
                409,
                r#"{"errors":[{"title":"Username is reserved by the homeserver"}]}"#,
                "MAS refused the request: Username is reserved by the homeserver (HTTP 409)",
            ),
            (
                400,
                r#"{"errors":[{"title":"Email \"x\" is not valid"},{"title":"Missing domain or user"}]}"#,
                r#"MAS refused the request: Email "x" is not valid; Missing domain or user (HTTP 400)"#,
            ),
            (
                400,
                r#"{"errors":[{"title":"Compatibility session with ID 01040G2081040G2081040G2081 is already finished"}]}"#,
                "MAS user 01040G2081040G2081040G2081 is already finished",
            ),
            (
                400,
                r#"{"errors":[{"title":"Registration token with ID 01040G2081040G2081040G2081 is already revoked"}]}"#,
                "MAS user 01040G2081040G2081040G2081 is already revoked",
            ),
            (
                429,
                r#"{"errors":[{"title":"Too many requests"}]}"#,
                "MAS is rate-limiting the bot; try again later",
            ),
            (
                500,
                r#"{"errors":[{"title":"Internal error"}]}"#,
                "MAS refused the request: Internal error (HTTP 500)",
            ),
            (
                502,
                "<html>Bad Gateway</html>",
                "MAS auth.example could not be reached: the reverse proxy answered 502 Bad \
                 Gateway (is MAS running?)",
            ),
            (
                503,
                "",
                "MAS auth.example could not be reached: MAS answered 503 Service Unavailable",
            ),
            (
                504,
                "",
                "MAS auth.example could not be reached: the reverse proxy answered 504 Gateway \
                 Timeout; the request may still be running on the server",
            ),
            (
                404,
                "",
                "unexpected response from MAS (HTTP 404): not found, and not a MAS error: is \
                 MAS's admin API (the adminapi resource of an http.listeners entry) exposed at \
                 this URL?",
            ),
            (
                500,
                "<html>oops</html>",
                "unexpected response from MAS (HTTP 500): the error body is not a MAS error (a \
                 reverse proxy answered?)",
            ),
            (
                400,
                r#"{"errors":[]}"#,
                "unexpected response from MAS (HTTP 400): the error body is not a MAS error (a \
                 reverse proxy answered?)",
            ),
            // A Synapse-shaped body is not a MAS error.
            (
                404,
                r#"{"errcode":"M_NOT_FOUND","error":"nope"}"#,
                "unexpected response from MAS (HTTP 404): not found, and not a MAS error: is \
                 MAS's admin API (the adminapi resource of an http.listeners entry) exposed at \
                 this URL?",
            ),
        ];
        for (status, body, want) in cases {
            let got = map_mas(*status, body).to_string();
            let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(got, want, "status {status} body {body}");
            assert!(!got.contains('\n'));
        }
    }

    #[test]
    fn mas_variants_and_helpers() {
        let e = map_mas(404, r#"{"errors":[{"title":"User ID x not found"}]}"#);
        assert!(e.is_not_found());
        assert_eq!(e.status(), Some(404));
        assert!(
            matches!(&e, AdminError::NotFound { message, .. } if message == "User ID x not found")
        );

        let e = map_mas(
            409,
            r#"{"errors":[{"title":"User email \"a@b\" already in use"}]}"#,
        );
        assert!(e.is_conflict());
        assert!(!e.is_not_found());
        assert_eq!(e.status(), Some(409));
        assert_eq!(e.errcode(), None);

        let e = map_mas(
            400,
            r#"{"errors":[{"title":"OAuth 2.0 session with ID x is already finished"}]}"#,
        );
        assert!(e.is_already_finished());
        assert!(!e.is_already_revoked());
        let e = map_mas(
            400,
            r#"{"errors":[{"title":"Registration token with ID x is already revoked"}]}"#,
        );
        assert!(e.is_already_revoked());
        assert!(!e.is_already_finished());
        // Only a 400 means "already": a 409 "already in use" is a conflict.
        let e = map_mas(409, r#"{"errors":[{"title":"x is already finished"}]}"#);
        assert!(!e.is_already_finished());

        let e = map_mas(403, r#"{"errors":[{"title":"nope"}]}"#);
        assert!(e.is_forbidden());
        let e = map_mas(401, r#"{"errors":[{"title":"bad token"}]}"#);
        assert!(matches!(
            e,
            AdminError::MasCredentials {
                problem: MasCredentialProblem::TokenRejected,
                ..
            }
        ));
        let e = map_error_response(
            Service::Mas,
            429,
            b"",
            "s",
            "h",
            Some(Duration::from_secs(2)),
        );
        assert_eq!(
            e.to_string(),
            "MAS is rate-limiting the bot; try again in 2s"
        );

        let long = "a\nb".repeat(300);
        let body = serde_json::json!({"errors": [{"title": long}]}).to_string();
        let msg = map_mas(400, &body).to_string();
        assert!(!msg.contains('\n'));
        assert!(msg.chars().count() < 300);
    }

    #[test]
    fn token_endpoint_errors() {
        let tok = |status: u16, body: &str| {
            map_token_error_response(status, body.as_bytes(), "auth.example", None)
        };
        let credentials = "MAS did not accept the bot's client credentials ([mas] client_id / \
                           client_secret_file; the client must be listed in MAS's \
                           policy.data.admin_clients)";
        let e = tok(401, r#"{"error":"invalid_client"}"#);
        assert_eq!(e.to_string(), credentials);
        let e = tok(
            400,
            r#"{"error":"invalid_client","error_description":"Client not found"}"#,
        );
        assert_eq!(e.to_string(), credentials);
        assert_eq!(e.status(), Some(400));
        let e = tok(401, "");
        assert_eq!(e.to_string(), credentials);

        let e = tok(
            403,
            r#"{"error":"invalid_scope","error_description":"client is not an admin client"}"#,
        );
        assert_eq!(
            e.to_string(),
            "MAS did not grant the bot's client the urn:mas:admin scope ([mas] client_id; the \
             client must be listed in MAS's policy.data.admin_clients): client is not an admin \
             client"
        );
        let e = tok(401, r#"{"error":"unauthorized_client"}"#);
        assert!(
            matches!(
                e,
                AdminError::MasCredentials {
                    problem: MasCredentialProblem::GrantNotAllowed,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = tok(500, r#"{"error":"server_error"}"#);
        assert_eq!(
            e.to_string(),
            "MAS refused the request: no access token: server_error (HTTP 500)"
        );
        let e = tok(503, "");
        assert!(
            matches!(
                e,
                AdminError::Unreachable {
                    service: Service::Mas,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = tok(429, "");
        assert!(
            matches!(
                e,
                AdminError::RateLimited {
                    service: Service::Mas,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
