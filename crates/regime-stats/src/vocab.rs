//! Token interning: local dense ids for word tokens, identity for model ids.
//!
//! Word tokens are interned to `u32` ids in first-seen order; combining two
//! states re-maps the other's ids through the strings, so the ids never leak
//! into results (everything reported is sorted by string or count). Model
//! token ids are used as they are. Every type also has a shard-independent
//! 64-bit hash (`xxh3` of the string, or of the id's little-endian bytes,
//! the same values as `regime_text::token_hash` / `id_hash`) for the
//! `HyperLogLog` sketches.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::part_range;

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

/// The interner. Names lie back to back in one string; the table holds each
/// name's id, length and first 8 bytes and finds them by the name's `xxh3`
/// (kept for the sketches anyway), so a caller that already hashed a word
/// ([`Self::intern_hashed`]) makes no hash of its own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub(crate) struct Vocab {
    table: HashTable<Slot>,
    /// Every name, back to back.
    text: String,
    /// End of each name in `text`.
    ends: Vec<usize>,
    hashes: Vec<u64>,
}

/// A name's entry in the table: its id, length and first 8 bytes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: u32,
    /// Length in bytes, saturated at `u32::MAX`.
    len: u32,
    /// The first (up to) 8 bytes, little-endian, zero-padded.
    head: u64,
}

fn saturating_len(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

/// The first (up to) 8 bytes of `bytes`, little-endian, zero-padded.
fn head_of(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(h) => u64::from_le_bytes(*h),
        None => bytes
            .iter()
            .rev()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b)),
    }
}

impl PartialEq for Vocab {
    /// Same names with the same ids.
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.text == other.text
    }
}

impl Eq for Vocab {}

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
        v.names().map(str::to_owned).collect()
    }
}

impl Vocab {
    pub(crate) fn intern(&mut self, word: &str) -> u32 {
        self.intern_hashed(word, xxh3_64(word.as_bytes()))
    }

    /// Interns `word` whose `xxh3_64` is `hash`.
    pub(crate) fn intern_hashed(&mut self, word: &str, hash: u64) -> u32 {
        debug_assert_eq!(hash, xxh3_64(word.as_bytes()));
        let Self {
            table,
            text,
            ends,
            hashes,
        } = self;
        let bytes = word.as_bytes();
        let (len, head) = (saturating_len(bytes), head_of(bytes));
        // Most words fit the slot's head: those compare without reading
        // the names (a cache miss each, beside the big n-gram tables).
        let eq = |s: &Slot| {
            s.len == len
                && s.head == head
                && (bytes.len() <= 8
                    || part_range(ends, s.id as usize)
                        .is_some_and(|r| &text.as_bytes()[r] == bytes))
        };
        match table.entry(hash, eq, |s| hashes[s.id as usize]) {
            Entry::Occupied(e) => e.get().id,
            Entry::Vacant(e) => {
                let id = u32::try_from(ends.len()).expect("invariant: fewer than 2^32 types");
                e.insert(Slot { id, len, head });
                text.push_str(word);
                ends.push(text.len());
                hashes.push(hash);
                id
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn name(&self, id: u32) -> Option<&str> {
        self.text
            .get(part_range(&self.ends, usize::try_from(id).ok()?)?)
    }

    /// Every name, by id.
    fn names(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).filter_map(|i| self.text.get(part_range(&self.ends, i)?))
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
        other
            .names()
            .zip(&other.hashes)
            .map(|(n, &h)| self.intern_hashed(n, h))
            .collect()
    }

    /// Bytes held: the names, their ends and hashes, and the table's slots
    /// and control bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.text.capacity()
            + (self.ends.capacity() + self.hashes.capacity()) * 8
            + self.table.capacity() * (size_of::<Slot>() + 1)
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
    fn heads_pad_short_names_and_long_names_compare_whole() {
        assert_eq!(head_of(b"ab"), 0x6261);
        assert_eq!(head_of(b""), 0);
        assert_eq!(head_of(b"abcdefghij"), u64::from_le_bytes(*b"abcdefgh"));
        let mut v = Vocab::default();
        // Same length, same first 8 bytes: told apart by the whole name.
        assert_eq!(v.intern("abcdefgh-1"), 0);
        assert_eq!(v.intern("abcdefgh-2"), 1);
        assert_eq!(v.intern("abcdefgh-1"), 0);
        // A prefix of a name is a different name.
        assert_eq!(v.intern("abcdefgh"), 2);
        assert_eq!(v.intern("ab"), 3);
        assert_eq!(v.intern("ab\0"), 4);
        assert_eq!(v.name(1), Some("abcdefgh-2"));
    }

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
