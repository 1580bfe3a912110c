//! `!quarantine`: quarantine one file, every upload of a user, or every file in a room.

use std::sync::Arc;

use super::args::{Mxc, RoomArg, UserArg};
use super::grammar::clip;
use super::{CommandError, Declared, Never, Planned, Risk};
use crate::admin_api::media::{QuarantineMedia, QuarantineRoomMedia, QuarantineUserMedia};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// Quarantine one file, all uploads of a user, or all media in a room
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "quarantine mxc://example.org/AbCdEf")]
pub(crate) struct Quarantine {
    /// mxc://server/id, @user:server or !room:server
    target: QuarantineTarget,
}

impl Declared for Quarantine {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::MediaQuarantine];

    fn risk(&self) -> Risk {
        Risk::Reversible
    }

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        quarantine(ctx, &self.target).await.map(Planned::Done)
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

/// `!quarantine`: one file, every upload of a user, or every file in a room. Reversible per file.
async fn quarantine(ctx: &Ctx, target: &QuarantineTarget) -> Result<Reply, CommandError> {
    match target {
        QuarantineTarget::Media(m) => {
            ctx.admin
                .send(&QuarantineMedia {
                    server_name: m.server.clone(),
                    media_id: m.media_id.clone(),
                })
                .await?;
            Ok(Reply::ok(
                Line::new()
                    .text("Quarantined ")
                    .code(m.to_string())
                    .text("."),
            ))
        }
        QuarantineTarget::User(u) => {
            let user_id = u.resolve(&ctx.config.server_name);
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
        QuarantineTarget::Room(r) => {
            let room_id = ctx.admin.resolve_room(&r.0).await?.to_string();
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
