//! Text handling shared by input and output: hidden and bidi characters, clipping, sentence-casing.
//!
//! A leaf module: it imports nothing from the crate. Input (normalize, the users CSV) uses
//! [`is_hidden`] to refuse or clean what an admin sent; output (the reply renderer) uses
//! [`strip_hidden`] so nothing echoed from Synapse can reorder or hide text in the room.

use std::borrow::Cow;

/// Characters that can make text look different from what it is: control characters (C0, DEL,
/// C1, including tab and newline: callers that allow those check for them first), bidi marks,
/// embeddings, overrides and isolates, zero-width and invisible formatting characters, line and
/// paragraph separators, the soft hyphen and interlinear annotation marks.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}' // soft hyphen
                | '\u{061C}' // Arabic letter mark
                | '\u{180E}' // Mongolian vowel separator
                | '\u{200B}'..='\u{200F}' // zero-width space, (non-)joiner, LRM, RLM
                | '\u{2028}'..='\u{202E}' // line/paragraph separator, bidi embeddings and overrides
                | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates, deprecated format
                | '\u{FEFF}' // zero-width no-break space, byte order mark
                | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        )
}

/// `s` without its [hidden](is_hidden) characters but its line breaks (a rendered answer may hold
/// several lines); borrowed when there were none.
pub(crate) fn strip_hidden(s: &str) -> Cow<'_, str> {
    let shown = |c: char| c == '\n' || !is_hidden(c);
    if !s.chars().all(shown) {
        Cow::Owned(s.chars().filter(|&c| shown(c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// The first `max_chars` characters of `s`, followed by `…` when something was cut.
pub(crate) fn clip(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// Error text as a sentence: the first character upper-cased and a final `.` added unless the
/// text already ends with `.`, `?` or `!`. An empty text stays empty.
pub(crate) fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().collect();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '?', '!']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_table() {
        let hidden = [
            '\u{0}', '\u{7}', '\t', '\n', '\r', '\u{1B}', '\u{7F}', '\u{80}', '\u{9F}', '\u{00AD}',
            '\u{061C}', '\u{180E}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}',
            '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
            '\u{2060}', '\u{2061}', '\u{2062}', '\u{2063}', '\u{2064}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{206A}', '\u{206F}', '\u{FEFF}', '\u{FFF9}', '\u{FFFB}',
        ];
        for c in hidden {
            assert!(is_hidden(c), "U+{:04X} should be hidden", u32::from(c));
        }
        let shown = [
            ' ', 'a', 'Z', '0', '-', '"', '…', '—', 'é', 'Ω', '山', '🎉', '\u{00A0}', '\u{00AC}',
            '\u{00AE}', '\u{2010}', '\u{2027}', '\u{202F}', '\u{205F}', '\u{2070}', '\u{FEFE}',
            '\u{FFFC}', '\u{FFFD}',
        ];
        for c in shown {
            assert!(!is_hidden(c), "U+{:04X} should be shown", u32::from(c));
        }
    }

    #[test]
    fn strip_hidden_removes_only_hidden() {
        assert!(matches!(
            strip_hidden("plain 山田 🎉"),
            Cow::Borrowed("plain 山田 🎉")
        ));
        assert_eq!(
            strip_hidden("ev\u{202E}il a\u{200B}b\u{2066}c\u{7}"),
            "evil abc"
        );
        assert_eq!(strip_hidden("\u{FEFF}\u{00AD}"), "");
        assert_eq!(strip_hidden(""), "");
    }

    #[test]
    fn clip_table() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, ""),
            ("", 3, ""),
            ("abc", 3, "abc"),
            ("abcd", 3, "abc…"),
            ("abc", 0, "…"),
            ("éé山🎉x", 4, "éé山🎉…"),
            ("éé山🎉", 4, "éé山🎉"),
            ("🎉🎉", 1, "🎉…"),
        ];
        for &(s, max, want) in cases {
            assert_eq!(clip(s, max), want, "clip({s:?}, {max})");
        }
    }

    #[test]
    fn sentence_table() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("unknown user", "Unknown user."),
            ("already done.", "Already done."),
            ("really?", "Really?"),
            ("no!", "No!"),
            ("Capital", "Capital."),
            ("élan perdu", "Élan perdu."),
            ("ßtraße", "SStraße."),
            ("`x` is not a user", "`x` is not a user."),
            ("1 error", "1 error."),
        ];
        for &(s, want) in cases {
            assert_eq!(sentence(s), want, "sentence({s:?})");
        }
    }
}
