//! Within-sample prompt-segment de-duplication (CORPUS.md, "Prompt-segment
//! de-duplication"). Pure: takes one sample's role-tagged text fields and
//! returns the edited fields, the removed copies and the sample's figures.
//!
//! 1. Fields are visited in priority order (user turns in order, then
//!    system, caption, ocr, metadata by default; fields of one role in
//!    sample order; `assistant` never is a prompt field). Each is cut into
//!    plain spans around protected tokens (`<image>`, `<|…|>`, …) and each
//!    span into segments with [`regime_text::segments`] (line breaks and
//!    sentence ends), so protected tokens never belong to a segment and are
//!    never removed. A segment's key is its normalised form (NFC,
//!    whitespace collapsed, trimmed, optionally case-folded); keys of at
//!    least `min_chars` characters are of canonical length.
//! 2. Duplicate copies in a field are the occurrences, cutting no word (see
//!    below), of a canonical segment of an earlier field (an Aho–Corasick
//!    search over the canonical segments, see the `patterns` module), and
//!    the whole segments repeating an earlier segment of the same field.
//!    Overlapping candidates are resolved leftmost-longest. The copies are
//!    removed and the text tidied (`tidy` module); the search repeats on the
//!    result until it finds nothing, since a removal can join text into a
//!    new copy.
//! 3. A user field left without a letter or digit outside protected
//!    tokens (a repeated turn, perhaps in quotes) stays as stored and is
//!    counted in `repeated_turns`; any other field emptied entirely
//!    becomes `""`. The text parts of one turn (fields with the same
//!    [`PromptField::turn`]) are one field cut in pieces: each is searched
//!    for the canonical segments of earlier fields and for whole repeats
//!    of the turn's earlier segments, the turn's own segments become
//!    canonical once the turn is done, and the turn is judged as a whole:
//!    only when no part keeps a letter or digit does it stay as stored
//!    (one repeated turn). Unlike in one string, a copy never runs across
//!    two parts.
//! 4. The field's segments of canonical length *as it leaves step 2–3*
//!    become canonical segments for the fields after it. Taking them from
//!    the output rather than the stored text makes the algorithm
//!    idempotent: a second run sees the same canonical segments and the
//!    same fields, so it finds nothing to remove. (Taken from the stored
//!    text, a field `"what shape?"` that lost the copy `"what"` would leave
//!    a new canonical `"shape?"` that only a second run would remove from
//!    later fields.)
//!
//! The figures (`segments`, `chars`, the templates) describe the sample as
//! stored.
//!
//! "Cuts no word": both ends of the occurrence are boundaries of the
//! built-in tokenizer's words ([`regime_text::is_token_boundary`]: UAX #29
//! word boundaries, and every Han / kana / Hangul character a word of its
//! own). So `image` is no copy inside `image's`, nor `3` inside `3.5`.

use regime_corpus::{FieldSource, Role, TextField};
use regime_text::{ProtectedTokens, is_token_boundary};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::tidy::remove_spans;

mod index_cache;
mod patterns;
mod span_text;

use index_cache::IndexCache;

thread_local! {
    /// Indexes of the field texts this thread saw recur, kept across
    /// samples, chunks and batches (a pure cache: no result depends on it).
    static INDEX_CACHE: std::cell::RefCell<IndexCache> = std::cell::RefCell::default();
}

pub(crate) use patterns::HashMapU64;
use patterns::{Patterns, Probe};
use span_text::SpanText;

/// Default for [`PromptDedupBuilder::with_min_chars`]: normalised characters
/// a segment needs to be canonical.
pub const DEFAULT_MIN_CHARS: usize = 16;

/// Default for [`PromptDedupBuilder::with_priority`]: where canonical
/// instances come from, first to last.
pub const DEFAULT_PRIORITY: [Role; 5] = [
    Role::User,
    Role::System,
    Role::Caption,
    Role::Ocr,
    Role::Metadata,
];

