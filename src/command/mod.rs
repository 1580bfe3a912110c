//! The command grammar (parse), the permission each command needs (authorize) and the help rendered
//! from the grammar. One file per command group holds its plan and execute steps.
//!
//! The grammar is declared once, with clap derive in multicall mode; the bot renders its own short
//! help and one-line errors from clap's metadata, so nothing is written twice.

pub mod args;
pub mod help;
pub mod import;
pub mod jobs;
pub mod media;
pub mod meta;
pub mod normalize;
pub mod room;
pub mod schedule;
pub mod user;

use std::sync::{Arc, OnceLock};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser};

use serde::{Deserialize, Serialize};

use crate::admin_api::AdminError;
use crate::auth::Permission;
use crate::bot::Bot;
use crate::pipeline::Origin;
use crate::report::Reply;
pub use args::{Age, RoomArg, Size, UserArg};
use matrix_sdk::ruma::OwnedUserId;

/// What planning a command decided.
pub enum Planned {
    /// Answer now (read-only commands, refusals).
    Done(Reply),
    /// Irreversible: show the preview and wait for the same sender's confirmation.
    Confirm {
        preview: Reply,
        action: Action,
        dry_run: bool,
    },
}

/// An irreversible action waiting for confirmation; persisted with the pending confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Deactivate {
        user_id: OwnedUserId,
        erase: bool,
        force: bool,
    },
    /// Start a stored job (an import) that waited for confirmation.
    RunJob {
        job_id: i64,
    },
    PurgeMedia {
        before_ms: i64,
        scope: media::PurgeScope,
    },
    DeleteUserMedia {
        user_id: OwnedUserId,
    },
    DeleteRoom {
        room_id: String,
        block: bool,
        purge: bool,
        message: Option<String>,
    },
    PurgeHistory {
        room_id: String,
        before_ms: i64,
        include_local: bool,
    },
    /// Make a schedule of a destructive command active (it was confirmed once).
    ActivateSchedule {
        schedule_id: i64,
    },
}

impl Action {
    /// The job this action starts, so an unconfirmed job can be dropped with its confirmation.
    pub fn job_id(&self) -> Option<i64> {
        match self {
            Action::RunJob { job_id } => Some(*job_id),
            _ => None,
        }
    }
}

/// A failure an admin sees as one line.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl CommandError {
    fn into_reply(self) -> Reply {
        let text = self.to_string();
        let mut chars = text.chars();
        let text = match chars.next() {
            Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
            None => text,
        };
        Reply::error(if text.ends_with('.') {
            text
        } else {
            text + "."
        })
    }
}

