//! Normalize: what a chat client sent → the words of a command. Pure.
//!
//! Clients and phones change text before any parser sees it: Element puts a mentioned user's display
//! name in `body` and the MXID only in `formatted_body`; phones turn `--erase` into `—erase` and `"`
//! into `“ ”`. This module undoes that, splits the first line into words (double quotes group, so
//! `don't` stays one word) and keeps the other lines as the body.

use ruma_html::{Html, NodeRef};

use crate::text;

/// Longest command line accepted, in characters; the rest of a message (the body) may be longer.
pub(crate) const MAX_COMMAND_LINE: usize = 2000;

/// A message as the client sent it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming<'a> {
    pub body: &'a str,
    pub formatted_body: Option<&'a str>,
}

/// The words of a command, without the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandLine {
    pub argv: Vec<String>,
    /// Lines after the first one.
    pub body: String,
}

/// Why a message that starts with the prefix could not be read as a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NormalizeError {
    #[error("a double quote is not closed")]
    UnclosedQuote,
    #[error("the command line is longer than {MAX_COMMAND_LINE} characters")]
    TooLong,
    #[error("the command contains control or invisible direction characters; retype it")]
    HiddenCharacters,
}

/// Returns `None` when the message is not addressed to the bot (does not start with `prefix`).
pub(crate) fn normalize(
    msg: Incoming<'_>,
    prefix: &str,
) -> Option<Result<CommandLine, NormalizeError>> {
    let text = match msg.formatted_body {
        Some(html) => html_to_text(html),
        None => strip_reply_fallback(msg.body).to_owned(),
    };
    let text = text.trim_start();
    let rest = text.strip_prefix(prefix)?;
    // "! help" and "!!" are not commands: the prefix must be followed by a command name.
    if !rest.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let (first, body) = rest.split_once('\n').unwrap_or((rest, ""));
    Some(split_command_line(first).map(|argv| CommandLine {
        argv,
        body: body.to_owned(),
    }))
}

fn split_command_line(line: &str) -> Result<Vec<String>, NormalizeError> {
    if line.chars().count() > MAX_COMMAND_LINE {
        return Err(NormalizeError::TooLong);
    }
    if line.chars().any(is_hidden) {
        return Err(NormalizeError::HiddenCharacters);
    }
    let line: String = line.chars().map(straighten_quote).collect();
    let mut argv = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    argv.push(fix_dashes(std::mem::take(&mut word)));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(NormalizeError::UnclosedQuote);
    }
    if in_word {
        argv.push(fix_dashes(word));
    }
    Ok(argv)
}

/// [Hidden characters](text::is_hidden) can make a command look different from what it is; a tab
/// is only whitespace between words.
fn is_hidden(c: char) -> bool {
    c != '\t' && text::is_hidden(c)
}

fn straighten_quote(c: char) -> char {
    match c {
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}' => '"',
        other => other,
    }
}

/// `—erase` and `–erase` (a phone's rendering of `--erase`) → `--erase`; `-—erase` too.
fn fix_dashes(word: String) -> String {
    let trimmed = word.trim_start_matches('-');
    for dash in ['\u{2014}', '\u{2013}'] {
        if let Some(rest) = trimmed.strip_prefix(dash)
            && rest.starts_with(|c: char| c.is_alphanumeric())
        {
            return format!("--{rest}");
        }
    }
    word
}

/// Old clients put the replied-to message in `body` as `> ` lines followed by an empty line.
fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    match body.split_once("\n\n") {
        Some((quote, rest)) if quote.lines().all(|l| l.starts_with('>')) => rest,
        _ => body,
    }
}

/// `formatted_body` → plain text, with pills (`<a href="https://matrix.to/#/@u:s">Name</a>`) turned
/// into the MXID they point to and the reply fallback (`<mx-reply>`) dropped.
pub(crate) fn html_to_text(html: &str) -> String {
    let doc = Html::parse(html);
    let mut out = String::new();
    for child in doc.children() {
        walk(&child, &mut out);
    }
    out
}