/// Default for [`PromptDedupBuilder::with_case_fold`].
pub const DEFAULT_CASE_FOLD: bool = false;

/// One text field of a sample, as the algorithm sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptField<'a> {
    /// The field's role.
    pub role: Role,
    /// Its text, as stored.
    pub text: &'a str,
    /// The conversation turn the field is a text part of, when turns hold
    /// lists of parts (`None` for a turn's whole text or a flat column).
    /// Consecutive fields of one turn are decided together: a user turn
    /// stays as stored only when all its parts would go.
    pub turn: Option<usize>,
}

impl<'a> PromptField<'a> {
    /// A field that is no part of a turn.
    #[must_use]
    pub const fn new(role: Role, text: &'a str) -> Self {
        Self {
            role,
            text,
            turn: None,
        }
    }
}

impl<'a> From<&TextField<'a>> for PromptField<'a> {
    fn from(f: &TextField<'a>) -> Self {
        Self {
            role: f.role,
            text: f.text,
            turn: match f.source {
                FieldSource::TurnPart { turn, .. } => Some(turn),
                FieldSource::Turn { .. } | FieldSource::Column(_) => None,
            },
        }
    }
}

/// Configures a [`PromptDedup`].
#[derive(Debug, Clone)]
pub struct PromptDedupBuilder {
    priority: Vec<Role>,
    min_chars: usize,
    case_fold: bool,
    protected: ProtectedTokens,
}

impl Default for PromptDedupBuilder {
    fn default() -> Self {
        Self {
            priority: DEFAULT_PRIORITY.to_vec(),
            min_chars: DEFAULT_MIN_CHARS,
            case_fold: DEFAULT_CASE_FOLD,
            protected: ProtectedTokens::default(),
        }
    }
}

impl PromptDedupBuilder {
    /// The roles whose fields are prompt fields, in canonical-priority
    /// order. Fields of other roles (always `assistant`) are never read or
    /// changed. Default: [`DEFAULT_PRIORITY`].
    #[must_use]
    pub fn with_priority(mut self, priority: Vec<Role>) -> Self {
        self.priority = priority;
        self
    }

    /// Minimum normalised characters of a canonical segment. Default:
    /// [`DEFAULT_MIN_CHARS`].
    #[must_use]
    pub fn with_min_chars(mut self, min_chars: usize) -> Self {
        self.min_chars = min_chars;
        self
    }

    /// Match case-insensitively (full Unicode lower-casing). Default:
    /// [`DEFAULT_CASE_FOLD`].
    #[must_use]
    pub fn with_case_fold(mut self, on: bool) -> Self {
        self.case_fold = on;
        self
    }

    /// Tokens never split or removed. Default: [`ProtectedTokens::default`]
    /// (`<image>`, `<video>`, `<|…|>` specials).
    #[must_use]
    pub fn with_protected(mut self, protected: ProtectedTokens) -> Self {
        self.protected = protected;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty priority list, a role listed twice,
    /// `assistant` in the list, or `min_chars` of 0.
    pub fn build(self) -> Result<PromptDedup> {
        let config = |reason: String| Error::Config {
            what: "prompt-dedup priority",
            reason,
        };
        if self.priority.is_empty() {
            return Err(config("names no role".into()));
        }
        for (i, role) in self.priority.iter().enumerate() {
            if *role == Role::Assistant {
                return Err(config(
                    "`assistant` turns are the task target and are never de-duplicated".into(),
                ));
            }
            if self.priority[..i].contains(role) {
                return Err(config(format!("`{role}` is listed twice")));
            }
        }
        if self.min_chars == 0 {
            return Err(Error::Config {
                what: "min-chars",
                reason: "must be at least 1".into(),
            });
        }
        Ok(PromptDedup {
            config_id: index_cache::next_config_id(),
            priority: self.priority,
            min_chars: self.min_chars,
            case_fold: self.case_fold,
            protected: self.protected,
        })
    }
}

/// Within-sample prompt-segment de-duplication, configured.
///
/// ```
/// use regime_corpus::Role;
/// use regime_dedup::{PromptDedup, PromptField, SampleDedup};
///
/// let dedup = PromptDedup::builder().build()?;
/// let fields = [
///     PromptField::new(Role::User, "<image>\nWhat colour is the shape?"),
///     PromptField::new(Role::Assistant, "Blue."),
///     PromptField::new(Role::Caption, "A blue square. What colour is the shape?"),
/// ];
/// let mut out = SampleDedup::default();
/// dedup.run(&fields, &mut out);
/// assert_eq!(out.removed, ["What colour is the shape?"]);
/// assert_eq!(out.edits[0].field, 2);
/// assert_eq!(out.edits[0].text, "A blue square.");
/// # Ok::<(), regime_dedup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PromptDedup {
    priority: Vec<Role>,
    min_chars: usize,
    case_fold: bool,
    protected: ProtectedTokens,
    /// Tells field indexes cached under this configuration from those of
    /// another (unique per [`PromptDedupBuilder::build`]).
    config_id: u64,
}