/// Read-only checks and, for irreversible commands, the preview.
pub async fn plan(bot: &Arc<Bot>, origin: &Origin<'_>, command: Command) -> Planned {
    let result = match command {
        Command::Help { command: None } => Ok(Planned::Done(help::list(
            &bot.config.roles,
            origin.sender,
            &bot.config.prefix,
        ))),
        Command::Help {
            command: Some(name),
        } => Ok(Planned::Done(help::usage(&name, &bot.config.prefix))),
        Command::Ping => meta::ping(bot).await.map(Planned::Done),
        Command::User { user } => user::info(bot, &user).await.map(Planned::Done),
        Command::Deactivate {
            user,
            erase,
            force,
            dry_run,
        } => user::plan_deactivate(bot, origin.sender, &user, erase, force, dry_run).await,
        Command::ImportUsers {
            on_conflict,
            no_generate,
            dry_run,
        } => {
            import::plan_import(
                bot,
                origin,
                origin.file,
                import::ImportOptions {
                    on_conflict,
                    no_generate,
                    dry_run,
                },
            )
            .await
        }
        Command::ExportUsers {
            include_deactivated,
        } => import::export(bot, include_deactivated)
            .await
            .map(Planned::Done),
        Command::Jobs => jobs::list(bot).map(Planned::Done),
        Command::Job { id } => jobs::show(bot, id).map(Planned::Done),
        Command::CancelJob { id } => jobs::cancel(bot, id).map(Planned::Done),
        Command::PurgeMedia {
            age,
            local_only,
            remote_only,
            larger_than,
            include_profiles,
            force,
            dry_run,
        } => {
            let scope = media::PurgeScope {
                local: !remote_only,
                remote: !local_only,
                size_gt: larger_than.map(|s| s.0),
                keep_profiles: !include_profiles,
            };
            media::plan_purge(bot, age.0, scope, force, dry_run).await
        }
        Command::UserMedia { user, delete } => media::plan_user_media(bot, &user, delete).await,
        Command::Quarantine { target } => media::quarantine(bot, &target).await.map(Planned::Done),
        Command::Unquarantine { media: m } => media::unquarantine(bot, &m).await.map(Planned::Done),
        Command::ProtectMedia { media: m } => media::protect(bot, &m).await.map(Planned::Done),
        Command::Room { room: r } => room::info(bot, &r).await.map(Planned::Done),
        Command::Rooms { search, sort, page } => {
            room::list(bot, search, sort, page, &bot.config.prefix)
                .await
                .map(Planned::Done)
        }
        Command::DeleteRoom {
            room: r,
            block,
            no_purge,
            message,
        } => room::plan_delete(bot, &r, block, no_purge, message).await,
        Command::BlockRoom { room: r } => room::set_blocked(bot, &r, true).await.map(Planned::Done),
        Command::UnblockRoom { room: r } => {
            room::set_blocked(bot, &r, false).await.map(Planned::Done)
        }
        Command::MakeRoomAdmin { room: r, user } => {
            room::make_admin(bot, &r, &user).await.map(Planned::Done)
        }
        Command::PurgeHistory {
            room: r,
            age,
            include_local,
        } => room::plan_purge_history(bot, &r, age.0, include_local).await,
        Command::Schedule { words } => schedule::plan_schedule(bot, origin, &words).await,
        Command::Schedules => schedule::list(bot).map(Planned::Done),
        Command::Unschedule { id } => schedule::remove(bot, id).map(Planned::Done),
        // Handled by the pipeline before planning.
        Command::Confirm { .. } | Command::Cancel { .. } => {
            Err(CommandError::Refused("nothing to plan".into()))
        }
    };
    result.unwrap_or_else(|e| Planned::Done(e.into_reply()))
}

/// Runs a confirmed action.
pub async fn execute(bot: &Arc<Bot>, origin: &Origin<'_>, action: Action) -> Reply {
    let result = match action {
        Action::Deactivate {
            user_id,
            erase,
            force,
        } => user::execute_deactivate(bot, origin.sender, &user_id, erase, force).await,
        Action::RunJob { job_id } => import::start_job(bot, job_id),
        Action::PurgeMedia { before_ms, scope } => {
            media::execute_purge(bot, before_ms, scope).await
        }
        Action::DeleteUserMedia { user_id } => {
            media::execute_delete_user_media(bot, user_id.as_str()).await
        }
        Action::DeleteRoom {
            room_id,
            block,
            purge,
            message,
        } => room::execute_delete(bot, origin, &room_id, block, purge, message).await,
        Action::PurgeHistory {
            room_id,
            before_ms,
            include_local,
        } => room::execute_purge_history(bot, origin, &room_id, before_ms, include_local).await,
        Action::ActivateSchedule { schedule_id } => schedule::activate(bot, schedule_id),
    };
    result.unwrap_or_else(CommandError::into_reply)
}

