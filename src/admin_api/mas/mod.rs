//! Typed client for the admin API of MAS (the Matrix Authentication Service): the client, IDs (ULIDs), the JSON:API envelope, paging, and one type per endpoint by area.
//!
//! [`MasClient`] is the generalised [`AdminClient`] with MAS's error shapes and OAuth 2.0 client
//! credentials (see `admin_api/auth.rs`), so retries, metrics, tracing and the error mapping are
//! the Synapse client's. Endpoints implement the same [`Endpoint`] trait, in files by area:
//! [`users`], [`sessions`], [`emails`], [`tokens`], [`site`].
//!
//! MAS answers in a JSON:API shape: one resource is `{"data": {"type", "id", "attributes",
//! "links"}}` ([`Single`]), a list is `{"meta": {"count"}, "data": [...], "links": {"next"}}`
//! ([`Page`]). Lists are paged by cursor: `page[first]` items `page[after]` an ID
//! ([`PageRequest`]); [`MasClient::all`] follows the pages. IDs are ULIDs ([`Ulid`]), so user
//! input such as a session ID is checked before any request.
//!
//! Reference: MAS's OpenAPI description (`/api/spec.json` of a MAS serving the admin API) and
//! `docs/topics/admin-api.md` in element-hq/matrix-authentication-service.

pub(crate) mod emails;
pub(crate) mod sessions;
pub(crate) mod site;
pub(crate) mod tokens;
pub(crate) mod users;

use std::fmt;
use std::str::FromStr;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use super::de::null_default;
use super::{AdminClient, AdminError, Endpoint, RetryPolicy};

/// The admin API's path below MAS's base URL.
pub(crate) const API: &str = "/api/admin/v1";

/// Items per page when the caller does not say.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 100;

/// A handle on MAS's admin API, authenticated with the bot's OAuth 2.0 client credentials.
///
/// Cloning is cheap; clones share the connection pool and the access token. `Debug` shows the
/// URL and the client ID, never the secret or a token.
#[derive(Clone, Debug)]
pub(crate) struct MasClient(AdminClient);

impl MasClient {
    /// A client for MAS at `base` (e.g. `https://auth.example.org`, a path prefix is kept), with
    /// the bot's client ID and secret (`client_secret_basic`). The client must be listed in MAS's
    /// `policy.data.admin_clients`. No request is made until the first [`send`](Self::send).
    /// `client_secret` is wiped from memory here.
    pub(crate) fn new(
        base: Url,
        client_id: String,
        client_secret: String,
    ) -> Result<Self, AdminError> {
        AdminClient::with_client_credentials(base, client_id, client_secret).map(MasClient)
    }

    /// Replaces the retry policy (background jobs use [`RetryPolicy::patient`]).
    pub(crate) fn with_retry_policy(self, retry: RetryPolicy) -> Self {
        MasClient(self.0.with_retry_policy(retry))
    }

    /// Sends `ep` (with a token, fetched or renewed first when needed) and decodes the answer.
    /// Retries and errors as [`AdminClient::send`].
    pub(crate) async fn send<E: Endpoint>(&self, ep: &E) -> Result<E::Response, AdminError> {
        self.0.send(ep).await
    }

    /// The items of the list `ep`, page after page from `ep`'s page (`page[after]` the last
    /// item's ID), until MAS has no next page or `max_items` are collected. Each request asks for
    /// at most the items still wanted. `max_items == 0` sends nothing.
    pub(crate) async fn all<A, E>(&self, ep: &E, max_items: usize) -> Result<Listing<A>, AdminError>
    where
        E: Paged<Response = Page<A>>,
        A: DeserializeOwned,
    {
        let mut items: Vec<Resource<A>> = Vec::new();
        let mut next = ep.clone();
        while items.len() < max_items {
            let remaining = max_items - items.len();
            let page_req = next.page_mut();
            page_req.first = page_req
                .first
                .clamp(1, u32::try_from(remaining).unwrap_or(u32::MAX));
            let page = self.send(&next).await?;
            let has_next = page.has_next();
            let last = page.last_id();
            let got = page.data.len();
            items.extend(page.data.into_iter().take(remaining));
            if got > remaining {
                return Ok(Listing {
                    items,
                    truncated: true,
                });
            }
            if !has_next {
                return Ok(Listing {
                    items,
                    truncated: false,
                });
            }
            match last {
                Some(id) if next.page_mut().after != Some(id) => next.page_mut().after = Some(id),
                // A next page, but no cursor that moves: stop rather than loop.
                _ => {
                    return Ok(Listing {
                        items,
                        truncated: true,
                    });
                }
            }
        }
        Ok(Listing {
            items,
            // The last page was full and MAS had more.
            truncated: max_items > 0,
        })
    }
}

/// What [`MasClient::all`] collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listing<A> {
    pub(crate) items: Vec<Resource<A>>,
    /// True when the bound stopped the listing while MAS had more (or could not page further).
    pub(crate) truncated: bool,
}

/// A list endpoint whose page can be moved: what [`MasClient::all`] needs.
pub(crate) trait Paged: Endpoint + Clone {
    fn page_mut(&mut self) -> &mut PageRequest;
}

