//! Removing duplicate copies from a text and tidying what is left.
//!
//! Rules, for each removed span. First, on the span's line, an emptied
//! bracket or emphasis pair (`[COPY]`, `(COPY)`, `*COPY*`) goes with it,
//! then a separator (`,` `;` `/` dashes `·` `•` `、`) the removal leaves
//! doubled (`x, COPY, y` → `x, y`: the second goes) or at the start or end
//! of the line (`COPY, and more` → `and more`), when it stands alone (not
//! `-5` or the empty cell of `12,,cat`). Quotes stay, so JSON
//! metadata stays well formed. Then (spans separated only by whitespace
//! merged, the whitespace between them going too):
//! - at the start or the end of the text, the whitespace next to the span
//!   goes with it;
//! - with whitespace on both sides, one run is kept: the one after, from
//!   its first line break, when it holds one (a copy that filled its line
//!   goes with that line's indentation and trailing spaces, and the next
//!   line keeps its own), otherwise the one before; when the one before
//!   holds more line breaks (the copy began a paragraph), its line breaks
//!   are kept, then the next line's indentation;
//! - with whitespace on one side only, the span was glued to its other
//!   neighbour; the whitespace goes when that neighbour is closing
//!   punctuation or a quote (after the span) or opening punctuation or a
//!   quote (before it), so `"… sample. COPY"` becomes `"… sample."`, and
//!   stays otherwise so words never run together;
//! - a text left with only whitespace becomes empty.
//!
//! Everything else is copied byte for byte.

/// Characters that close a phrase: whitespace before a copy glued to one of
/// these is dropped with the copy.
fn is_closing(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '\u{201d}'
            | '\u{2019}'
            | ')'
            | ']'
            | '}'
            | '>'
            | '\u{bb}'
            | '\u{300d}'
            | '\u{300f}'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
    )
}

/// Characters that open a phrase: whitespace after a copy glued to one of
/// these is dropped with the copy.
fn is_opening(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '\u{201c}'
            | '\u{2018}'
            | '('
            | '['
            | '{'
            | '<'
            | '\u{ab}'
            | '\u{300c}'
            | '\u{300e}'
    )
}

/// List separators: a removal that leaves two of them side by side drops
/// the second, and one left at the start or the end of its line goes (when
/// it stands alone, see [`stands_alone`]). Not `|`: dropping one would
/// merge two cells of a Markdown table.
fn is_separator(c: char) -> bool {
    is_full_width_separator(c)
        || matches!(
            c,
            ',' | ';' | '/' | '-' | '\u{2013}' | '\u{2014}' | '\u{b7}' | '\u{2022}'
        )
}

/// `、` `，` `；`: CJK text puts no space after them.
fn is_full_width_separator(c: char) -> bool {
    matches!(c, '\u{3001}' | '\u{ff0c}' | '\u{ff1b}')
}

/// Whether the character `c` at byte `at` is a separator standing alone:
/// a full-width one, or one followed by whitespace or the end of the text.
/// One glued to what follows belongs to it (`-5`, `/usr`, the empty cell
/// of `12,,cat`).
fn stands_alone(text: &str, at: usize, c: char) -> bool {
    is_full_width_separator(c)
        || (is_separator(c)
            && text[at + c.len_utf8()..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace))
}

/// The closing partner of a bracket or emphasis mark: a removal that
/// leaves the pair empty drops it. Quotes are not paired: an emptied
/// quoted string (`"prompt": ""` in JSON metadata) must stay well formed.
fn partner(open: char) -> Option<char> {
    match open {
        '(' => Some(')'),
        '[' => Some(']'),
        '{' => Some('}'),
        '*' | '`' | '~' => Some(open),
        '\u{300c}' => Some('\u{300d}'),
        '\u{300e}' => Some('\u{300f}'),
        '\u{ff08}' => Some('\u{ff09}'),
        _ => None,
    }
}