/// Every command an admin can type. Doc comments are the help text; `after_help` is the example.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(multicall = true, disable_help_subcommand = true)]
pub enum Command {
    /// List the commands you may run, or show how to use one
    #[command(after_help = "help deactivate")]
    Help {
        /// A command name
        command: Option<String>,
    },
    /// Bot and Synapse versions
    #[command(after_help = "ping")]
    Ping,
    /// Show an account: name, flags, creation, last seen, devices, rooms
    #[command(after_help = "user @alice:example.org")]
    User {
        /// @name:server, a mention, or just the name
        user: UserArg,
    },
    /// Deactivate an account; shows a preview and asks for confirmation
    #[command(after_help = "deactivate @spammer:example.org --erase")]
    Deactivate {
        /// @name:server, a mention, or just the name
        user: UserArg,
        /// Also erase: messages hidden from new members, profile removed (irreversible)
        #[arg(long)]
        erase: bool,
        /// Allow deactivating a server admin
        #[arg(long)]
        force: bool,
        /// Show the preview only
        #[arg(long)]
        dry_run: bool,
    },
    /// Create users from a CSV file (synapse-admin format); use as the file's caption or reply to the file
    #[command(after_help = "import-users --on-conflict skip")]
    ImportUsers {
        /// What to do with users that exist: skip, update (only the fields the file gives) or stop (import nothing)
        #[arg(long, value_enum, default_value_t = crate::jobs::import::OnConflict::Skip)]
        on_conflict: crate::jobs::import::OnConflict,
        /// Rows without a password get none (otherwise a random one, sent back encrypted)
        #[arg(long)]
        no_generate: bool,
        /// Show the preview only
        #[arg(long)]
        dry_run: bool,
    },
    /// Export all users as a CSV file that imports back unchanged (no passwords)
    #[command(after_help = "export-users --include-deactivated")]
    ExportUsers {
        /// Include deactivated accounts
        #[arg(long)]
        include_deactivated: bool,
    },
    /// List recent jobs (imports) and their state
    #[command(after_help = "jobs")]
    Jobs,
    /// Show one job
    #[command(after_help = "job 3")]
    Job {
        /// The job number from !jobs
        id: i64,
    },
    /// Stop a running job cleanly: rows done stay done
    #[command(after_help = "cancel-job 3")]
    CancelJob {
        /// The job number from !jobs
        id: i64,
    },
    /// Delete media not accessed for <age>: remote cache and local uploads; shows a preview
    #[command(
        after_help = "purge-media 90d --remote-only",
        long_about = "Ages: s, m (minutes), h, d, w, y, combined like 1d12h; under a day needs --force. Sizes: K, M, G (binary: 1K = 1024 bytes)."
    )]
    PurgeMedia {
        /// Not accessed for this long, e.g. 30d, 12h, 2w, 1d12h
        age: Age,
        /// Only this server's uploads
        #[arg(long, conflicts_with = "remote_only")]
        local_only: bool,
        /// Only the cache of other servers' media
        #[arg(long)]
        remote_only: bool,
        /// Only files larger than this (K, M, G; binary units)
        #[arg(long, value_name = "SIZE")]
        larger_than: Option<Size>,
        /// Delete profile pictures and room avatars too
        #[arg(long)]
        include_profiles: bool,
        /// Allow an age under one day
        #[arg(long)]
        force: bool,
        /// Show the preview only
        #[arg(long)]
        dry_run: bool,
    },
    /// A user's uploads: count, size, newest, oldest; --delete removes them all
    #[command(after_help = "user-media @spammer:example.org --delete")]
    UserMedia {
        /// @name:server, a mention, or just the name
        user: UserArg,
        /// Delete every upload of the user (asks for confirmation)
        #[arg(long)]
        delete: bool,
    },
    /// Quarantine one file, all uploads of a user, or all media in a room
    #[command(after_help = "quarantine mxc://example.org/AbCdEf")]
    Quarantine {
        /// mxc://server/id, @user:server or !room:server
        target: media::QuarantineTarget,
    },
    /// Release a file from quarantine
    #[command(after_help = "unquarantine mxc://example.org/AbCdEf")]
    Unquarantine {
        /// mxc://server/id
        media: media::Mxc,
    },
    /// Protect a local file from quarantine and purges
    #[command(after_help = "protect-media mxc://example.org/AbCdEf")]
    ProtectMedia {
        /// mxc://server/id
        media: media::Mxc,
    },
    /// Show a room: name, topic, creator, members, encryption, federation, blocked
    #[command(after_help = "room #lobby:example.org")]
    Room {
        /// !id:server or #alias:server
        room: RoomArg,
    },
    /// List rooms, a page at a time
    #[command(after_help = "rooms --search lobby --sort members")]
    Rooms {
        /// Only rooms whose name, alias or ID contains this
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// members, state or name
        #[arg(long, value_enum, default_value_t = room::RoomSort::Members)]
        sort: room::RoomSort,
        /// Page number
        #[arg(long, value_name = "N", default_value_t = 1)]
        page: u64,
    },
    /// Delete a room: members removed, history purged; shows a preview, then follows it to the end
    #[command(after_help = "delete-room #spam:example.org --block")]
    DeleteRoom {
        /// !id:server or #alias:server
        room: RoomArg,
        /// Also block the room so nobody on this server can join it again
        #[arg(long)]
        block: bool,
        /// Keep its history in the database
        #[arg(long)]
        no_purge: bool,
        /// A message shown to the removed members
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
    },
    /// Block a room: nobody on this server can join it
    #[command(after_help = "block-room #spam:example.org")]
    BlockRoom {
        /// !id:server or #alias:server
        room: RoomArg,
    },
    /// Unblock a room
    #[command(after_help = "unblock-room #spam:example.org")]
    UnblockRoom {
        /// !id:server or #alias:server
        room: RoomArg,
    },
    /// Give a local user the highest power level in a room
    #[command(after_help = "make-room-admin #lobby:example.org @alice:example.org")]
    MakeRoomAdmin {
        /// !id:server or #alias:server
        room: RoomArg,
        /// @name:server or just the name
        user: UserArg,
    },
    /// Delete a room's events older than <age> from the database; shows a preview
    #[command(after_help = "purge-history #lobby:example.org 365d")]
    PurgeHistory {
        /// !id:server or #alias:server
        room: RoomArg,
        /// Older than this, e.g. 365d
        age: Age,
        /// Also local users' events (otherwise only remote users')
        #[arg(long)]
        include_local: bool,
    },
    /// Run a command at an interval, optionally at a time of day (UTC); destructive ones are confirmed once
    #[command(after_help = "schedule every 1d at 03:00 !purge-media 90d --remote-only")]
    Schedule {
        /// every <interval> [at HH:MM] <command>
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1.., value_name = "every <interval> [at HH:MM] <command>")]
        words: Vec<String>,
    },
    /// List the schedules
    #[command(after_help = "schedules")]
    Schedules,
    /// Remove a schedule
    #[command(after_help = "unschedule 2")]
    Unschedule {
        /// The schedule number from !schedules
        id: i64,
    },
    /// Run a previewed command
    #[command(after_help = "confirm K7QX2M")]
    Confirm {
        /// The code from the preview
        code: String,
    },
    /// Drop a previewed command
    #[command(after_help = "cancel K7QX2M")]
    Cancel {
        /// The code from the preview
        code: String,
    },
}

