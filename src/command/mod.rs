//! The commands: one file each, and the one list below that names them all.
//!
//! A command file holds its clap arguments (doc comments are the help), and its [`Declared`] impl:
//! the permissions it needs (which may depend on its flags), its risk, whether it may be scheduled
//! or takes a file, its plan; an irreversible command also has an action type whose [`Execute`]
//! impl runs once confirmed. [`commands!`] turns the list into the grammar ([`Command`]), the
//! persisted [`Action`] enum and the single dispatch; nothing else matches over all commands.

mod account_state;
mod args;
mod grammar;
pub(crate) mod normalize;
mod secrets;
mod user_set;

use crate::jobs::targets;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::admin_api::AdminError;
use crate::auth::Permission;
use crate::confirm::Act;
use crate::context::{Ctx, Origin};
use crate::matrix::chat::ChatError;
use crate::report::Reply;
use crate::store::StoreError;

pub(crate) use grammar::{grammar, parse};

/// How much harm a command can do; drives confirmation, and a one-time confirmation for schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Risk {
    /// Reads only.
    ReadOnly,
    /// Changes something that can be changed back (block, quarantine): runs at once.
    Reversible,
    /// Deletes or disables for good: previews and waits for confirmation.
    Irreversible,
}

impl Risk {
    /// An irreversible command's risk: only reading for `--dry-run` (a preview of nothing).
    pub(crate) fn irreversible_unless(dry_run: bool) -> Risk {
        if dry_run {
            Risk::ReadOnly
        } else {
            Risk::Irreversible
        }
    }
}

/// What planning a command decided.
#[derive(Debug)]
pub(crate) enum Planned<A> {
    /// Answer now (read-only commands, reversible writes, refusals).
    Done(Reply),
    /// The preview of `--dry-run`: nothing is stored, nothing waits.
    DryRun(Reply),
    /// Irreversible: show the preview and wait for the sender's confirmation.
    Confirm { preview: Reply, action: A },
    /// `!confirm` / `!approve` / `!cancel`: decide on a pending preview (the confirmation flow
    /// does it).
    Decide { code: String, act: Act },
}

impl<A> Planned<A> {
    pub(crate) fn map<B>(self, f: impl FnOnce(A) -> B) -> Planned<B> {
        match self {
            Planned::Done(r) => Planned::Done(r),
            Planned::DryRun(r) => Planned::DryRun(r),
            Planned::Confirm { preview, action } => Planned::Confirm {
                preview,
                action: f(action),
            },
            Planned::Decide { code, act } => Planned::Decide { code, act },
        }
    }
}

/// A failure an admin sees as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// The command will not do this, and says why.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// A failure of the bot itself, not of the request.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CommandError {
    pub(crate) fn into_reply(self) -> Reply {
        Reply::error(crate::text::sentence(&self.to_string()))
    }
}

/// Where `!help` lists a command.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(ascii_case_insensitive)]
pub(crate) enum Area {
    Accounts,
    Moderation,
    Rooms,
    Media,
    Automation,
    Basics,
}

/// A command's declaration: what the pipeline needs to know besides its arguments.
pub(crate) trait Declared: Sized {
    /// What runs once the preview is confirmed; [`Never`] for commands that never wait.
    type Action: Execute;
    /// The permissions it needs whatever its flags (shown by `!help`).
    const PERMISSIONS: &'static [Permission];
    /// Where `!help` lists it.
    const AREA: Area;
    /// Whether `!schedule` may run it.
    const SCHEDULABLE: bool = true;
    /// Whether it takes a file (the message's attachment or the file it replies to).
    const TAKES_FILE: bool = false;
    /// Whether it cannot do without one: a file it replies to that may not be read refuses it.
    /// (Others, which take a file as one source among several, go on without that file.)
    const NEEDS_FILE: bool = false;
    /// Answers without calling Synapse, so the admin never needs ⏳ on it.
    const INSTANT: bool = false;
    /// Its arguments are secrets (a registration token): the audit trail and the log keep only
    /// their first characters, and not the reply, which repeats them.
    const SECRET_ARGS: bool = false;
    /// It exists only where MAS owns accounts: `!help` leaves it out on a plain Synapse (where
    /// it answers that there is no MAS).
    const MAS_ONLY: bool = false;

