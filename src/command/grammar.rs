//! Parse: the words of a command line → [`Command`], or a one-line [`ParseError`] with a pointer
//! to help. The grammar is clap derive in multicall mode; the bot renders its own errors.

use std::sync::{Mutex, OnceLock};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use super::Command;
use super::help::Help;

/// A command that could not be parsed, rendered as one line with a pointer to help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ParseError {
    pub(crate) message: String,
    /// The command the error is about, when known, for the `!help <command>` hint.
    pub(crate) command: Option<String>,
}

/// The grammar as a clap command, with the tweaks derive cannot express. Built once.
pub(crate) fn grammar() -> &'static clap::Command {
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

/// A copy of the grammar that parses: clap parses through `&mut`, and cloning the whole grammar
/// for each message cost more than the parse itself.
fn parser() -> &'static Mutex<clap::Command> {
    static PARSER: OnceLock<Mutex<clap::Command>> = OnceLock::new();
    PARSER.get_or_init(|| Mutex::new(grammar().clone()))
}

/// Parses the words of a command (from [`normalize`]). `prefix` is only used in messages.
pub(crate) fn parse(argv: &[String], prefix: &str) -> Result<Command, ParseError> {
    let Some(name) = argv.first() else {
        return Err(ParseError {
            message: format!("type {prefix}help to see the commands"),
            command: None,
        });
    };
    // `!deactivate --help` is a request for help, not an error.
    if argv.iter().skip(1).any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help(Help {
            command: Some(name.clone()),
        }));
    }
    let name_known = grammar().find_subcommand(name).is_some();
    let matches = parser()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .try_get_matches_from_mut(argv)
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
    crate::text::clip(s, 40)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Permission;
    use crate::command::args::UserArg;

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
    fn the_shared_parser_gives_the_same_answer_each_time() {
        let inputs = [
            "deactivate @a:x --erase",
            "deactivate",
            "purge-media 30d",
            "nosuchcommand",
            "deactivate @a:x --bogus",
        ];
        let once: Vec<_> = inputs
            .iter()
            .map(|i| format!("{:?}", parse(&words(i), "!")))
            .collect();
        for _ in 0..3 {
            for (input, first) in inputs.iter().zip(&once) {
                assert_eq!(
                    &format!("{:?}", parse(&words(input), "!")),
                    first,
                    "{input}"
                );
            }
        }
        // And the same as a fresh copy of the grammar would say.
        let fresh = grammar()
            .clone()
            .try_get_matches_from(words("deactivate @a:x --bogus"))
            .map(|_| ())
            .map_err(|e| render_clap_error(&e, "deactivate", true, "!").message);
        assert_eq!(
            fresh.err(),
            parse(&words("deactivate @a:x --bogus"), "!")
                .err()
                .map(|e| e.message)
        );
    }

    #[test]
    fn parses_table() {
        let cases: &[(&str, Command)] = &[
            ("help", Command::Help(Help { command: None })),
            (
                "help deactivate",
                Command::Help(Help {
                    command: Some("deactivate".into()),
                }),
            ),
            (
                "deactivate --help",
                Command::Help(Help {
                    command: Some("deactivate".into()),
                }),
            ),
            ("ping", Command::Ping(crate::command::ping::Ping)),
            (
                "user alice",
                Command::User(crate::command::user::User {
                    user: user("alice"),
                }),
            ),
            (
                "deactivate @spam:x --erase --dry-run",
                Command::Deactivate(crate::command::deactivate::Deactivate {
                    users: vec![user("@spam:x")],
                    filters: Default::default(),
                    erase: true,
                    force: false,
                    dry_run: true,
                }),
            ),
            (
                "deactivate --force spam",
                Command::Deactivate(crate::command::deactivate::Deactivate {
                    users: vec![user("spam")],
                    filters: Default::default(),
                    erase: false,
                    force: true,
                    dry_run: false,
                }),
            ),
            (
                "confirm ABC123",
                Command::Confirm(crate::command::confirm::Confirm {
                    code: "ABC123".into(),
                }),
            ),
            (
                "cancel abc123",
                Command::Cancel(crate::command::cancel::Cancel {
                    code: "abc123".into(),
                }),
            ),
            (
                "import-users --on-conflict update --no-generate",
                Command::ImportUsers(crate::command::import_users::ImportUsers {
                    on_conflict: crate::jobs::import::OnConflict::Update,
                    no_generate: true,
                    force: false,
                    dry_run: false,
                }),
            ),
            (
                "import-users",
                Command::ImportUsers(crate::command::import_users::ImportUsers {
                    on_conflict: crate::jobs::import::OnConflict::Skip,
                    no_generate: false,
                    force: false,
                    dry_run: false,
                }),
            ),
            (
                "export-users",
                Command::ExportUsers(crate::command::export_users::ExportUsers {
                    include_deactivated: false,
                }),
            ),
            ("job 3", Command::Job(crate::command::job::Job { id: 3 })),
            (
                "cancel-job 3",
                Command::CancelJob(crate::command::cancel_job::CancelJob { id: 3 }),
            ),
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
            ("qqqzzz", "unknown command !qqqzzz; type !help for the list"),
            (
                "deactivate @a:b --erse",
                "!deactivate: unknown option --erse (did you mean --erase?). See !help deactivate",
            ),
            (
                "user @a:b extra",
                "!user: unexpected extra argument extra. See !help user",
            ),
            ("devices", "!devices: missing <user>. See !help devices"),
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
            c.permissions(),
            vec![Permission::UserDeactivate, Permission::UserErase]
        );
        let c = parse(&words("deactivate a"), "!").expect("ok");
        assert_eq!(c.permissions(), vec![Permission::UserDeactivate]);
    }

    #[test]
    fn every_command_has_an_example_that_parses() {
        for sub in grammar().get_subcommands() {
            let example = crate::command::help::example_of(sub)
                .unwrap_or_else(|| panic!("{} has no example", sub.get_name()));
            let parsed = parse(&words(&example), "!")
                .unwrap_or_else(|e| panic!("example of {}: {e}", sub.get_name()));
            assert!(
                sub.get_about().is_some(),
                "{} has no help line",
                sub.get_name()
            );
            let _ = parsed.permissions();
            assert!(
                crate::command::info(sub.get_name()).is_some(),
                "{} is not in the list of commands",
                sub.get_name()
            );
        }
    }
}
