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
//! [`crate::nfc`] or [`crate::Normalizer`] when wanted).

use unicode_segmentation::{GraphemeCursor, UnicodeSegmentation};

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
            } else if span.text.is_ascii() {
                ascii_words(span.text, &mut f);
            } else {
                mixed_words(span.text, &mut f);
            }
        }
    }
}

/// Word-break classes of ASCII bytes (UAX #29 `Word_Break` values).
const OTHER: u8 = 0;
/// `ALetter`: `A-Z`, `a-z`.
const LETTER: u8 = 1;
/// `Numeric`: `0-9`.
const DIGIT: u8 = 2;
/// `ExtendNumLet`: `_`.
const CONNECTOR: u8 = 3;
/// `MidLetter`: `:`.
const MID_LETTER: u8 = 4;
/// `MidNum`: `,` and `;`.
const MID_NUM: u8 = 5;
/// `MidNumLet` and `Single_Quote`: `.` and `'`.
const MID_BOTH: u8 = 6;

/// The class of every ASCII byte (bytes ≥ 0x80 never reach the table).
const CLASS: [u8; 128] = {
    let mut t = [OTHER; 128];
    let mut b: u8 = 0;
    while b < 128 {
        t[b as usize] = match b {
            b'A'..=b'Z' | b'a'..=b'z' => LETTER,
            b'0'..=b'9' => DIGIT,
            b'_' => CONNECTOR,
            b':' => MID_LETTER,
            b',' | b';' => MID_NUM,
            b'.' | b'\'' => MID_BOTH,
            _ => OTHER,
        };
        b += 1;
    }
    t
};

fn class(b: u8) -> u8 {
    CLASS.get(usize::from(b)).copied().unwrap_or(OTHER)
}

/// UAX #29 words of ASCII text, keeping those with an alphanumeric.
///
/// For ASCII the rules reduce to: runs of letters, digits and `_` are one
/// segment (WB5, WB8–WB10, WB13a/b), joined across one `:`, `.` or `'`
/// between two letters (WB6/7) and one `,`, `;`, `.` or `'` between two
/// digits (WB11/12); every other byte is a segment of its own. The
/// `mixed_text_matches_unicode_segmentation` property test checks this
/// against `unicode-segmentation`.
fn ascii_words<'t>(text: &'t str, f: &mut impl FnMut(&'t str)) {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(&first) = b.get(i) {
        if !matches!(class(first), LETTER | DIGIT | CONNECTOR) {
            i += 1;
            continue;
        }
        let start = i;
        let mut alnum = false;
        loop {
            while let Some(&c) = b.get(i) {
                let k = class(c);
                if !matches!(k, LETTER | DIGIT | CONNECTOR) {
                    break;
                }
                alnum |= k != CONNECTOR;
                i += 1;
            }
            let (Some(&prev), Some(&mid), Some(&next)) = (b.get(i - 1), b.get(i), b.get(i + 1))
            else {
                break;
            };
            let (prev, mid, next) = (class(prev), class(mid), class(next));
            let join = (prev == LETTER && next == LETTER && matches!(mid, MID_LETTER | MID_BOTH))
                || (prev == DIGIT && next == DIGIT && matches!(mid, MID_NUM | MID_BOTH));
            if !join {
                break;
            }
            i += 1;
        }
        if alnum {
            f(&text[start..i]);
        }
    }
}

/// Whether cutting `text` at byte `at` splits no token of the built-in
/// tokenizer: next to a Han, kana or Hangul character (each, with the marks
/// that join it, a token of its own) exactly the grapheme cluster
/// boundaries; elsewhere the UAX #29 word boundaries. Both ends of the
/// text are boundaries; `false` when `at` is not a char boundary.
///
/// ```
/// use regime_text::is_token_boundary;
/// let t = "the image's 3.5 中文";
/// assert!(is_token_boundary(t, 4)); // "the |image"
/// assert!(!is_token_boundary(t, 9)); // "image|'s"
/// assert!(!is_token_boundary(t, 13)); // "3|.5"
/// assert!(is_token_boundary(t, t.len() - 3)); // "中|文"
/// ```
#[must_use]
pub fn is_token_boundary(text: &str, at: usize) -> bool {
    let b = text.as_bytes();
    let (Some(&x), Some(&y)) = (at.checked_sub(1).and_then(|i| b.get(i)), b.get(at)) else {
        return text.is_char_boundary(at);
    };
    // With ASCII two characters each way no rule needs more (no combining
    // marks or regional indicators to skip), and no Han / kana / Hangul.
    let x2 = at.checked_sub(2).and_then(|i| b.get(i)).copied();
    let y2 = b.get(at + 1).copied();
    if x.is_ascii()
        && y.is_ascii()
        && x2.is_none_or(|c| c.is_ascii())
        && y2.is_none_or(|c| c.is_ascii())
    {
        return ascii_boundary(x2, x, y, y2);
    }
    if !text.is_char_boundary(at) {
        return false;
    }
    let (Some(x), Some(y)) = (text[..at].chars().next_back(), text[at..].chars().next()) else {
        return true;
    };
    if is_cjk(x) || is_cjk(y) {
        // A Han / kana / Hangul token ends where its grapheme cluster does.
        return GraphemeCursor::new(at, text.len(), true)
            .is_boundary(text, 0)
            .unwrap_or(true);
    }
    uax29_boundary(text, at)
}

