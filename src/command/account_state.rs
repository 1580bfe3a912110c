//! The reversible account states `!suspend`, `!lock` and `!shadow-ban` set and their `!un…`
//! commands clear: what each is, its request, and the one flow the six share
//! (the target rules, the current state, the write, what Synapse reports after). A set of users
//! previews and runs as a job (`super::user_set`).

use clap::Args;

use super::args::UserArg;
use super::targets::{TargetFacts, Verb, lookup, target_refusal};
use super::user_set::{SetAction, SetFilters, is_set, plan_set, resolve};
use super::{CommandError, Planned, Risk};
use crate::admin_api::accounts::Backend;
use crate::admin_api::users::{ShadowBanUser, SuspendUser, UserDetails};
use crate::context::{Ctx, Origin};
use crate::jobs::users::UserOp;
use crate::report::{Line, Reply};

/// A state an account can be put in and taken out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountState {
    Suspended,
    Locked,
    ShadowBanned,
}

impl AccountState {
    fn verb(self) -> Verb {
        match self {
            AccountState::Suspended => Verb {
                base: "suspend",
                done: "suspended",
            },
            AccountState::Locked => Verb {
                base: "lock",
                done: "locked",
            },
            AccountState::ShadowBanned => Verb {
                base: "shadow-ban",
                done: "shadow-banned",
            },
        }
    }

    /// What it means for the account, for the reply.
    fn meaning(self, backend: Backend) -> &'static str {
        match self {
            AccountState::Suspended => {
                "It can still log in and read, but not send, join, invite or change its profile."
            }
            AccountState::Locked if backend == Backend::Mas => {
                "Locked in MAS: none of its sessions works and it cannot log in; they work again when unlocked."
            }
            AccountState::Locked => {
                "It is logged out everywhere and cannot log in; nothing is deleted."
            }
            AccountState::ShadowBanned => {
                "Its messages and invites silently reach nobody, and it is not told."
            }
        }
    }

    fn is_set(self, d: &UserDetails) -> bool {
        match self {
            AccountState::Suspended => d.suspended,
            AccountState::Locked => d.locked,
            AccountState::ShadowBanned => d.shadow_banned,
        }
    }
}

/// The arguments of `!suspend`, `!lock`, `!shadow-ban`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct SetArgs {
    /// @name:server, a mention, or just the name; several, or one per line below, for a set
    pub(crate) users: Vec<UserArg>,
    #[command(flatten)]
    pub(crate) filters: SetFilters,
    /// Allow it on a server admin; and on more users than safety.max_bulk
    #[arg(long)]
    pub(crate) force: bool,
    /// Say what would change, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// The arguments of `!unsuspend`, `!unlock`, `!unshadow-ban`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct ClearArgs {
    /// @name:server, a mention, or just the name
    pub(crate) user: UserArg,
    /// Say what would change, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl SetArgs {
    /// A set previews and waits (so a schedule of one is confirmed once, when made).
    pub(super) fn risk(&self) -> Risk {
        if !self.dry_run && (self.users.len() > 1 || self.filters.any()) {
            Risk::Irreversible
        } else {
            risk(self.dry_run)
        }
    }
}

impl ClearArgs {
    pub(super) fn risk(&self) -> Risk {
        risk(self.dry_run)
    }

    pub(super) fn into_set(self) -> SetArgs {
        SetArgs {
            users: vec![self.user],
            filters: SetFilters::default(),
            force: false,
            dry_run: self.dry_run,
        }
    }
}

fn risk(dry_run: bool) -> Risk {
    if dry_run {
        Risk::ReadOnly
    } else {
        Risk::Reversible
    }
}

impl AccountState {
    fn op(self) -> UserOp {
        match self {
            AccountState::Suspended => UserOp::Suspend,
            AccountState::Locked => UserOp::Lock,
            AccountState::ShadowBanned => UserOp::ShadowBan,
        }
    }
}

