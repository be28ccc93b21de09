//! Field indexes kept for texts that recur across samples.
//!
//! A corpus's prompt fields repeat: one system prompt, a few hundred
//! question templates, a caption per image. A field whose text was seen
//! before has its plain spans, segments and word-start probes read from
//! here, in place, instead of being normalised, cut, hashed and scanned
//! again. Indexing is a pure function of the text and the configuration,
//! so the cache changes the speed of a run, never its result. Each thread
//! keeps one for its lifetime: at most [`SLOTS`] texts of at most
//! [`MAX_TEXT_BYTES`] bytes with their indexes, under 24 MiB (about 3 MiB
//! for typical prompt fields of ~100 bytes).

use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

use super::patterns::{Probe, word_start_probes};
use super::span_text::SpanText;
use super::{FieldIndex, IndexView, Seg};

/// Slots of the direct-mapped cache (a power of two). A generated VQA
/// corpus has ~3,000 recurring field texts (questions, system prompts,
/// captions, OCR): at 1,024 slots they evicted each other and 22% of the
/// texts looked up were indexed afresh; at 4,096, 12%, nearly all of them
/// one-off texts (each sample's metadata). That took 6% off the audit's
/// instructions; 8,192 slots saved only 0.8% more.
const SLOTS: usize = 4096;

/// Longer texts are not cached, which bounds the cache's memory (about
/// `SLOTS` × 3 × this for the text, its normalised spans and their
/// offsets, plus 16 bytes per word start for the probes, at most one per
/// two bytes).
const MAX_TEXT_BYTES: usize = 512;

static NEXT_CONFIG_ID: AtomicU64 = AtomicU64::new(1);

/// A configuration id no earlier configuration had.
pub(super) fn next_config_id() -> u64 {
    NEXT_CONFIG_ID.fetch_add(1, Ordering::Relaxed)
}

/// Recently indexed field texts, one per slot of their hash.
#[derive(Debug, Default)]
pub(super) struct IndexCache {
    /// The configuration the entries were indexed under.
    config: u64,
    /// Per slot, the hash of the last text offered there: a text is cached
    /// the second time its slot sees it, so a one-off text costs no copy.
    seen: Vec<u64>,
    entries: Vec<Option<Entry>>,
}

#[derive(Debug, Default)]
struct Entry {
    hash: u64,
    text: String,
    spans: Vec<SpanText>,
    segs: Vec<Seg>,
    /// `None` when the index had no probes for every span.
    probes: Option<Vec<Probe>>,
    chars: u64,
}

/// The hash under which `text` is cached, or `None` for a text too long to
/// be (which is then not hashed at all).
pub(super) fn key(text: &str) -> Option<u64> {
    (text.len() <= MAX_TEXT_BYTES).then(|| xxh3_64(text.as_bytes()))
}

/// The slot of a hash.
fn slot(hash: u64) -> usize {
    // The low bits of an xxh3 hash; the mask keeps the value below SLOTS.
    usize::try_from(hash & (SLOTS as u64 - 1)).unwrap_or(0)
}

impl IndexCache {
    /// Forgets every entry if they were indexed under another
    /// configuration.
    pub(super) fn serve(&mut self, config: u64) {
        if self.config != config {
            self.config = config;
            self.seen.clear();
            self.entries.clear();
        }
    }

    /// The slot holding the index of `text` (whose [`key`] is `hash`), if
    /// it is cached.
    pub(super) fn find(&self, hash: u64, text: &str) -> Option<usize> {
        let at = slot(hash);
        let entry = self.entries.get(at)?.as_ref()?;
        (entry.hash == hash && entry.text == text).then_some(at)
    }

