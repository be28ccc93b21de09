//! Segment splitting for prompt-segment de-duplication and template counts.
//!
//! A text is cut at line breaks (`\n`, VT, FF, `\r`, NEL, U+2028, U+2029:
//! Unicode's mandatory breaks) and after a
//! sentence end: one of `.?!。？！` followed by whitespace or the end of the
//! text (CORPUS.md, "Prompt-segment de-duplication", step 1). The terminator
//! stays with the segment before it; the whitespace after it is a separator.
//! Segments are trimmed of surrounding whitespace and empty ones are skipped.
//! Note that, as specified, a full-width `。` directly followed by more CJK
//! text (no space) is not a cut.

/// One segment of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'t> {
    /// The trimmed segment text.
    pub text: &'t str,
    /// Byte offset of `text` in the original text.
    pub start: usize,
}

impl Segment<'_> {
    /// Byte offset one past the end of the segment in the original text.
    #[must_use]
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// Whether `c` ends a sentence when followed by whitespace or the end.
#[must_use]
pub fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '?' | '!' | '。' | '？' | '！')
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// The segments of `text`, in order.
///
/// ```
/// let segs: Vec<&str> = regime_text::segments("Describe the image. Be brief!\nOK?")
///     .map(|s| s.text)
///     .collect();
/// assert_eq!(segs, ["Describe the image.", "Be brief!", "OK?"]);
/// ```
#[must_use]
pub fn segments(text: &str) -> Segments<'_> {
    Segments { text, pos: 0 }
}

/// Iterator returned by [`segments`].
#[derive(Debug, Clone)]
pub struct Segments<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Iterator for Segments<'t> {
    type Item = Segment<'t>;

    fn next(&mut self) -> Option<Segment<'t>> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() {
            let start = self.pos;
            let (cut, next) = find_cut(self.text, start);
            self.pos = next;
            let (lead, trimmed) = trim(&self.text[start..cut]);
            if !trimmed.is_empty() {
                return Some(Segment {
                    text: trimmed,
                    start: start + lead,
                });
            }
        }
        None
    }
}

/// Whether `b` is an ASCII byte `char::is_whitespace` accepts (tab, line
/// feed, vertical tab, form feed, carriage return, space).
fn is_ascii_ws(b: u8) -> bool {
    b == b' ' || b.wrapping_sub(b'\t') < 5
}

/// `text.trim()` and the byte length trimmed off its start. ASCII
/// whitespace is skipped byte by byte; only a non-ASCII edge is decoded
/// (`str::trim` decodes every character it looks at).
fn trim(text: &str) -> (usize, &str) {
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_ascii_ws(b))
        .unwrap_or(bytes.len());
    // `start` follows ASCII bytes only, so it is a char boundary.
    let mut rest = &text[start..];
    if rest.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
        rest = rest.trim_start();
    }
    let lead = text.len() - rest.len();
    // Likewise the end: only ASCII bytes follow it.
    let end = rest
        .bytes()
        .rposition(|b| !is_ascii_ws(b))
        .map_or(0, |p| p + 1);
    let mut trimmed = &rest[..end];
    if trimmed.as_bytes().last().is_some_and(|b| !b.is_ascii()) {
        trimmed = trimmed.trim_end();
    }
    (lead, trimmed)
}

/// Bytes that may end a segment, or start a character that may: line
/// breaks, sentence ends, and every non-ASCII byte (decoded to decide).
const fn cut_bytes() -> [bool; 256] {
    let mut t = [false; 256];
    t[b'\n' as usize] = true;
    t[0x0b] = true;
    t[0x0c] = true;
    t[b'\r' as usize] = true;
    t[b'.' as usize] = true;
    t[b'?' as usize] = true;
    t[b'!' as usize] = true;
    let mut b = 0x80;
    while b < 256 {
        t[b] = true;
        b += 1;
    }
    t
}

static CUT_BYTES: [bool; 256] = cut_bytes();

/// Whether any byte lane of `x` holds a [`CUT_BYTES`] byte: eight bytes
/// checked in a few branch-free word operations (SWAR) instead of eight
/// table lookups and branches.
fn may_cut(x: u64) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bit 7 of some lane set iff some lane of `v` is zero (exact for "any").
    let zero = |v: u64| v.wrapping_sub(LOW) & !v & HIGH;
    let eq = |b: u8| zero(x ^ (LOW * u64::from(b)));
    (x & HIGH) | eq(b'\n') | eq(0x0b) | eq(0x0c) | eq(b'\r') | eq(b'.') | eq(b'?') | eq(b'!') != 0
}