    /// The permissions it needs with these flags.
    fn permissions(&self) -> Vec<Permission> {
        Self::PERMISSIONS.to_vec()
    }

    fn risk(&self) -> Risk {
        Risk::ReadOnly
    }

    /// Read-only checks, and for an irreversible command the preview and the action.
    async fn plan(
        self,
        ctx: &Arc<Ctx>,
        origin: &Origin,
    ) -> Result<Planned<Self::Action>, CommandError>;
}

/// A confirmed action: stored with its pending confirmation, run once confirmed.
pub(crate) trait Execute:
    std::fmt::Debug + Clone + PartialEq + Serialize + for<'de> Deserialize<'de>
{
    /// The permissions it needs: checked again with the roles of the moment it is confirmed,
    /// since a role may have been narrowed after the preview.
    fn permissions(&self) -> Vec<Permission>;

    /// The stored job it starts, dropped with the confirmation if that never comes.
    fn job_id(&self) -> Option<i64> {
        None
    }

    /// Runs it, checking again what may have changed since the preview.
    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError>;
}

/// The action of a command that has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Never {}

impl Execute for Never {
    fn permissions(&self) -> Vec<Permission> {
        match *self {}
    }

    async fn execute(self, _: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        match self {}
    }
}

/// What `!help` and the checks need to know about a command without parsing it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Info {
    pub(crate) name: &'static str,
    pub(crate) permissions: &'static [Permission],
    pub(crate) area: Area,
    pub(crate) schedulable: bool,
    pub(crate) takes_file: bool,
    pub(crate) needs_file: bool,
    pub(crate) secret_args: bool,
    pub(crate) mas_only: bool,
}

/// Generates, from the one list of commands: their modules, the grammar, the persisted actions,
/// and the single dispatch of every declared property.
macro_rules! commands {
    ($($name:literal => $variant:ident($module:ident :: $ty:ident),)*) => {
        $(mod $module;)*

        /// Every command an admin can type, as clap parses it.
        #[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
        #[command(multicall = true, disable_help_subcommand = true)]
        pub(crate) enum Command {
            $(#[command(name = $name)] $variant($module::$ty),)*
        }

        /// A confirmed command's action, persisted with its pending confirmation.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub(crate) enum Action {
            $($variant(<$module::$ty as Declared>::Action),)*
        }

        /// Every command's name and declared properties, in the order of the list.
        pub(crate) const COMMANDS: &[Info] = &[$(Info {
            name: $name,
            permissions: <$module::$ty as Declared>::PERMISSIONS,
            area: <$module::$ty as Declared>::AREA,
            schedulable: <$module::$ty as Declared>::SCHEDULABLE,
            takes_file: <$module::$ty as Declared>::TAKES_FILE,
            needs_file: <$module::$ty as Declared>::NEEDS_FILE,
            secret_args: <$module::$ty as Declared>::SECRET_ARGS,
            mas_only: <$module::$ty as Declared>::MAS_ONLY,
        },)*];

        impl Command {
            pub(crate) fn name(&self) -> &'static str {
                match self { $(Command::$variant(_) => $name,)* }
            }

            pub(crate) fn permissions(&self) -> Vec<Permission> {
                match self { $(Command::$variant(c) => c.permissions(),)* }
            }

            pub(crate) fn risk(&self) -> Risk {
                match self { $(Command::$variant(c) => c.risk(),)* }
            }

            pub(crate) fn instant(&self) -> bool {
                match self { $(Command::$variant(_) => <$module::$ty as Declared>::INSTANT,)* }
            }

            pub(crate) fn info(&self) -> Info {
                info(self.name()).unwrap_or(COMMANDS[0])
            }

            pub(crate) async fn plan(
                self,
                ctx: &Arc<Ctx>,
                origin: &Origin,
            ) -> Result<Planned<Action>, CommandError> {
                match self {
                    $(Command::$variant(c) => Ok(c.plan(ctx, origin).await?.map(Action::$variant)),)*
                }
            }
        }

        impl Action {
            pub(crate) fn job_id(&self) -> Option<i64> {
                match self { $(Action::$variant(a) => a.job_id(),)* }
            }

            pub(crate) fn permissions(&self) -> Vec<Permission> {
                match self { $(Action::$variant(a) => a.permissions(),)* }
            }

            /// The command that asked for it.
            pub(crate) fn command_name(&self) -> &'static str {
                match self { $(Action::$variant(_) => $name,)* }
            }

            pub(crate) async fn execute(
                self,
                ctx: &Arc<Ctx>,
                origin: &Origin,
            ) -> Result<Reply, CommandError> {
                match self { $(Action::$variant(a) => a.execute(ctx, origin).await,)* }
            }
        }
    };
}

