//! The tokenizer abstraction shared by the built-in and Hugging Face
//! tokenizers, so statistics code does not care which one produced tokens.

use std::fmt;

use crate::error::Error;
use crate::hf::HfTokenizer;
use crate::words::WordTokenizer;

/// What a [`Tokenizer`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Token strings (slices of the input); the built-in tokenizer.
    Words,
    /// Vocabulary ids of a model tokenizer.
    Ids,
}

/// The tokens of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tokens<'t> {
    /// Token strings, slices of the input text.
    Words(Vec<&'t str>),
    /// Vocabulary ids.
    Ids(Vec<u32>),
}

impl Tokens<'_> {
    /// Number of tokens.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Tokens::Words(w) => w.len(),
            Tokens::Ids(i) => i.len(),
        }
    }

    /// Whether there are no tokens.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tokenizer: text in, [`Tokens`] out.
pub trait Tokenizer: Send + Sync + fmt::Debug {
    /// Whether this tokenizer yields strings or ids.
    fn kind(&self) -> TokenKind;

    /// The tokens of `text`.
    ///
    /// # Errors
    /// [`Error::Encode`] when a model tokenizer fails on the text.
    fn tokenize<'t>(&self, text: &'t str) -> Result<Tokens<'t>, Error>;

    /// The display string of vocabulary id `id` (ids tokenizers only).
    fn id_name(&self, id: u32) -> Option<String> {
        let _ = id;
        None
    }
}

impl Tokenizer for WordTokenizer {
    fn kind(&self) -> TokenKind {
        TokenKind::Words
    }

    fn tokenize<'t>(&self, text: &'t str) -> Result<Tokens<'t>, Error> {
        Ok(Tokens::Words(self.words(text)))
    }
}

impl Tokenizer for HfTokenizer {
    fn kind(&self) -> TokenKind {
        TokenKind::Ids
    }

    fn tokenize<'t>(&self, text: &'t str) -> Result<Tokens<'t>, Error> {
        self.ids(text).map(Tokens::Ids)
    }

    fn id_name(&self, id: u32) -> Option<String> {
        self.token(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_tokenizer_through_the_trait() {
        let t: &dyn Tokenizer = &WordTokenizer::new();
        assert_eq!(t.kind(), TokenKind::Words);
        let toks = t.tokenize("a b").unwrap();
        assert_eq!(toks, Tokens::Words(vec!["a", "b"]));
        assert_eq!(toks.len(), 2);
        assert_eq!(t.id_name(0), None);
    }
}
