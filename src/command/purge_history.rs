//! `!purge-history`: delete a room's events older than an age from the database, after a preview
//! and a confirmation; a job follows Synapse's purge to the end.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::args::{Age, RoomArg, not_an_admin_room};
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::rooms::{PurgeHistory as PurgeHistoryRequest, RoomDetails};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::room::{self as room_jobs, RoomTask};
use crate::report::{Line, Outcome, Reply, format_time_ms};
use crate::units::format_age;

/// Delete a room's events older than <age> from the database; shows a preview
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "purge-history #lobby:example.org 365d")]
pub(crate) struct PurgeHistory {
    /// !id:server or #alias:server
    room: RoomArg,
    /// Older than this, e.g. 365d
    age: Age,
    /// Also local users' events (otherwise only remote users')
    #[arg(long)]
    include_local: bool,
    /// Allow an age under one day
    #[arg(long)]
    force: bool,
}

impl Declared for PurgeHistory {
    type Action = PurgeHistoryAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::RoomPurgeHistory];
    const AREA: Area = Area::Rooms;

    fn risk(&self) -> Risk {
        Risk::Irreversible
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        _: &Origin,
    ) -> Result<Planned<PurgeHistoryAction>, CommandError> {
        if let Some(why) = self.age.short_refusal(self.force, "recent history") {
            return Err(CommandError::Refused(format!("Refused: {why}")));
        }
        plan_purge_history(ctx, &self.room, self.age, self.include_local).await
    }
}

/// A confirmed `!purge-history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurgeHistoryAction {
    room_id: String,
    before_ms: i64,
    include_local: bool,
}

impl Execute for PurgeHistoryAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::RoomPurgeHistory]
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        execute_purge_history(ctx, origin, &self.room_id, self.before_ms, self.include_local)
            .await
    }
}

/// `!purge-history`: the preview.
async fn plan_purge_history(
    ctx: &Ctx,
    room: &RoomArg,
    typed_age: Age,
    include_local: bool,
) -> Result<Planned<PurgeHistoryAction>, CommandError> {
    let room_id = room.resolve(&ctx.admin).await?;
    not_an_admin_room(ctx, &room_id)?;
    let age = typed_age.0;
    let details = ctx
        .admin
        .send(&RoomDetails {
            room_id: room_id.clone(),
        })
        .await?;
    let before_ms = typed_age.cutoff_ms();
    let whose = if include_local {
        "everyone's events, local users' included"
    } else {
        "events of remote users only (add --include-local for local users' too)"
    };
    let preview = Reply::new(Outcome::Pending)
        .line(
            Line::new()
                .bold("Purge history of ")
                .text(details.name.unwrap_or_else(|| "(no name)".into()))
                .text(" ")
                .code(room_id.as_str()),
        )
        .list(vec![
            Line::new().text(format!(
                "Older than: {} ({} ago)",
                format_time_ms(before_ms),
                format_age(age)
            )),
            Line::new().text(format!("What: {whose}")),
        ])
        .line("Irreversible: purged events are deleted from this server's database.");
    Ok(Planned::Confirm {
        preview,
        action: PurgeHistoryAction {
            room_id,
            before_ms,
            include_local,
        },
    })
}

async fn execute_purge_history(
    ctx: &Arc<Ctx>,
    origin: &Origin,
    room_id: &str,
    before_ms: i64,
    include_local: bool,
) -> Result<Reply, CommandError> {
    let started = ctx
        .admin
        .send(&PurgeHistoryRequest {
            room_id: room_id.to_owned(),
            purge_up_to_ts: before_ms.max(0) as u64,
            delete_local_events: include_local,
        })
        .await?;
    let job_id = room_jobs::start(
        ctx,
        origin,
        RoomTask::PurgeHistory {
            room_id: room_id.to_owned(),
            purge_id: started.purge_id,
        },
    )?;
    Ok(Reply::ok(format!(
        "History purge of {room_id} started (job #{job_id}); progress follows."
    )))
}