/// A field's new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEdit {
    /// Index of the field in the slice given to [`PromptDedup::run`].
    pub field: usize,
    /// Its text with the duplicate copies removed (`""` when emptied).
    pub text: String,
}

/// One sample's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleCounts {
    /// Prompt-segment occurrences (segments of every prompt field).
    pub segments: u64,
    /// Characters of every prompt field, as stored.
    pub chars: u64,
    /// Duplicate copies found (and removed).
    pub copies: u64,
    /// Characters of those copies, as stored.
    pub copy_chars: u64,
    /// User fields kept although they are nothing but copies.
    pub repeated_turns: u64,
}

/// The result of de-duplicating one sample; reusable across samples (each
/// [`PromptDedup::run`] replaces its contents and keeps its buffers).
#[derive(Debug, Default)]
pub struct SampleDedup {
    /// Fields that changed, by increasing field index.
    pub edits: Vec<FieldEdit>,
    /// The removed copies as stored, in priority order then text order.
    pub removed: Vec<String>,
    /// The sample's figures.
    pub counts: SampleCounts,
    /// The figures of the sample as `edits` leave it: what a second run
    /// over the output finds (no copies; the same repeated turns).
    pub output: SampleCounts,
    templates: Vec<(u64, usize, usize)>,
    template_text: String,
    scratch: Scratch,
}

impl SampleDedup {
    /// The sample's distinct canonical-length normalised segments (its
    /// template candidates), with their xxh3-64 hashes, in first-seen order.
    pub fn templates(&self) -> impl Iterator<Item = (u64, &str)> {
        self.templates
            .iter()
            .map(|&(h, s, e)| (h, &self.template_text[s..e]))
    }

    /// The template candidates of the sample as `edits` leave it (what
    /// [`Self::templates`] gives after a second run over the output).
    pub fn output_templates(&self) -> impl Iterator<Item = (u64, &str)> {
        self.scratch.search.patterns.iter()
    }

    /// Whether the sample holds at least one duplicate copy.
    #[must_use]
    pub fn has_duplicates(&self) -> bool {
        self.counts.copies > 0
    }

    fn clear(&mut self) {
        self.edits.clear();
        self.removed.clear();
        self.counts = SampleCounts::default();
        self.output = SampleCounts::default();
        self.templates.clear();
        self.template_text.clear();
        self.scratch.clear();
    }
}

/// A segment of the field being processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    /// Its byte range in the field's text.
    start: usize,
    end: usize,
    /// Index (in `FieldIndex::spans`) of its plain span.
    span: usize,
    /// Its range in that span's normalised text.
    ns: usize,
    ne: usize,
    /// The xxh3-64 hash of its normalised text, when it is of canonical
    /// length.
    hash: Option<u64>,
}

/// Segments of one field compared pairwise for whole-segment repeats; more
/// go through a hash map.
const SEEN_MAP_MIN_SEGS: usize = 16;

