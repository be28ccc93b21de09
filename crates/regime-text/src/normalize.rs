//! Normalisation for hashing and matching (never for output).
//!
//! Steps, in order, applied to every plain span (protected tokens are copied
//! unchanged): Unicode NFC; optional case fold (full Unicode case folding,
//! [`case_fold`]); optional punctuation strip (Unicode general
//! category P\* plus every ASCII punctuation or symbol character, removed
//! without replacement); whitespace runs become one ASCII space; leading and
//! trailing whitespace is trimmed.

use caseless::Caseless;
use std::borrow::Cow;
use unicode_categories::UnicodeCategories;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::protect::ProtectedTokens;

/// Default for [`Normalizer::with_case_fold`].
pub const DEFAULT_CASE_FOLD: bool = false;
/// Default for [`Normalizer::with_strip_punctuation`].
pub const DEFAULT_STRIP_PUNCTUATION: bool = false;

/// Normalises text for hashing and matching.
///
/// ```
/// use regime_text::Normalizer;
/// let n = Normalizer::new().with_case_fold(true);
/// assert_eq!(n.normalize("  Hello \t\n WORLD <image> "), "hello world <image>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalizer {
    case_fold: bool,
    strip_punctuation: bool,
    protected: ProtectedTokens,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalizer {
    /// NFC plus whitespace collapsing, with [`ProtectedTokens::default`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            case_fold: DEFAULT_CASE_FOLD,
            strip_punctuation: DEFAULT_STRIP_PUNCTUATION,
            protected: ProtectedTokens::default(),
        }
    }

    /// Case-fold every plain character ([`case_fold`]). Default:
    /// [`DEFAULT_CASE_FOLD`].
    #[must_use]
    pub fn with_case_fold(mut self, on: bool) -> Self {
        self.case_fold = on;
        self
    }

    /// Remove punctuation from plain spans. Default:
    /// [`DEFAULT_STRIP_PUNCTUATION`].
    #[must_use]
    pub fn with_strip_punctuation(mut self, on: bool) -> Self {
        self.strip_punctuation = on;
        self
    }

    /// Tokens copied through unchanged. Default: [`ProtectedTokens::default`].
    #[must_use]
    pub fn with_protected(mut self, protected: ProtectedTokens) -> Self {
        self.protected = protected;
        self
    }

    /// The normalised form of `text`.
    #[must_use]
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.normalize_into(text, &mut out);
        out
    }

    /// Appends the normalised form of `text` to `out` (which is not cleared).
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        let base = out.len();
        let mut pending_space = false;
        for span in self.protected.spans(text) {
            if span.protected {
                if pending_space && out.len() > base {
                    out.push(' ');
                }
                pending_space = false;
                out.push_str(span.text);
                continue;
            }
            if !self.case_fold && !self.strip_punctuation && span.text.is_ascii() {
                // Copy whole runs between whitespace instead of char by char.
                for run in span.text.split(is_ascii_space) {
                    if run.is_empty() {
                        pending_space = true;
                        continue;
                    }
                    if pending_space && out.len() > base {
                        out.push(' ');
                    }
                    out.push_str(run);
                    pending_space = true;
                }
                // Whitespace follows the last run only when the span ends with it.
                pending_space = span.text.ends_with(is_ascii_space);
                continue;
            }
            let mut emit = |c: char, out: &mut String| {
                if c.is_whitespace() {
                    pending_space = true;
                } else if !(self.strip_punctuation && is_punctuation(c)) {
                    if pending_space && out.len() > base {
                        out.push(' ');
                    }
                    pending_space = false;
                    out.push(c);
                }
            };
            if span.text.is_ascii() {
                // ASCII is already NFC and case-folds to lower case.
                for c in span.text.chars() {
                    emit(
                        if self.case_fold {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        },
                        out,
                    );
                }
            } else {
                for c in span.text.nfc() {
                    if self.case_fold {
                        for l in case_fold(c) {
                            emit(l, out);
                        }
                    } else {
                        emit(c, out);
                    }
                }
            }
        }
    }
}

