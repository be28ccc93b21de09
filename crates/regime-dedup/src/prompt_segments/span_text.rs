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

/// What decides between the fast path and the offset map, found in one
/// branch-free (vectorised) pass over a span's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    /// Every byte is ASCII.
    ascii: bool,
    /// Some whitespace byte is not a space (tab, line break, …).
    ctrl_ws: bool,
    /// Two whitespace bytes are adjacent (a run normalisation collapses).
    ws_run: bool,
}

impl Shape {
    fn of(bytes: &[u8]) -> Self {
        // Byte-wide accumulators over slice pairs so the loop vectorises
        // (`bool`s and iterator adapters such as `skip` keep it scalar).
        let next = bytes.get(1..).unwrap_or_default();
        let (mut high, mut ctrl, mut run) = (0u8, 0u8, 0u8);
        for (&a, &b) in bytes.iter().zip(next) {
            high |= a;
            ctrl |= u8::from(a.wrapping_sub(b'\t') < 5);
            run |= u8::from(is_ascii_ws(a)) & u8::from(is_ascii_ws(b));
        }
        // The pairs cover every byte but the last as `a`.
        let last = bytes.last().copied().unwrap_or(0);
        Self {
            ascii: (high | last) < 0x80,
            ctrl_ws: (ctrl | u8::from(last.wrapping_sub(b'\t') < 5)) != 0,
            ws_run: run != 0,
        }
    }
}

impl SpanText {
    /// Normalises `src`, whose first byte sits at `base` in the field.
    pub(super) fn fill(&mut self, src: &str, base: usize, case_fold: bool) {
        // `trim_ascii` trims what `trim` does on ASCII text except the
        // vertical tab (U+000B), which `char::is_whitespace` accepts.
        let trimmed = src.trim_ascii();
        let bytes = trimmed.as_bytes();
        let shape = Shape::of(bytes);
        let vt_end = bytes.first() == Some(&0x0B) || bytes.last() == Some(&0x0B);
        // Bytes trimmed off are ASCII, so an ASCII `trimmed` means an ASCII
        // `src`; with no whitespace run, each whitespace byte maps to one
        // space.
        if !shape.ascii || vt_end || shape.ws_run {
            self.shift = None;
            normalize_mapped(src, base, case_fold, &mut self.mapped);
            return;
        }
        self.plain.clear();
        if shape.ctrl_ws {
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
        let lead = src.len() - src.trim_ascii_start().len();
        self.shift = Some(base + lead);
    }

    /// Makes `self` normalise to what `src` does, reusing its buffers and
    /// copying only the representation `src` uses.
    pub(super) fn copy_from(&mut self, src: &Self) {
        self.shift = src.shift;
        if src.shift.is_some() {
            self.plain.clone_from(&src.plain);
        } else {
            self.mapped.copy_from(&src.mapped);
        }
    }

    /// Whether the span took the fast path, which only ASCII text does
    /// (so its normalised text has one character per byte).
    pub(super) fn is_ascii(&self) -> bool {
        self.shift.is_some()
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
    fn shape_agrees_with_per_byte_checks() {
        for src in [
            "",
            "a",
            " ",
            "a  b",
            "a\tb",
            "a\t b",
            "caf\u{e9}",
            "x\n",
            "\n\n",
            "ab c",
        ] {
            let bytes = src.as_bytes();
            let want = Shape {
                ascii: src.is_ascii(),
                ctrl_ws: bytes.iter().any(|&b| is_ascii_ws(b) && b != b' '),
                ws_run: bytes
                    .windows(2)
                    .any(|w| is_ascii_ws(w[0]) && is_ascii_ws(w[1])),
            };
            assert_eq!(Shape::of(bytes), want, "{src:?}");
        }
    }

    #[test]
    fn fast_path_is_taken_only_for_single_spaced_ascii() {
        let mut t = SpanText::default();
        t.fill("\nWhat is it?\n", 0, false);
        assert_eq!(t.shift, Some(1));
        assert!(t.is_ascii());
        t.fill("two  spaces", 0, false);
        assert_eq!(t.shift, None);
        t.fill("caf\u{e9}", 0, false);
        assert_eq!(t.shift, None);
        assert!(!t.is_ascii());
    }
}