fn walk(node: &NodeRef, out: &mut String) {
    if let Some(text) = node.as_text() {
        out.push_str(&text.borrow());
        return;
    }
    let Some(element) = node.as_element() else {
        return;
    };
    let name = element.name.local.as_ref().to_ascii_lowercase();
    match name.as_str() {
        "mx-reply" => return,
        "br" => {
            out.push('\n');
            return;
        }
        "a" => {
            let href: Option<String> = element
                .attrs
                .borrow()
                .iter()
                .find(|a| a.name.local.as_ref() == "href")
                .map(|a| String::from(&*a.value));
            if let Some(id) = href.and_then(|h| matrix_to_user(&h)) {
                out.push_str(&id);
                return;
            }
        }
        _ => {}
    }
    let block = matches!(
        name.as_str(),
        "p" | "div" | "li" | "pre" | "blockquote" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr"
    );
    if block && !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for child in node.children() {
        walk(&child, out);
    }
    if block && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// `https://matrix.to/#/@user:server` (percent-encoded or not, with an optional `?via=` query) → `@user:server`.
fn matrix_to_user(href: &str) -> Option<String> {
    let fragment = href.strip_prefix("https://matrix.to/#/")?;
    let id = fragment.split('?').next()?;
    // `percent_decode_str` keeps a malformed escape (`%zz`, a trailing `%4`) as it is: refuse it.
    let b = id.as_bytes();
    let well_formed = (0..b.len()).filter(|&i| b[i] == b'%').all(|i| {
        b.get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8()
        .ok()?;
    (id.starts_with('@') && matrix_sdk::ruma::UserId::parse(&*id).is_ok()).then(|| id.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expected = Option<Result<Vec<String>, NormalizeError>>;

    fn argv(body: &str, html: Option<&str>) -> Expected {
        normalize(
            Incoming {
                body,
                formatted_body: html,
            },
            "!",
        )
        .map(|r| r.map(|c| c.argv))
    }

    fn words(list: &[&str]) -> Expected {
        Some(Ok(list.iter().map(|s| (*s).to_owned()).collect()))
    }

    #[test]
    fn plain_text_table() {
        let cases: &[(&str, Expected)] = &[
            ("!help", words(&["help"])),
            ("  !ping  ", words(&["ping"])),
            (
                "!deactivate @spam:example.org --erase",
                words(&["deactivate", "@spam:example.org", "--erase"]),
            ),
            (
                "!deactivate @spam:example.org —erase",
                words(&["deactivate", "@spam:example.org", "--erase"]),
            ),
            (
                "!deactivate @spam:example.org –erase —dry-run",
                words(&["deactivate", "@spam:example.org", "--erase", "--dry-run"]),
            ),
            (
                "!deactivate spam \u{00A0}--force",
                words(&["deactivate", "spam", "--force"]),
            ),
            (
                "!rooms --search “big room”",
                words(&["rooms", "--search", "big room"]),
            ),
            (
                "!rooms --search \"don't panic\"",
                words(&["rooms", "--search", "don't panic"]),
            ),
            (
                "!rooms --search don't",
                words(&["rooms", "--search", "don't"]),
            ),
            (
                "!rooms --search ‘quoted’",
                words(&["rooms", "--search", "‘quoted’"]),
            ),
            ("!rooms --search \"\"", words(&["rooms", "--search", ""])),
            (
                "!rooms --search \"open",
                Some(Err(NormalizeError::UnclosedQuote)),
            ),
            ("!a — b", words(&["a", "—", "b"])),
            ("hello !help", None),
            ("help", None),
            ("! help", None),
            ("!!", None),
            ("!", None),
            ("", None),
        ];
        for (body, expected) in cases {
            assert_eq!(&argv(body, None), expected, "{body:?}");
        }
    }

    #[test]
    fn first_line_is_the_command_and_the_rest_is_the_body() {
        let c = normalize(
            Incoming {
                body: "!schedule every 1d\nline two\nline three",
                formatted_body: None,
            },
            "!",
        )
        .expect("command")
        .expect("ok");
        assert_eq!(c.argv, ["schedule", "every", "1d"]);
        assert_eq!(c.body, "line two\nline three");
    }

    #[test]
    fn pills_in_formatted_body_become_mxids() {
        let body = "!deactivate Spammer McSpamface —erase";
        let html = r#"!deactivate <a href="https://matrix.to/#/@spam:example.org">Spammer McSpamface</a> —erase"#;
        assert_eq!(
            argv(body, Some(html)),
            words(&["deactivate", "@spam:example.org", "--erase"])
        );
        let encoded =
            r#"!user <a href="https://matrix.to/#/%40spam%3Aexample.org?via=example.org">Spam</a>"#;
        assert_eq!(
            argv("!user Spam", Some(encoded)),
            words(&["user", "@spam:example.org"])
        );
        // A link that is not a user pill keeps its text.
        let room =
            r##"!room <a href="https://matrix.to/#/#lobby:example.org">#lobby:example.org</a>"##;
        assert_eq!(
            argv("!room #lobby:example.org", Some(room)),
            words(&["room", "#lobby:example.org"])
        );
        // Entities are decoded; tags are dropped.
        assert_eq!(
            argv("x", Some("<p>!rooms --search <b>a&amp;b</b></p>")),
            words(&["rooms", "--search", "a&b"])
        );
    }

    #[test]
    fn replies_are_read_without_their_fallback() {
        let html = "<mx-reply><blockquote>In reply to <a href=\"https://matrix.to/#/@bot:x\">bot</a> !confirm AAAA</blockquote></mx-reply>!confirm ABC123";
        assert_eq!(
            argv("> <@bot:x> preview\n\n!confirm ABC123", Some(html)),
            words(&["confirm", "ABC123"])
        );
        assert_eq!(
            argv("> <@bot:x> preview\n> more\n\n!confirm ABC123", None),
            words(&["confirm", "ABC123"])
        );
    }

    #[test]
    fn html_lines_split_the_body() {
        let c = normalize(
            Incoming {
                body: "",
                formatted_body: Some("<p>!help</p><p>second</p>"),
            },
            "!",
        )
        .expect("cmd")
        .expect("ok");
        assert_eq!(c.argv, ["help"]);
        assert_eq!(c.body.trim(), "second");
        let c = normalize(
            Incoming {
                body: "",
                formatted_body: Some("!help<br>second"),
            },
            "!",
        )
        .expect("cmd")
        .expect("ok");
        assert_eq!(c.body, "second");
    }

    #[test]
    fn hostile_input() {
        let long = format!("!rooms --search {}", "a".repeat(MAX_COMMAND_LINE));
        assert_eq!(argv(&long, None), Some(Err(NormalizeError::TooLong)));
        for hidden in [
            "\u{202E}", "\u{200B}", "\u{0007}", "\u{2066}", "\u{FEFF}", "\r",
        ] {
            let body = format!("!deactivate @a:b{hidden}c");
            assert_eq!(
                argv(&body, None),
                Some(Err(NormalizeError::HiddenCharacters)),
                "{hidden:?}"
            );
        }
        // Tabs are whitespace.
        assert_eq!(argv("!user\t@a:b", None), words(&["user", "@a:b"]));
        // Script tags and attributes are text or nothing, never a pill.
        let html = r#"!user <script>alert(1)</script><a href="javascript:alert(1)">@evil:x</a>"#;
        assert_eq!(
            argv("!user", Some(html)),
            words(&["user", "alert(1)@evil:x"])
        );
        // A fake pill with a bad MXID keeps its visible text.
        let html = r#"!user <a href="https://matrix.to/#/@@@">Bob</a>"#;
        assert_eq!(argv("!user Bob", Some(html)), words(&["user", "Bob"]));
        // So does one whose percent-encoding is broken or not UTF-8.
        for href in ["@a%zz:x", "@a%4", "%40a%FF:x", "@a%C3:x"] {
            let html = format!(r#"!user <a href="https://matrix.to/#/{href}">Bob</a>"#);
            assert_eq!(
                argv("!user Bob", Some(&html)),
                words(&["user", "Bob"]),
                "{href}"
            );
        }
        // Broken HTML does not panic.
        for html in [
            "<a href=",
            "<<<>>>!help",
            "<p>!help</a></div></p>",
            "&#xFFFFFF;",
            "<mx-reply>",
        ] {
            let _ = argv("!help", Some(html));
        }
        // A very long body after a short first line is fine.
        let body = format!("!help\n{}", "x".repeat(100_000));
        assert_eq!(argv(&body, None), words(&["help"]));
    }
}
