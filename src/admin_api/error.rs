//! `AdminError` and the single mapping from an HTTP status + Synapse `{errcode, error}` body to it.
//!
//! Every message is one line an admin can act on. None of them contains the access token, a
//! request body or a URL query string: the token only ever travels in the `Authorization`
//! header, and transport errors are reduced to the host name and the root cause.

use std::time::Duration;

use serde::Deserialize;

/// The message Synapse sends (403 `M_FORBIDDEN`) when the caller is not a server admin.
const NOT_ADMIN_MESSAGE: &str = "not a server admin";

/// Longest reason or message copied from a response into an error.
const MAX_REASON_CHARS: usize = 200;

/// Why an Admin API call failed.
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
    /// `M_FORBIDDEN` (403).
    #[error("{}", forbidden_text(*.not_server_admin, message))]
    Forbidden {
        /// True when Synapse says the bot's account is not a server admin.
        not_server_admin: bool,
        /// Synapse's message.
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
    /// 429 `M_LIMIT_EXCEEDED`, still rate-limited after the client's retries.
    #[error("{}", rate_limited_text(*.retry_after_ms))]
    RateLimited {
        /// How long Synapse asked us to wait, if it said.
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
    /// The homeserver could not be reached: connection failure, timeout, or a reverse proxy
    /// answering 502/503/504 without a Matrix error.
    #[error("the homeserver {host} could not be reached: {reason}")]
    Unreachable {
        /// Host (and port) of the homeserver, never the path or query.
        host: String,
        /// Root cause, e.g. `connection refused`, `timed out after 60s`.
        reason: String,
    },
    /// A response that is neither a success we can decode nor a Matrix error.
    #[error("unexpected response from the homeserver (HTTP {status}): {reason}")]
    UnexpectedResponse {
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

fn forbidden_text(not_server_admin: bool, message: &str) -> String {
    if not_server_admin {
        "the bot's account is not a server admin".to_owned()
    } else {
        format!("the homeserver refused: {message}")
    }
}

fn rate_limited_text(retry_after_ms: Option<u64>) -> String {
    match retry_after_ms {
        Some(ms) => format!(
            "the homeserver is rate-limiting the bot; try again in {}s",
            ms.div_ceil(1000)
        ),
        None => "the homeserver is rate-limiting the bot; try again later".to_owned(),
    }
}

impl AdminError {
    /// True for `M_NOT_FOUND`.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, AdminError::NotFound { .. })
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
            AdminError::Unreachable { .. }
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
            AdminError::Synapse { status, .. } | AdminError::UnexpectedResponse { status, .. } => {
                Some(*status)
            }
            AdminError::Unreachable { .. } | AdminError::InvalidConfig { .. } => None,
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

/// Maps a non-2xx response to an [`AdminError`]. The one place that knows Synapse's error shapes.
///
/// * `subject`: what the request was about (from [`Endpoint::subject`](super::Endpoint::subject)).
/// * `host`: host of the homeserver, used when a gateway error means Synapse is unreachable.
/// * `retry_after`: the wait a 429 asked for (see [`rate_limit_wait`]).
pub(crate) fn map_error_response(
    status: u16,
    body: &[u8],
    subject: &str,
    host: &str,
    retry_after: Option<Duration>,
) -> AdminError {
    if status == 429 {
        return AdminError::RateLimited {
            retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
    }
    let Some(err) = parse_matrix_error(body) else {
        return match status {
            502..=504 => AdminError::Unreachable {
                host: host.to_owned(),
                reason: gateway_reason(status),
            },
            404 => AdminError::UnexpectedResponse {
                status,
                reason: "not found, and not a Matrix error: is the admin API \
                         (/_synapse/admin) exposed at this URL?"
                    .to_owned(),
            },
            _ => AdminError::UnexpectedResponse {
                status,
                reason: "the error body is not a Matrix error (a reverse proxy answered?)"
                    .to_owned(),
            },
        };
    };
    let errcode = err.errcode.unwrap_or_else(|| "M_UNKNOWN".to_owned());
    let message = one_line(err.error.as_deref().unwrap_or("no message"));
    match (status, errcode.as_str()) {
        (_, "M_NOT_FOUND") => AdminError::NotFound {
            subject: subject.to_owned(),
            message,
        },
        (_, "M_LIMIT_EXCEEDED") => AdminError::RateLimited {
            retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        },
        (401, _) | (_, "M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN") => {
            AdminError::Unauthorized { errcode, message }
        }
        (403, "M_FORBIDDEN") => AdminError::Forbidden {
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

fn gateway_reason(status: u16) -> String {
    match status {
        502 => "the reverse proxy answered 502 Bad Gateway (is Synapse running?)".to_owned(),
        503 => "the homeserver answered 503 Service Unavailable".to_owned(),
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
        let e = map_error_response(429, b"{}", "s", "h", Some(Duration::from_millis(2500)));
        assert_eq!(
            e,
            AdminError::RateLimited {
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
}
