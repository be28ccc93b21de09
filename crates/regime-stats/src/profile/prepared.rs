//! One sample measured for a [`ProfileState`](super::ProfileState): the
//! per-sample work that needs no state (character counts, the Gopher
//! metrics, template hashes) done up front, and the sample's text copied
//! into owned buffers, so that many threads can prepare samples while one
//! state adds them in input order. Adding in input order is what makes a
//! profile the same at any thread count: the sketches (space-saving
//! counters) and the moment a table moves to one depend on that order.

use std::ops::Range;

use xxhash_rust::xxh3::xxh3_64;

use crate::gopher::{GopherMetrics, GopherParts};
use crate::vocab::TokenSeq;

use super::{PromptDupCounts, SampleInput};

/// One sample, measured and owned; build with [`PreparedSample::new`], add
/// with [`ProfileState::add_all`](super::ProfileState::add_all).
#[derive(Debug, Clone)]
pub struct PreparedSample {
    /// The sample's roles, in order of first appearance.
    pub(super) roles: Vec<String>,
    pub(super) fields: Vec<PreparedField>,
    /// Word tokens of every field, back to back (word token space).
    words: String,
    /// End of each word in `words`.
    word_ends: Vec<usize>,
    /// `xxh3_64` of each word (for the vocabulary and the Gopher metrics).
    word_hashes: Vec<u64>,
    /// Token ids of every field, back to back (model token space).
    ids: Vec<u32>,
    /// Gopher metrics of the whole sample and of each role (in `roles`
    /// order), when every field has its words.
    pub(super) gopher: Option<(GopherMetrics, Vec<GopherMetrics>)>,
    pub(super) content_hash: Option<u128>,
    pub(super) role_hashes: Vec<(String, Option<u128>)>,
    /// Distinct template candidates by xxh3-64, ascending: `(hash, start,
    /// end)` in `segment_text`.
    segments: Vec<(u64, usize, usize)>,
    segment_text: String,
    pub(super) prompt_dup: Option<PromptDupCounts>,
    pub(super) categories: Vec<(String, Option<String>)>,
}

/// One text field of a [`PreparedSample`].
#[derive(Debug, Clone)]
pub(super) struct PreparedField {
    /// Index into [`PreparedSample::roles`].
    pub(super) role: usize,
    /// Characters of its text.
    pub(super) chars: u64,
    /// Its tokens: a range of `word_ends` or of `ids`.
    tokens: Range<usize>,
    words: bool,
}

/// A field's tokens, as [`PreparedSample::tokens`] gives them.
pub(super) enum PreparedTokens<'a> {
    /// Word tokens.
    Words(&'a PreparedSample, Range<usize>),
    /// Model token ids.
    Ids(&'a [u32]),
}

impl PreparedSample {
    /// Measures `sample`.
    #[must_use]
    pub fn new(sample: &SampleInput<'_>) -> Self {
        // Sized up front: growing these word by word was a copy per doubling.
        let (mut words, mut text) = (0, 0);
        for f in sample.fields {
            if let TokenSeq::Words(w) = f.tokens {
                words += w.len();
                text += f.text.len();
            }
        }
        let mut p = Self {
            roles: Vec::new(),
            fields: Vec::with_capacity(sample.fields.len()),
            words: String::with_capacity(text),
            word_ends: Vec::with_capacity(words),
            word_hashes: Vec::with_capacity(words),
            ids: Vec::new(),
            gopher: None,
            content_hash: None,
            role_hashes: Vec::new(),
            segments: Vec::new(),
            segment_text: String::new(),
            prompt_dup: None,
            categories: Vec::new(),
        };
        for field in sample.fields {
            let role = p
                .roles
                .iter()
                .position(|r| r == field.role)
                .unwrap_or_else(|| {
                    p.roles.push(field.role.to_owned());
                    p.roles.len() - 1
                });
            let (tokens, words) = match field.tokens {
                TokenSeq::Words(words) => {
                    let start = p.word_ends.len();
                    for w in words {
                        p.words.push_str(w);
                        p.word_ends.push(p.words.len());
                        p.word_hashes.push(xxh3_64(w.as_bytes()));
                    }
                    (start..p.word_ends.len(), true)
                }
                TokenSeq::Ids(ids) => {
                    let start = p.ids.len();
                    p.ids.extend_from_slice(ids);
                    (start..p.ids.len(), false)
                }
            };
            p.fields.push(PreparedField {
                role,
                chars: field.text.chars().count() as u64,
                tokens,
                words,
            });
        }
        p.gopher = gopher_metrics(sample, &p);
        p.content_hash = sample.content_hash;
        p.role_hashes = sample
            .role_hashes
            .iter()
            .map(|&(r, h)| (r.to_owned(), h))
            .collect();
        let mut keys: Vec<(u64, &str)> = sample
            .segments
            .iter()
            .map(|s| (xxhash_rust::xxh3::xxh3_64(s.as_bytes()), *s))
            .collect();
        keys.sort_unstable();
        keys.dedup_by_key(|k| k.0);
        for (hash, text) in keys {
            let start = p.segment_text.len();
            p.segment_text.push_str(text);
            p.segments.push((hash, start, p.segment_text.len()));
        }
        p.prompt_dup = sample.prompt_dup;
        p.categories = sample
            .categories
            .iter()
            .map(|&(c, v)| (c.to_owned(), v.map(str::to_owned)))
            .collect();
        p
    }

    /// The tokens of field `i`.
    pub(super) fn tokens(&self, i: usize) -> PreparedTokens<'_> {
        let f = &self.fields[i];
        if f.words {
            PreparedTokens::Words(self, f.tokens.clone())
        } else {
            PreparedTokens::Ids(&self.ids[f.tokens.clone()])
        }
    }

    /// Word `i` of the sample and its `xxh3_64`.
    pub(super) fn word(&self, i: usize) -> (&str, u64) {
        let start = if i == 0 { 0 } else { self.word_ends[i - 1] };
        (&self.words[start..self.word_ends[i]], self.word_hashes[i])
    }

    /// Number of tokens of field `i`.
    pub(super) fn token_count(&self, i: usize) -> u64 {
        self.fields[i].tokens.len() as u64
    }

    /// The distinct template candidates, by hash ascending.
    pub(super) fn segments(&self) -> impl Iterator<Item = (u64, &str)> {
        self.segments
            .iter()
            .map(|&(h, s, e)| (h, &self.segment_text[s..e]))
    }
}

/// Gopher metrics of the whole sample and of each of its roles (that
/// role's fields), when every field has its words. Each field's lines and
/// words are read once for all of them; words that are the field's tokens
/// reuse the hashes `prepared` made of them.
fn gopher_metrics(
    sample: &SampleInput<'_>,
    prepared: &PreparedSample,
) -> Option<(GopherMetrics, Vec<GopherMetrics>)> {
    let fields = sample.fields;
    let mut parts = GopherParts::default();
    for (f, p) in fields.iter().zip(&prepared.fields) {
        let words = f.words?;
        match f.tokens {
            TokenSeq::Words(tokens) if std::ptr::eq(tokens, words) => {
                parts.push_hashed(f.text, words, &prepared.word_hashes[p.tokens.clone()]);
            }
            _ => parts.push(f.text, words),
        }
    }
    let whole = parts.measure(|_| true);
    let roles = &prepared.roles;
    let per_role = (0..roles.len())
        .map(|r| {
            // A one-role sample's role text is the whole sample.
            if roles.len() == 1 {
                whole
            } else {
                parts.measure(|i| prepared.fields[i].role == r)
            }
        })
        .collect();
    Some((whole, per_role))
}
