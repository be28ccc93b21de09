//! A Hugging Face `tokenizer.json` tokenizer (through the `tokenizers` crate).
//!
//! Loaded with padding and truncation switched off; texts are encoded as they
//! are (the tokenizer's own normaliser and pre-tokenizer apply) and no special
//! tokens are added (`add_special_tokens = false`), which is what the Python
//! `tokenizers` package does with `Tokenizer.from_file(p).encode(text,
//! add_special_tokens=False)` after `no_padding()` / `no_truncation()`.

use std::path::Path;

use crate::error::Error;

/// A model tokenizer loaded from a `tokenizer.json`.
#[derive(Debug, Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
}

impl HfTokenizer {
    /// Loads `path`, switching padding and truncation off.
    ///
    /// # Errors
    /// [`Error::TokenizerLoad`] when the file cannot be read or parsed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let load = |source| Error::TokenizerLoad {
            path: path.to_path_buf(),
            source,
        };
        let mut inner = tokenizers::Tokenizer::from_file(path).map_err(load)?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(load)?;
        Ok(Self { inner })
    }

    /// Loads a tokenizer from the JSON text of a `tokenizer.json`.
    ///
    /// # Errors
    /// [`Error::TokenizerLoad`] (with path `<memory>`) when it does not parse.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let load = |source| Error::TokenizerLoad {
            path: "<memory>".into(),
            source,
        };
        let mut inner: tokenizers::Tokenizer = json.parse().map_err(load)?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(load)?;
        Ok(Self { inner })
    }

    /// The token ids of `text`.
    ///
    /// # Errors
    /// [`Error::Encode`] when the tokenizer fails.
    pub fn ids(&self, text: &str) -> Result<Vec<u32>, Error> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|source| Error::Encode {
                len: text.len(),
                source,
            })?;
        Ok(enc.get_ids().to_vec())
    }

    /// The vocabulary string of token `id` (e.g. `Ġthe` for byte-level BPE).
    #[must_use]
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// `ids` decoded back to text by the tokenizer's decoder, special tokens
    /// kept (`" the"` for byte-level BPE's `Ġthe`). A byte-level token that
    /// holds part of a character decodes to U+FFFD; `None` when the decoder
    /// fails.
    #[must_use]
    pub fn decode(&self, ids: &[u32]) -> Option<String> {
        self.inner.decode(ids, false).ok()
    }

    /// Vocabulary size, added tokens included.
    #[must_use]
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDLEVEL: &str = r#"{
      "version": "1.0", "truncation": null,
      "padding": {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": null,
                  "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
      "added_tokens": [], "normalizer": null,
      "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
      "model": {"type": "WordLevel", "vocab": {"[PAD]": 0, "[UNK]": 1, "a": 2, "b": 3},
                "unk_token": "[UNK]"}
    }"#;

    #[test]
    fn padding_is_off_and_ids_match_vocab() {
        let t = HfTokenizer::from_json(WORDLEVEL).unwrap();
        assert_eq!(t.ids("a b a zz").unwrap(), [2, 3, 2, 1]);
        assert_eq!(t.token(3).as_deref(), Some("b"));
        assert_eq!(t.vocab_size(), 4);
    }

    #[test]
    fn qwen3_tokenizer_loads_with_the_pure_rust_regex() {
        // The real Qwen3 byte-level BPE shipped in ../shared/data (skipped when absent).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/tokenizers/qwen3-tokenizer.json");
        if !path.exists() {
            return;
        }
        let t = HfTokenizer::from_file(&path).unwrap();
        let ids = t.ids("Hello world<|im_end|> 你好").unwrap();
        assert!(!ids.is_empty());
        // Special tokens in the text are matched, none are added around it.
        assert_eq!(t.token(ids[0]).as_deref(), Some("Hello"));
        assert!(
            ids.iter()
                .any(|&i| t.token(i).as_deref() == Some("<|im_end|>"))
        );
        // Vocabulary strings are byte-level pieces; decoding gives the text back.
        let han = t.ids(" 你好").unwrap();
        assert_ne!(t.token(han[0]).as_deref(), Some(" 你"));
        assert_eq!(t.decode(&han).as_deref(), Some(" 你好"));
    }

    #[test]
    fn bad_file_is_a_typed_error() {
        let err = HfTokenizer::from_file("/nonexistent/tokenizer.json").unwrap_err();
        assert!(matches!(err, Error::TokenizerLoad { .. }));
        assert!(err.to_string().contains("/nonexistent/tokenizer.json"));
    }
}
