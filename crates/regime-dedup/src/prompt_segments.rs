//! Within-sample prompt-segment de-duplication (CORPUS.md, "Prompt-segment
//! de-duplication"). Pure: takes one sample's role-tagged text fields and
//! returns the edited fields, the removed copies and the sample's figures.
//!
//! 1. Every prompt field (a role in the priority list; `assistant` never is)
//!    is cut into plain spans around protected tokens (`<image>`, `<|…|>`, …)
//!    and each span into segments with [`regime_text::segments`] (line breaks
//!    and sentence ends). Protected tokens therefore never belong to a
//!    segment and are never removed.
//! 2. Fields are visited in priority order (user turns in order, then
//!    system, caption, ocr, metadata by default; fields of one role in
//!    sample order). A segment whose normalised form (NFC, whitespace
//!    collapsed, trimmed, optionally case-folded) has at least `min_chars`
//!    characters and was not seen before is canonical.
//! 3. One Aho–Corasick automaton over the sample's canonical segments
//!    searches every prompt field's normalised text. An occurrence is a
//!    duplicate copy when it cuts no word (see below) and its canonical
//!    segment came from an earlier field, or, within the canonical's own
//!    field, when it is a whole later segment. Overlapping candidates are
//!    resolved leftmost-longest.
//! 4. A user field whose copies are all its plain text (a repeated turn) is
//!    left unchanged and counted in `repeated_turns`; any other field loses
//!    its copies and is tidied (`tidy` module). A field emptied entirely
//!    becomes `""`.
//!
//! "Cuts no word": the character before the occurrence and its first
//! character are not both word characters (letters, digits, `_`), and
//! likewise its last character and the one after it; every Han / kana /
//! Hangul character counts as a word of its own.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regime_corpus::Role;
use regime_text::ProtectedTokens;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::normal::{Mapped, is_cut_ok, normalize_mapped};
use crate::tidy::remove_spans;

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
///     PromptField { role: Role::User, text: "<image>\nWhat colour is the shape?" },
///     PromptField { role: Role::Assistant, text: "Blue." },
///     PromptField { role: Role::Caption, text: "A blue square. What colour is the shape?" },
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

    /// Whether the sample holds at least one duplicate copy.
    #[must_use]
    pub fn has_duplicates(&self) -> bool {
        self.counts.copies > 0
    }

    fn clear(&mut self) {
        self.edits.clear();
        self.removed.clear();
        self.counts = SampleCounts::default();
        self.templates.clear();
        self.template_text.clear();
        self.scratch.clear();
    }
}

/// A segment of a prompt field.
#[derive(Debug, Clone, Copy)]
struct Seg {
    /// Position of its field in priority order.
    rank: usize,
    start: usize,
    end: usize,
    /// Its pattern, when it is of canonical length.
    pattern: Option<usize>,
}

/// A distinct canonical-length segment.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    /// Range of its normalised text in `template_text`.
    start: usize,
    end: usize,
    /// Position (in priority order) of the field it was first seen in.
    rank: usize,
    /// Index (in `segs`) of its first occurrence.
    first: usize,
}

/// A plain span's normalised text.
#[derive(Debug, Clone, Copy)]
struct SpanRef {
    rank: usize,
    mapped: usize,
}

#[derive(Debug, Default)]
struct Scratch {
    order: Vec<usize>,
    segs: Vec<Seg>,
    patterns: Vec<Pattern>,
    by_hash: HashMap<u64, usize>,
    mapped: Vec<Mapped>,
    used: usize,
    spans: Vec<SpanRef>,
    candidates: Vec<(usize, usize, usize, usize)>,
    copies: Vec<Vec<(usize, usize)>>,
}

impl Scratch {
    fn clear(&mut self) {
        self.order.clear();
        self.segs.clear();
        self.patterns.clear();
        self.by_hash.clear();
        self.used = 0;
        self.spans.clear();
        self.candidates.clear();
        for c in &mut self.copies {
            c.clear();
        }
    }

