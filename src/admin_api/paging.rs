//! Calls that take more than one request, written once: paging through users and a user's media, existence checks of users, and resolving a room alias.
//!
//! Each helper is a method of [`AdminClient`] built on single [`Endpoint`]s, so retries and
//! error mapping stay in [`AdminClient::send`].

use std::collections::HashSet;

use futures_util::stream::{self, Stream, StreamExt as _};
use matrix_sdk::ruma::{OwnedRoomId, RoomId, RoomOrAliasId};

use super::error::one_line;
use super::server::ResolveRoomAlias;
use super::users::{ListDeactivatedUsers, ListUserMedia, ListUsers, MediaInfo, QueryUser};
use super::{AdminClient, AdminError, Endpoint};

/// Page size used by [`AdminClient::all_user_media`].
const USER_MEDIA_PAGE: u32 = 500;
/// Existence checks in flight at once in [`AdminClient::existing_users`].
const EXISTENCE_CHECKS_IN_FLIGHT: usize = 8;

impl AdminClient {
    /// The pages of [`ListUsers`], starting at `query.from` and following `next_token` until it
    /// is absent or empty. Pages are fetched one at a time as the stream is polled; nothing keeps
    /// earlier pages. The stream ends after the first error it yields.
    pub(crate) fn all_users(
        &self,
        query: ListUsers,
    ) -> impl Stream<Item = Result<<ListUsers as Endpoint>::Response, AdminError>> + '_ {
        stream::try_unfold(Some(query), move |next| async move {
            let Some(query) = next else {
                return Ok(None);
            };
            let page = self.send(&query).await?;
            let following = match page.next_token.as_deref() {
                Some(token) if !token.is_empty() => Some(ListUsers {
                    from: Some(token.to_owned()),
                    ..query
                }),
                _ => None,
            };
            Ok(Some((page, following)))
        })
    }

    /// The IDs of every deactivated account, 1,000 per page.
    pub(crate) async fn deactivated_users(&self) -> Result<HashSet<String>, AdminError> {
        let mut out = HashSet::new();
        let mut from = None;
        loop {
            let page = self
                .send(&ListDeactivatedUsers {
                    from: from.take(),
                    limit: 1_000,
                })
                .await?;
            out.extend(page.users.into_iter().map(|u| u.name));
            match page.next_token {
                Some(token) if !token.is_empty() => from = Some(token),
                _ => return Ok(out),
            }
        }
    }

    /// All local media uploaded by `user_id`, fetched 500 per page until `next_token` is absent
    /// or a page is empty.
    pub(crate) async fn all_user_media(&self, user_id: &str) -> Result<Vec<MediaInfo>, AdminError> {
        let mut out = Vec::new();
        let mut from = 0u64;
        loop {
            let page = self
                .send(&ListUserMedia {
                    user_id: user_id.to_owned(),
                    from,
                    limit: USER_MEDIA_PAGE,
                    order_by: None,
                    dir: None,
                })
                .await?;
            let empty = page.media.is_empty();
            out.extend(page.media);
            match page.next_token {
                Some(next) if !empty => from = next,
                _ => return Ok(out),
            }
        }
    }

    /// Whether the local account `user_id` exists: `M_NOT_FOUND` is `false`, any other error is
    /// returned.
    pub(crate) async fn user_exists(&self, user_id: &str) -> Result<bool, AdminError> {
        let query = QueryUser {
            user_id: user_id.to_owned(),
        };
        match self.send(&query).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Which of `ids` exist: one [`QueryUser`] each, eight in flight. The first error other than
    /// `M_NOT_FOUND` is returned (the checks still running are dropped).
    pub(crate) async fn existing_users(
        &self,
        ids: Vec<String>,
    ) -> Result<HashSet<String>, AdminError> {
        let mut found = HashSet::new();
        let mut checks = stream::iter(ids)
            .map(|id| async move {
                let exists = self.user_exists(&id).await;
                (id, exists)
            })
            .buffer_unordered(EXISTENCE_CHECKS_IN_FLIGHT);
        while let Some((id, exists)) = checks.next().await {
            if exists? {
                found.insert(id);
            }
        }
        Ok(found)
    }

    /// The room ID of `room`: an ID as is (no request), an alias through [`ResolveRoomAlias`].
    /// An alias pointing to something that is not a room ID is an
    /// [`AdminError::UnexpectedResponse`].
    pub(crate) async fn resolve_room(
        &self,
        room: &RoomOrAliasId,
    ) -> Result<OwnedRoomId, AdminError> {
        let alias = match <&RoomId>::try_from(room) {
            Ok(id) => return Ok(id.to_owned()),
            Err(alias) => alias,
        };
        let resolved = self
            .send(&ResolveRoomAlias {
                alias: alias.to_string(),
            })
            .await?;
        OwnedRoomId::try_from(resolved.room_id.as_str()).map_err(|e| {
            AdminError::UnexpectedResponse {
                service: super::Service::Synapse,
                status: 200,
                reason: format!(
                    "room alias {alias} resolved to {:?}, which is not a room ID ({})",
                    one_line(&resolved.room_id),
                    one_line(&e.to_string())
                ),
            }
        })
    }
}