/// [`is_token_boundary`] between the ASCII bytes `x` and `y`, given the
/// ASCII bytes around them (`None` at an end of the text): the rules of
/// [`ascii_words`] plus CR LF (rule WB3) and space runs (rule 3d).
fn ascii_boundary(x2: Option<u8>, x: u8, y: u8, y2: Option<u8>) -> bool {
    let word = |k| matches!(k, LETTER | DIGIT | CONNECTOR);
    let (kx, ky) = (class(x), class(y));
    let (kx2, ky2) = (x2.map_or(OTHER, class), y2.map_or(OTHER, class));
    let joined = (x == b'\r' && y == b'\n')
        || (x == b' ' && y == b' ')
        || (word(kx) && word(ky))
        || (kx == LETTER && matches!(ky, MID_LETTER | MID_BOTH) && ky2 == LETTER)
        || (kx2 == LETTER && matches!(kx, MID_LETTER | MID_BOTH) && ky == LETTER)
        || (kx == DIGIT && matches!(ky, MID_NUM | MID_BOTH) && ky2 == DIGIT)
        || (kx2 == DIGIT && matches!(kx, MID_NUM | MID_BOTH) && ky == DIGIT);
    !joined
}

/// [`is_token_boundary`] through `unicode-segmentation`, for a cut with
/// non-ASCII text around it. Only the piece of `text` from the run of
/// ASCII whitespace before `at` to the first one after it is segmented: no
/// UAX #29 rule looks across whitespace (see [`mixed_words`]), and the
/// whitespace itself is kept, since rules 3d and 4 join to it.
fn uax29_boundary(text: &str, at: usize) -> bool {
    let b = text.as_bytes();
    let ws = |c: &u8| c.is_ascii_whitespace() || *c == 0x0b;
    // Text without ASCII whitespace (CJK, Thai, NBSP-separated) could make
    // the piece the whole field, and every check a pass over it: cap it at
    // `UAX29_REACH` bytes each way. The rules look two characters past
    // runs of combining marks and at the parity of a run of regional
    // indicators, so the cap changes nothing short of such a run of ≈ 60
    // characters.
    let floor = text.floor_char_boundary(at.saturating_sub(UAX29_REACH));
    let start = b[floor..at].iter().rposition(ws).map_or(floor, |i| {
        b[floor..floor + i]
            .iter()
            .rposition(|c| !ws(c))
            .map_or(floor, |j| floor + j + 1)
    });
    let ceiling = text.ceil_char_boundary(at.saturating_add(UAX29_REACH));
    let end = b[at + 1..ceiling]
        .iter()
        .position(ws)
        .map_or(ceiling, |i| at + 2 + i);
    text[start..end]
        .split_word_bound_indices()
        .map(|(i, _)| start + i)
        .take_while(|&i| i <= at)
        .any(|i| i == at)
}

/// Bytes each way [`uax29_boundary`] segments at most.
const UAX29_REACH: usize = 256;

