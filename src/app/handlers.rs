//! The event handlers: each event's facts are gathered here and judged by the gate; what passes
//! goes to the pipeline (messages) or the confirmation flow (reactions). Invites to admin rooms
//! are accepted.

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::deserialized_responses::EncryptionInfo;
use matrix_sdk::event_handler::EventHandlerHandle;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{OriginalSyncRoomMessageEvent, Relation};
use matrix_sdk::ruma::{MilliSecondsSinceUnixEpoch, UserId};
use matrix_sdk::{Client, Room, RoomState};
use tracing::{Instrument as _, debug, info, info_span, warn};

use super::confirmation::{ReactionIn, on_reaction};
use super::pipeline::{MessageIn, on_message_from};
use crate::context::Ctx;
use crate::matrix::gate::{EventFacts, Ignored, gate, signed_by_owner};

pub(super) fn register(ctx: &Arc<Ctx>, client: &Client) -> Vec<EventHandlerHandle> {
    let c = ctx.clone();
    let messages = client.add_event_handler(
        move |ev: OriginalSyncRoomMessageEvent,
              room: Room,
              enc: Option<EncryptionInfo>,
              client: Client| {
            let ctx = c.clone();
            async move {
                let is_edit = matches!(ev.content.relates_to, Some(Relation::Replacement(_)));
                let facts = Facts::gather(&ctx, &room, &ev.sender, ev.origin_server_ts).await;
                let judged = info_span!("gate").in_scope(|| {
                    gate(
                        &facts.judge(&ctx, is_edit, enc.is_some()),
                        ctx.config.max_event_age,
                    )
                });
                if let Err(why) = judged {
                    log_ignored(&why, ev.event_id.as_str(), ev.sender.as_str());
                    return;
                }
                // The sending device, as encryption vouches for it (for the audit trail).
                let device = enc.as_ref().and_then(|e| e.sender_device.clone());
                let msg = MessageIn {
                    room_id: room.room_id().to_owned(),
                    sender: ev.sender,
                    event_id: ev.event_id,
                    room_encrypted: facts.room_encrypted == Some(true),
                    device_verified: match &enc {
                        Some(e) => session_signed_by_owner(&client, e).await,
                        None => false,
                    },
                    content: ev.content,
                    sent_at_ms: Some(i64::from(ev.origin_server_ts.get())),
                };
                let c2 = ctx.clone();
                let span = info_span!("command", event_id = %msg.event_id);
                ctx.spawn(async move { on_message_from(c2, msg, device).await }.instrument(span));
            }
            .instrument(info_span!("handler"))
        },
    );
    let c = ctx.clone();
    let reactions = client.add_event_handler(move |ev: OriginalSyncReactionEvent, room: Room| {
        let ctx = c.clone();
        async move {
            // Clients (Element, matrix-sdk) send reactions in the clear even in encrypted rooms; the
            // homeserver vouches for their sender, and they only act on the same sender's own previews.
            let facts = Facts::gather(&ctx, &room, &ev.sender, ev.origin_server_ts).await;
            if let Err(why) = gate(&facts.judge(&ctx, false, true), ctx.config.max_event_age) {
                log_ignored(&why, ev.event_id.as_str(), ev.sender.as_str());
                return;
            }
            let reaction = ReactionIn {
                room_id: room.room_id().to_owned(),
                sender: ev.sender,
                event_id: ev.event_id,
                room_encrypted: facts.room_encrypted == Some(true),
                key: ev.content.relates_to.key,
                target: ev.content.relates_to.event_id,
            };
            let c2 = ctx.clone();
            ctx.spawn(async move { on_reaction(c2, reaction).await });
        }
    });
    let c = ctx.clone();
    let invites = client.add_event_handler(move |ev: StrippedRoomMemberEvent, room: Room| {
        let ctx = c.clone();
        async move {
            if ev.state_key != ctx.user_id || room.state() != RoomState::Invited {
                return;
            }
            if !ctx.is_admin_room(room.room_id()) {
                info!(room_id = %room.room_id(), inviter = %ev.sender, "ignoring an invite to a room that is not an admin room");
                return;
            }
            ctx.spawn(async move {
                // Synapse may not have finished processing the invite when it reaches us: retry briefly.
                for attempt in 1..=5u32 {
                    match room.join().await {
                        Ok(()) => {
                            info!(room_id = %room.room_id(), "accepted the invite to an admin room");
                            return;
                        }
                        Err(e) => {
                            warn!(room_id = %room.room_id(), "joining failed ({e}), attempt {attempt}");
                            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                        }
                    }
                }
            });
        }
    });
    let c = ctx.clone();
    let undecryptable = client.add_event_handler(move |ev: OriginalSyncRoomEncryptedEvent, room: Room| {
        let ctx = c.clone();
        async move {
            if ctx.is_admin_room(room.room_id()) && ev.sender != ctx.user_id {
                // The message handler is not called again when the key arrives later; say so, do nothing.
                warn!(event_id = %ev.event_id, sender = %ev.sender, "could not decrypt a message in an admin room; ignoring it");
            }
        }
    });
    vec![messages, reactions, invites, undecryptable]
}

