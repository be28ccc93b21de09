//! Content and n-gram hashing with xxh3 (`xxhash-rust`).
//!
//! A token's hash is `xxh3_64` of its UTF-8 bytes ([`token_hash`]) or of the
//! little-endian bytes of its id ([`id_hash`]); an n-gram's hash is `xxh3_64`
//! of the little-endian bytes of its token hashes in order ([`ngram_hash`]),
//! so it depends on the tokens and their order only, never on a shard or an
//! interning order.

use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_128};

/// Most tokens hashed through the stack buffer of [`ngram_hash`]; longer
/// n-grams use the streaming hasher (same result).
const STACK_TOKENS: usize = 16;

/// `xxh3_64` of a string's bytes.
#[must_use]
pub fn token_hash(token: &str) -> u64 {
    xxh3_64(token.as_bytes())
}

/// `xxh3_64` of a vocabulary id's little-endian bytes.
#[must_use]
pub fn id_hash(id: u32) -> u64 {
    xxh3_64(&id.to_le_bytes())
}

/// `xxh3_128` of a text's bytes (exact-duplicate keys; hash normalised text).
#[must_use]
pub fn content_hash(text: &str) -> u128 {
    xxh3_128(text.as_bytes())
}

/// `xxh3_64` of the little-endian bytes of `token_hashes`, in order.
#[must_use]
pub fn ngram_hash(token_hashes: &[u64]) -> u64 {
    if token_hashes.len() <= STACK_TOKENS {
        let mut buf = [0u8; 8 * STACK_TOKENS];
        for (chunk, h) in buf.chunks_exact_mut(8).zip(token_hashes) {
            chunk.copy_from_slice(&h.to_le_bytes());
        }
        xxh3_64(&buf[..8 * token_hashes.len()])
    } else {
        let mut h = Xxh3::new();
        for t in token_hashes {
            h.update(&t.to_le_bytes());
        }
        h.digest()
    }
}

/// The hashes of every n-gram (window of `n` consecutive tokens) of
/// `token_hashes`, in order; empty when `n == 0` or there are fewer than `n`
/// tokens.
pub fn ngram_hashes(token_hashes: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let windows = if n == 0 { &[][..] } else { token_hashes };
    windows.windows(n.max(1)).map(ngram_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngram_hash_is_order_sensitive_and_stack_equals_stream() {
        let a = token_hash("a");
        let b = token_hash("b");
        assert_ne!(ngram_hash(&[a, b]), ngram_hash(&[b, a]));
        let long: Vec<u64> = (0..20).collect();
        let mut s = Xxh3::new();
        for t in &long {
            s.update(&t.to_le_bytes());
        }
        assert_eq!(ngram_hash(&long), s.digest());
        let short: Vec<u64> = (0..3).collect();
        let bytes: Vec<u8> = short.iter().flat_map(|t| t.to_le_bytes()).collect();
        assert_eq!(ngram_hash(&short), xxh3_64(&bytes));
    }

    #[test]
    fn window_counts() {
        let h = [1, 2, 3, 4];
        // T - n + 1 windows: 4 - 2 + 1 = 3.
        assert_eq!(ngram_hashes(&h, 2).count(), 3);
        assert_eq!(ngram_hashes(&h, 5).count(), 0);
        assert_eq!(ngram_hashes(&h, 0).count(), 0);
    }

    #[test]
    fn id_and_content_hashes_are_stable() {
        assert_eq!(id_hash(7), xxh3_64(&7u32.to_le_bytes()));
        assert_eq!(content_hash("x"), xxh3_128(b"x"));
    }
}
