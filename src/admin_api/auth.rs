//! Where the `Authorization` header of an admin request comes from: the bot's fixed access token (Synapse), or an access token MAS issues for OAuth 2.0 client credentials, cached and renewed.
//!
//! MAS (`client_secret_basic`): `POST {base}/oauth2/token` with HTTP Basic auth and the form
//! `grant_type=client_credentials&scope=urn:mas:admin`. The token is shared by every clone of the
//! client and fetched again shortly before it expires; concurrent requests wait for one fetch.
//! A 401 from an admin call makes [`AdminClient::send`] forget the token and repeat once.
//!
//! The client secret lives in a [`Zeroizing`] string; headers holding the secret or a token are
//! marked sensitive; none of them is ever in `Debug` output, a log line or an error.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;
use zeroize::{Zeroize, Zeroizing};

use super::error::{self, one_line};
use super::{AdminClient, AdminError, Attempt};

/// The token endpoint, below MAS's base URL.
pub(super) const TOKEN_PATH: &str = "/oauth2/token";
/// The scope of MAS's admin API.
const ADMIN_SCOPE: &str = "urn:mas:admin";
/// Assumed lifetime of a token whose response has no `expires_in`.
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(300);
/// A token is renewed when less than this, or a tenth of its life, is left.
const MIN_RENEW_MARGIN: Duration = Duration::from_secs(10);

/// The source of the `Authorization` header.
#[derive(Clone)]
pub(super) enum AuthSource {
    /// `Bearer <token>`, fixed (Synapse), marked sensitive.
    Bearer(Arc<HeaderValue>),
    /// A token obtained with OAuth 2.0 client credentials (MAS), shared by clones.
    ClientCredentials(Arc<ClientCredentials>),
}

impl AuthSource {
    /// A client-credentials source for the token endpoint `token_url`.
    pub(super) fn client_credentials(
        token_url: Url,
        client_id: String,
        client_secret: Zeroizing<String>,
    ) -> Self {
        AuthSource::ClientCredentials(Arc::new(ClientCredentials {
            token_url,
            client_id,
            client_secret,
            cache: tokio::sync::Mutex::new(Cache::default()),
            fetches: AtomicU64::new(0),
        }))
    }

    /// Whether a rejected token can be replaced (a 401 is worth one repeat).
    pub(super) fn is_renewable(&self) -> bool {
        matches!(self, AuthSource::ClientCredentials(_))
    }

    /// Adds the non-secret facts to a `Debug` output.
    pub(super) fn describe(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        match self {
            AuthSource::Bearer(_) => {
                d.field("access_token", &"<redacted>");
            }
            AuthSource::ClientCredentials(cc) => {
                d.field("client_id", &cc.client_id)
                    .field("client_secret", &"<redacted>")
                    .field("token_url", &cc.token_url.as_str());
            }
        }
    }
}

/// OAuth 2.0 client credentials and the token they last obtained.
pub(super) struct ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: Zeroizing<String>,
    cache: tokio::sync::Mutex<Cache>,
    /// Token requests finished (either way): a caller that waited for the lock while another
    /// fetch ran takes that fetch's outcome instead of starting one more.
    fetches: AtomicU64,
}

/// The cached token, or the last fetch's failure.
#[derive(Default)]
struct Cache {
    token: Option<CachedToken>,
    last_failure: Option<TokenFailure>,
}

/// `Bearer <token>` (sensitive) and when to fetch the next one.
struct CachedToken {
    header: HeaderValue,
    renew_at: Instant,
}

/// Why no access token could be had, as the retry loop sees it.
#[derive(Clone)]
pub(super) enum TokenFailure {
    /// Not worth repeating: wrong credentials, refused scope, an unexpected answer.
    Final(AdminError),
    /// 429 from the token endpoint.
    RateLimited {
        wait: Option<Duration>,
        error: AdminError,
    },
    /// Connection error, timeout, 502/503/504.
    Transient(AdminError),
}

impl<T> From<TokenFailure> for Attempt<T> {
    fn from(failure: TokenFailure) -> Self {
        match failure {
            TokenFailure::Final(e) => Attempt::Done(Err(e)),
            TokenFailure::RateLimited { wait, error } => Attempt::RateLimited { wait, error },
            TokenFailure::Transient(e) => Attempt::NotSent(e),
        }
    }
}

/// The token endpoint's answer (RFC 6749 §5.1). The token is wiped when this is dropped.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

impl Drop for TokenResponse {
    fn drop(&mut self) {
        self.access_token.zeroize();
    }
}

/// When a token obtained at `obtained` and valid for `life` should be replaced: when less than
/// max(10 s, a tenth of its life) is left.
fn renew_at(obtained: Instant, life: Duration) -> Instant {
    let margin = MIN_RENEW_MARGIN.max(life / 10);
    obtained + life.saturating_sub(margin)
}