/// Implements [`Paged`] for list endpoints with a `page: PageRequest` field.
macro_rules! paged {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::admin_api::mas::Paged for $ty {
            fn page_mut(&mut self) -> &mut $crate::admin_api::mas::PageRequest {
                &mut self.page
            }
        })*
    };
}
pub(crate) use paged;

// ---------------------------------------------------------------------------------------------
// IDs
// ---------------------------------------------------------------------------------------------

/// Crockford's base32 alphabet, as ULIDs use it.
const ULID_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A MAS ID: a ULID, 26 characters of Crockford base32 (`0-9`, `A-Z` without `I L O U`), kept
/// in upper case. Input is accepted in either case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Ulid([u8; 26]);

/// Why a text is not a [`Ulid`]. The message never repeats the input (it may be anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UlidError {
    #[error("a MAS ID is 26 characters long, not {0}")]
    Length(usize),
    #[error("a MAS ID has only the characters 0-9 and A-Z without I, L, O and U, not {0:?}")]
    Character(char),
    #[error("a MAS ID starts with a digit from 0 to 7")]
    Overflow,
}

impl Ulid {
    /// The ID, upper case.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII from the alphabet is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Ulid {
    type Err = UlidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let count = s.chars().count();
        if count != 26 {
            return Err(UlidError::Length(count));
        }
        let mut out = [0u8; 26];
        for (slot, c) in out.iter_mut().zip(s.chars()) {
            let upper = c.to_ascii_uppercase();
            match u8::try_from(upper) {
                Ok(b) if ULID_ALPHABET.contains(&b) => *slot = b,
                _ => return Err(UlidError::Character(c)),
            }
        }
        // 26 characters hold 130 bits; a ULID has 128, so the first is at most 7.
        if out[0] > b'7' {
            return Err(UlidError::Overflow);
        }
        Ok(Ulid(out))
    }
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ulid({})", self.as_str())
    }
}

impl Serialize for Ulid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ulid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON:API envelope
// ---------------------------------------------------------------------------------------------

/// One resource: its ID and attributes (`type`, `links` and `meta` are not used).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Resource<A> {
    pub(crate) id: Ulid,
    pub(crate) attributes: A,
}

/// A response holding one resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Single<A> {
    pub(crate) data: Resource<A>,
}

/// A response holding a page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(bound(deserialize = "A: Deserialize<'de>"))]
pub(crate) struct Page<A> {
    /// The total count, unless `count=false` was asked.
    #[serde(default)]
    pub(crate) meta: Option<PageMeta>,
    /// The items (`null` or absent with `count=only`: none).
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) data: Vec<Resource<A>>,
    #[serde(default)]
    pub(crate) links: PageLinks,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct PageMeta {
    #[serde(default)]
    pub(crate) count: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct PageLinks {
    /// Present only when there is a next page.
    #[serde(default)]
    pub(crate) next: Option<String>,
}

impl<A> Page<A> {
    /// Whether MAS has a page after this one.
    pub(crate) fn has_next(&self) -> bool {
        self.links.next.is_some()
    }

    /// The cursor for the next page: the last item's ID.
    pub(crate) fn last_id(&self) -> Option<Ulid> {
        self.data.last().map(|r| r.id)
    }

    /// The total number of items matching the filters, when MAS counted them.
    pub(crate) fn count(&self) -> Option<u64> {
        self.meta.as_ref().and_then(|m| m.count)
    }
}

/// Which page of a list to get: `page[first]` items `page[after]` an ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) first: u32,
    pub(crate) after: Option<Ulid>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            first: DEFAULT_PAGE_SIZE,
            after: None,
        }
    }
}

impl PageRequest {
    /// The first `n` items.
    pub(crate) fn first(n: u32) -> Self {
        PageRequest {
            first: n,
            after: None,
        }
    }

    /// The query pairs: `page[first]` and, when set, `page[after]`.
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("page[first]", self.first.max(1).to_string())];
        if let Some(after) = self.after {
            q.push(("page[after]", after.to_string()));
        }
        q
    }
}

/// Whether a list response counts its items (`count`; MAS's default is `true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// The count only, no items: how the bot counts users (MAS also has `true` and `false`).
    Only,
}

impl Count {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Count::Only => "only",
        }
    }
}

/// `true` / `false` as a query value.
pub(crate) fn bool_query(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Metric labels
// ---------------------------------------------------------------------------------------------

/// A MAS request path with its variable segments left out, for the metric label: IDs (ULIDs),
/// the username after `by-username`, and anything that is not a plain lower-case word. MAS's
/// fixed segments (`oauth2-sessions`, `set-password`, …) stay.
/// `/api/admin/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/lock` → `/api/admin/v1/users/{}/lock`.
pub(crate) fn endpoint_label(path: &str) -> String {
    let mut previous = "";
    path.split('/')
        .map(|seg| {
            let variable = previous == "by-username"
                || seg.parse::<Ulid>().is_ok()
                || !seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
            previous = seg;
            if variable { "{}" } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod live_contract_tests;
#[cfg(test)]
mod tests;
