//! `!help`: the commands the sender may run, or how to use one; rendered from the grammar and the
//! declared permissions, so nothing is written twice.

use std::sync::Arc;

use clap::Arg;

use strum::IntoEnumIterator;

use super::{Area, Declared, Never, Planned, grammar, info};
use crate::admin_api::accounts::Backend;
use crate::auth::{Grants, Permission};
use crate::context::{Ctx, Origin};
use crate::report::{Line, Reply};

/// List the commands you may run, or show how to use one
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "help deactivate")]
pub(crate) struct Help {
    /// A command name
    pub(crate) command: Option<String>,
}

impl Declared for Help {
    type Action = Never;
    const PERMISSIONS: &'static [Permission] = &[Permission::Help];
    const AREA: Area = Area::Basics;
    const INSTANT: bool = true;

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<Never>, super::CommandError> {
        let prefix = &ctx.config.prefix;
        let grants = ctx.grants(&origin.room_id, &origin.sender).await;
        let here = Here {
            grants: &grants,
            mas: ctx.accounts.backend() == Backend::Mas,
        };
        Ok(Planned::Done(match self.command {
            None => list(&here, prefix),
            Some(name) => match (not_allowed(&grants, &name, prefix), area_named(&name)) {
                (Some(refusal), _) => refusal,
                (None, Some(area)) => area_list(&here, area, prefix),
                (None, None) => usage(&name, prefix),
            },
        }))
    }
}

/// The example in a subcommand's `after_help`, without the prefix.
pub(crate) fn example_of(sub: &clap::Command) -> Option<String> {
    sub.get_after_help().map(|s| s.to_string())
}

fn permissions_of(sub: &clap::Command) -> &'static [Permission] {
    info(sub.get_name()).map_or(&[], |i| i.permissions)
}

/// The area `word` names (`accounts`), unless a command has that name.
fn area_named(word: &str) -> Option<Area> {
    if grammar().find_subcommand(word).is_some() {
        return None;
    }
    word.parse().ok()
}

fn area_name(area: Area) -> &'static str {
    area.into()
}

/// What `!help` lists depends on: the sender's grants, and whether MAS owns the accounts.
struct Here<'a> {
    grants: &'a Grants,
    mas: bool,
}

/// The commands the sender may run here, in the order of the list.
fn allowed<'a>(here: &'a Here<'_>, grammar: &'a clap::Command) -> impl Iterator<Item = &'a clap::Command> {
    grammar.get_subcommands().filter(|sub| {
        let info = info(sub.get_name());
        permissions_of(sub).iter().all(|p| here.grants.allows(*p))
            && (here.mas || !info.is_some_and(|i| i.mas_only))
    })
}

/// `!help`: what the sender may run, one line per area, so it fits a phone screen.
fn list(here: &Here<'_>, prefix: &str) -> Reply {
    let grammar = grammar();
    let mut items = Vec::new();
    let mut first_area = None;
    for area in Area::iter() {
        let mut line = Line::new().bold(format!("{}:", area_name(area)));
        let mut any = false;
        for sub in allowed(here, grammar).filter(|sub| info(sub.get_name()).map(|i| i.area) == Some(area)) {
            line = line.text(if any { " · " } else { " " }).code(format!("{prefix}{}", sub.get_name()));
            any = true;
        }
        if any {
            first_area.get_or_insert(area);
            items.push(line);
        }
    }
    let example = area_name(first_area.unwrap_or(Area::Basics)).to_ascii_lowercase();
    Reply::ok(Line::new().bold("Commands you may run"))
        .list(items)
        .line(
            Line::new()
                .text("Details: ")
                .code(format!("{prefix}help <command>"))
                .text(" or an area, e.g. ")
                .code(format!("{prefix}help {example}")),
        )
}

/// `!help <area>`: what the sender may run there, one line each with what it does.
fn area_list(here: &Here<'_>, area: Area, prefix: &str) -> Reply {
    let grammar = grammar();
    let items: Vec<Line> = allowed(here, grammar)
        .filter(|sub| info(sub.get_name()).map(|i| i.area) == Some(area))
        .map(|sub| {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            Line::new()
                .code(format!("{prefix}{}", sub.get_name()))
                .text(format!(" — {about}"))
        })
        .collect();
    if items.is_empty() {
        return Reply::ok(format!(
            "You may run no {} commands; type {prefix}help for yours.",
            area_name(area).to_ascii_lowercase()
        ));
    }
    Reply::ok(Line::new().bold(area_name(area)))
        .list(items)
        .line(
            Line::new()
                .text("Details: ")
                .code(format!("{prefix}help <command>")),
        )
}

/// `!help <command>` for a command the sender may not run: says so, instead of its usage.
fn not_allowed(grants: &Grants, name: &str, prefix: &str) -> Option<Reply> {
    let name = name.trim_start_matches(prefix);
    let sub = grammar().find_subcommand(name)?;
    let missing = permissions_of(sub)
        .iter()
        .find(|p| !grants.allows(**p))?;
    Some(Reply::error(
        Line::new()
            .text("You may not run ")
            .code(format!("{prefix}{}", sub.get_name()))
            .text(format!(" (it needs permission {missing}); type {prefix}help for yours.")),
    ))
}