/// The plain spans and segments of one field's text, indexed here (the
/// cache keeps its own, see [`IndexView`]).
#[derive(Debug, Default)]
struct FieldIndex {
    /// Normalised plain spans (a pool reused across fields and samples).
    mapped: Vec<SpanText>,
    /// Spans in use.
    spans: usize,
    segs: Vec<Seg>,
    /// Characters of the text.
    chars: u64,
}

impl FieldIndex {
    fn view(&self) -> IndexView<'_> {
        IndexView {
            spans: &self.mapped[..self.spans],
            segs: &self.segs,
            probes: None,
            chars: self.chars,
        }
    }
}

/// A field's index wherever it is held: read in place, so a field whose
/// index is cached costs no copy.
#[derive(Debug, Clone, Copy, Default)]
struct IndexView<'a> {
    spans: &'a [SpanText],
    segs: &'a [Seg],
    /// The spans' word-start probes, when every span has them.
    probes: Option<&'a [Probe]>,
    /// Characters of the text.
    chars: u64,
}

impl<'a> IndexView<'a> {
    fn key(&self, g: &Seg) -> &'a str {
        &self.spans[g.span].text()[g.ns..g.ne]
    }
}

/// The canonical segments of a turn's parts done so far, as stored and
/// as left (see [`PromptField::turn`]): a whole repeat of either in a
/// later part is a copy, as in one string (whose first search sees the
/// stored segments, the next ones what is left); the segments left become
/// patterns once the turn is decided.
#[derive(Debug, Default)]
struct TurnSegments {
    keys: String,
    /// Hash, key range, and whether the segment is what a part left.
    list: Vec<(u64, usize, usize, bool)>,
    /// Entries of parts done: the part being searched sees only those.
    done: usize,
}

impl TurnSegments {
    /// Adds the canonical-length segments of `f`, the current part as
    /// stored (`left` false) or as left.
    fn push(&mut self, f: IndexView<'_>, left: bool) {
        for g in f.segs {
            if let Some(hash) = g.hash {
                let at = self.keys.len();
                self.keys.push_str(f.key(g));
                self.list.push((hash, at, self.keys.len(), left));
            }
        }
    }

    /// The current part is done.
    fn part_done(&mut self) {
        self.done = self.list.len();
    }

    /// The segments the turn's parts left.
    fn left(&self) -> impl Iterator<Item = (u64, &str)> {
        self.list
            .iter()
            .filter(|e| e.3)
            .map(|&(h, s, e, _)| (h, &self.keys[s..e]))
    }

    fn contains(&self, hash: u64, key: &str) -> bool {
        self.list[..self.done]
            .iter()
            .any(|&(h, s, e, _)| h == hash && &self.keys[s..e] == key)
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.list.clear();
        self.done = 0;
    }
}