/// The end of the segment starting at byte `start` of `text` and where the
/// next one starts: `(cut, next)`. Scans bytes, eight at a time while none
/// is a [`CUT_BYTES`] byte; only bytes that can start a line break or
/// sentence end are looked at as characters.
fn find_cut(text: &str, start: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut i = start;
    // Bytes up to `plain` are known to hold no cut byte.
    let mut plain = start;
    while i < bytes.len() {
        if i >= plain {
            if let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>)
                && !may_cut(u64::from_le_bytes(*chunk))
            {
                i += 8;
                plain = i;
                continue;
            }
            // Look at this chunk (or the tail) byte by byte.
            plain = i + 8;
        }
        let b = bytes[i];
        if !CUT_BYTES[usize::from(b)] {
            i += 1;
            continue;
        }
        let c = if b < 0x80 {
            char::from(b)
        } else if let Some(c) = text.get(i..).and_then(|r| r.chars().next()) {
            c
        } else {
            // A continuation byte: not the start of a character.
            i += 1;
            continue;
        };
        let after = i + c.len_utf8();
        if is_line_break(c) {
            return (i, after);
        }
        if is_sentence_end(c) {
            match text[after..].chars().next() {
                None => return (bytes.len(), bytes.len()),
                Some(d) if d.is_whitespace() => return (after, after),
                Some(_) => {}
            }
        }
        i = after;
    }
    (bytes.len(), bytes.len())
}

/// The reference implementation of the cut search (one `char` at a time),
/// kept to check [`find_cut`] against.
#[cfg(test)]
fn find_cut_chars(text: &str, start: usize) -> (usize, usize) {
    let rest = &text[start..];
    let mut cut = rest.len();
    let mut next = rest.len();
    let mut iter = rest.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_line_break(c) {
            cut = i;
            next = i + c.len_utf8();
            break;
        }
        if is_sentence_end(c) {
            match iter.peek() {
                None => break,
                Some(&(j, d)) if d.is_whitespace() => {
                    cut = j;
                    next = j;
                    break;
                }
                Some(_) => {}
            }
        }
    }
    (start + cut, start + next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &str) -> Vec<&str> {
        segments(t).map(|s| s.text).collect()
    }

    #[test]
    fn splits_lines_and_sentences() {
        assert_eq!(
            texts("A b. C d?  E!\r\n\nF 3.14 g"),
            ["A b.", "C d?", "E!", "F 3.14 g"]
        );
        // Every mandatory line break cuts.
        assert_eq!(
            texts("one\u{b}two\u{c}three\u{85}four\u{2028}five"),
            ["one", "two", "three", "four", "five"]
        );
    }

    #[test]
    fn cjk_terminators_need_space_or_end() {
        assert_eq!(texts("你好。 世界！"), ["你好。", "世界！"]);
        assert_eq!(texts("你好。世界"), ["你好。世界"]);
    }

    #[test]
    fn offsets_point_into_text() {
        let t = "  one.  two  \nthree";
        for s in segments(t) {
            assert_eq!(&t[s.start..s.end()], s.text);
        }
        assert_eq!(texts(t), ["one.", "two", "three"]);
    }

    #[test]
    fn byte_scan_agrees_with_the_char_scan() {
        let pieces = [
            "a", " ", ".", "?", "!", "\n", "\r", "\u{b}", "\u{c}", "\u{85}", "\u{2028}",
            "\u{2029}", "。", "？", "！", "\u{3000}", "\u{a0}", "é", "中", "\t", "\u{85}",
        ];
        // Every text of up to 4 pieces, from every char boundary.
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let mut longer = Vec::new();
            for t in &texts {
                for p in pieces {
                    longer.push(format!("{t}{p}"));
                }
            }
            texts.extend(longer);
            texts.sort();
            texts.dedup();
        }
        // Behind plain text of every length up to two words of eight
        // bytes, so cuts fall at every lane of the eight-byte steps.
        let plain = "plain words here";
        for pad in 0..=plain.len() {
            for t in &texts {
                let t = format!("{}{t}", &plain[..pad]);
                for (start, _) in t.char_indices() {
                    assert_eq!(
                        find_cut(&t, start),
                        find_cut_chars(&t, start),
                        "{t:?} at {start}"
                    );
                }
            }
        }
    }

    #[test]
    fn may_cut_sees_every_cut_byte_at_every_lane() {
        for lane in 0..8 {
            for b in 0..=255u8 {
                let mut chunk = *b"words ok";
                chunk[lane] = b;
                let x = u64::from_le_bytes(chunk);
                let want = chunk.iter().any(|&c| CUT_BYTES[usize::from(c)]);
                assert_eq!(may_cut(x), want, "{b:#x} at {lane}");
            }
        }
    }

    #[test]
    fn trim_agrees_with_str_trim() {
        let pieces = [
            "a", " ", "\t", "\u{b}", "\u{3000}", "\u{a0}", "é", "\u{85}", "\n",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let t = format!("{a}{b}{c}");
                    let want = t.trim();
                    let lead = t.len() - t.trim_start().len();
                    assert_eq!(trim(&t), (lead, want), "{t:?}");
                }
            }
        }
    }

    #[test]
    fn ellipsis_cuts_after_last_dot() {
        assert_eq!(texts("wait... what"), ["wait...", "what"]);
        assert!(texts(" \n \n").is_empty());
    }
}