impl Command {
    /// Permissions the sender needs. `confirm` and `cancel` need none beyond holding a role: they only
    /// act on the sender's own previews, which were authorized when made.
    pub fn required_permissions(&self) -> Vec<Permission> {
        use Permission as P;
        match self {
            Command::Help { .. } => vec![P::Help],
            Command::Ping => vec![P::Ping],
            Command::User { .. } => vec![P::UserInfo],
            Command::Deactivate { erase, .. } => {
                if *erase {
                    vec![P::UserDeactivate, P::UserErase]
                } else {
                    vec![P::UserDeactivate]
                }
            }
            Command::ImportUsers { .. } => vec![P::UserImport],
            Command::ExportUsers { .. } => vec![P::UserExport],
            Command::Jobs | Command::Job { .. } => vec![P::JobView],
            Command::CancelJob { .. } => vec![P::JobCancel],
            Command::PurgeMedia { .. } => vec![P::MediaPurge],
            Command::UserMedia { delete: false, .. } => vec![P::MediaList],
            Command::UserMedia { delete: true, .. } => vec![P::MediaList, P::MediaDelete],
            Command::Quarantine { .. }
            | Command::Unquarantine { .. }
            | Command::ProtectMedia { .. } => vec![P::MediaQuarantine],
            Command::Room { .. } | Command::Rooms { .. } => vec![P::RoomInfo],
            Command::DeleteRoom { .. } => vec![P::RoomDelete],
            Command::BlockRoom { .. } | Command::UnblockRoom { .. } => vec![P::RoomBlock],
            Command::MakeRoomAdmin { .. } => vec![P::RoomMakeAdmin],
            Command::PurgeHistory { .. } => vec![P::RoomPurgeHistory],
            Command::Schedule { .. } | Command::Schedules | Command::Unschedule { .. } => {
                vec![P::Schedule]
            }
            Command::Confirm { .. } | Command::Cancel { .. } => vec![],
        }
    }
}

impl Command {
    /// Whether running the command deletes or disables something (it then needs a confirmation).
    pub fn is_destructive(&self) -> bool {
        match self {
            Command::Deactivate { dry_run, .. } | Command::PurgeMedia { dry_run, .. } => !dry_run,
            Command::UserMedia { delete, .. } => *delete,
            Command::DeleteRoom { .. } | Command::PurgeHistory { .. } => true,
            _ => false,
        }
    }

    /// Whether the command calls the Admin API (the admin sees ⏳ while it runs).
    pub fn does_io(&self) -> bool {
        !matches!(
            self,
            Command::Help { .. } | Command::Confirm { .. } | Command::Cancel { .. }
        )
    }
}