/// Words of text with non-ASCII characters.
///
/// The text is cut after each run of ASCII whitespace that an ASCII byte
/// follows: UAX #29 always breaks there (no rule joins whitespace to a
/// following ASCII character, and no rule looks across whitespace), so
/// each piece can be segmented alone. Pure-ASCII pieces take
/// [`ascii_words`]; the others (with the whitespace before any non-ASCII
/// character kept, since WB4 attaches combining marks to it) go through
/// [`uax29_words`].
fn mixed_words<'t>(text: &'t str, f: &mut impl FnMut(&'t str)) {
    let b = text.as_bytes();
    let (mut start, mut ascii, mut i) = (0, true, 0);
    while let Some(&c) = b.get(i) {
        if !c.is_ascii() {
            ascii = false;
            i += 1;
            continue;
        }
        if !c.is_ascii_whitespace() && c != 0x0b {
            i += 1;
            continue;
        }
        let ws = i;
        while b
            .get(i)
            .is_some_and(|&c| c.is_ascii_whitespace() || c == 0x0b)
        {
            i += 1;
        }
        if b.get(i).is_none_or(u8::is_ascii) {
            words_of_piece(&text[start..ws], ascii, f);
            (start, ascii) = (i, true);
        }
    }
    words_of_piece(&text[start..], ascii, f);
}

fn words_of_piece<'t>(piece: &'t str, ascii: bool, f: &mut impl FnMut(&'t str)) {
    if ascii {
        ascii_words(piece, f);
    } else {
        uax29_words(piece, f);
    }
}

/// UAX #29 words through `unicode-segmentation` (any text).
fn uax29_words<'t>(text: &'t str, f: &mut impl FnMut(&'t str)) {
    for seg in text.split_word_bounds() {
        if seg.is_ascii() {
            if seg.bytes().any(|b| b.is_ascii_alphanumeric()) {
                f(seg);
            }
        } else {
            split_cjk(seg, f);
        }
    }
}