/// Whitespace that does not end a line.
fn is_inline_space(c: char) -> bool {
    c.is_whitespace()
        && !matches!(
            c,
            '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
}

/// The character before `at` on its line, past inline whitespace, and its
/// byte offset; `None` at the start of the line or of `text[floor..]`.
fn left_neighbour(text: &str, floor: usize, at: usize) -> Option<(usize, char)> {
    let head = text[floor..at].trim_end_matches(is_inline_space);
    let c = head.chars().next_back()?;
    (!c.is_whitespace()).then(|| (floor + head.len() - c.len_utf8(), c))
}

/// The character after `at` on its line, past inline whitespace, and its
/// byte offset; `None` at the end of the line or the text.
fn right_neighbour(text: &str, at: usize) -> Option<(usize, char)> {
    let tail = text[at..].trim_start_matches(is_inline_space);
    let c = tail.chars().next()?;
    (!c.is_whitespace()).then(|| (text.len() - tail.len(), c))
}

/// `spans` (sorted, non-overlapping) widened over what their removal would
/// leave dangling on their line: an emptied bracket or emphasis pair, then
/// a second separator (`x, COPY, y` → `x, y`) or one at the start or end
/// of the line (`COPY, and more` → `and more`). Overlapping results merge.
fn widen(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for &(mut s, mut e) in spans {
        // Never look back into the span before: it goes too.
        let floor = out.last().map_or(0, |p| p.1).min(s);
        loop {
            let left = left_neighbour(text, floor, s);
            let right = right_neighbour(text, e);
            // A symmetric mark (`*`, `` ` ``, `~`) pairs only when both touch
            // the span: in `*a* COPY *b*` they close one span and open the next.
            let touching = |ls: usize, lc: char, rs: usize| ls + lc.len_utf8() == s && rs == e;
            match (left, right) {
                (Some((ls, lc)), Some((rs, rc)))
                    if partner(lc) == Some(rc) && (lc != rc || touching(ls, lc, rs)) =>
                {
                    (s, e) = (ls, rs + rc.len_utf8());
                }
                (_, Some((rs, rc)))
                    if stands_alone(text, rs, rc)
                        && left.is_none_or(|(ls, lc)| stands_alone(text, ls, lc)) =>
                {
                    e = rs + rc.len_utf8();
                    break;
                }
                (Some((ls, lc)), None) if stands_alone(text, ls, lc) => {
                    s = ls;
                    break;
                }
                _ => break,
            }
        }
        match out.last_mut() {
            Some(p) if s <= p.1 => p.1 = p.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn ws_before(text: &str, at: usize) -> usize {
    let head = &text[..at];
    at - head.trim_end().len()
}

fn ws_after(text: &str, at: usize) -> usize {
    let tail = &text[at..];
    tail.len() - tail.trim_start().len()
}

/// `text` without the byte ranges in `spans` (sorted, non-overlapping, on
/// char boundaries), tidied as the module docs describe.
pub(crate) fn remove_spans(text: &str, spans: &[(usize, usize)]) -> String {
    // Merge spans separated only by whitespace.
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in widen(text, spans) {
        match merged.last_mut() {
            Some(last) if text[last.1..s].trim().is_empty() => last.1 = e,
            _ => merged.push((s, e)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for (i, &(s, e)) in merged.iter().enumerate() {
        let lw = ws_before(text, s).min(s - cursor);
        let next_start = merged.get(i + 1).map_or(text.len(), |n| n.0);
        let rw = ws_after(text, e).min(next_start - e);
        out.push_str(&text[cursor..s - lw]);
        let left_empty = out.trim().is_empty();
        let right_empty = text[e + rw..].trim().is_empty();
        let left_ws = &text[s - lw..s];
        let right_ws = &text[e..e + rw];
        let sep = if left_empty || right_empty {
            ""
        } else {
            match (lw > 0, rw > 0) {
                (true, true) => match right_ws.find(['\n', '\r']) {
                    // The copy had a line of its own after a blank line (a
                    // paragraph's first line): the paragraph break stays,
                    // then the next line's indentation.
                    Some(_) if line_breaks(left_ws) > line_breaks(right_ws) => {
                        out.push_str(&left_ws[..after_last_line_end(left_ws)]);
                        &right_ws[after_last_line_end(right_ws)..]
                    }
                    // From the line break on: the copy's line goes whole.
                    Some(at) => &right_ws[at..],
                    None => left_ws,
                },
                (true, false) => {
                    if text[e..].chars().next().is_some_and(is_closing) {
                        ""
                    } else {
                        left_ws
                    }
                }
                (false, true) => {
                    if text[..s].chars().next_back().is_some_and(is_opening) {
                        ""
                    } else {
                        right_ws
                    }
                }
                (false, false) => "",
            }
        };
        if left_empty {
            out.clear();
        }
        out.push_str(sep);
        cursor = e + rw;
    }
    out.push_str(&text[cursor..]);
    if out.trim().is_empty() {
        out.clear();
    }
    out
}

/// Characters that end a line (what [`is_inline_space`] leaves out).
fn is_line_end(c: char) -> bool {
    c.is_whitespace() && !is_inline_space(c)
}

/// Line breaks in `ws` (`\r\n` is one).
fn line_breaks(ws: &str) -> usize {
    ws.chars().filter(|&c| is_line_end(c)).count() - ws.matches("\r\n").count()
}

/// Where the text after the last line end of `ws` starts (0 when it has
/// none).
fn after_last_line_end(ws: &str) -> usize {
    ws.char_indices()
        .rfind(|&(_, c)| is_line_end(c))
        .map_or(0, |(at, c)| at + c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remove(text: &str, copies: &[&str]) -> String {
        let mut spans = Vec::new();
        let mut from = 0;
        for c in copies {
            let s = from + text[from..].find(c).unwrap();
            spans.push((s, s + c.len()));
            from = s + c.len();
        }
        remove_spans(text, &spans)
    }

    /// A copy that is a paragraph's first line goes with its line; the
    /// blank line before it stays, and the next line keeps its indentation.
    #[test]
    fn paragraph_break_before_a_removed_line_stays() {
        assert_eq!(
            remove("Intro (15 mins)\n\nCOPY\nDiscuss it.", &["COPY"]),
            "Intro (15 mins)\n\nDiscuss it."
        );
        assert_eq!(
            remove("A\r\n\r\n  COPY\r\n    B", &["COPY"]),
            "A\r\n\r\n    B"
        );
        // The stronger break wins either way; equal breaks keep the one after.
        assert_eq!(remove("A\nCOPY\n\nB", &["COPY"]), "A\n\nB");
        assert_eq!(remove("A\n\nCOPY\n\n  B", &["COPY"]), "A\n\n  B");
        assert_eq!(line_breaks("\r\n\n\r"), 3);
        // Unicode line and paragraph separators are line ends too.
        assert_eq!(
            remove("Intro.\u{2028}\u{2028}COPY\nNext.", &["COPY"]),
            "Intro.\u{2028}\u{2028}Next."
        );
        assert_eq!(
            remove("Intro.\u{2029}\n COPY\nNext.", &["COPY"]),
            "Intro.\u{2029}\nNext."
        );
    }

    #[test]
    fn trailing_and_leading_copies_take_their_whitespace() {
        assert_eq!(remove("Base text. COPY", &["COPY"]), "Base text.");
        assert_eq!(remove("COPY\nBase text.", &["COPY"]), "Base text.");
        assert_eq!(remove("COPY", &["COPY"]), "");
        assert_eq!(remove("  COPY \n ", &["COPY"]), "");
    }

    #[test]
    fn inner_copies_keep_one_separator() {
        assert_eq!(remove("ask COPY in a quiz.", &["COPY"]), "ask in a quiz.");
        assert_eq!(remove("A.\nCOPY\nB.", &["COPY"]), "A.\nB.");
        assert_eq!(remove("A. COPY\nB.", &["COPY"]), "A.\nB.");
        assert_eq!(remove("A. C1 C2 B.", &["C1", "C2"]), "A. B.");
        // A copy filling an indented line takes the indentation with it.
        assert_eq!(remove("a:\n    COPY\nb", &["COPY"]), "a:\nb");
        assert_eq!(remove("a:\n    COPY\n    b", &["COPY"]), "a:\n    b");
        assert_eq!(remove("a:\n  COPY  \n\n  b", &["COPY"]), "a:\n\n  b");
        assert_eq!(remove("a:\n    COPY rest", &["COPY"]), "a:\n    rest");
    }

    #[test]
    fn glued_copies_drop_the_other_whitespace_only_before_punctuation() {
        assert_eq!(
            remove(r#"{"d": "sample. COPY"}"#, &["COPY"]),
            r#"{"d": "sample."}"#
        );
        assert_eq!(remove(r#"{"p": "COPY"}"#, &["COPY"]), r#"{"p": ""}"#);
        assert_eq!(remove("asked COPY, then", &["COPY"]), "asked, then");
        assert_eq!(remove("(COPY and more)", &["COPY"]), "(and more)");
        assert_eq!(remove("Q:COPY more", &["COPY"]), "Q: more");
    }
    #[test]
    fn dangling_separators_and_empty_pairs_go() {
        assert_eq!(remove("Tags: x, COPY, y", &["COPY"]), "Tags: x, y");
        assert_eq!(
            remove("COPY, and a blue square.", &["COPY"]),
            "and a blue square."
        );
        assert_eq!(remove("A - COPY - B", &["COPY"]), "A - B");
        assert_eq!(remove("Tags: x, y, COPY", &["COPY"]), "Tags: x, y");
        assert_eq!(remove("[COPY]", &["COPY"]), "");
        assert_eq!(remove("See (COPY) here", &["COPY"]), "See here");
        assert_eq!(remove("x, (COPY), y", &["COPY"]), "x, y");
        assert_eq!(remove("a; **COPY**; b", &["COPY"]), "a; b");
        assert_eq!(remove("x\u{3001}COPY\u{3001}y", &["COPY"]), "x\u{3001}y");
        // Only on the copy's own line: list bullets elsewhere stay.
        assert_eq!(
            remove("intro\n- COPY\n- other", &["COPY"]),
            "intro\n- other"
        );
        assert_eq!(remove("- a,\nCOPY\n- b", &["COPY"]), "- a,\n- b");
        // Quotes and colons stay.
        assert_eq!(
            remove(r#"{"p": "COPY", "q": 1}"#, &["COPY"]),
            r#"{"p": "", "q": 1}"#
        );
        assert_eq!(remove("Q: COPY", &["COPY"]), "Q:");
        assert_eq!(remove("x, C1, C2, y", &["C1", "C2"]), "x, y");
    }

    #[test]
    fn marks_and_separators_of_other_tokens_stay() {
        // Two emphasis spans around a copy are not one emptied pair.
        assert_eq!(remove("*bold* COPY *more*", &["COPY"]), "*bold* *more*");
        assert_eq!(
            remove("Use `ls` COPY `pwd` too.", &["COPY"]),
            "Use `ls` `pwd` too."
        );
        assert_eq!(remove("2 * COPY * 3", &["COPY"]), "2 * * 3");
        // A separator glued to the next token belongs to it.
        assert_eq!(remove("COPY -5 degrees", &["COPY"]), "-5 degrees");
        assert_eq!(remove("COPY /usr/bin/python", &["COPY"]), "/usr/bin/python");
        assert_eq!(remove("12,COPY,cat", &["COPY"]), "12,,cat");
        // Table cells stay cells.
        assert_eq!(remove("| COPY | cat |", &["COPY"]), "| | cat |");
    }
}