/// `!suspend`, `!lock`, `!shadow-ban`: one user at once, a set after a preview, as a job.
pub(super) async fn plan_state(
    ctx: &Ctx,
    origin: &Origin,
    state: AccountState,
    args: SetArgs,
) -> Result<Planned<SetAction>, CommandError> {
    if is_set(&args.users, &args.filters, origin) {
        let op = state.op();
        let resolved = resolve(ctx, origin, &args.users, &args.filters, &op, args.force).await?;
        return plan_set(
            ctx,
            origin,
            op,
            resolved,
            args.force,
            args.dry_run,
            Vec::new(),
        );
    }
    set_state(ctx, origin, state, true, args)
        .await
        .map(Planned::Done)
}

/// Puts the account in `state` (`on`) or takes it out. Setting it follows the target rules (never
/// the bot, the sender, protected users, other servers' users, deactivated accounts; admins only
/// with `--force`); clearing it needs only a local, existing account. An account already in the
/// asked-for state is left alone and says so.
pub(super) async fn set_state(
    ctx: &Ctx,
    origin: &Origin,
    state: AccountState,
    on: bool,
    args: SetArgs,
) -> Result<Reply, CommandError> {
    let Some(user) = args.users.first() else {
        return Err(super::user_set::no_user(state.verb().base));
    };
    let target = user.resolve(&ctx.config.server_name);
    let verb = state.verb();
    let facts = |details: Option<&UserDetails>| {
        TargetFacts::new(
            ctx,
            &verb,
            &target,
            &origin.sender,
            args.force,
            details.map(Into::into),
        )
    };
    if on && let Some(why) = target_refusal(&facts(None)) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    user.resolve_local(&ctx.config.server_name, "changed here")
        .map_err(|e| CommandError::Refused(format!("Refused: {e}")))?;
    let details = lookup(ctx, &target).await?;
    if on && let Some(why) = target_refusal(&facts(Some(&details))) {
        return Err(CommandError::Refused(format!("Refused: {why}")));
    }
    let undo = if on {
        format!("un{}", verb.base)
    } else {
        verb.base.to_owned()
    };
    let state_word = if on {
        verb.done.to_owned()
    } else {
        format!("not {}", verb.done)
    };
    if state.is_set(&details) == on {
        return Ok(Reply::ok(
            Line::new()
                .code(target.as_str())
                .text(format!(" is already {state_word}: nothing changed.")),
        ));
    }
    if args.dry_run {
        return Ok(Reply::ok(
            Line::new()
                .code(target.as_str())
                .text(format!(" would be {state_word}.")),
        )
        .line(Line::new().bold("Dry run: nothing was changed.")));
    }
    let user_id = target.to_string();
    match state {
        AccountState::Suspended => {
            ctx.admin
                .send(&SuspendUser {
                    user_id: user_id.clone(),
                    suspend: on,
                })
                .await?;
        }
        AccountState::Locked => ctx.accounts.set_locked(&details, on).await?,
        AccountState::ShadowBanned => {
            ctx.admin
                .send(&ShadowBanUser {
                    user_id: user_id.clone(),
                    ban: on,
                })
                .await?;
        }
    }
    let after = lookup(ctx, &target).await?;
    if state.is_set(&after) != on {
        return Err(CommandError::Internal(format!(
            "Synapse accepted the change, but {target} still reports {}",
            if on {
                format!("not {}", verb.done)
            } else {
                verb.done.to_owned()
            }
        )));
    }
    let mut reply = Reply::ok(
        Line::new()
            .code(target.as_str())
            .text(format!(" is now {state_word}.")),
    );
    if on {
        reply = reply.line(state.meaning(ctx.accounts.backend()));
    }
    Ok(reply.line(
        Line::new()
            .text("Undo: ")
            .code(format!("{}{undo} {target}", ctx.config.prefix)),
    ))
}
