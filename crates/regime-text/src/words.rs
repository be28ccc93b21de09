//! The built-in word tokenizer.
//!
//! Tokens are, in order: every protected token (see [`ProtectedTokens`]) as
//! one token; and, in the plain text between them, every Unicode word-boundary
//! segment (UAX #29, [`unicode_segmentation`]) that holds at least one
//! alphanumeric character — whitespace and pure punctuation segments are not
//! tokens. Inside such a segment each Han, kana or Hangul character (see
//! [`is_cjk`]) is its own token, and the runs of other characters between
//! them are tokens when they hold an alphanumeric character. Tokens are
//! slices of the input: no normalisation is applied (normalise first with
//! [`crate::Normalizer`] when wanted).

use unicode_segmentation::UnicodeSegmentation;

use crate::protect::ProtectedTokens;

/// The built-in tokenizer: UAX #29 words, one token per Han/kana/Hangul
/// character, protected tokens kept whole.
///
/// ```
/// use regime_text::WordTokenizer;
/// let t = WordTokenizer::new();
/// assert_eq!(
///     t.words("<image>\nWhat's 3.5 in 中文?"),
///     ["<image>", "What's", "3.5", "in", "中", "文"]
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordTokenizer {
    protected: ProtectedTokens,
}

impl WordTokenizer {
    /// A tokenizer with [`ProtectedTokens::default`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokens kept whole. Default: [`ProtectedTokens::default`].
    #[must_use]
    pub fn with_protected(mut self, protected: ProtectedTokens) -> Self {
        self.protected = protected;
        self
    }

    /// The protected tokens in use.
    #[must_use]
    pub fn protected(&self) -> &ProtectedTokens {
        &self.protected
    }

    /// The tokens of `text`.
    #[must_use]
    pub fn words<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut out = Vec::new();
        self.words_into(text, &mut out);
        out
    }

    /// Appends the tokens of `text` to `out` (which is not cleared).
    pub fn words_into<'t>(&self, text: &'t str, out: &mut Vec<&'t str>) {
        self.for_each_word(text, |w| out.push(w));
    }

    /// Calls `f` on each token of `text`, in order.
    pub fn for_each_word<'t>(&self, text: &'t str, mut f: impl FnMut(&'t str)) {
        for span in self.protected.spans(text) {
            if span.protected {
                f(span.text);
                continue;
            }
            for seg in span.text.split_word_bounds() {
                if seg.is_ascii() {
                    if seg.bytes().any(|b| b.is_ascii_alphanumeric()) {
                        f(seg);
                    }
                } else {
                    split_cjk(seg, &mut f);
                }
            }
        }
    }
}

/// Emits the pieces of a non-ASCII word-boundary segment.
fn split_cjk<'t>(seg: &'t str, f: &mut impl FnMut(&'t str)) {
    let mut run_start = 0;
    let mut run_alnum = false;
    for (i, c) in seg.char_indices() {
        if is_cjk(c) {
            if run_alnum {
                f(&seg[run_start..i]);
            }
            let end = i + c.len_utf8();
            f(&seg[i..end]);
            run_start = end;
            run_alnum = false;
        } else if c.is_alphanumeric() {
            run_alnum = true;
        }
    }
    if run_alnum {
        f(&seg[run_start..]);
    }
}

/// Whether `c` is a Han, kana or Hangul character (each is its own token).
///
/// Blocks: CJK radicals and Kangxi (U+2E80–2FDF), CJK symbols that are
/// ideographic (々〆〇, Hangzhou numerals), Hiragana, Katakana and their
/// phonetic extensions, Hangul Jamo and compatibility Jamo, Bopomofo is *not*
/// included, CJK Unified Ideographs with extension A and B–I, compatibility
/// ideographs, Hangul syllables and Jamo extensions, half-width katakana and
/// Hangul, and the kana supplements.
#[must_use]
pub fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x11FF
        | 0x2E80..=0x2FDF
        | 0x3005..=0x3007
        | 0x3021..=0x3029
        | 0x3038..=0x303B
        | 0x3040..=0x30FF
        | 0x3130..=0x318F
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF
        | 0xFF66..=0xFF9F
        | 0xFFA0..=0xFFDC
        | 0x1B000..=0x1B16F
        | 0x20000..=0x2FA1F
        | 0x30000..=0x323AF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str) -> Vec<&str> {
        WordTokenizer::new().words(t)
    }

    #[test]
    fn uax29_words_drop_space_and_punctuation() {
        assert_eq!(
            w("Hello, world!  It's e.g. 3,000 foo_bar."),
            ["Hello", "world", "It's", "e.g", "3,000", "foo_bar"]
        );
    }

    #[test]
    fn han_kana_hangul_one_token_per_char() {
        assert_eq!(
            w("日本語テキスト"),
            ["日", "本", "語", "テ", "キ", "ス", "ト"]
        );
        assert_eq!(w("안녕 abc한"), ["안", "녕", "abc", "한"]);
        assert_eq!(w("x中y"), ["x", "中", "y"]);
    }

    #[test]
    fn protected_tokens_stay_whole() {
        assert_eq!(
            w("<image>\nDescribe<|im_end|>"),
            ["<image>", "Describe", "<|im_end|>"]
        );
        let t = WordTokenizer::new().with_protected(ProtectedTokens::default().with_token("[SEP]"));
        assert_eq!(t.words("a[SEP]b"), ["a", "[SEP]", "b"]);
    }

    #[test]
    fn accented_words_are_one_token() {
        assert_eq!(w("café naïve"), ["café", "naïve"]);
    }
}