/// A command that could not be parsed, rendered as one line with a pointer to help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    /// The command the error is about, when known, for the `!help <command>` hint.
    pub command: Option<String>,
}

/// The grammar as a clap command, with the tweaks derive cannot express. Built once.
pub fn grammar() -> &'static clap::Command {
    static GRAMMAR: OnceLock<clap::Command> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        Command::command()
            .color(clap::ColorChoice::Never)
            .mut_subcommands(|c| {
                c.disable_help_flag(true)
                    .disable_version_flag(true)
                    .color(clap::ColorChoice::Never)
            })
    })
}

/// Parses the words of a command (from [`normalize`]). `prefix` is only used in messages.
pub fn parse(argv: &[String], prefix: &str) -> Result<Command, ParseError> {
    let Some(name) = argv.first() else {
        return Err(ParseError {
            message: format!("type {prefix}help to see the commands"),
            command: None,
        });
    };
    // `!deactivate --help` is a request for help, not an error.
    if argv.iter().skip(1).any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help {
            command: Some(name.clone()),
        });
    }
    let name_known = grammar().find_subcommand(name).is_some();
    let matches = grammar()
        .clone()
        .try_get_matches_from(argv)
        .map_err(|e| render_clap_error(&e, name, name_known, prefix))?;
    Command::from_arg_matches(&matches).map_err(|e| render_clap_error(&e, name, name_known, prefix))
}