/// Where the fields of the turn starting at `order[start]` end in `order`
/// (the next field alone, unless it is a text part of a turn).
#[inline]
fn turn_end(fields: &[PromptField<'_>], order: &[usize], start: usize) -> usize {
    let first = fields[order[start]];
    start
        + 1
        + first.turn.map_or(0, |turn| {
            order[start + 1..]
                .iter()
                .take_while(|&&i| fields[i].turn == Some(turn) && fields[i].role == first.role)
                .count()
        })
}

/// Adds the canonical-length segments of `f` not listed yet to the
/// sample's templates (text in `text`, ids by hash in `ids`).
fn record_templates(
    f: IndexView<'_>,
    templates: &mut Vec<(u64, usize, usize)>,
    text: &mut String,
    ids: &mut HashMapU64,
) {
    for g in f.segs {
        let Some(hash) = g.hash else { continue };
        let key = f.key(g);
        // One probe: the map keeps the first template of a hash; a
        // different text with the same hash is listed too.
        let next = templates.len();
        let first = *ids.entry(hash).or_insert(next);
        if first != next {
            let (_, ts, te) = templates[first];
            if &text[ts..te] == key {
                continue;
            }
        }
        let at = text.len();
        text.push_str(key);
        templates.push((hash, at, text.len()));
    }
}

/// Registers the canonical-length segments of `f` as patterns.
fn register_canonical(patterns: &mut Patterns, f: IndexView<'_>) {
    for g in f.segs {
        if let Some(hash) = g.hash {
            patterns.insert(hash, f.key(g));
        }
    }
}

#[derive(Debug, Default)]
struct Scratch {
    /// Prompt fields in priority order.
    order: Vec<usize>,
    field: FieldIndex,
    search: Search,
    /// The sample's templates by hash.
    template_ids: HashMapU64,
}

/// What the search for one field's copies works with.
#[derive(Debug, Default)]
struct Search {
    patterns: Patterns,
    /// First segment by normalised text (within-field repeats).
    seen: HashMapU64,
    /// The canonical segments the earlier parts of the current turn left
    /// with (see [`PromptField::turn`]).
    turn: TurnSegments,
    candidates: Vec<(usize, usize)>,
    copies: Vec<(usize, usize)>,
}

impl Scratch {
    fn clear(&mut self) {
        self.order.clear();
        self.field.spans = 0;
        self.field.segs.clear();
        self.search.patterns.clear();
        self.search.turn.clear();
        self.template_ids.clear();
    }
}

/// Characters of `text`: its bytes that do not continue a UTF-8 sequence
/// (`str::chars().count()` costs more on short text).
fn char_count(text: &str) -> u64 {
    let bytes = text.as_bytes();
    if bytes.is_ascii() {
        return bytes.len() as u64;
    }
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
}

/// Whether `text` has at least `n` characters (counting only when the byte
/// length leaves it open).
fn has_chars(text: &str, n: usize) -> bool {
    text.len() >= n
        && (text.len() >= n.saturating_mul(4)
            || usize::try_from(char_count(text)).unwrap_or(usize::MAX) >= n)
}

impl PromptDedup {
    /// A builder with the defaults.
    #[must_use]
    pub fn builder() -> PromptDedupBuilder {
        PromptDedupBuilder::default()
    }

    /// The prompt roles in priority order.
    #[must_use]
    pub fn priority(&self) -> &[Role] {
        &self.priority
    }

    /// Minimum normalised characters of a canonical segment.
    #[must_use]
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Whether a field of this role is a prompt field.
    #[must_use]
    pub fn is_prompt(&self, role: Role) -> bool {
        self.priority.contains(&role)
    }

    /// De-duplicates one sample's fields (in sample order, as
    /// `regime_corpus::BatchText` yields them) into `out`.
    pub fn run(&self, fields: &[PromptField<'_>], out: &mut SampleDedup) {
        INDEX_CACHE.with_borrow_mut(|cache| {
            cache.serve(self.config_id);
            self.run_with(fields, out, cache);
        });
    }

    /// [`Self::run`] with this thread's cache of field indexes.
    fn run_with(&self, fields: &[PromptField<'_>], out: &mut SampleDedup, cache: &mut IndexCache) {
        out.clear();
        let SampleDedup {
            edits,
            removed,
            counts,
            output,
            templates,
            template_text,
            scratch: s,
        } = out;
        // Priority order, fields of one role in sample order: one short
        // pass per prompt role (a handful) instead of sorting.
        for role in &self.priority {
            s.order
                .extend((0..fields.len()).filter(|&i| fields[i].role == *role));
        }
        let Scratch {
            order,
            field: scratch_field,
            search,
            template_ids,
        } = s;
        let mut next = 0;
        while next < order.len() {
            // The text parts of one turn (fields with the same `turn`) are
            // decided together: a user turn is kept as stored only when all
            // of it would go.
            let first = order[next];
            let end = turn_end(fields, order, next);
            let group = &order[next..end];
            next = end;
            let (mark, edits_mark) = (removed.len(), edits.len());
            // The output's segments and characters.
            let mut produced = (0, 0);
            for (part, &field) in group.iter().enumerate() {
                let stored = fields[field].text;
                // Probes only where this field's search will look them up.
                let probe = search.patterns.takes_probes();
                let mut f = self.index(stored, scratch_field, cache, probe);
                counts.chars += f.chars;
                counts.segments += f.segs.len() as u64;
                record_templates(f, templates, template_text, template_ids);
                let more = part + 1 < group.len();
                if more {
                    search.turn.push(f, false);
                }
                // Remove copies until none is left: a removal can join text
                // into a new copy, which a second run would otherwise find.
                let mut edited: Option<String> = None;
                loop {
                    let text = edited.as_deref().unwrap_or(stored);
                    search.find_copies(f);
                    if search.copies.is_empty() {
                        break;
                    }
                    removed.extend(search.copies.iter().map(|&(a, b)| text[a..b].to_owned()));
                    let next = remove_spans(text, &search.copies);
                    f = self.index(&next, scratch_field, cache, probe);
                    edited = Some(next);
                }
                produced.0 += f.segs.len() as u64;
                // `f` indexes the text the field leaves with.
                produced.1 += f.chars;
                if let Some(text) = edited {
                    edits.push(FieldEdit { field, text });
                }
                if more {
                    // Later parts of the turn are searched as the rest of
                    // one field: for whole repeats of these segments.
                    search.turn.push(f, true);
                    search.turn.part_done();
                    continue;
                }
                if fields[first].role == Role::User
                    && edits.len() > edits_mark
                    && !self.keeps_text(group, fields, &edits[edits_mark..])
                {
                    // A user turn is never emptied (nor left with
                    // punctuation alone, like the quotes of `"COPY"`): it
                    // stays as stored, and so do the canonical instances it
                    // gives.
                    removed.truncate(mark);
                    edits.truncate(edits_mark);
                    counts.repeated_turns += 1;
                    produced = (0, 0);
                    for &field in group {
                        let f = self.index(fields[field].text, scratch_field, cache, false);
                        register_canonical(&mut search.patterns, f);
                        produced.0 += f.segs.len() as u64;
                        produced.1 += f.chars;
                    }
                } else {
                    // Canonical instances come from the text as it leaves
                    // the turn, so a second run over the output sees the
                    // same ones.
                    for (hash, key) in search.turn.left() {
                        search.patterns.insert(hash, key);
                    }
                    register_canonical(&mut search.patterns, f);
                }
                if search.turn.done > 0 {
                    search.turn.clear();
                }
            }
            for copy in &removed[mark..] {
                counts.copies += 1;
                counts.copy_chars += char_count(copy);
            }
            output.segments += produced.0;
            output.chars += produced.1;
        }
        output.repeated_turns = counts.repeated_turns;
        edits.sort_by_key(|e| e.field);
    }

    /// Whether the fields `group` of a turn, with `edits`, keep a letter or
    /// digit outside protected tokens.
    fn keeps_text(&self, group: &[usize], fields: &[PromptField<'_>], edits: &[FieldEdit]) -> bool {
        group.iter().any(|&field| {
            let text = edits
                .iter()
                .find(|e| e.field == field)
                .map_or(fields[field].text, |e| e.text.as_str());
            self.protected
                .spans(text)
                .any(|sp| !sp.protected && sp.text.chars().any(char::is_alphanumeric))
        })
    }

    /// Cuts `text` into normalised plain spans and segments in `field`, or
    /// finds them in `cache` when `text` recurs; a cached index gets its
    /// word-start probes when `probe`. Probes are made only for a search
    /// that looks them up (not for an automaton's or a shorter probe's),
    /// and only for a text found in the cache: a text indexed afresh (most
    /// of them seen once, like each sample's metadata) is searched once,
    /// and scanning it costs less than making its probes.
    fn index<'a>(
        &self,
        text: &str,
        field: &'a mut FieldIndex,
        cache: &'a mut IndexCache,
        probe: bool,
    ) -> IndexView<'a> {
        let hash = index_cache::key(text);
        if let Some(at) = hash.and_then(|h| cache.find(h, text)) {
            if probe {
                cache.probe(at);
            }
            return cache.view(at);
        }
        self.index_text(text, field);
        if let Some(hash) = hash {
            cache.offer(hash, text, field);
        }
        field.view()
    }

    /// [`Self::index`] without the cache.
    fn index_text(&self, text: &str, f: &mut FieldIndex) {
        f.spans = 0;
        f.segs.clear();
        f.chars = char_count(text);
        for span in self.protected.spans(text) {
            if span.protected {
                continue;
            }
            if f.spans == f.mapped.len() {
                f.mapped.push(SpanText::default());
            }
            let m = f.spans;
            f.spans += 1;
            let mapped = &mut f.mapped[m];
            mapped.fill(span.text, span.start, self.case_fold);
            for seg in regime_text::segments(span.text) {
                let (start, end) = (span.start + seg.start, span.start + seg.end());
                let (ns, ne) = mapped.normalized_range(start, end);
                let key = &mapped.text()[ns..ne];
                // A span on the ASCII path has one character per byte.
                let long = if mapped.is_ascii() {
                    key.len() >= self.min_chars
                } else {
                    has_chars(key, self.min_chars)
                };
                let hash = long.then(|| xxh3_64(key.as_bytes()));
                f.segs.push(Seg {
                    start,
                    end,
                    span: m,
                    ns,
                    ne,
                    hash,
                });
            }
        }
    }
}

impl Search {
    /// Fills `self.copies` with the duplicate copies in field `f`:
    /// occurrences of earlier fields' canonical segments that cut no word,
    /// and whole segments repeating an earlier segment of the field;
    /// overlaps resolved leftmost-longest, in text order.
    fn find_copies(&mut self, f: IndexView<'_>) {
        self.candidates.clear();
        self.copies.clear();
        if !self.patterns.is_empty() {
            self.patterns.prepare();
            let candidates = &mut self.candidates;
            self.patterns
                .for_each_match_in(f.spans, f.probes, |span, ns, ne| {
                    let mapped = &f.spans[span];
                    let hay = mapped.text();
                    if is_token_boundary(hay, ns) && is_token_boundary(hay, ne) {
                        candidates.push(mapped.original(ns, ne));
                    }
                });
        }
        // Whole segments repeating an earlier one of the field: few
        // segments are compared pairwise, many through a hash map.
        if f.segs.len() <= SEEN_MAP_MIN_SEGS {
            for (i, g) in f.segs.iter().enumerate() {
                if g.hash.is_some()
                    && f.segs[..i]
                        .iter()
                        .any(|e| e.hash == g.hash && f.key(e) == f.key(g))
                {
                    self.candidates.push((g.start, g.end));
                }
            }
        } else {
            self.seen.clear();
            for (i, g) in f.segs.iter().enumerate() {
                let Some(hash) = g.hash else { continue };
                match self.seen.get(&hash) {
                    Some(&j) if f.key(&f.segs[j]) == f.key(g) => {
                        self.candidates.push((g.start, g.end));
                    }
                    Some(_) => {}
                    None => {
                        self.seen.insert(hash, i);
                    }
                }
            }
        }
        // Whole repeats of the turn's earlier parts' segments.
        if self.turn.done > 0 {
            for g in f.segs {
                if g.hash.is_some_and(|h| self.turn.contains(h, f.key(g))) {
                    self.candidates.push((g.start, g.end));
                }
            }
        }
        self.candidates
            .sort_unstable_by_key(|&(a, b)| (a, std::cmp::Reverse(b)));
        let mut reach = 0;
        for &(a, b) in &self.candidates {
            if a >= reach {
                self.copies.push((a, b));
                reach = b;
            }
        }
    }
}

#[cfg(test)]
mod tests;
