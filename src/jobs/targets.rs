//! Whom a command that acts on accounts may act on: never the bot, the sender, a protected user,
//! another server's user or a deactivated account; a server admin only with `--force`. One pure
//! rule, checked before any lookup (what needs none) and again right before the write.

use matrix_sdk::ruma::UserId;

use crate::admin_api::AdminError;
use crate::admin_api::users::{UserDetails, UserListEntry};
use crate::context::Ctx;

/// How the command names what it does: `deactivate` / `deactivated`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verb {
    pub(crate) base: &'static str,
    pub(crate) done: &'static str,
}

/// What the rules need to know of an account as Synapse has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) admin: bool,
    pub(crate) deactivated: bool,
}

impl From<&UserDetails> for Account {
    fn from(d: &UserDetails) -> Self {
        Account {
            admin: d.admin,
            deactivated: d.deactivated,
        }
    }
}

impl From<&UserListEntry> for Account {
    fn from(d: &UserListEntry) -> Self {
        Account {
            admin: d.admin,
            deactivated: d.deactivated,
        }
    }
}

/// What the refusal rules need to know; `details` is `None` until the user was looked up.
#[derive(Clone, Copy)]
pub(crate) struct TargetFacts<'a> {
    pub(crate) verb: &'a Verb,
    pub(crate) target: &'a UserId,
    pub(crate) sender: &'a UserId,
    pub(crate) bot: &'a UserId,
    pub(crate) server_name: &'a str,
    pub(crate) protected: bool,
    pub(crate) force: bool,
    pub(crate) details: Option<Account>,
}

impl<'a> TargetFacts<'a> {
    /// The facts for `sender` acting on `target`, with this bot's configuration (its own ID,
    /// its server, the protected users).
    pub(crate) fn new(
        ctx: &'a Ctx,
        verb: &'a Verb,
        target: &'a UserId,
        sender: &'a UserId,
        force: bool,
        details: Option<Account>,
    ) -> Self {
        TargetFacts {
            verb,
            target,
            sender,
            bot: &ctx.user_id,
            server_name: ctx.config.server_name.as_str(),
            protected: ctx.config.protected_users.contains(target),
            force,
            details,
        }
    }
}

/// The target as its owner has it now (the rules' `details`): Synapse's account, with MAS's
/// admin flag, lock and deactivation where MAS owns accounts.
pub(crate) async fn lookup(ctx: &Ctx, user_id: &UserId) -> Result<UserDetails, AdminError> {
    ctx.accounts.details(user_id).await
}

/// Why the command will not act on the target, if it will not. Checks that need no lookup come first, so
/// they hold before any I/O.
pub(crate) fn target_refusal(f: &TargetFacts<'_>) -> Option<String> {
    let Verb { base, done } = f.verb;
    let t = f.target;
    if t == f.bot {
        return Some(format!("I will not {base} myself"));
    }
    if t == f.sender {
        return Some(format!("you cannot {base} your own account from here"));
    }
    if f.protected {
        return Some(format!("{t} is a protected user (safety.protected_users)"));
    }
    if t.server_name().as_str() != f.server_name {
        return Some(format!(
            "{t} is on another server ({}); only users of {} can be {done}",
            t.server_name(),
            f.server_name
        ));
    }
    let d = f.details?;
    if d.deactivated {
        return Some(format!("{t} is already deactivated"));
    }
    if d.admin && !f.force {
        return Some(format!(
            "{t} is a server admin; add --force if you really mean it"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk::ruma::UserId;

    fn details(admin: bool, deactivated: bool) -> Account {
        Account { admin, deactivated }
    }

    #[test]
    fn refusal_table() {
        let id = |s: &str| UserId::parse(s).expect("id");
        let (alice, bot, spam, remote) =
            (id("@alice:x"), id("@bot:x"), id("@spam:x"), id("@spam:y"));
        let normal = details(false, false);
        let admin = details(true, false);
        let gone = details(false, true);
        let verb = Verb {
            base: "deactivate",
            done: "deactivated",
        };
        let base = TargetFacts {
            verb: &verb,
            target: &spam,
            sender: &alice,
            bot: &bot,
            server_name: "x",
            protected: false,
            force: false,
            details: None,
        };
        let cases: Vec<(TargetFacts<'_>, Option<&str>)> = vec![
            (TargetFacts { ..base }, None),
            (
                TargetFacts {
                    details: Some(normal),
                    ..base
                },
                None,
            ),
            (
                TargetFacts {
                    target: &bot,
                    ..base
                },
                Some("I will not deactivate myself"),
            ),
            (
                TargetFacts {
                    target: &alice,
                    ..base
                },
                Some("you cannot deactivate your own account"),
            ),
            (
                TargetFacts {
                    protected: true,
                    ..base
                },
                Some("protected user"),
            ),
            (
                TargetFacts {
                    target: &remote,
                    ..base
                },
                Some("on another server"),
            ),
            (
                TargetFacts {
                    details: Some(gone),
                    ..base
                },
                Some("already deactivated"),
            ),
            (
                TargetFacts {
                    details: Some(admin),
                    ..base
                },
                Some("server admin; add --force"),
            ),
            (
                TargetFacts {
                    details: Some(admin),
                    force: true,
                    ..base
                },
                None,
            ),
            // --force does not override the other rules.
            (
                TargetFacts {
                    protected: true,
                    force: true,
                    ..base
                },
                Some("protected user"),
            ),
            (
                TargetFacts {
                    target: &bot,
                    force: true,
                    ..base
                },
                Some("myself"),
            ),
        ];
        for (f, expected) in cases {
            let got = target_refusal(&f);
            match expected {
                None => assert_eq!(got, None, "{}", f.target),
                Some(needle) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(needle)),
                    "{} → {got:?}",
                    f.target
                ),
            }
        }
    }
}
