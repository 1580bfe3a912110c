//! `!notice`: a server notice (a message from the server, in the account's server-notices room):
//! to one user at once, or with `--to` to a set, after a preview and a confirmation, as a job.

use std::sync::Arc;

use super::args::UserArg;
use super::targets::lookup;
use super::user_set::{SetAction, SetFilters, plan_set, resolve};
use super::{Area, CommandError, Declared, Planned, Risk};
use crate::admin_api::moderation::SendServerNotice;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::users::UserOp;
use crate::report::{Line, Reply};

/// Longest notice, in characters.
const MAX_TEXT: usize = 4000;

/// Send a server notice to a user, or with --to to many
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "notice @alice:example.org Your account will be renamed tonight")]
pub(crate) struct Notice {
    /// Send to a set: users separated by commas, and/or one per line below, --regex, --registered-since, --inactive, a CSV file
    #[arg(long, value_name = "USERS", num_args = 0..=1, value_delimiter = ',')]
    to: Option<Vec<UserArg>>,
    #[command(flatten)]
    filters: SetFilters,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
    /// The user (without --to), then the text
    #[arg(trailing_var_arg = true, value_name = "TEXT")]
    words: Vec<String>,
}

fn checked_text(text: String) -> Result<String, CommandError> {
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(CommandError::Refused(
            "Refused: write the notice's text after the user".into(),
        ));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(CommandError::Refused(format!(
            "Refused: a notice is at most {MAX_TEXT} characters"
        )));
    }
    Ok(text)
}

impl Declared for Notice {
    type Action = SetAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::NoticeSend];
    const AREA: Area = Area::Moderation;
    const TAKES_FILE: bool = true;

    fn risk(&self) -> Risk {
        match (self.dry_run, &self.to) {
            (true, _) => Risk::ReadOnly,
            // One notice is sent at once, without a preview (so never where a second approver
            // is asked for).
            (false, None) => Risk::Reversible,
            (false, Some(_)) => Risk::Irreversible,
        }
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<SetAction>, CommandError> {
        let Some(to) = self.to else {
            return send_one(ctx, origin, self.words, self.dry_run).await;
        };
        let text = checked_text(self.words.join(" "))?;
        let op = UserOp::Notice { text: text.clone() };
        let resolved = resolve(ctx, origin, &to, &self.filters, &op, true).await?;
        let extra = vec![
            Line::new().text("Text: ").text(crate::text::clip(&text, 300)),
        ];
        plan_set(ctx, origin, op, resolved, false, self.dry_run, extra)
    }
}

/// `!notice <user> <text>`: sent at once.
async fn send_one(
    ctx: &Ctx,
    origin: &Origin,
    words: Vec<String>,
    dry_run: bool,
) -> Result<Planned<SetAction>, CommandError> {
    let mut words = words.into_iter();
    let user: UserArg = words
        .next()
        .ok_or_else(|| {
            CommandError::Refused(
                "Refused: name the user, then the text (or --to for many)".into(),
            )
        })?
        .parse()
        .map_err(|e: String| CommandError::Refused(format!("Refused: {e}")))?;
    let mut text = words.collect::<Vec<_>>().join(" ");
    if !origin.body.trim().is_empty() {
        text = format!("{text}\n{}", origin.body.trim_end());
    }
    let text = checked_text(text)?;
    let user_id = user.resolve_local(&ctx.config.server_name, "sent notices")?;
    if user_id == ctx.user_id {
        return Err(CommandError::Refused(
            "Refused: I will not send a notice to myself".into(),
        ));
    }
    let details = lookup(ctx, &user_id).await?;
    if details.deactivated {
        return Err(CommandError::Refused(format!(
            "Refused: {user_id} is deactivated"
        )));
    }
    if dry_run {
        return Ok(Planned::DryRun(
            Reply::ok(Line::new().text("Would send to ").code(user_id.as_str()).text(":"))
                .line(crate::text::clip(&text, 300))
                .line(Line::new().bold("Dry run: nothing was sent.")),
        ));
    }
    let sent = ctx
        .admin
        .send(&SendServerNotice {
            txn_id: format!("syndic-{}", origin.event_id),
            user_id: user_id.to_string(),
            text,
        })
        .await?;
    Ok(Planned::Done(Reply::ok(
        Line::new()
            .text("Server notice sent to ")
            .code(user_id.as_str())
            .text(" (")
            .code(sent.event_id)
            .text(")."),
    )))
}