/// The full Unicode case folding of `c` (`CaseFolding.txt`, statuses C
/// and F, through the `caseless` crate): what case-insensitive matching
/// compares, so `ß` and `ss`, `ς` and `σ`, `ﬁ` and `fi` are equal, which
/// lower-casing alone does not give.
///
/// ```
/// let fold = |s: &str| s.chars().flat_map(regime_text::case_fold).collect::<String>();
/// assert_eq!(fold("Straße"), fold("STRASSE"));
/// assert_eq!(fold("ΟΔΟΣ"), fold("οδος"));
/// ```
pub fn case_fold(c: char) -> impl Iterator<Item = char> {
    std::iter::once(c).default_case_fold()
}

/// The ASCII characters that `char::is_whitespace` accepts.
fn is_ascii_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// `text` in Unicode NFC, and nothing else changed: borrowed when it is
/// NFC already (ASCII, or by the NFC quick check), so that text, the
/// common case, costs no copy.
///
/// ```
/// // "e" + U+0301 COMBINING ACUTE ACCENT composes to U+00E9.
/// assert_eq!(regime_text::nfc("cafe\u{301}  au lait"), "caf\u{e9}  au lait");
/// assert!(matches!(regime_text::nfc("café"), std::borrow::Cow::Borrowed(_)));
/// ```
#[must_use]
pub fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Unicode punctuation (general category P\*) or ASCII punctuation/symbol.
#[must_use]
pub fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && c.is_punctuation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace_and_trims() {
        assert_eq!(Normalizer::new().normalize(" \t a \n\n b  "), "a b");
        assert_eq!(Normalizer::new().normalize("   "), "");
    }

    #[test]
    fn nfc_composes() {
        // "e" + U+0301 COMBINING ACUTE -> U+00E9.
        assert_eq!(Normalizer::new().normalize("e\u{301}"), "\u{e9}");
    }

    #[test]
    fn nfc_composes_only_what_needs_it() {
        // Hangul jamo compose to a syllable; a lone combining mark stays.
        assert_eq!(nfc("\u{1100}\u{1161}\u{11a8}"), "\u{ac01}");
        assert_eq!(nfc("\u{301}x"), "\u{301}x");
        // Reordered canonically: dot below (ccc 220) before acute (230).
        assert_eq!(nfc("q\u{301}\u{323}"), "q\u{323}\u{301}");
        for text in ["plain ASCII", "\u{e9}t\u{e9}", "中文 <image>", ""] {
            assert!(matches!(nfc(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn case_fold_and_punctuation_keep_protected() {
        let n = Normalizer::new()
            .with_case_fold(true)
            .with_strip_punctuation(true);
        assert_eq!(
            n.normalize("Hi, THERE!<|IM_END|> “Ok”…"),
            "hi there<|IM_END|> ok"
        );
        assert_eq!(n.normalize("a<image>b"), "a<image>b");
    }

    #[test]
    fn case_fold_is_unicode_case_folding() {
        let n = Normalizer::new().with_case_fold(true);
        // Lower-casing alone leaves `ß`, final `ς` and ligatures apart.
        assert_eq!(n.normalize("Die Straße"), n.normalize("DIE STRASSE"));
        assert_eq!(n.normalize("ΤΗΣ ΕΙΚΟΝΑΣ"), n.normalize("της εικονας"));
        assert_eq!(n.normalize("ﬁle"), "file");
        assert_ne!(
            Normalizer::new().normalize("Straße"),
            Normalizer::new().normalize("STRASSE"),
            "folding only when asked"
        );
    }

    #[test]
    fn ascii_fast_path_equals_char_loop() {
        // Case fold off takes the run-copy path; fold on takes the char loop,
        // and both must agree on spacing once lower-cased.
        let plain = Normalizer::new();
        let fold = Normalizer::new().with_case_fold(true);
        for t in [
            " a\t\tb \n",
            "ab",
            "  ",
            "x<image> y\u{b}z ",
            "a <|im_end|>\r\nb",
        ] {
            assert_eq!(
                plain.normalize(t).to_lowercase(),
                fold.normalize(t),
                "{t:?}"
            );
        }
        assert_eq!(plain.normalize("a \u{c}<image>\tb"), "a <image> b");
    }

    #[test]
    fn output_is_idempotent() {
        let n = Normalizer::new().with_case_fold(true);
        let once = n.normalize(" Ünï  cödé\u{301}\t x ");
        assert_eq!(n.normalize(&once), once);
    }
}