    /// The index held in slot `at` (found by [`Self::find`]; an empty
    /// slot reads as a text without spans).
    pub(super) fn view(&self, at: usize) -> IndexView<'_> {
        self.entries
            .get(at)
            .and_then(Option::as_ref)
            .map_or_else(IndexView::default, |e| IndexView {
                spans: &e.spans,
                segs: &e.segs,
                probes: e.probes.as_deref(),
                chars: e.chars,
            })
    }

    /// Gives the index in slot `at` (found by [`Self::find`]) its
    /// word-start probes, if it has none yet.
    pub(super) fn probe(&mut self, at: usize) {
        let Some(entry) = self.entries.get_mut(at).and_then(Option::as_mut) else {
            return;
        };
        if entry.probes.is_some() {
            return;
        }
        let mut probes = Vec::new();
        if word_start_probes(&entry.spans, &mut probes) {
            entry.probes = Some(probes);
        }
    }

    /// Offers the index `f` of `text` (whose [`key`] is `hash`): kept when
    /// `text` was the last text offered in its slot.
    pub(super) fn offer(&mut self, hash: u64, text: &str, f: &FieldIndex) {
        if self.seen.is_empty() {
            self.seen = vec![0; SLOTS];
            self.entries = (0..SLOTS).map(|_| None).collect();
        }
        let at = slot(hash);
        if self.seen[at] != hash {
            self.seen[at] = hash;
            return;
        }
        let entry = self.entries[at].get_or_insert_with(Entry::default);
        entry.hash = hash;
        entry.text.clear();
        entry.text.push_str(text);
        entry.spans.truncate(f.spans);
        entry.spans.resize_with(f.spans, SpanText::default);
        for (to, from) in entry.spans.iter_mut().zip(&f.mapped[..f.spans]) {
            to.copy_from(from);
        }
        entry.segs.clear();
        entry.segs.extend_from_slice(&f.segs);
        entry.chars = f.chars;
        // Made when a search first looks them up (`Self::probe`).
        entry.probes = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::PromptDedup;
    use super::*;

    /// A span's normalised text, whether it is ASCII, and its segments with
    /// their stored ranges.
    type SpanView = (String, bool, Vec<(Seg, (usize, usize))>);

    /// An index as [`view`] gives it: its spans, probes and characters.
    type Viewed = (Vec<SpanView>, Option<Vec<Probe>>, u64);

    /// What the search and the figures read from an index.
    fn view(f: IndexView<'_>) -> Viewed {
        let spans = f
            .spans
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let segs = f
                    .segs
                    .iter()
                    .filter(|g| g.span == i)
                    .map(|g| (*g, m.original(g.ns, g.ne)))
                    .collect();
                (m.text().to_owned(), m.is_ascii(), segs)
            })
            .collect();
        (spans, f.probes.map(<[Probe]>::to_vec), f.chars)
    }

    /// `text` indexed afresh, with the probes a cached index gets.
    fn fresh_index(dedup: &PromptDedup, text: &str, f: &mut FieldIndex) -> Viewed {
        dedup.index_text(text, f);
        let (spans, none, chars) = view(f.view());
        assert_eq!(none, None, "a fresh index has no probes");
        let mut probes = Vec::new();
        let every_span = word_start_probes(&f.mapped[..f.spans], &mut probes);
        (spans, every_span.then_some(probes), chars)
    }

    /// Whether `cached` is `fresh`, its probes made or not yet.
    fn same(cached: &Viewed, fresh: &Viewed) -> bool {
        cached.0 == fresh.0
            && cached.2 == fresh.2
            && cached.1.iter().all(|p| Some(p) == fresh.1.as_ref())
    }

    #[test]
    fn cached_indexes_equal_fresh_ones() {
        let dedup = PromptDedup::builder()
            .with_min_chars(4)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let texts = [
            "<image>\nwhat is the blue shape?",
            "Describe  the image.\tThen answer. ",
            "中文文本。再来一句！ Ｆｕｌｌ width.",
            "plain",
            "",
            "what is the blue shape?",
        ];
        let mut cache = IndexCache::default();
        cache.serve(dedup.config_id);
        let (mut scratch, mut fresh) = (FieldIndex::default(), FieldIndex::default());
        for _ in 0..3 {
            for text in texts {
                let cached = view(dedup.index(text, &mut scratch, &mut cache, true));
                let want = fresh_index(&dedup, text, &mut fresh);
                assert!(same(&cached, &want), "{text:?}: {cached:?} {want:?}");
            }
        }
        // Every text was cached on its second sight, and probed on its third.
        let kept = cache.entries.iter().flatten().count();
        assert_eq!(kept, texts.len());
        let (_, probes, chars) = view(dedup.index(texts[0], &mut scratch, &mut cache, true));
        assert!(probes.is_some_and(|p| p.len() == 2), "{texts:?}");
        assert_eq!(chars, 31);

        // A text cached without probes gets them when a search needs them.
        let text = "what is the colour of the shape?";
        for _ in 0..2 {
            let (_, probes, _) = view(dedup.index(text, &mut scratch, &mut cache, false));
            assert_eq!(probes, None);
        }
        let cached = view(dedup.index(text, &mut scratch, &mut cache, true));
        assert_eq!(cached, fresh_index(&dedup, text, &mut fresh));
        assert!(cached.1.is_some_and(|p| p.len() == 4));

        // Another configuration starts from an empty cache.
        let other = PromptDedup::builder()
            .with_case_fold(true)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        cache.serve(other.config_id);
        assert_eq!(cache.entries.iter().flatten().count(), 0);
        let cached = view(other.index("Describe The Image.", &mut scratch, &mut cache, true));
        let want = fresh_index(&other, "Describe The Image.", &mut fresh);
        assert!(same(&cached, &want), "{cached:?} {want:?}");
    }

    #[test]
    fn long_texts_are_neither_cached_nor_probed() {
        let dedup = PromptDedup::builder()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let long = "word ".repeat(MAX_TEXT_BYTES);
        let mut cache = IndexCache::default();
        cache.serve(dedup.config_id);
        let mut f = FieldIndex::default();
        for _ in 0..3 {
            // Searched by a scan, so not probed either.
            assert!(
                dedup
                    .index(&long, &mut f, &mut cache, true)
                    .probes
                    .is_none()
            );
        }
        assert_eq!(cache.entries.iter().flatten().count(), 0);
    }
}
