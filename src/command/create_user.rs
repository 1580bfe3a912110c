//! `!create-user <localpart>`: one new account with a generated password, after a preview and a
//! confirmation; the password arrives as a file in an encrypted room (`super::secrets`). An
//! existing account is refused, at the preview and again right before the write.

use std::sync::Arc;

use matrix_sdk::ruma::{OwnedUserId, UserId};
use serde::{Deserialize, Serialize};

use super::args::only_encrypted;
use super::secrets::password_file;
use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::accounts::NewAccount;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Line, Outcome, Reply, yes_no};

/// Create an account with a generated password (sent as a file, redacted later)
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "create-user alice --displayname Alice")]
pub(crate) struct CreateUser {
    /// The new account's name (the part before :server), or its full @name:server
    localpart: String,
    /// Its display name
    #[arg(long)]
    displayname: Option<String>,
    /// Make it a server admin (needs user.admin)
    #[arg(long)]
    admin: bool,
    /// Show the preview only
    #[arg(long)]
    dry_run: bool,
}

/// A confirmed `!create-user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreateAction {
    user_id: OwnedUserId,
    displayname: Option<String>,
    admin: bool,
}

fn perms(admin: bool) -> Vec<Permission> {
    if admin {
        vec![Permission::UserCreate, Permission::UserAdmin]
    } else {
        vec![Permission::UserCreate]
    }
}

/// The new account's ID: a localpart Synapse accepts on this server, never someone else's.
fn new_user_id(ctx: &Ctx, typed: &str) -> Result<OwnedUserId, CommandError> {
    let server = &ctx.config.server_name;
    let refuse = |why: String| CommandError::Refused(format!("Refused: {why}"));
    let localpart = match typed.strip_prefix('@') {
        Some(_) => {
            let id = UserId::parse(typed)
                .map_err(|_| refuse(format!("{typed:?} is not a user ID")))?;
            if id.server_name() != server {
                return Err(refuse(format!(
                    "{id} is on another server; accounts are created on {server}"
                )));
            }
            id.localpart().to_owned()
        }
        None => typed.to_owned(),
    };
    let valid = !localpart.is_empty()
        && localpart
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._=-/+".contains(c));
    if !valid {
        return Err(refuse(format!(
            "{:?} is not a valid name: use a-z, 0-9 and . _ = - / +",
            crate::text::clip(&localpart, 40)
        )));
    }
    let id = UserId::parse_with_server_name(localpart.as_str(), server)
        .map_err(|_| refuse(format!("{localpart:?} is not a valid name")))?;
    if id.as_str().len() > 255 {
        return Err(refuse("the user ID would be longer than 255 bytes".into()));
    }
    Ok(id)
}

/// Refuses an account that exists (deactivated ones too: their names are never reused).
async fn refuse_existing(ctx: &Ctx, user_id: &UserId, word: &str) -> Result<(), CommandError> {
    match ctx.accounts.details(user_id).await {
        Ok(d) => Err(CommandError::Refused(format!(
            "{word}: {user_id} already exists{}",
            if d.deactivated { " (deactivated)" } else { "" }
        ))),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Declared for CreateUser {
    type Action = CreateAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserCreate];
    const AREA: Area = Area::Accounts;
    const SCHEDULABLE: bool = false;

    fn permissions(&self) -> Vec<Permission> {
        perms(self.admin)
    }

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
    }

    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<CreateAction>, CommandError> {
        only_encrypted(origin, "a new account's password")?;
        let user_id = new_user_id(ctx, &self.localpart)?;
        let displayname = self
            .displayname
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if let Some(n) = &displayname
            && n.chars().count() > 256
        {
            return Err(CommandError::Refused(
                "Refused: the display name is longer than 256 characters".into(),
            ));
        }
        refuse_existing(ctx, &user_id, "Refused").await?;
        let mut items = vec![
            Line::new().text(format!(
                "Display name: {}",
                displayname.as_deref().unwrap_or("(none)")
            )),
            Line::new().text(format!("Server admin: {}", yes_no(self.admin))),
        ];
        items.push(Line::new().text(format!(
            "Its password, 20 characters, comes as a file, redacted after {}.",
            crate::units::format_age(ctx.config.secret_ttl)
        )));
        let preview = Reply::new(Outcome::Pending)
            .line(Line::new().bold("Create ").code(user_id.as_str()))
            .list(items);
        if self.dry_run {
            return Ok(Planned::DryRun(preview));
        }
        Ok(Planned::Confirm {
            preview,
            action: CreateAction {
                user_id,
                displayname,
                admin: self.admin,
            },
        })
    }
}

impl Execute for CreateAction {
    fn permissions(&self) -> Vec<Permission> {
        perms(self.admin)
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        only_encrypted(origin, "a new account's password")?;
        // Someone may have registered the name since the preview: this call would change their
        // account, so it is checked once more right before.
        refuse_existing(ctx, &self.user_id, "Not done").await?;
        let password = crate::jobs::import::generate_password();
        let outcome = ctx
            .accounts
            .create(NewAccount {
                user_id: &self.user_id,
                displayname: self.displayname.as_deref(),
                avatar_url: None,
                password: Some(&password),
                admin: self.admin,
            })
            .await?;
        let (file, hint) = password_file(ctx, &self.user_id, &password);
        let mut head = Line::new().text("Created ").code(self.user_id.as_str());
        if outcome.user.admin {
            head = head.text(", a server admin");
        }
        Ok(Reply::ok(head.text(".")).line(hint).attach(file))
    }
}