fn context_str(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

fn render_clap_error(e: &clap::Error, name: &str, name_known: bool, prefix: &str) -> ParseError {
    let suggestion = context_str(e, ContextKind::SuggestedSubcommand)
        .or_else(|| context_str(e, ContextKind::SuggestedArg));
    let did_you_mean = suggestion
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default();
    if !name_known {
        return ParseError {
            message: format!(
                "unknown command {prefix}{}{did_you_mean}; type {prefix}help for the list",
                clip(name)
            ),
            command: None,
        };
    }
    let invalid_arg = context_str(e, ContextKind::InvalidArg).unwrap_or_default();
    let invalid_value = context_str(e, ContextKind::InvalidValue).unwrap_or_default();
    let what = match e.kind() {
        ErrorKind::UnknownArgument if invalid_arg.starts_with('-') => {
            format!("unknown option {}{did_you_mean}", clip(&invalid_arg))
        }
        ErrorKind::UnknownArgument => format!("unexpected extra argument {}", clip(&invalid_arg)),
        ErrorKind::MissingRequiredArgument => {
            let missing =
                context_str(e, ContextKind::InvalidArg).unwrap_or_else(|| "an argument".into());
            format!("missing {}", missing.to_lowercase())
        }
        ErrorKind::ValueValidation => {
            // The message of our FromStr impls is the most useful part.
            // Our own FromStr messages quote the value and say what to write; std's do not.
            let source = std::error::Error::source(e)
                .map(|s| s.to_string())
                .filter(|s| s.contains('"'));
            source.unwrap_or_else(|| {
                format!("invalid value {} for {}", clip(&invalid_value), invalid_arg)
            })
        }
        ErrorKind::InvalidValue => {
            format!("invalid value {} for {}", clip(&invalid_value), invalid_arg)
        }
        ErrorKind::ArgumentConflict => {
            let other = context_str(e, ContextKind::PriorArg).unwrap_or_default();
            format!("{invalid_arg} cannot be used with {other}")
        }
        ErrorKind::NoEquals
        | ErrorKind::TooManyValues
        | ErrorKind::WrongNumberOfValues
        | ErrorKind::TooFewValues => {
            format!("unexpected value for {invalid_arg}")
        }
        _ => first_line_of(e),
    };
    ParseError {
        message: format!("{prefix}{name}: {what}. See {prefix}help {name}"),
        command: Some(name.to_owned()),
    }
}

fn first_line_of(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let line = rendered.lines().next().unwrap_or("invalid command");
    line.trim_start_matches("error: ").to_owned()
}

/// Echoed input is shortened so a hostile argument cannot flood the room.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn user(s: &str) -> UserArg {
        s.parse().expect("user")
    }

    #[test]
    fn grammar_is_valid() {
        grammar().clone().debug_assert();
    }

    #[test]
    fn parses_table() {
        let cases: &[(&str, Command)] = &[
            ("help", Command::Help { command: None }),
            (
                "help deactivate",
                Command::Help {
                    command: Some("deactivate".into()),
                },
            ),
            (
                "deactivate --help",
                Command::Help {
                    command: Some("deactivate".into()),
                },
            ),
            ("ping", Command::Ping),
            (
                "user alice",
                Command::User {
                    user: user("alice"),
                },
            ),
            (
                "deactivate @spam:x --erase --dry-run",
                Command::Deactivate {
                    user: user("@spam:x"),
                    erase: true,
                    force: false,
                    dry_run: true,
                },
            ),
            (
                "deactivate --force spam",
                Command::Deactivate {
                    user: user("spam"),
                    erase: false,
                    force: true,
                    dry_run: false,
                },
            ),
            (
                "confirm ABC123",
                Command::Confirm {
                    code: "ABC123".into(),
                },
            ),
            (
                "cancel abc123",
                Command::Cancel {
                    code: "abc123".into(),
                },
            ),
            (
                "import-users --on-conflict update --no-generate",
                Command::ImportUsers {
                    on_conflict: crate::jobs::import::OnConflict::Update,
                    no_generate: true,
                    dry_run: false,
                },
            ),
            (
                "import-users",
                Command::ImportUsers {
                    on_conflict: crate::jobs::import::OnConflict::Skip,
                    no_generate: false,
                    dry_run: false,
                },
            ),
            (
                "export-users",
                Command::ExportUsers {
                    include_deactivated: false,
                },
            ),
            ("job 3", Command::Job { id: 3 }),
            ("cancel-job 3", Command::CancelJob { id: 3 }),
        ];
        for (line, expected) in cases {
            assert_eq!(&parse(&words(line), "!").expect(line), expected, "{line}");
        }
    }

    #[test]
    fn errors_are_one_line_with_a_hint() {
        let cases: &[(&str, &str)] = &[
            (
                "deactivat @a:b",
                "unknown command !deactivat (did you mean deactivate?); type !help for the list",
            ),
            (
                "frobnicate",
                "unknown command !frobnicate; type !help for the list",
            ),
            (
                "deactivate @a:b --erse",
                "!deactivate: unknown option --erse (did you mean --erase?). See !help deactivate",
            ),
            (
                "deactivate @a:b extra",
                "!deactivate: unexpected extra argument extra. See !help deactivate",
            ),
            (
                "deactivate",
                "!deactivate: missing <user>. See !help deactivate",
            ),
            (
                "user Alice",
                "!user: \"Alice\" is not a user; write @name:server or just the name. See !help user",
            ),
            (
                "user @alice",
                "!user: \"@alice\" is not a user ID; write @name:server. See !help user",
            ),
            (
                "ping now",
                "!ping: unexpected extra argument now. See !help ping",
            ),
            (
                "deactivate @a:b --erase=yes",
                "!deactivate: unexpected value for --erase",
            ),
            ("help --version", "!help: unknown option --version"),
            (
                "import-users --on-conflict merge",
                "!import-users: invalid value merge for --on-conflict",
            ),
            ("job three", "!job: invalid value three for <ID>"),
        ];
        for (line, expected) in cases {
            let e = parse(&words(line), "!").expect_err(line);
            assert!(
                e.message.starts_with(expected),
                "{line}: got {:?}",
                e.message
            );
            assert!(!e.message.contains('\n'), "{line}");
        }
        let long = format!("user {}", "A".repeat(5000));
        let e = parse(&words(&long), "!").expect_err("long");
        assert!(e.message.len() < 300, "{}", e.message.len());
        assert!(parse(&[], "!").is_err());
    }

    #[test]
    fn erase_needs_its_own_permission() {
        let c = parse(&words("deactivate a --erase"), "!").expect("ok");
        assert_eq!(
            c.required_permissions(),
            vec![Permission::UserDeactivate, Permission::UserErase]
        );
        let c = parse(&words("deactivate a"), "!").expect("ok");
        assert_eq!(c.required_permissions(), vec![Permission::UserDeactivate]);
    }

    #[test]
    fn every_command_has_an_example_that_parses() {
        for sub in grammar().get_subcommands() {
            let example = help::example_of(sub)
                .unwrap_or_else(|| panic!("{} has no example", sub.get_name()));
            let parsed = parse(&words(&example), "!")
                .unwrap_or_else(|e| panic!("example of {}: {e}", sub.get_name()));
            assert!(
                sub.get_about().is_some(),
                "{} has no help line",
                sub.get_name()
            );
            let _ = parsed.required_permissions();
        }
    }
}
