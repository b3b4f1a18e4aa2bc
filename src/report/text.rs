//! Text from the inventory, a certificate or a server made safe for each output: HTML, Markdown,
//! a spreadsheet cell, a terminal. Every renderer passes such text through here, so an owner
//! name or a certificate subject can neither inject markup nor move the cursor.

use std::borrow::Cow;

/// Escapes text for HTML element content and double- or single-quoted attributes. Control
/// characters other than tab and newline become U+FFFD so nothing invisible reaches the page.
pub(crate) fn html(s: &str) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'') || (c.is_control() && c != '\n' && c != '\t')
    };
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes text for Markdown inline content, table cells included: Markdown punctuation is
/// backslash-escaped, `<` and `>` become entities (no raw HTML in any renderer), line breaks
/// become spaces and other control characters U+FFFD. Underscores inside words stay as they are
/// (they emphasise nothing there) so `acme_prod_01` still reads well as plain text.
pub(crate) fn markdown(s: &str) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '<' | '>' | '&'
        ) || c.is_control()
    };
    if !s.chars().any(special) {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        match c {
            '\r' => {
                out.push(' ');
                // A CRLF is one break.
                if next == Some('\n') {
                    i += 1;
                }
            }
            '\n' | '\t' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => {
                // Only where it could start an entity reference.
                if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') {
                    out.push_str("&amp;");
                } else {
                    out.push('&');
                }
            }
            '_' => {
                let word = |x: Option<char>| x.is_some_and(|x| x.is_alphanumeric());
                if word(prev) && word(next) {
                    out.push('_');
                } else {
                    out.push_str("\\_");
                }
            }
            '\\' | '`' | '*' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Text from the inventory or a certificate that a spreadsheet would take for a formula is
/// prefixed with an apostrophe (CSV injection). Numbers and dates are never touched.
pub(crate) fn spreadsheet(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Text from the inventory without control characters, so a terminal shows it and obeys nothing.
pub(crate) fn terminal(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// `, 2 empty rows skipped` when rows were skipped, else nothing (reports of inventories
/// without empty rows read as before).
pub(crate) fn skipped_note(skipped: u64) -> String {
    match skipped {
        0 => String::new(),
        1 => ", 1 empty row skipped".to_string(),
        n => format!(", {n} empty rows skipped"),
    }
}

/// Text from outside for one terminal cell: control characters (escape sequences included)
/// made harmless by [`terminal`], and at most `max` characters, the rest cut with `…` (the
/// files hold the whole value; a megabyte in one cell would take the table seconds to lay
/// out).
pub(crate) fn terminal_cut(s: &str, max: usize) -> String {
    let mut out = terminal(&s.chars().take(max + 1).collect::<String>());
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}
