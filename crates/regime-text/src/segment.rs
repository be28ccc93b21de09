//! Segment splitting for prompt-segment de-duplication and template counts.
//!
//! A text is cut at line breaks (`\n`, `\r`, U+2028, U+2029) and after a
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
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
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
        while self.pos < self.text.len() {
            let start = self.pos;
            let rest = &self.text[start..];
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
            self.pos = start + next;
            let raw = &rest[..cut];
            let trimmed = raw.trim_start();
            let lead = raw.len() - trimmed.len();
            let trimmed = trimmed.trim_end();
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
    fn ellipsis_cuts_after_last_dot() {
        assert_eq!(texts("wait... what"), ["wait...", "what"]);
        assert!(texts(" \n \n").is_empty());
    }
}