/// `!help <command>`: usage, options and an example.
fn usage(name: &str, prefix: &str) -> Reply {
    let name = name.trim_start_matches(prefix);
    let Some(sub) = grammar().find_subcommand(name) else {
        return Reply::error(
            Line::new()
                .text("No command ")
                .code(name)
                .text(format!("; type {prefix}help for the list")),
        );
    };
    let mut synopsis = format!("{prefix}{}", sub.get_name());
    let mut options = Vec::new();
    for arg in sub.get_arguments() {
        let shown = arg_synopsis(arg);
        synopsis.push(' ');
        synopsis.push_str(&shown);
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        options.push(
            Line::new()
                .code(shown.trim_matches(['[', ']']))
                .text(format!(" — {help}")),
        );
    }
    let mut reply = Reply::ok(Line::new().code(synopsis))
        .line(sub.get_about().map(|a| a.to_string()).unwrap_or_default())
        .list(options);
    if let Some(example) = example_of(sub) {
        reply = reply.line(
            Line::new()
                .text("Example: ")
                .code(format!("{prefix}{example}")),
        );
    }
    if let Some(p) = permissions_of(sub).first() {
        reply = reply.line(
            Line::new()
                .text("Permission: ")
                .code(p.name())
                .text(format!(" ({})", p.about())),
        );
    }
    if let Some(extra) = sub.get_long_about() {
        reply = reply.line(extra.to_string());
    }
    reply
}

fn arg_synopsis(arg: &Arg) -> String {
    let value = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values())
        || arg.get_action().takes_values();
    let many = matches!(arg.get_action(), clap::ArgAction::Append);
    match arg.get_long() {
        Some(long) if takes_value => format!("[--{long} {value}]"),
        Some(long) => format!("[--{long}]"),
        None if arg.is_required_set() => format!("<{}>", arg.get_id()),
        None if many => format!("[{}…]", arg.get_id()),
        None => format!("[{}]", arg.get_id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, Roles};
    use matrix_sdk::ruma::UserId;
    use std::collections::BTreeSet;

    #[test]
    fn list_shows_only_what_the_sender_may_run() {
        let bob = UserId::parse("@bob:x").expect("id");
        let roles = Roles::new(vec![Role {
            name: "helpdesk".into(),
            users: [bob.clone()].into(),
            min_power_level: None,
            allow: [Permission::UserInfo, Permission::Help].into(),
            all: false,
        }]);
        let helpdesk = roles.of(&bob, None);
        let synapse = Here {
            grants: &helpdesk,
            mas: false,
        };
        let text = list(&synapse, "!").plain();
        assert!(text.contains("Accounts: !user · !devices · !memberships · !users\n"), "{text}");
        assert!(text.contains("Basics: !help · !confirm · !approve · !cancel\n"), "{text}");
        assert!(!text.contains("Rooms:"), "no area without a command one may run: {text}");
        assert!(!text.contains("!deactivate"), "{text}");
        assert!(!text.contains("!ping"), "{text}");
        assert!(text.contains("!help accounts"), "{text}");
        let area = area_list(&synapse, Area::Accounts, "!").plain();
        assert!(area.contains("!user — "), "{area}");
        assert!(!area.contains("!deactivate"), "{area}");
        // Where MAS owns accounts, its commands are there too.
        let mas = Here {
            grants: &helpdesk,
            mas: true,
        };
        let text = list(&mas, "!").plain();
        assert!(
            text.contains("Accounts: !user · !devices · !sessions · !memberships · !users\n"),
            "{text}"
        );
        assert_eq!(area_named("Accounts"), Some(Area::Accounts));
        assert_eq!(area_named("room"), None, "a command's name is the command");
        let admin = Roles::new(vec![Role {
            name: "a".into(),
            users: [bob.clone()].into(),
            min_power_level: None,
            allow: BTreeSet::new(),
            all: true,
        }]);
        let all = admin.of(&bob, None);
        let all = Here {
            grants: &all,
            mas: true,
        };
        let text = list(&all, "!").plain();
        assert!(text.contains(" · !deactivate · "), "{text}");
        // Every command one may run is listed, and the whole list fits a phone screen.
        assert!(text.lines().count() <= 8, "{text}");
        for c in super::super::COMMANDS {
            assert!(text.contains(&format!("!{}", c.name)), "{} missing: {text}", c.name);
        }
        assert!(area_list(&all, Area::Accounts, "!").plain().contains("!deactivate — "));
    }

    #[test]
    fn help_for_a_command_one_may_not_run_says_so() {
        let bob = UserId::parse("@bob:x").expect("id");
        let roles = Roles::new(vec![Role {
            name: "helpdesk".into(),
            users: [bob.clone()].into(),
            min_power_level: None,
            allow: [Permission::UserInfo, Permission::Help].into(),
            all: false,
        }]);
        let grants = roles.of(&bob, None);
        let text = not_allowed(&grants, "deactivate", "!")
            .expect("refused")
            .plain();
        assert_eq!(
            text,
            "You may not run !deactivate (it needs permission user.deactivate); type !help for yours."
        );
        assert!(not_allowed(&grants, "user", "!").is_none());
        assert!(not_allowed(&grants, "nope", "!").is_none(), "unknown: usage says so");
    }

    #[test]
    fn usage_has_synopsis_options_example_and_permission() {
        let text = usage("deactivate", "!").plain();
        assert!(
            text.starts_with("!deactivate [users…] [--regex RE] [--registered-since AGE] [--inactive AGE] [--erase] [--force] [--dry-run]\n"),
            "{text}"
        );
        assert!(
            text.contains("Example: !deactivate @spammer:example.org --erase"),
            "{text}"
        );
        assert!(text.contains("Permission: user.deactivate"), "{text}");
        assert_eq!(usage("!deactivate", "!").plain(), text);
        assert!(usage("nope", "!").plain().starts_with("No command nope"));
    }
}
