//! `!reports`: the abuse reports the inbox has seen, newest first, ten per page.

use std::sync::Arc;

use super::args::UserArg;
use super::{Area, CommandError, Declared, Never, Planned};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply, format_time_ms};
use crate::store::ReportState;

const PAGE_SIZE: usize = 10;

/// List abuse reports, newest first
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "reports --open")]
pub(crate) struct Reports {
    /// Only reports nobody has handled
    #[arg(long)]
    open: bool,
    /// Only reports by or about this user
    #[arg(long, value_name = "USER")]
    user: Option<UserArg>,
    /// Page number
    #[arg(long, value_name = "N", default_value_t = 1)]
    page: usize,
}

impl Declared for Reports {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::ReportView];
    const AREA: Area = Area::Moderation;
    const INSTANT: bool = true;

    async fn plan(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Planned<Never>, CommandError> {
        let user = self.user.map(|u| u.resolve(&ctx.config.server_name));
        let page = self.page.max(1);
        let (rows, total) = ctx.store.reports(
            self.open,
            user.as_ref().map(|u| u.as_str()),
            PAGE_SIZE,
            (page - 1).saturating_mul(PAGE_SIZE),
        )?;
        if total == 0 {
            return Ok(Planned::Done(Reply::ok("No reports match.")));
        }
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let items = rows
            .iter()
            .map(|r| {
                let state = match r.state {
                    ReportState::Open => "open".to_owned(),
                    ReportState::Handled => format!(
                        "{} by {}",
                        r.handled_how.as_deref().unwrap_or("handled"),
                        r.handled_by.as_deref().unwrap_or("?")
                    ),
                    ReportState::Gone => "handled elsewhere".to_owned(),
                };
                Line::new()
                    .bold(format!("#{}", r.id))
                    .text(format!(" {} · ", r.kind))
                    .code(r.target_user.as_deref().unwrap_or("?"))
                    .text(format!(" · {state} · {}", format_time_ms(r.received_ts)))
            })
            .collect();
        Ok(Planned::Done(
            Reply::ok(format!("Reports, page {page} of {pages} ({total} in all)"))
                .list(items)
                .line(
                    Line::new()
                        .text("One in full: ")
                        .code(format!("{}report <id>", ctx.config.prefix)),
                ),
        ))
    }
}
