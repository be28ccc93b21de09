//! A plain span's normalised text with the way back to the stored bytes.
//!
//! Most prompt text is ASCII with single spaces or line breaks between
//! words. For such a span, normalisation (`normal` module) only trims it and
//! turns each whitespace character into a space, optionally lower-casing:
//! normalised byte `i` then comes from stored byte `shift + i`, so no offset
//! map is needed. Every other span goes through
//! [`normalize_mapped`]; a unit test pins both to the same text and offsets.

use crate::normal::{Mapped, normalize_mapped};

/// A normalised plain span.
#[derive(Debug, Default)]
pub(super) struct SpanText {
    /// The normalised text on the fast path.
    plain: String,
    /// `Some(shift)`: the fast path was taken.
    shift: Option<usize>,
    /// The normalised text and offset map otherwise.
    mapped: Mapped,
}

/// Whether `b` is an ASCII byte `char::is_whitespace` accepts (tab, line
/// feed, vertical tab, form feed, carriage return, space).
fn is_ascii_ws(b: u8) -> bool {
    b == b' ' || b.wrapping_sub(b'\t') < 5
}

impl SpanText {
    /// Normalises `src`, whose first byte sits at `base` in the field.
    pub(super) fn fill(&mut self, src: &str, base: usize, case_fold: bool) {
        // `trim_ascii` trims what `trim` does on ASCII text except the
        // vertical tab (U+000B), which `char::is_whitespace` accepts.
        let trimmed = src.trim_ascii();
        let bytes = trimmed.as_bytes();
        // One branch-free pass (vectorised): any non-ASCII byte, any
        // whitespace byte other than a space. Bytes trimmed off are ASCII,
        // so an ASCII `trimmed` means an ASCII `src`.
        let (high, ctrl_ws) = bytes.iter().fold((0u8, false), |(high, ws), &b| {
            (high | b, ws | (b.wrapping_sub(b'\t') < 5))
        });
        let vt_end = bytes.first() == Some(&0x0B) || bytes.last() == Some(&0x0B);
        if high < 0x80 && !vt_end && !trimmed.contains("  ") {
            let lead = src.len() - src.trim_ascii_start().len();
            self.plain.clear();
            if ctrl_ws {
                // No two whitespace bytes adjacent (a tab or line break
                // next to a space would be a run): each maps to a space.
                if bytes
                    .windows(2)
                    .any(|w| is_ascii_ws(w[0]) && is_ascii_ws(w[1]))
                {
                    self.shift = None;
                    normalize_mapped(src, base, case_fold, &mut self.mapped);
                    return;
                }
                self.plain.extend(
                    bytes
                        .iter()
                        .map(|&b| if is_ascii_ws(b) { ' ' } else { char::from(b) }),
                );
            } else {
                self.plain.push_str(trimmed);
            }
            if case_fold {
                self.plain.make_ascii_lowercase();
            }
            self.shift = Some(base + lead);
        } else {
            self.shift = None;
            normalize_mapped(src, base, case_fold, &mut self.mapped);
        }
    }

    /// The normalised text.
    pub(super) fn text(&self) -> &str {
        if self.shift.is_some() {
            &self.plain
        } else {
            &self.mapped.text
        }
    }

    /// Normalised range of the stored range `start..end` (a trimmed
    /// segment of the span).
    pub(super) fn normalized_range(&self, start: usize, end: usize) -> (usize, usize) {
        match self.shift {
            Some(o) => {
                let n = self.plain.len();
                (start.saturating_sub(o).min(n), end.saturating_sub(o).min(n))
            }
            None => self.mapped.normalized_range(start, end),
        }
    }

    /// Stored byte range of the normalised range `start..end` (non-empty).
    pub(super) fn original(&self, start: usize, end: usize) -> (usize, usize) {
        match self.shift {
            Some(o) => (o + start, o + end),
            None => self.mapped.original(start, end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_the_offset_map() {
        for src in [
            "plain text here",
            "\nWhat colour is the shape?",
            "  lead and trail \t",
            "two lines.\nSecond one?",
            "tab\tand\u{b}vertical tab",
            "MiXeD Case",
            "double  space",
            "é accent",
            "",
            "\u{b}lead vertical tab",
            "trail vertical tab\u{b}",
            " \u{b} ",
            "\u{3000}ideographic space\u{3000}",
            " \n\t ",
        ] {
            for fold in [false, true] {
                let base = 7;
                let mut fast = SpanText::default();
                fast.fill(src, base, fold);
                let mut slow = Mapped::default();
                normalize_mapped(src, base, fold, &mut slow);
                assert_eq!(fast.text(), slow.text, "{src:?}");
                let n = slow.text.len();
                for s in 0..n {
                    for e in s + 1..=n {
                        assert_eq!(fast.original(s, e), slow.original(s, e), "{src:?} {s}..{e}");
                    }
                }
                for s in base..=base + src.len() {
                    for e in s..=base + src.len() {
                        if src.trim().is_empty() {
                            continue;
                        }
                        let Some(seg) = src.get(s - base..e - base) else {
                            continue;
                        };
                        if seg.is_empty() || seg.trim() != seg {
                            continue;
                        }
                        assert_eq!(
                            fast.normalized_range(s, e),
                            slow.normalized_range(s, e),
                            "{src:?} {s}..{e}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fast_path_is_taken_only_for_single_spaced_ascii() {
        let mut t = SpanText::default();
        t.fill("\nWhat is it?\n", 0, false);
        assert_eq!(t.shift, Some(1));
        t.fill("two  spaces", 0, false);
        assert_eq!(t.shift, None);
        t.fill("caf\u{e9}", 0, false);
        assert_eq!(t.shift, None);
    }
}
