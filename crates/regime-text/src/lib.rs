//! Text handling for `regime`: normalisation for matching, segmentation,
//! tokenisation (built-in and Hugging Face `tokenizer.json`), protected
//! tokens, n-gram hashing and `MinHash` signatures.
//!
//! This crate is a leaf: it knows nothing of Arrow, Parquet, files (except
//! loading a `tokenizer.json`), statistics or the command line. Everything
//! here works on `&str` and returns plain values; the exact rules follow
//! `CORPUS.md` ("Text handling").
//!
//! # Overview
//! - [`Normalizer`]: NFC, whitespace runs → one space, trim; optional case
//!   fold and punctuation strip. For hashing and matching only. [`nfc`]:
//!   NFC alone (what the profile's built-in tokens are counted on).
//! - [`ProtectedTokens`]: `<image>`, `<video>`, `<|…|>` specials and a
//!   configurable list, never split, removed or rewritten.
//! - [`WordTokenizer`]: UAX #29 words, one token per Han/kana/Hangul
//!   character; [`HfTokenizer`]: a model's `tokenizer.json`. Both implement
//!   the [`Tokenizer`] trait, which yields [`Tokens`].
//! - [`segments`]: cuts at line breaks and sentence ends (prompt-segment
//!   de-duplication and template counts).
//! - [`token_hash`], [`ngram_hash`], [`ngram_hashes`], [`content_hash`]:
//!   xxh3 hashing.
//! - [`MinHasher`], [`word_shingles`], [`char_shingles`], [`jaccard`]:
//!   near-duplicate signatures and LSH band keys.
//!
//! # Example
//! ```
//! use regime_text::{Normalizer, Tokenizer, Tokens, WordTokenizer, segments};
//! # fn main() -> Result<(), regime_text::Error> {
//! let text = "<image>\nWhat color is the shape?  Answer briefly.";
//! let Tokens::Words(words) = WordTokenizer::new().tokenize(text)? else { unreachable!() };
//! assert_eq!(words[..3], ["<image>", "What", "color"]);
//! let segs: Vec<_> = segments(text).map(|s| s.text).collect();
//! assert_eq!(segs, ["<image>", "What color is the shape?", "Answer briefly."]);
//! let key = Normalizer::new().with_case_fold(true).normalize(segs[2]);
//! assert_eq!(key, "answer briefly.");
//! # Ok(())
//! # }
//! ```

mod error;
mod hash;
mod hf;
mod minhash;
mod normalize;
mod protect;
mod segment;
mod tokenizer;
mod words;

pub use error::Error;
pub use hash::{content_hash, id_hash, ngram_hash, ngram_hashes, token_hash};
pub use hf::HfTokenizer;
pub use minhash::{
    DEFAULT_BANDS, DEFAULT_ROWS, DEFAULT_SHINGLE_WORDS, MAX_HASHES, MERSENNE_61, MinHasher,
    bands_for_threshold, char_shingles, estimate_jaccard, jaccard, word_shingles,
};
pub use normalize::{
    DEFAULT_CASE_FOLD, DEFAULT_STRIP_PUNCTUATION, Normalizer, case_fold, is_punctuation, nfc,
};
pub use protect::{DEFAULT_PROTECTED, MAX_SPECIAL_LEN, ProtectedTokens, Span, Spans};
pub use segment::{Segment, Segments, is_sentence_end, segments};
pub use tokenizer::{TokenKind, Tokenizer, Tokens};
pub use words::{WordTokenizer, is_cjk, is_token_boundary};