/// The declared properties of the command called `name`.
pub(crate) fn info(name: &str) -> Option<Info> {
    COMMANDS.iter().find(|c| c.name == name).copied()
}

commands! {
    "help" => Help(help::Help),
    "ping" => Ping(ping::Ping),
    "user" => User(user::User),
    "devices" => Devices(devices::Devices),
    "sessions" => Sessions(sessions::Sessions),
    "whois" => Whois(whois::Whois),
    "memberships" => Memberships(memberships::Memberships),
    "users" => Users(users::Users),
    "deactivate" => Deactivate(deactivate::Deactivate),
    "suspend" => Suspend(suspend::Suspend),
    "unsuspend" => Unsuspend(unsuspend::Unsuspend),
    "lock" => Lock(lock::Lock),
    "unlock" => Unlock(unlock::Unlock),
    "make-admin" => MakeAdmin(make_admin::MakeAdmin),
    "revoke-admin" => RevokeAdmin(revoke_admin::RevokeAdmin),
    "shadow-ban" => ShadowBan(shadow_ban::ShadowBan),
    "unshadow-ban" => UnshadowBan(unshadow_ban::UnshadowBan),
    "reset-password" => ResetPassword(reset_password::ResetPassword),
    "create-user" => CreateUser(create_user::CreateUser),
    "delete-devices" => DeleteDevices(delete_devices::DeleteDevices),
    "end-sessions" => EndSessions(end_sessions::EndSessions),
    "redact-user" => RedactUser(redact_user::RedactUser),
    "notice" => Notice(notice::Notice),
    "offboard" => Offboard(offboard::Offboard),
    "import-users" => ImportUsers(import_users::ImportUsers),
    "export-users" => ExportUsers(export_users::ExportUsers),
    "jobs" => Jobs(jobs::Jobs),
    "job" => Job(job::Job),
    "cancel-job" => CancelJob(cancel_job::CancelJob),
    "purge-media" => PurgeMedia(purge_media::PurgeMedia),
    "user-media" => UserMedia(user_media::UserMedia),
    "quarantine" => Quarantine(quarantine::Quarantine),
    "unquarantine" => Unquarantine(unquarantine::Unquarantine),
    "protect-media" => ProtectMedia(protect_media::ProtectMedia),
    "room" => Room(room::Room),
    "rooms" => Rooms(rooms::Rooms),
    "delete-room" => DeleteRoom(delete_room::DeleteRoom),
    "block-room" => BlockRoom(block_room::BlockRoom),
    "unblock-room" => UnblockRoom(unblock_room::UnblockRoom),
    "make-room-admin" => MakeRoomAdmin(make_room_admin::MakeRoomAdmin),
    "purge-history" => PurgeHistory(purge_history::PurgeHistory),
    "reports" => Reports(reports::Reports),
    "report" => Report(report::Report),
    "dismiss" => Dismiss(dismiss::Dismiss),
    "digest" => Digest(digest::Digest),
    "tokens" => Tokens(tokens::Tokens),
    "token" => Token(token::Token),
    "token-create" => TokenCreate(token_create::TokenCreate),
    "token-delete" => TokenDelete(token_delete::TokenDelete),
    "schedule" => Schedule(schedule::Schedule),
    "schedules" => Schedules(schedules::Schedules),
    "unschedule" => Unschedule(unschedule::Unschedule),
    "audit" => Audit(audit::Audit),
    "confirm" => Confirm(confirm::Confirm),
    "approve" => Approve(approve::Approve),
    "cancel" => Cancel(cancel::Cancel),
}