/// Emits the pieces of a non-ASCII word-boundary segment: each Han, kana
/// or Hangul character with the marks that join it (a grapheme cluster, so
/// `か` + U+3099 and decomposed Hangul jamo stay one token), and the runs
/// of other characters between them that hold an alphanumeric.
fn split_cjk<'t>(seg: &'t str, f: &mut impl FnMut(&'t str)) {
    if !seg.chars().any(is_cjk) {
        if seg.chars().any(char::is_alphanumeric) {
            f(seg);
        }
        return;
    }
    let mut run_start = 0;
    let mut run_alnum = false;
    for (i, g) in seg.grapheme_indices(true) {
        if g.chars().next().is_some_and(is_cjk) {
            if run_alnum {
                f(&seg[run_start..i]);
            }
            f(g);
            run_start = i + g.len();
            run_alnum = false;
        } else if g.chars().any(char::is_alphanumeric) {
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
        // Marks and conjoining jamo stay with their character.
        assert_eq!(w("か\u{3099}き\u{3099}"), ["か\u{3099}", "き\u{3099}"]);
        assert_eq!(
            w("\u{1112}\u{1161}\u{11ab}\u{1100}\u{116e}\u{11a8} x"),
            ["\u{1112}\u{1161}\u{11ab}", "\u{1100}\u{116e}\u{11a8}", "x"]
        );
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

    /// The tokens as the plain UAX #29 path gives them (no ASCII shortcut).
    fn reference(t: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for span in ProtectedTokens::default().spans(t) {
            if span.protected {
                out.push(span.text);
            } else {
                uax29_words(span.text, &mut |w| out.push(w));
            }
        }
        out
    }

    #[test]
    fn ascii_rules_by_hand() {
        // letters join over : . ' ; digits over , ; . ' ; `_` joins both.
        assert_eq!(
            w("a:b a,b 1,2 1:2 x.y 3.4 it's 1'0 a;b 1;2 _ __x a_1 a..b 1.a"),
            [
                "a:b", "a", "b", "1,2", "1", "2", "x.y", "3.4", "it's", "1'0", "a", "b", "1;2",
                "__x", "a_1", "a", "b", "1", "a"
            ]
        );
        assert_eq!(w("end. a: 'q' x'"), ["end", "a", "q", "x"]);
    }

    #[test]
    fn mixed_pieces_match_reference() {
        for t in [
            "caf\u{e9} \u{301}a b\u{301}",
            " \u{93e}x \u{200d}y",
            "\u{3000} a\tb\r\nc\u{b}d",
            "\u{2019}s it\u{2019}s 3\u{2019}000",
            "a \u{1F1E6}\u{1F1E8} b",
        ] {
            assert_eq!(w(t), reference(t), "{t:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn mixed_text_matches_unicode_segmentation(
            t in proptest::string::string_regex(
                "[a-zA-Z0-9_.,;:'\" \t\n\r\u{b}\u{c}<>|!é中ä\u{301}\u{93e}\u{200d}\u{3000}\u{2019}\u{ad}\u{1F600}\u{1F1E6}]{0,40}"
            ).unwrap()
        ) {
            proptest::prop_assert_eq!(w(&t), reference(&t));
        }

        #[test]
        fn token_boundaries_match_unicode_segmentation(
            t in proptest::string::string_regex(
                "[a-zA-Z0-9_.,;:'\" \t\n\r\u{b}\u{c}<>|!é中ä\u{301}\u{93e}\u{200d}\u{3000}\u{2019}\u{ad}\u{1F600}\u{1F1E6}か\u{3099}\u{1112}\u{1161}\u{11ab}\u{e33}\u{600}]{0,40}"
            ).unwrap()
        ) {
            proptest::prop_assert_eq!(cuts(&t), boundaries(&t));
        }
    }

    /// `is_token_boundary` by its definition: next to a Han / kana /
    /// Hangul character the grapheme cluster boundaries of the whole text,
    /// elsewhere its UAX #29 boundaries.
    fn boundaries(t: &str) -> Vec<usize> {
        let uax: Vec<usize> = t.split_word_bound_indices().map(|(i, _)| i).collect();
        let graphemes: Vec<usize> = t.grapheme_indices(true).map(|(i, _)| i).collect();
        (0..=t.len())
            .filter(|&i| t.is_char_boundary(i))
            .filter(|&i| {
                let cjk = t[..i].chars().next_back().is_some_and(is_cjk)
                    || t[i..].chars().next().is_some_and(is_cjk);
                i == t.len()
                    || if cjk {
                        graphemes.contains(&i)
                    } else {
                        uax.contains(&i)
                    }
            })
            .collect()
    }

    fn cuts(t: &str) -> Vec<usize> {
        (0..=t.len()).filter(|&i| is_token_boundary(t, i)).collect()
    }

    #[test]
    fn token_boundaries_by_hand() {
        let t = "image's 3.5 a:b x.Y it\u{2019}s";
        assert!(!is_token_boundary(t, 5), "image|'s");
        assert!(!is_token_boundary(t, 6), "image'|s");
        assert!(!is_token_boundary(t, 9), "3|.5");
        assert!(!is_token_boundary(t, 13), "a|:b");
        assert!(!is_token_boundary(t, 17), "x|.Y");
        assert!(!is_token_boundary(t, 22), "it|\u{2019}s");
        assert!(is_token_boundary(t, 7), "image's| ");
        assert!(is_token_boundary(t, 8), " |3.5");
        assert!(!is_token_boundary("e\u{301}x", 1), "e|\u{301}");
        assert!(!is_token_boundary("\u{1F1E6}\u{1F1E8}", 4), "one flag");
        assert!(is_token_boundary("end. Next", 4), "end.| Next");
        assert!(is_token_boundary("a\u{3000}b", 1), "a|ideographic space");
        assert!(is_token_boundary("中文", 3));
        assert!(!is_token_boundary("か\u{3099}", 3), "か|dakuten");
        assert!(!is_token_boundary("\u{1112}\u{1161}", 3), "jamo L|V");
        assert!(!is_token_boundary("中", 1), "not a char boundary");
        assert!(is_token_boundary("", 0));
    }

    #[test]
    fn long_text_without_spaces_is_checked_near_the_cut() {
        // 360 KB of Thai without a space: the check segments ≤ 512 bytes
        // around each cut and agrees with the whole text's boundaries.
        let t = "\u{e2a}\u{e27}\u{e31}\u{e2a}\u{e14}\u{e35}".repeat(20_000);
        let whole: Vec<usize> = t.split_word_bound_indices().map(|(i, _)| i).collect();
        for at in (t.len() / 2..t.len() / 2 + 60).filter(|&i| t.is_char_boundary(i)) {
            assert_eq!(
                is_token_boundary(&t, at),
                whole.binary_search(&at).is_ok(),
                "{at}"
            );
        }
    }

    #[test]
    fn token_boundaries_match_definition() {
        for t in [
            "caf\u{e9} \u{301}a b\u{301}",
            " \u{93e}x \u{200d}y",
            "\u{3000} a\tb\r\nc\u{b}d",
            "\u{2019}s it\u{2019}s 3\u{2019}000",
            "a \u{1F1E6}\u{1F1E8}\u{1F1E6} b",
            "  \u{301}x",
            "か\u{3099}x \u{1112}\u{1161}\u{11ab}a 中\u{301}中",
        ] {
            assert_eq!(cuts(t), boundaries(t), "{t:?}");
        }
    }

    #[test]
    fn accented_words_are_one_token() {
        assert_eq!(w("café naïve"), ["café", "naïve"]);
    }
}
