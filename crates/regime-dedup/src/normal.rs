//! Normalisation with an offset map back to the original text.
//!
//! The rules are `regime_text::Normalizer`'s (CORPUS.md, "Text handling"):
//! Unicode NFC, optional case fold, whitespace runs → one space, trim. That
//! type returns only the normalised string; matching a canonical segment
//! inside a later field also needs to know which original bytes a match
//! covers, so this module records, for every normalised byte, the original
//! byte range it came from. A unit test pins the two to the same output.
//!
//! NFC is applied per composition unit: a character and every following one
//! that may compose or reorder with what precedes it (a non-zero canonical
//! combining class, or `NFC_Quick_Check` = Maybe: Hangul vowel and final
//! jamo, the second half of a two-part vowel sign). Each normalised
//! character maps back to its whole unit. Text already in NFC (the common
//! case, checked up front) skips it. Not exact for the Tibetan vowel signs
//! U+0F73, U+0F75 and U+0F81 after other marks: of combining class 0, they
//! decompose into marks that reorder with those before them.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// A normalised text and, for each of its bytes, the original byte range.
#[derive(Debug, Default, Clone)]
pub(crate) struct Mapped {
    /// The normalised text.
    pub(crate) text: String,
    /// `starts[i]`: first original byte of what produced normalised byte `i`.
    starts: Vec<u32>,
    /// `ends[i]`: one past the last original byte of what produced byte `i`.
    ends: Vec<u32>,
}

impl Mapped {
    /// Original byte range of the normalised range `start..end` (non-empty).
    pub(crate) fn original(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.starts.get(start).copied().unwrap_or(0);
        let e = end
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .copied()
            .unwrap_or(s);
        (s as usize, e as usize)
    }

    /// Normalised range of the original range `start..end`, which must
    /// begin and end at non-whitespace (a trimmed segment).
    pub(crate) fn normalized_range(&self, start: usize, end: usize) -> (usize, usize) {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX);
        (
            self.starts.partition_point(|&s| s < start),
            self.starts.partition_point(|&s| s < end),
        )
    }

    fn clear(&mut self) {
        self.text.clear();
        self.starts.clear();
        self.ends.clear();
    }

    /// Makes `self` equal to `src`, reusing its buffers.
    pub(crate) fn copy_from(&mut self, src: &Self) {
        self.text.clone_from(&src.text);
        self.starts.clone_from(&src.starts);
        self.ends.clone_from(&src.ends);
    }

    fn push(&mut self, c: char, start: usize, end: usize) {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX);
        for _ in 0..c.len_utf8() {
            self.starts.push(start);
            self.ends.push(end);
        }
        self.text.push(c);
    }
}

/// Normalises `src` (whose first byte sits at `base` in the original text)
/// into `out`, replacing its contents.
pub(crate) fn normalize_mapped(src: &str, base: usize, case_fold: bool, out: &mut Mapped) {
    out.clear();
    let mut pending: Option<(usize, usize)> = None;
    let mut emit = |c: char, start: usize, end: usize, out: &mut Mapped| {
        if c.is_whitespace() {
            pending = Some(match pending {
                Some((s, _)) => (s, end),
                None => (start, end),
            });
            return;
        }
        if let Some((s, e)) = pending.take()
            && !out.text.is_empty()
        {
            out.push(' ', s, e);
        }
        if case_fold && !c.is_ascii() {
            for l in regime_text::case_fold(c) {
                out.push(l, start, end);
            }
        } else if case_fold {
            out.push(c.to_ascii_lowercase(), start, end);
        } else {
            out.push(c, start, end);
        }
    };
    if src.is_ascii() || is_nfc_quick(src.chars()) == IsNormalized::Yes {
        for (i, c) in src.char_indices() {
            emit(c, base + i, base + i + c.len_utf8(), out);
        }
        return;
    }
    // Composition units: a character plus those that may join it.
    let mut group_start = 0;
    let mut chars = src.char_indices().peekable();
    let mut buf = String::new();
    while let Some((i, c)) = chars.next() {
        buf.push(c);
        let next_joins = chars.peek().is_some_and(|&(_, d)| {
            canonical_combining_class(d) != 0
                || is_nfc_quick(std::iter::once(d)) == IsNormalized::Maybe
        });
        if next_joins {
            continue;
        }
        let end = i + c.len_utf8();
        if buf.chars().count() == 1 {
            emit(c, base + group_start, base + end, out);
        } else {
            for n in buf.nfc() {
                emit(n, base + group_start, base + end, out);
            }
        }
        buf.clear();
        group_start = end;
    }
}

#[cfg(test)]
mod tests {
    use regime_text::Normalizer;

    use super::*;

    fn norm(s: &str, fold: bool) -> Mapped {
        let mut m = Mapped::default();
        normalize_mapped(s, 0, fold, &mut m);
        m
    }

    #[test]
    fn agrees_with_regime_text_normalizer() {
        for text in [
            "  plain   text\t\nhere ",
            "e\u{301}cole  Ünï\u{308}",
            "MiXeD Case İ ß ΟΔΟΣ ﬁ",
            "",
            " \n ",
            "a\u{2028}b",
            // Decomposed Hangul (L V T, and LV + T) and a Tamil two-part
            // vowel sign compose across two starters.
            "\u{1112}\u{1161}\u{11ab}\u{1100}\u{116e}\u{11a8} \u{ac00}\u{11a8}",
            "\u{b95}\u{bc6}\u{bbe}",
        ] {
            for fold in [false, true] {
                let want = Normalizer::new().with_case_fold(fold).normalize(text);
                assert_eq!(norm(text, fold).text, want, "{text:?} fold={fold}");
            }
        }
    }

    #[test]
    fn maps_matches_back_to_original_bytes() {
        let text = "Say:  what\n is   it?";
        let m = norm(text, false);
        assert_eq!(m.text, "Say: what is it?");
        let start = m.text.find("what").unwrap();
        let (s, e) = m.original(start, m.text.len());
        assert_eq!(&text[s..e], "what\n is   it?");
    }

    #[test]
    fn maps_composed_characters_to_their_sequence() {
        let text = "x e\u{301}t\u{e9} y";
        let m = norm(text, false);
        assert_eq!(m.text, "x \u{e9}t\u{e9} y");
        let start = m.text.find('\u{e9}').unwrap();
        let (s, e) = m.original(start, start + '\u{e9}'.len_utf8());
        assert_eq!(&text[s..e], "e\u{301}");
    }
}
