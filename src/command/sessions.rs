//! `!sessions <user> [--all]`: an account's sessions in MAS (legacy logins, OAuth 2.0 clients,
//! browsers): client, device, last activity, IP, and the ID `!end-sessions` takes.

use std::sync::Arc;

use super::args::UserArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::accounts::Session;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};

/// How many sessions the reply lists before "and N more".
const SHOWN: usize = 20;

/// List an account's sessions (MAS): client, device, last active, IP
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "sessions @alice:example.org")]
pub(crate) struct Sessions {
    /// @name:server, a mention, or just the name
    user: UserArg,
    /// Finished sessions too
    #[arg(long)]
    all: bool,
}

impl Declared for Sessions {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserInfo];
    const AREA: Area = Area::Accounts;
    const MAS_ONLY: bool = true;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let user_id = self.user.resolve_local(&ctx.config.server_name, "looked up")?;
        let details = ctx.accounts.details(&user_id).await?;
        let sessions = ctx.accounts.sessions(&details, !self.all).await?;
        let title = Line::new().code(user_id.as_str()).text(format!(
            " has {} {}session{}",
            sessions.len(),
            if self.all { "" } else { "active " },
            if sessions.len() == 1 { "" } else { "s" }
        ));
        let mut reply = Reply::ok(title).list(sessions.iter().take(SHOWN).map(line).collect());
        if sessions.len() > SHOWN {
            reply = reply.line(format!("… and {} more.", sessions.len() - SHOWN));
        }
        if !sessions.is_empty() {
            reply = reply.line(
                Line::new()
                    .text("End one: ")
                    .code(format!("{}end-sessions {user_id} <ID>", ctx.config.prefix)),
            );
        }
        Ok(Planned::Done(reply))
    }
}

/// `Element X · OAuth 2.0 · device ABC · seen … · 10.0.0.1 · ID 01J…`
pub(super) fn line(s: &Session) -> Line {
    let kind: &'static str = s.kind.into();
    let mut line = Line::new().text(format!("{} · {kind}", crate::text::clip(&s.client, 40)));
    if let Some(device) = &s.device {
        line = line.text(" · device ").code(device.as_str());
    }
    let seen = s
        .last_active_at
        .map_or_else(|| "never active".to_owned(), |t| format!("seen {}", format_time_ms(t.timestamp_millis())));
    line = line.text(format!(" · {seen}"));
    if let Some(ip) = s.last_active_ip.as_deref() {
        line = line.text(" · ").code(ip);
    }
    if s.finished {
        line = line.text(" · ended");
    }
    line.text(" · ID ").code(s.id.to_string())
}
