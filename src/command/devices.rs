//! `!devices <user>`: an account's devices, newest activity first: ID, name, last seen, IP.

use std::sync::Arc;

use super::args::UserArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::admin_api::users::ListDevices;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};

/// How many devices the reply lists before "and N more".
const SHOWN: usize = 20;

/// List an account's devices: ID, name, last seen, IP
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "devices @alice:example.org")]
pub(crate) struct Devices {
    /// @name:server, a mention, or just the name
    user: UserArg,
}

impl Declared for Devices {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserInfo];
    const AREA: Area = Area::Accounts;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let user_id = self.user.resolve_local(&ctx.config.server_name, "looked up")?;
        let mut devices = ctx
            .admin
            .send(&ListDevices {
                user_id: user_id.to_string(),
            })
            .await?
            .devices;
        devices.sort_by_key(|d| std::cmp::Reverse(d.last_seen_ts));
        let title = Line::new().code(user_id.as_str()).text(format!(
            " has {} device{}",
            devices.len(),
            if devices.len() == 1 { "" } else { "s" }
        ));
        let items = devices
            .iter()
            .take(SHOWN)
            .map(|d| {
                let mut line = Line::new().code(d.device_id.as_str());
                if let Some(name) = d.display_name.as_deref().filter(|n| !n.is_empty()) {
                    line = line.text(format!(" {}", crate::text::clip(name, 40)));
                }
                let seen = d
                    .last_seen_ts
                    .map_or_else(|| "never seen".to_owned(), |ts| format!("seen {}", format_time_ms(ts)));
                line = line.text(format!(" · {seen}"));
                if let Some(ip) = d.last_seen_ip.as_deref() {
                    line = line.text(" · ").code(ip);
                }
                line
            })
            .collect();
        let mut reply = Reply::ok(title).list(items);
        if devices.len() > SHOWN {
            reply = reply.line(format!("… and {} more.", devices.len() - SHOWN));
        }
        Ok(Planned::Done(reply))
    }
}