/// Whether the sending session is cross-signed by its owner. The state matrix-sdk computed at
/// decryption is trusted when it says yes; when it could not link the session to its owner (the
/// bot had not fetched the sender's keys yet, or they were stale), the keys are fetched once
/// and the device judged again. A changed identity or a mismatched sender stays a no.
async fn session_signed_by_owner(client: &Client, enc: &EncryptionInfo) -> bool {
    use matrix_sdk::deserialized_responses::{VerificationLevel, VerificationState};
    if signed_by_owner(&enc.verification_state) {
        return true;
    }
    let recheck = matches!(
        enc.verification_state,
        VerificationState::Unverified(
            VerificationLevel::UnsignedDevice | VerificationLevel::None(_)
        )
    );
    let Some(device_id) = enc.sender_device.as_deref().filter(|_| recheck) else {
        return false;
    };
    if let Err(e) = client.encryption().request_user_identity(&enc.sender).await {
        warn!(sender = %enc.sender, "cannot fetch the sender's keys: {e}");
        return false;
    }
    match client.encryption().get_device(&enc.sender, device_id).await {
        Ok(Some(device)) => device.is_cross_signed_by_owner(),
        _ => false,
    }
}

/// What the gate needs to know about an event's room and sender, gathered before it judges.
struct Facts {
    in_admin_room: bool,
    age: Duration,
    /// `None` when the room's encryption state cannot be read.
    room_encrypted: Option<bool>,
    sender: matrix_sdk::ruma::OwnedUserId,
    sender_has_role: bool,
}

impl Facts {
    async fn gather(
        ctx: &Ctx,
        room: &Room,
        sender: &UserId,
        ts: MilliSecondsSinceUnixEpoch,
    ) -> Self {
        let now = MilliSecondsSinceUnixEpoch::now().get();
        Facts {
            in_admin_room: ctx.is_admin_room(room.room_id()),
            age: Duration::from_millis(u64::from(now.saturating_sub(ts.get()))),
            room_encrypted: room
                .latest_encryption_state()
                .await
                .ok()
                .map(|s| s.is_encrypted()),
            sender: sender.to_owned(),
            sender_has_role: ctx.grants(room.room_id(), sender).await.has_any_role(),
        }
    }

    fn judge<'a>(&'a self, ctx: &'a Ctx, is_edit: bool, event_encrypted: bool) -> EventFacts<'a> {
        EventFacts {
            sender: &self.sender,
            bot: &ctx.user_id,
            in_admin_room: self.in_admin_room,
            is_edit,
            age: self.age,
            // Fail closed: a room whose encryption state cannot be read counts as encrypted.
            room_encrypted: self.room_encrypted.unwrap_or(true),
            event_encrypted,
            sender_has_role: self.sender_has_role,
        }
    }
}

fn log_ignored(why: &Ignored, event_id: &str, sender: &str) {
    match why {
        Ignored::TooOld(age) => {
            info!(event_id, sender, age = ?age, "ignoring an event older than bot.max_event_age")
        }
        Ignored::Unencrypted => warn!(
            event_id,
            sender, "ignoring an unencrypted event in an encrypted admin room"
        ),
        Ignored::OtherRoom | Ignored::OwnEvent | Ignored::Edit | Ignored::NoRole => {
            debug!(event_id, sender, ?why, "ignored")
        }
    }
}
