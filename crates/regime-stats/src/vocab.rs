//! Token interning: local dense ids for word tokens, identity for model ids.
//!
//! Word tokens are interned to `u32` ids in first-seen order; combining two
//! states re-maps the other's ids through the strings, so the ids never leak
//! into results (everything reported is sorted by string or count). Model
//! token ids are used as they are. Every type also has a shard-independent
//! 64-bit hash (`xxh3` of the string, or of the id's little-endian bytes,
//! the same values as `regime_text::token_hash` / `id_hash`) for the
//! `HyperLogLog` sketches.

use hashbrown::HashMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

/// What the tokens of a profile are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSpace {
    /// Strings from the built-in word tokenizer.
    Words,
    /// Vocabulary ids of a model tokenizer.
    Ids,
}

/// The tokens of one field, as the statistics code takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSeq<'a> {
    /// Token strings.
    Words(&'a [&'a str]),
    /// Vocabulary ids.
    Ids(&'a [u32]),
}

impl TokenSeq<'_> {
    /// Number of tokens.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            TokenSeq::Words(w) => w.len(),
            TokenSeq::Ids(i) => i.len(),
        }
    }

    /// Whether there are no tokens.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The interner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub(crate) struct Vocab {
    map: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    hashes: Vec<u64>,
    /// Σ name lengths, kept so [`Self::bytes`] is O(1) (the memory budget
    /// asks often).
    name_bytes: usize,
}

impl From<Vec<String>> for Vocab {
    fn from(names: Vec<String>) -> Self {
        let mut v = Vocab::default();
        for n in names {
            v.intern(&n);
        }
        v
    }
}

impl From<Vocab> for Vec<String> {
    fn from(v: Vocab) -> Self {
        v.names.into_iter().map(String::from).collect()
    }
}

impl Vocab {
    pub(crate) fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.map.get(word) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("invariant: fewer than 2^32 types");
        let name: Box<str> = word.into();
        self.map.insert(name.clone(), id);
        self.names.push(name);
        self.hashes.push(xxh3_64(word.as_bytes()));
        self.name_bytes += word.len();
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn name(&self, id: u32) -> Option<&str> {
        self.names.get(usize::try_from(id).ok()?).map(AsRef::as_ref)
    }

    pub(crate) fn hash(&self, id: u32) -> u64 {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.hashes.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Interns every name of `other` and returns other-id → self-id.
    pub(crate) fn absorb(&mut self, other: &Vocab) -> Vec<u32> {
        other.names.iter().map(|n| self.intern(n)).collect()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.name_bytes + self.names.len() * 56
    }
}

/// Shard-independent hash of a model token id.
pub(crate) fn id_hash(id: u32) -> u64 {
    xxh3_64(&id.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_and_absorb_remap() {
        let mut a = Vocab::default();
        assert_eq!(a.intern("x"), 0);
        assert_eq!(a.intern("y"), 1);
        assert_eq!(a.intern("x"), 0);
        let mut b = Vocab::default();
        b.intern("y");
        b.intern("z");
        assert_eq!(a.absorb(&b), [1, 2]);
        assert_eq!(a.name(2), Some("z"));
        assert_eq!(a.hash(0), xxh3_64(b"x"));
        let round: Vocab = Vec::<String>::from(a.clone()).into();
        assert_eq!(round, a);
    }
}
