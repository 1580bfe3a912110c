//! `!quarantine`: quarantine one file at once, or every upload of a user or every file in a room
//! after a preview with the count and a confirmation.

use std::sync::Arc;

use super::args::{Mxc, RoomArg, UserArg};
use super::grammar::clip;
use matrix_sdk::ruma::OwnedUserId;
use serde::{Deserialize, Serialize};

use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::media::{
    QuarantineMedia, QuarantineRoomMedia, QuarantineUserMedia, RoomMedia,
};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply};

/// Quarantine one file, all uploads of a user, or all media in a room
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "quarantine mxc://example.org/AbCdEf")]
pub(crate) struct Quarantine {
    /// mxc://server/id, @user:server or !room:server
    target: QuarantineTarget,
}

impl Declared for Quarantine {
    type Action = QuarantineAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::MediaQuarantine];
    const AREA: Area = Area::Media;

    fn risk(&self) -> Risk {
        match self.target {
            QuarantineTarget::Media(_) => Risk::Reversible,
            // Releasing hundreds of files one by one is not a way back.
            QuarantineTarget::User(_) | QuarantineTarget::Room(_) => Risk::Irreversible,
        }
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        _: &Origin,
    ) -> Result<Planned<QuarantineAction>, CommandError> {
        quarantine(ctx, &self.target).await
    }
}

/// What `!quarantine` applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QuarantineTarget {
    Media(Mxc),
    User(UserArg),
    Room(RoomArg),
}

impl std::str::FromStr for QuarantineTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("mxc://") {
            s.parse().map(QuarantineTarget::Media)
        } else if s.starts_with('@') {
            s.parse().map(QuarantineTarget::User)
        } else if s.starts_with('!') || s.starts_with('#') {
            s.parse().map(QuarantineTarget::Room)
        } else {
            Err(format!(
                "{:?} is not mxc://…, @user or !room",
                clip(s)
            ))
        }
    }
}

/// What a confirmed bulk quarantine applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum QuarantineAction {
    User { user_id: OwnedUserId },
    Room { room_id: String },
}

impl Execute for QuarantineAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::MediaQuarantine]
    }

    async fn execute(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        match self {
            QuarantineAction::User { user_id } => {
                let n = ctx
                    .admin
                    .send(&QuarantineUserMedia {
                        user_id: user_id.to_string(),
                    })
                    .await?;
                Ok(Reply::ok(
                    Line::new()
                        .text(format!("Quarantined {} files of ", n.num_quarantined))
                        .code(user_id.as_str())
                        .text("."),
                ))
            }
            QuarantineAction::Room { room_id } => {
                let n = ctx
                    .admin
                    .send(&QuarantineRoomMedia {
                        room_id: room_id.clone(),
                    })
                    .await?;
                Ok(Reply::ok(
                    Line::new()
                        .text(format!("Quarantined {} files in ", n.num_quarantined))
                        .code(room_id)
                        .text("."),
                ))
            }
        }
    }
}

/// `!quarantine`: one file at once; every upload of a user, or every file in a room, after a
/// preview with the count.
async fn quarantine(
    ctx: &Ctx,
    target: &QuarantineTarget,
) -> Result<Planned<QuarantineAction>, CommandError> {
    let (what, count, action) = match target {
        QuarantineTarget::Media(m) => {
            ctx.admin
                .send(&QuarantineMedia {
                    server_name: m.server.clone(),
                    media_id: m.media_id.clone(),
                })
                .await?;
            return Ok(Planned::Done(Reply::ok(
                Line::new()
                    .text("Quarantined ")
                    .code(m.to_string())
                    .text("."),
            )));
        }
        QuarantineTarget::User(u) => {
            let user_id = u.resolve(&ctx.config.server_name);
            if user_id.server_name() != ctx.config.server_name {
                return Err(CommandError::Refused(format!(
                    "{user_id} is on another server; only local users' uploads can be quarantined"
                )));
            }
            let media = ctx.admin.all_user_media(user_id.as_str()).await?;
            let count = media
                .iter()
                .filter(|m| m.quarantined_by.is_none() && !m.safe_from_quarantine)
                .count();
            (
                ("all uploads of", user_id.to_string()),
                count,
                QuarantineAction::User { user_id },
            )
        }
        QuarantineTarget::Room(r) => {
            let room_id = r.resolve(&ctx.admin).await?;
            let media = ctx
                .admin
                .send(&RoomMedia {
                    room_id: room_id.clone(),
                })
                .await?;
            (
                ("all media in", room_id.clone()),
                media.local.len() + media.remote.len(),
                QuarantineAction::Room { room_id },
            )
        }
    };
    if count == 0 {
        return Err(CommandError::Refused(
            "there is nothing to quarantine there".into(),
        ));
    }
    let preview = Reply::new(Outcome::Pending)
        .line(
            Line::new()
                .bold(format!("Quarantine {} ", what.0))
                .code(what.1),
        )
        .line(format!(
            "Files: {count}. Quarantined files cannot be downloaded by anyone until released one by one with !unquarantine."
        ));
    Ok(Planned::Confirm { preview, action })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert!(matches!(
            "@a:b".parse::<QuarantineTarget>(),
            Ok(QuarantineTarget::User(_))
        ));
        assert!(matches!(
            "!r:b".parse::<QuarantineTarget>(),
            Ok(QuarantineTarget::Room(_))
        ));
        assert!(matches!(
            "mxc://b/c".parse::<QuarantineTarget>(),
            Ok(QuarantineTarget::Media(_))
        ));
        assert!("bob".parse::<QuarantineTarget>().is_err());
    }
}
