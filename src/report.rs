//! Report: the bot's answers, built once and rendered as HTML and plain text for phones.
//!
//! Replies are short lines and lists with `<code>`, never wide tables. Everything an admin typed or
//! Synapse returned is escaped here, so no command can inject markup into the room, and stripped of
//! [hidden characters](crate::text::is_hidden), so no display name, room name or topic can carry
//! direction overrides or invisible characters into it.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::text;

/// How a command ended, shown as a reaction on the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done, or answered.
    Success,
    /// Refused, failed or invalid.
    Failure,
    /// Waiting for a confirmation.
    Pending,
}

/// A piece of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    Text(String),
    Code(String),
    Bold(String),
}

impl Span {
    /// The span's text as rendered: every renderer reads spans through here, so hidden characters
    /// are stripped in one place. Line breaks stay: a span may hold a whole rendered answer.
    fn shown(&self) -> Cow<'_, str> {
        match self {
            Span::Text(t) | Span::Code(t) | Span::Bold(t) => text::strip_hidden(t),
        }
    }
}

/// One line of a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Line(Vec<Span>);

impl Line {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Text(s.into()));
        self
    }
    pub(crate) fn code(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Code(s.into()));
        self
    }
    pub(crate) fn bold(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Bold(s.into()));
        self
    }

    fn plain(&self) -> String {
        self.0.iter().map(Span::shown).collect()
    }

    fn html(&self) -> String {
        let mut out = String::new();
        for span in &self.0 {
            let shown = span.shown();
            let t = html_escape::encode_text(&shown);
            match span {
                Span::Text(_) => out.push_str(&t),
                Span::Code(_) => {
                    let _ = write!(out, "<code>{t}</code>");
                }
                Span::Bold(_) => {
                    let _ = write!(out, "<b>{t}</b>");
                }
            }
        }
        out
    }
}

impl From<&str> for Line {
    fn from(s: &str) -> Self {
        Line::new().text(s)
    }
}

impl From<String> for Line {
    fn from(s: String) -> Self {
        Line::new().text(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Line(Line),
    List(Vec<Line>),
}

/// A file sent with a reply (results, long listings).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub filename: String,
    pub mime: String,
    pub bytes: Vec<u8>,
    /// Holds secrets (generated passwords): only ever sent into an encrypted room.
    pub sensitive: bool,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Attachment({}, {} bytes)",
            self.filename,
            self.bytes.len()
        )
    }
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    blocks: Vec<Block>,
    pub outcome: Outcome,
    pub attachments: Vec<Attachment>,
}

impl Reply {
    pub(crate) fn new(outcome: Outcome) -> Self {
        Self {
            blocks: Vec::new(),
            outcome,
            attachments: Vec::new(),
        }
    }

    /// A one-line success answer.
    pub(crate) fn ok(line: impl Into<Line>) -> Self {
        Self::new(Outcome::Success).line(line)
    }

    /// A one-line refusal or error.
    pub(crate) fn error(line: impl Into<Line>) -> Self {
        Self::new(Outcome::Failure).line(line)
    }

    pub(crate) fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub(crate) fn line(mut self, line: impl Into<Line>) -> Self {
        self.blocks.push(Block::Line(line.into()));
        self
    }

    pub(crate) fn list(mut self, items: Vec<Line>) -> Self {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
        self
    }

    pub(crate) fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    pub(crate) fn plain(&self) -> String {
        let mut out = Vec::new();
        for b in &self.blocks {
            match b {
                Block::Line(l) => out.push(l.plain()),
                Block::List(items) => out.extend(items.iter().map(|i| format!("• {}", i.plain()))),
            }
        }
        out.join("\n")
    }

    pub(crate) fn html(&self) -> String {
        let mut out = String::new();
        let mut previous_was_line = false;
        for b in &self.blocks {
            match b {
                Block::Line(l) => {
                    if previous_was_line {
                        out.push_str("<br>");
                    }
                    out.push_str(&l.html());
                    previous_was_line = true;
                }
                Block::List(items) => {
                    out.push_str("<ul>");
                    for i in items {
                        let _ = write!(out, "<li>{}</li>", i.html());
                    }
                    out.push_str("</ul>");
                    previous_was_line = false;
                }
            }
        }
        out
    }
}

/// A server timestamp (milliseconds) as `2026-11-22 06:10 UTC`.
pub(crate) fn format_time_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || "unknown".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// `yes` / `no`, for flags in replies.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let r = Reply::ok(Line::new().text("User ").code("<b>@x:y</b>").text(" & co"))
            .list(vec![Line::new().bold("a").text(": 1"), "b".into()])
            .line("end");
        assert_eq!(r.plain(), "User <b>@x:y</b> & co\n• a: 1\n• b\nend");
        assert_eq!(
            r.html(),
            "User <code>&lt;b&gt;@x:y&lt;/b&gt;</code> &amp; co<ul><li><b>a</b>: 1</li><li>b</li></ul>end"
        );
    }

    #[test]
    fn hidden_characters_are_not_rendered() {
        let line = Line::new().text("ev\u{202E}il").code("a\u{200B}b");
        assert_eq!(line.plain(), "evilab");
        assert_eq!(line.html(), "evil<code>ab</code>");
        let r = Reply::ok(line.clone())
            .list(vec![Line::new().bold("\u{2066}x\u{2069}\u{FEFF}")])
            .line(line);
        assert_eq!(r.plain(), "evilab\n• x\nevilab");
        assert_eq!(
            r.html(),
            "evil<code>ab</code><ul><li><b>x</b></li></ul>evil<code>ab</code>"
        );
    }
}