    fn next_mapped(&mut self) -> usize {
        if self.used == self.mapped.len() {
            self.mapped.push(Mapped::default());
        }
        self.used += 1;
        self.used - 1
    }
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
    #[expect(
        clippy::too_many_lines,
        reason = "the four steps of CORPUS.md in order, sharing the scratch buffers"
    )]
    pub fn run(&self, fields: &[PromptField<'_>], out: &mut SampleDedup) {
        out.clear();
        let SampleDedup {
            edits,
            removed,
            counts,
            templates,
            template_text,
            scratch: s,
        } = out;
        // Prompt fields in priority order.
        s.order
            .extend((0..fields.len()).filter(|&i| self.is_prompt(fields[i].role)));
        s.order.sort_by_key(|&i| {
            let rank = self.priority.iter().position(|r| *r == fields[i].role);
            (rank, i)
        });
        // Segments and canonical patterns.
        for rank in 0..s.order.len() {
            let text = fields[s.order[rank]].text;
            counts.chars += text.chars().count() as u64;
            for span in self.protected.spans(text) {
                if span.protected {
                    continue;
                }
                let m = s.next_mapped();
                normalize_mapped(span.text, span.start, self.case_fold, &mut s.mapped[m]);
                s.spans.push(SpanRef { rank, mapped: m });
                for seg in regime_text::segments(span.text) {
                    counts.segments += 1;
                    let (start, end) = (span.start + seg.start, span.start + seg.end());
                    let mapped = &s.mapped[m];
                    let (ns, ne) = mapped.normalized_range(start, end);
                    let key = &mapped.text[ns..ne];
                    let mut pattern = None;
                    if key.chars().count() >= self.min_chars {
                        let hash = xxh3_64(key.as_bytes());
                        let found = s.by_hash.get(&hash).copied().filter(|&p| {
                            let p = s.patterns[p];
                            &template_text[p.start..p.end] == key
                        });
                        pattern = Some(found.unwrap_or_else(|| {
                            let at = template_text.len();
                            template_text.push_str(key);
                            s.patterns.push(Pattern {
                                start: at,
                                end: template_text.len(),
                                rank,
                                first: s.segs.len(),
                            });
                            templates.push((hash, at, template_text.len()));
                            s.by_hash.entry(hash).or_insert(s.patterns.len() - 1);
                            s.patterns.len() - 1
                        }));
                    }
                    s.segs.push(Seg {
                        rank,
                        start,
                        end,
                        pattern,
                    });
                }
            }
        }
        if s.patterns.is_empty() || !Self::may_repeat(s) {
            return;
        }
        let Ok(ac) = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(
                s.patterns
                    .iter()
                    .map(|p| &template_text.as_bytes()[p.start..p.end]),
            )
        else {
            // Only an automaton too large for its state ids fails to build;
            // such a sample is left as it is.
            return;
        };
        if s.copies.len() < s.order.len() {
            s.copies.resize_with(s.order.len(), Vec::new);
        }
        for span in &s.spans {
            let mapped = &s.mapped[span.mapped];
            let hay = mapped.text.as_str();
            s.candidates.clear();
            for m in ac.find_overlapping_iter(hay) {
                let p = s.patterns[m.pattern().as_usize()];
                let (ns, ne) = (m.start(), m.end());
                let key = &template_text[p.start..p.end];
                if !is_cut_ok(hay[..ns].chars().next_back(), key.chars().next())
                    || !is_cut_ok(key.chars().next_back(), hay[ne..].chars().next())
                {
                    continue;
                }
                let (os, oe) = mapped.original(ns, ne);
                let eligible = p.rank < span.rank
                    || (p.rank == span.rank
                        && s.segs[p.first + 1..]
                            .iter()
                            .take_while(|g| g.rank == span.rank)
                            .any(|g| g.start == os && g.end == oe));
                if eligible {
                    s.candidates.push((ns, ne, os, oe));
                }
            }
            s.candidates
                .sort_unstable_by_key(|&(ns, ne, _, _)| (ns, std::cmp::Reverse(ne)));
            let mut reach = 0;
            for &(ns, ne, os, oe) in &s.candidates {
                if ns >= reach {
                    s.copies[span.rank].push((os, oe));
                    reach = ne;
                }
            }
        }
        for rank in 0..s.order.len() {
            let spans = &s.copies[rank];
            if spans.is_empty() {
                continue;
            }
            let field = s.order[rank];
            let text = fields[field].text;
            let edited = remove_spans(text, spans);
            if fields[field].role == Role::User
                && !self
                    .protected
                    .spans(&edited)
                    .any(|sp| !sp.protected && !sp.text.trim().is_empty())
            {
                counts.repeated_turns += 1;
                continue;
            }
            for &(os, oe) in spans {
                let copy = &text[os..oe];
                counts.copies += 1;
                counts.copy_chars += copy.chars().count() as u64;
                removed.push(copy.to_owned());
            }
            edits.push(FieldEdit {
                field,
                text: edited,
            });
        }
        edits.sort_by_key(|e| e.field);
    }

    /// Whether any copy is possible: some pattern repeats as a whole
    /// segment, or a field after a pattern's own could contain it.
    fn may_repeat(s: &Scratch) -> bool {
        let first_rank = s.patterns.iter().map(|p| p.rank).min().unwrap_or(0);
        let shortest = s
            .patterns
            .iter()
            .map(|p| p.end - p.start)
            .min()
            .unwrap_or(0);
        let later_text = s
            .spans
            .iter()
            .any(|sp| sp.rank > first_rank && s.mapped[sp.mapped].text.len() >= shortest);
        later_text
            || s.segs
                .iter()
                .enumerate()
                .any(|(i, g)| g.pattern.is_some_and(|p| s.patterns[p].first != i))
    }
}

#[cfg(test)]
mod tests;