impl AdminClient {
    /// The `Authorization` header for the next request: the fixed token, or MAS's cached token
    /// (fetched first when there is none or it is about to expire).
    pub(super) async fn authorization(&self) -> Result<HeaderValue, TokenFailure> {
        let cc = match &self.auth {
            AuthSource::Bearer(header) => return Ok((**header).clone()),
            AuthSource::ClientCredentials(cc) => cc,
        };
        let seen = cc.fetches.load(Ordering::Acquire);
        let mut cache = cc.cache.lock().await;
        if let Some(token) = &cache.token
            && Instant::now() < token.renew_at
        {
            return Ok(token.header.clone());
        }
        if cc.fetches.load(Ordering::Acquire) != seen
            && let Some(failure) = &cache.last_failure
        {
            // The fetch this caller waited for failed: one request to MAS, not one per caller.
            return Err(failure.clone());
        }
        let outcome = self.fetch_token(cc).await;
        cc.fetches.fetch_add(1, Ordering::AcqRel);
        match outcome {
            Ok(token) => {
                let header = token.header.clone();
                cache.token = Some(token);
                cache.last_failure = None;
                Ok(header)
            }
            Err(failure) => {
                cache.token = None;
                cache.last_failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    /// Drops the cached MAS token if it is still `used` (the one a request was refused with),
    /// so the next request fetches a new one. Another caller may already have replaced it.
    pub(super) async fn forget_token(&self, used: &HeaderValue) {
        if let AuthSource::ClientCredentials(cc) = &self.auth {
            let mut cache = cc.cache.lock().await;
            if cache.token.as_ref().is_some_and(|t| t.header == *used) {
                cache.token = None;
            }
        }
    }

    /// One token request to MAS.
    async fn fetch_token(&self, cc: &ClientCredentials) -> Result<CachedToken, TokenFailure> {
        let label = self.endpoint_label(cc.token_url.path());
        let obtained = Instant::now();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", ADMIN_SCOPE)
            .finish();
        let sent = self
            .http
            .post(cc.token_url.clone())
            // Sensitive header (reqwest marks Basic credentials so).
            .basic_auth(&cc.client_id, Some(cc.client_secret.as_str()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(form)
            .send()
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                crate::metrics::get().admin_request(&label, 0);
                return Err(TokenFailure::Transient(self.transport_error(&e, None)));
            }
        };
        let status = resp.status();
        crate::metrics::get().admin_request(&label, status.as_u16());
        let retry_after_header = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(TokenFailure::Transient(self.transport_error(&e, None))),
        };

        if status.is_success() {
            return self
                .token_from(status, &bytes, obtained)
                .map_err(TokenFailure::Final);
        }
        if status.is_redirection() {
            return Err(TokenFailure::Final(AdminError::UnexpectedResponse {
                service: self.service,
                status: status.as_u16(),
                reason: "MAS redirected the token request; configure its final URL \
                         (e.g. https:// instead of http://)"
                    .to_owned(),
            }));
        }
        let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
            error::rate_limit_wait(&bytes, retry_after_header.as_deref())
        } else {
            None
        };
        let error =
            error::map_token_error_response(status.as_u16(), &bytes, &self.host(), retry_after);
        Err(match status.as_u16() {
            429 => TokenFailure::RateLimited {
                wait: retry_after,
                error,
            },
            502..=504 => TokenFailure::Transient(error),
            _ => TokenFailure::Final(error),
        })
    }

    /// The cached token made of a successful token response.
    fn token_from(
        &self,
        status: StatusCode,
        body: &[u8],
        obtained: Instant,
    ) -> Result<CachedToken, AdminError> {
        let unexpected = |reason: String| AdminError::UnexpectedResponse {
            service: self.service,
            status: status.as_u16(),
            reason,
        };
        let resp: TokenResponse = serde_json::from_slice(body).map_err(|e| {
            // serde_json's message names the field, never its value.
            unexpected(format!(
                "could not decode the token response: {}",
                one_line(&e.to_string())
            ))
        })?;
        if !resp.token_type.eq_ignore_ascii_case("bearer") {
            return Err(unexpected(format!(
                "MAS issued a token of type `{}`, not Bearer",
                one_line(&resp.token_type)
            )));
        }
        let mut value = Zeroizing::new(format!("Bearer {}", resp.access_token));
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            unexpected("the access token MAS issued is not a valid HTTP header value".to_owned())
        })?;
        value.zeroize();
        header.set_sensitive(true);
        let life = resp
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFE, Duration::from_secs);
        tracing::debug!(
            expires_in_s = life.as_secs(),
            scope = resp.scope.as_deref().unwrap_or(""),
            "obtained a MAS access token"
        );
        Ok(CachedToken {
            header,
            renew_at: renew_at(obtained, life),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_margin_is_ten_seconds_or_a_tenth() {
        let t0 = Instant::now();
        // An hour: renewed 6 minutes early.
        assert_eq!(
            renew_at(t0, Duration::from_secs(3600)),
            t0 + Duration::from_secs(3240)
        );
        // Five minutes: 30 s early.
        assert_eq!(
            renew_at(t0, Duration::from_secs(300)),
            t0 + Duration::from_secs(270)
        );
        // A minute: 10 s early (a tenth would be 6 s).
        assert_eq!(
            renew_at(t0, Duration::from_secs(60)),
            t0 + Duration::from_secs(50)
        );
        // Ten seconds or less: renewed at once (used for the request at hand only).
        assert_eq!(renew_at(t0, Duration::from_secs(10)), t0);
        assert_eq!(renew_at(t0, Duration::ZERO), t0);
    }
}
