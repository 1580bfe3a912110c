//! `!end-sessions <user> [--all | <id>…]`: finish an account's MAS sessions (their devices are
//! logged out), after a preview and a confirmation. The target rules hold as for every account
//! command, at the preview and again when it runs.

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedUserId, UserId};
use serde::{Deserialize, Serialize};

use super::args::UserArg;
use super::targets::{TargetFacts, Verb, target_refusal};
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::mas::Ulid;
use crate::admin_api::users::UserDetails;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply};

/// How many sessions the preview names.
const SHOWN: usize = 20;

/// End an account's sessions (MAS): all, or those named by ID
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "end-sessions @alice:example.org --all")]
pub(crate) struct EndSessions {
    /// @name:server, a mention, or just the name
    user: UserArg,
    /// Session IDs to end (from !sessions)
    ids: Vec<String>,
    /// Every active session
    #[arg(long)]
    all: bool,
    /// Allow it on a server admin
    #[arg(long)]
    force: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

/// A confirmed `!end-sessions`: exactly the sessions the preview showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EndSessionsAction {
    user_id: OwnedUserId,
    ids: Vec<String>,
    force: bool,
}

const END: Verb = Verb {
    base: "end the sessions of",
    done: "logged out",
};

fn refusal(
    ctx: &Ctx,
    sender: &UserId,
    target: &UserId,
    force: bool,
    details: Option<&UserDetails>,
) -> Option<String> {
    target_refusal(&TargetFacts::new(
        ctx,
        &END,
        target,
        sender,
        force,
        details.map(Into::into),
    ))
}

impl Declared for EndSessions {
    type Action = EndSessionsAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserDevices];
    const AREA: Area = Area::Accounts;
    const SCHEDULABLE: bool = false;
    const MAS_ONLY: bool = true;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<EndSessionsAction>, CommandError> {
        if self.all != self.ids.is_empty() {
            return Err(CommandError::Refused(
                "Refused: say which sessions: --all, or their IDs (from !sessions) after the user"
                    .into(),
            ));
        }
        let mut wanted = Vec::new();
        for id in &self.ids {
            let parsed: Ulid = id.parse().map_err(|_| {
                CommandError::Refused(format!(
                    "Refused: {:?} is not a session ID (26 letters and digits, as !sessions shows)",
                    crate::text::clip(id, 40)
                ))
            })?;
            wanted.push(parsed);
        }
        let target = self.user.resolve(&ctx.config.server_name);
        if let Some(why) = refusal(ctx, &origin.sender, &target, self.force, None) {
            return Err(CommandError::Refused(format!("Refused: {why}")));
        }
        let details = ctx.accounts.details(&target).await?;
        if let Some(why) = refusal(ctx, &origin.sender, &target, self.force, Some(&details)) {
            return Err(CommandError::Refused(format!("Refused: {why}")));
        }
        let active = ctx.accounts.sessions(&details, true).await?;
        if let Some(unknown) = wanted.iter().find(|id| !active.iter().any(|s| &s.id == *id)) {
            return Err(CommandError::Refused(format!(
                "Refused: {target} has no active session {unknown}"
            )));
        }
        let doomed: Vec<_> = active
            .iter()
            .filter(|s| self.all || wanted.contains(&s.id))
            .collect();
        if doomed.is_empty() {
            return Err(CommandError::Refused(format!(
                "Refused: {target} has no active session; nothing to end"
            )));
        }
        let mut items: Vec<Line> = doomed.iter().take(SHOWN).map(|s| super::sessions::line(s)).collect();
        if doomed.len() > SHOWN {
            items.push(Line::new().text(format!("… and {} more", doomed.len() - SHOWN)));
        }
        let preview = Reply::new(Outcome::Pending)
            .line(
                Line::new()
                    .bold(format!(
                        "End {} of {} active session{} of ",
                        doomed.len(),
                        active.len(),
                        if active.len() == 1 { "" } else { "s" }
                    ))
                    .code(target.as_str()),
            )
            .list(items)
            .line("Their devices are logged out; the account keeps its password and can log in again.");
        if self.dry_run {
            return Ok(Planned::DryRun(preview));
        }
        Ok(Planned::Confirm {
            preview,
            action: EndSessionsAction {
                user_id: target,
                ids: doomed.iter().map(|s| s.id.to_string()).collect(),
                force: self.force,
            },
        })
    }
}

impl Execute for EndSessionsAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::UserDevices]
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        let details = ctx.accounts.details(&self.user_id).await?;
        if let Some(why) = refusal(ctx, &origin.sender, &self.user_id, self.force, Some(&details)) {
            return Err(CommandError::Refused(format!("Not done: {why}")));
        }
        let sessions = ctx.accounts.sessions(&details, false).await?;
        let (mut ended, mut gone) = (0usize, 0usize);
        for id in &self.ids {
            match sessions.iter().find(|s| s.id.to_string() == *id) {
                Some(s) if !s.finished && ctx.accounts.end_session(s).await? => ended += 1,
                _ => gone += 1,
            }
        }
        let left = ctx.accounts.sessions(&details, true).await?.len();
        let mut reply = Reply::ok(
            Line::new()
                .text(format!(
                    "Ended {ended} session{} of ",
                    if ended == 1 { "" } else { "s" }
                ))
                .code(self.user_id.as_str())
                .text("; their devices are logged out."),
        );
        if gone > 0 {
            reply = reply.line(format!("{gone} had already ended."));
        }
        Ok(reply.line(format!("Active sessions now: {left}.")))
    }
}
