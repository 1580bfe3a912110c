//! `!whois <user>`: an account's sessions as Synapse tracks them: IP, user agent, last seen.

use std::sync::Arc;

use super::args::UserArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::users::Whois as WhoisRequest;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};

/// How many connections the reply lists before "and N more".
const SHOWN: usize = 10;

/// Show an account's sessions: IP addresses, user agents, last seen
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "whois @alice:example.org")]
pub(crate) struct Whois {
    /// @name:server, a mention, or just the name
    user: UserArg,
}

impl Declared for Whois {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserWhois];
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let user_id = self.user.resolve_local(&ctx.config.server_name, "looked up")?;
        let whois = ctx
            .admin
            .send(&WhoisRequest {
                user_id: user_id.to_string(),
            })
            .await?;
        let mut connections: Vec<_> = whois.connections().collect();
        connections.sort_by_key(|c| std::cmp::Reverse(c.last_seen));
        let sessions: usize = whois.devices.values().map(|d| d.sessions.len()).sum();
        let title = Line::new().code(user_id.as_str()).text(format!(
            ": {sessions} session{}, {} connection{}",
            if sessions == 1 { "" } else { "s" },
            connections.len(),
            if connections.len() == 1 { "" } else { "s" }
        ));
        let items = connections
            .iter()
            .take(SHOWN)
            .map(|c| {
                let mut line = Line::new().code(c.ip.as_deref().unwrap_or("?"));
                if let Some(ts) = c.last_seen {
                    line = line.text(format!(" · seen {}", format_time_ms(ts)));
                }
                if let Some(agent) = c.user_agent.as_deref() {
                    line = line.text(format!(" · {}", crate::text::clip(agent, 60)));
                }
                line
            })
            .collect();
        let mut reply = Reply::ok(title).list(items);
        if connections.len() > SHOWN {
            reply = reply.line(format!("… and {} more.", connections.len() - SHOWN));
        }
        Ok(Planned::Done(reply))
    }
}
