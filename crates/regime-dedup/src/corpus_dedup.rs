//! Corpus de-duplication (condition A's "deduplicated"): exact duplicates by
//! xxh3-128 of the normalised chosen fields, and near duplicates by MinHash
//! LSH with verification by exact Jaccard (CORPUS.md "Corpus
//! de-duplication").
//!
//! Two passes over the corpus for near duplicates: [`near_candidates`]
//! computes every row's band keys and the candidate components
//! ([`crate::near_clusters`]); [`deduplicate`] then streams the rows in
//! input order, verifies each candidate against its component's
//! representatives and writes the kept rows. Exact de-duplication needs only
//! the second pass.
//!
//! Rows whose chosen fields are empty after normalisation are never
//! clustered (an empty prompt is not a duplicate of another empty prompt).
//!
//! Memory per row: exact, ≈ 40 bytes per distinct row (a hash map from the
//! 16-byte key to the representative); near, 12 bytes per band while the
//! candidates are built (168 with 14 bands), then 4 bytes per row plus the
//! shingle sets of the representatives of components still open (and 136
//! bytes per representative for the search, [`Representatives`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;
use regime_corpus::{BatchText, CorpusBatch, FieldMap, PartWriter, Role};
use regime_text::{
    MinHasher, Normalizer, WordTokenizer, char_shingles, content_hash, word_shingles,
};

use crate::band_runs::{RunFile, RunWriter, links_from_runs};
use crate::dedup_index::{IndexWriter, NearIndex};
use crate::error::Error;
use crate::exact_content::ExactContent;

fn too_many_rows() -> Error {
    Error::Config {
        what: "rows",
        reason: "more than 2^32 - 1 rows in one de-duplication run".into(),
    }
}
use crate::near_clusters::{Representatives, components};

/// How shingles are formed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case", tag = "kind", content = "n")]
pub enum Shingles {
    /// Word n-grams of normalised text.
    Words(usize),
    /// Character n-grams of normalised text.
    Chars(usize),
}

/// Near-duplicate settings.
#[derive(
    Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct NearConfig {
    /// Shingle kind and size.
    pub shingles: Shingles,
    /// LSH bands.
    pub bands: usize,
    /// Rows (hashes) per band.
    pub rows: usize,
    /// Seed of the MinHash functions.
    pub seed: u64,
    /// Minimum exact Jaccard with a representative to count as a duplicate;
    /// `None` skips verification (every candidate component is a cluster).
    pub verify: Option<f64>,
}

impl NearConfig {
    /// datatrove's defaults: word 5-grams, 14 bands × 8 rows, verified at
    /// the banding threshold (≈ 0.72).
    #[must_use]
    pub fn datatrove() -> Self {
        Self {
            shingles: Shingles::Words(5),
            bands: 14,
            rows: 8,
            seed: 1,
            verify: Some(threshold(14, 8)),
        }
    }

    /// `NeMo` Curator's defaults: character 24-grams, 20 bands × 13 rows.
    #[must_use]
    pub fn nemo() -> Self {
        Self {
            shingles: Shingles::Chars(24),
            bands: 20,
            rows: 13,
            seed: 1,
            verify: Some(threshold(20, 13)),
        }
    }

    /// P(candidate | J) = 1 − (1 − Jʳ)ᵇ for J = 0.50, 0.55, …, 0.95.
    #[must_use]
    pub fn s_curve(&self) -> Vec<SCurvePoint> {
        (10..=19)
            .map(|i| {
                // i / 20, not i · 0.05: 0.6, not 0.6000000000000001.
                let j = f64::from(i) / 20.0;
                SCurvePoint {
                    jaccard: j,
                    probability: candidate_probability(j, self.bands, self.rows),
                }
            })
            .collect()
    }
}

/// One point of the banding S-curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct SCurvePoint {
    /// True Jaccard similarity of a pair.
    pub jaccard: f64,
    /// Probability that the pair becomes a candidate.
    pub probability: f64,
}

/// 1 − (1 − Jʳ)ᵇ.
#[must_use]
pub fn candidate_probability(j: f64, bands: usize, rows: usize) -> f64 {
    let r = i32::try_from(rows).unwrap_or(i32::MAX);
    let b = i32::try_from(bands).unwrap_or(i32::MAX);
    1.0 - (1.0 - j.powi(r)).powi(b)
}

/// The banding threshold (1/b)^(1/r), where the S-curve is steepest.
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "bands and rows are small")]
pub fn threshold(bands: usize, rows: usize) -> f64 {
    (1.0 / bands as f64).powf(1.0 / rows as f64)
}

/// What to de-duplicate on and how.
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Roles whose fields form a row's content; `None` means every text field.
    pub roles: Option<Vec<Role>>,
    /// Fold case before hashing and shingling (the rest of the
    /// normalisation is always on).
    pub case_fold: bool,
    /// `None` for exact de-duplication.
    pub near: Option<NearConfig>,
    /// Clusters larger than this are reported in [`DedupReport::oversized`].
    pub max_cluster: usize,
}

/// A row's content: its chosen fields, normalised, as [`ExactContent`]
/// joins them.
fn content(
    text: &BatchText<'_>,
    row: usize,
    config: &DedupConfig,
    normalizer: &Normalizer,
) -> String {
    let mut out = ExactContent::default();
    for field in text.fields(row) {
        if config
            .roles
            .as_ref()
            .is_some_and(|roles| !roles.contains(&field.role))
        {
            continue;
        }
        out.push_normalized(&normalizer.normalize(field.text));
    }
    out.into_string()
}

/// The shingle set of a row's `content`. Content without a word (only
/// punctuation or symbols: `???`, `👍`) is one shingle, a hash of the
/// content itself, so that it is a near duplicate of its exact copies only:
/// with no shingles at all, every such row would share one signature and
/// a Jaccard of 1 with every other.
fn shingle_set(content: &str, shingles: Shingles, words: &WordTokenizer) -> Vec<u64> {
    let set = match shingles {
        Shingles::Words(n) => word_shingles(&words.words(content), n),
        Shingles::Chars(n) => char_shingles(content, n),
    };
    if set.is_empty() && !content.is_empty() {
        // The 128-bit content hash's low half: no shingle is made so.
        #[expect(clippy::cast_possible_truncation, reason = "64 of the 128 bits")]
        return vec![content_hash(content) as u64];
    }
    set
}

/// The candidate components found by pass 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates {
    /// Documents numbered: index rows first (`0..index_docs`), then the
    /// corpus's rows in input order.
    pub docs: u32,
    /// Documents that come from an index (`--against`).
    pub index_docs: u32,
    /// For each document, the index of its component, or `u32::MAX`.
    component_of: Vec<u32>,
    /// Component sizes, counting the corpus's rows only.
    sizes: Vec<u32>,
    /// Index documents of the components that hold any, ascending.
    index_members: std::collections::BTreeMap<u32, Vec<u32>>,
}

/// Settings an index or a signature shard must share with the run that
/// reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Shingles, banding and seed.
    pub near: NearConfig,
    /// Whether case was folded.
    pub case_fold: bool,
    /// Chosen roles (`None`: every text field).
    pub roles: Option<Vec<String>>,
}

impl DedupConfig {
    /// The normaliser of this config.
    #[must_use]
    pub fn normalizer(&self) -> Normalizer {
        Normalizer::new().with_case_fold(self.case_fold)
    }

    /// What an index or signature shard built with this config records.
    #[must_use]
    pub fn settings(&self, near: NearConfig) -> Settings {
        Settings {
            near,
            case_fold: self.case_fold,
            // Content takes the chosen roles' fields in sample order, so
            // the order they were named in changes nothing.
            roles: self.roles.as_ref().map(|r| {
                let mut names: Vec<String> = r.iter().map(|r| r.as_str().to_owned()).collect();
                names.sort();
                names.dedup();
                names
            }),
        }
    }
}

/// The band keys of one row's content, `None` when it is empty.
fn row_keys(
    content: &str,
    near: &NearConfig,
    hasher: &MinHasher,
    words: &WordTokenizer,
) -> Option<Vec<u64>> {
    (!content.is_empty())
        .then(|| hasher.band_keys(&hasher.signature(&shingle_set(content, near.shingles, words))))
}

pub(crate) fn min_hasher(near: &NearConfig) -> Result<MinHasher, Error> {
    MinHasher::new(near.bands, near.rows, near.seed).map_err(|e| Error::Config {
        what: "bands × rows",
        reason: e.to_string(),
    })
}

/// Pass 1 of near de-duplication: the band keys of every non-empty row
/// whose ordinal lies in `rows` (`lo..hi`; every row when `None`), as
/// document `first_doc + ordinal`, into sorted runs. Returns the corpus's
/// row count.
///
/// # Errors
/// Read and write errors; [`Error::Config`] past 2³² − 1 documents.
#[expect(clippy::too_many_arguments, reason = "one pass, each input distinct")]
pub fn near_signatures(
    batches: impl IntoIterator<Item = regime_corpus::Result<CorpusBatch>>,
    map: &FieldMap,
    config: &DedupConfig,
    near: &NearConfig,
    rows: Option<(u64, u64)>,
    first_doc: u32,
    runs: &mut RunWriter,
    progress: &mut dyn FnMut(u64),
) -> Result<u32, Error> {
    let hasher = min_hasher(near)?;
    let words = WordTokenizer::new();
    let normalizer = config.normalizer();
    let (lo, hi) = rows.unwrap_or((0, u64::MAX));
    let mut seen = 0u64;
    for batch in batches {
        let batch = batch?;
        let text = BatchText::try_new(map, &batch.batch)?;
        let n = text.num_rows() as u64;
        let from = usize::try_from(lo.saturating_sub(seen).min(n)).unwrap_or(usize::MAX);
        let to = usize::try_from(hi.saturating_sub(seen).min(n)).unwrap_or(usize::MAX);
        let keys: Vec<Option<Vec<u64>>> = (from..to)
            .into_par_iter()
            .map(|row| {
                row_keys(
                    &content(&text, row, config, &normalizer),
                    near,
                    &hasher,
                    &words,
                )
            })
            .collect();
        for (row, row_keys) in (from..).zip(keys) {
            if let Some(row_keys) = row_keys {
                let doc = u64::from(first_doc) + seen + row as u64;
                runs.push(u32::try_from(doc).map_err(|_| too_many_rows())?, &row_keys)?;
            }
        }
        seen += n;
        progress(seen);
    }
    let docs = u32::try_from(seen).map_err(|_| too_many_rows())?;
    first_doc.checked_add(docs).ok_or_else(too_many_rows)?;
    Ok(docs)
}

/// The rows `lo..hi` of block `i` of `n` contiguous blocks of `total`
/// rows (block sizes differ by at most one).
#[must_use]
pub fn shard_rows(total: u64, i: u64, n: u64) -> (u64, u64) {
    let start = |k: u64| {
        u64::try_from(u128::from(total) * u128::from(k) / u128::from(n.max(1))).unwrap_or(total)
    };
    (start(i), start(i + 1))
}

/// The merge phase: candidate components from the sorted runs of every
/// shard (and of an index, whose `index_docs` documents come first).
///
/// # Errors
/// Unreadable runs; [`Error::Config`] past 2³² − 1 documents.
pub fn candidates_from_runs(
    runs: &[RunFile],
    bands: usize,
    index_docs: u32,
    docs: u32,
) -> Result<Candidates, Error> {
    let total = index_docs.checked_add(docs).ok_or_else(too_many_rows)?;
    let links = links_from_runs(runs, bands)?;
    let comps = components(total, links);
    let mut component_of = vec![u32::MAX; total as usize];
    let mut sizes = Vec::with_capacity(comps.len());
    let mut index_members = std::collections::BTreeMap::new();
    for (i, comp) in comps.iter().enumerate() {
        let index = u32::try_from(i).map_err(|_| too_many_rows())?;
        for &d in comp {
            component_of[d as usize] = index;
        }
        let from_index = comp.partition_point(|&d| d < index_docs);
        if from_index > 0 {
            index_members.insert(index, comp[..from_index].to_vec());
        }
        sizes.push(u32::try_from(comp.len() - from_index).map_err(|_| too_many_rows())?);
    }
    Ok(Candidates {
        docs: total,
        index_docs,
        component_of,
        sizes,
        index_members,
    })
}

/// One row of `clusters.parquet`: a member of a cluster of two or more rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMember {
    /// The row's id.
    pub row_id: u64,
    /// The row's own `id` column value, when the input has one.
    pub id: Option<String>,
    /// The cluster: its representative's row id.
    pub cluster_id: u64,
    /// The representative's row id (equal to `row_id` for the representative).
    pub representative: u64,
    /// Exact Jaccard with the representative (1 for exact duplicates and the
    /// representative; `None` when unverified).
    pub jaccard: Option<f64>,
    /// Whether the row is in the index the run was checked against
    /// (`--against`): its `row_id` and `id` are then the indexed corpus's.
    pub from_index: bool,
    /// Whether the cluster's representative is an index row: clusters are
    /// identified by (`representative_from_index`, `cluster_id`).
    pub representative_from_index: bool,
}

impl ClusterMember {
    /// A corpus row as its own cluster's representative, until it joins
    /// another.
    fn corpus_row(row_id: u64, id: Option<String>) -> Self {
        Self {
            row_id,
            id,
            cluster_id: row_id,
            representative: row_id,
            jaccard: Some(1.0),
            from_index: false,
            representative_from_index: false,
        }
    }
}

/// The figures of a de-duplication run (`report.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct DedupReport {
    /// Rows read.
    pub rows: u64,
    /// Rows whose chosen fields hold no text after normalisation: never
    /// compared, always kept (all of them when `--on` names roles the
    /// corpus lacks).
    pub empty: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows removed as duplicates.
    pub duplicates: u64,
    /// Clusters of two or more rows.
    pub clusters: u64,
    /// Rows in the largest cluster.
    pub largest_cluster: u64,
    /// Clusters larger than `max_cluster` (cluster id, size).
    pub oversized: Vec<(u64, u64)>,
    /// How many clusters have each size, by ascending size.
    pub cluster_sizes: Vec<ClusterSize>,
    /// The near-duplicate settings (near only).
    pub near: Option<NearConfig>,
    /// P(candidate | J) of the chosen banding (near only).
    pub s_curve: Vec<SCurvePoint>,
}

impl DedupReport {
    /// Share of the rows removed as duplicates (0 for no rows).
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "row counts below 2^52")]
    pub fn duplicate_share(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.duplicates as f64 / self.rows as f64
        }
    }
}

/// One bar of the cluster-size histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ClusterSize {
    /// Rows in the cluster (representative included).
    pub size: u64,
    /// Clusters of that size.
    pub clusters: u64,
}

/// Counts clusters by size; `sizes` holds one size per cluster.
#[must_use]
pub fn size_histogram(sizes: impl IntoIterator<Item = u64>) -> Vec<ClusterSize> {
    let mut counts = std::collections::BTreeMap::new();
    for size in sizes {
        *counts.entry(size).or_insert(0u64) += 1;
    }
    counts
        .into_iter()
        .map(|(size, clusters)| ClusterSize { size, clusters })
        .collect()
}

/// A representative's cluster: its shingle set sits at the same position
/// in the component's [`Representatives`].
struct Rep {
    row_id: u64,
    own: ClusterMember,
    members: Vec<ClusterMember>,
}

/// A candidate component whose last member has not been read yet.
#[derive(Default)]
struct OpenComponent {
    sets: Representatives,
    reps: Vec<Rep>,
    /// Members read so far.
    seen: u32,
}

impl OpenComponent {
    fn push(&mut self, rep: Rep, shingles: Vec<u64>) {
        self.sets.push(shingles);
        self.reps.push(rep);
    }
}

/// What pass 2 of near de-duplication reads besides the corpus.
#[derive(Debug, Clone, Copy)]
pub struct NearPlan<'a> {
    /// The candidate components of pass 1.
    pub candidates: &'a Candidates,
    /// The index the candidates were merged with (`--against`).
    pub against: Option<&'a NearIndex>,
}

/// The in-order clustering decisions of pass 2.
struct Clusterer<'c> {
    config: &'c DedupConfig,
    plan: Option<NearPlan<'c>>,
    exact: HashMap<u128, u64>,
    /// Exact representatives, by row id, until a duplicate joins them.
    exact_reps: HashMap<u64, ClusterMember>,
    /// Open near components.
    open: HashMap<u32, OpenComponent>,
    members: Vec<ClusterMember>,
}

impl<'c> Clusterer<'c> {
    fn new(config: &'c DedupConfig, plan: Option<NearPlan<'c>>) -> Self {
        Self {
            config,
            plan,
            exact: HashMap::new(),
            exact_reps: HashMap::new(),
            open: HashMap::new(),
            members: Vec::new(),
        }
    }

    /// Whether row `doc` (content `content`, `member` its cluster entry
    /// given a representative) is kept.
    fn keep(
        &mut self,
        doc: u32,
        content: &str,
        shingles: Option<&[u64]>,
        member: ClusterMember,
    ) -> Result<bool, Error> {
        if content.is_empty() {
            return Ok(true);
        }
        match self.plan {
            Some(plan) => self.keep_near(plan, doc, shingles, member),
            None => Ok(self.keep_exact(content, member)),
        }
    }

    fn keep_exact(&mut self, content: &str, mut member: ClusterMember) -> bool {
        let key = content_hash(content);
        if let Some(&representative) = self.exact.get(&key) {
            if let Some(rep) = self.exact_reps.remove(&representative) {
                self.members.push(rep);
            }
            member.cluster_id = representative;
            member.representative = representative;
            self.members.push(member);
            false
        } else {
            self.exact.insert(key, member.row_id);
            self.exact_reps.insert(member.row_id, member);
            true
        }
    }

    /// A component as it opens: its index rows are its first
    /// representatives.
    fn open_component(plan: NearPlan<'_>, comp: u32) -> Result<OpenComponent, Error> {
        let mut open = OpenComponent::default();
        if let (Some(index), Some(docs)) = (plan.against, plan.candidates.index_members.get(&comp))
        {
            for &d in docs {
                let own = index.member(d);
                let rep = Rep {
                    row_id: own.row_id,
                    own,
                    members: Vec::new(),
                };
                open.push(rep, index.shingles(d)?);
            }
        }
        Ok(open)
    }

    fn keep_near(
        &mut self,
        plan: NearPlan<'_>,
        doc: u32,
        shingles: Option<&[u64]>,
        mut member: ClusterMember,
    ) -> Result<bool, Error> {
        let candidates = plan.candidates;
        let comp = candidates
            .component_of
            .get(doc as usize)
            .copied()
            .unwrap_or(u32::MAX);
        let Some(&size) = candidates.sizes.get(comp as usize) else {
            return Ok(true);
        };
        let entry = match self.open.entry(comp) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(Self::open_component(plan, comp)?),
        };
        entry.seen += 1;
        let verify = self.config.near.and_then(|n| n.verify);
        let joined = match (verify, shingles) {
            (Some(t), Some(s)) => entry
                .sets
                .first_match(s, t)
                .map(|(i, j)| (&mut entry.reps[i], Some(j))),
            _ => entry.reps.first_mut().map(|rep| (rep, None)),
        };
        let kept = if let Some((rep, j)) = joined {
            member.cluster_id = rep.row_id;
            member.representative = rep.row_id;
            member.jaccard = j;
            member.representative_from_index = rep.own.from_index;
            rep.members.push(member);
            false
        } else {
            let rep = Rep {
                row_id: member.row_id,
                own: member,
                members: Vec::new(),
            };
            entry.push(rep, shingles.map(<[u64]>::to_vec).unwrap_or_default());
            true
        };
        if entry.seen == size
            && let Some(open) = self.open.remove(&comp)
        {
            for rep in open.reps.into_iter().filter(|r| !r.members.is_empty()) {
                self.members.push(rep.own);
                self.members.extend(rep.members);
            }
        }
        Ok(kept)
    }

    /// Cluster members sorted by cluster (clusters represented by an index
    /// row last), representative first, then by row.
    fn finish(mut self) -> Vec<ClusterMember> {
        sort_members(&mut self.members);
        self.members
    }
}

/// Sorts cluster members by cluster (clusters represented by an index row
/// last), index rows first, the representative first, then by row.
fn sort_members(members: &mut [ClusterMember]) {
    members.sort_by_key(|m| {
        (
            m.representative_from_index,
            m.cluster_id,
            !m.from_index,
            m.row_id != m.representative,
            m.row_id,
        )
    });
}

/// Representatives chosen by a priority column (`--priority COL`): in each
/// cluster the row with the highest value of COL (null and NaN lowest),
/// ties to the lowest row id. Built by [`priority_decisions`] in a pass of
/// its own; [`deduplicate`] then applies them.
#[derive(Debug)]
pub struct PriorityDecisions(Decided);

#[derive(Debug)]
enum Decided {
    /// Exact: each content key's best row and cluster size (≈ 48 bytes per
    /// distinct row).
    Exact(HashMap<u128, Best>),
    /// Near: whether each corpus row is kept (1 byte per row) and the
    /// cluster members.
    Near {
        keep: Vec<bool>,
        members: Vec<ClusterMember>,
    },
}

/// The best row of an exact cluster so far.
#[derive(Debug, Clone, Copy)]
struct Best {
    priority: f64,
    row_id: u64,
    rows: u64,
}

/// The order of `(priority, row id)` pairs in a cluster: higher priority
/// first, then the lower row id.
fn rank(a: (f64, u64), b: (f64, u64)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The priority column of `batch` as numbers, null and NaN as −∞.
/// Checks, before any row is read, that the `--priority` column is in
/// `schema` and holds numbers.
///
/// # Errors
/// [`Error::Config`] naming the column and what is wrong with it.
pub fn check_priority_column(schema: &Schema, column: &str) -> Result<(), Error> {
    match schema.field_with_name(column).ok().map(Field::data_type) {
        Some(t) if t.is_numeric() => Ok(()),
        other => Err(priority_type_error(column, other)),
    }
}

/// Why `column` (of type `data_type`, `None` when missing) cannot rank rows.
fn priority_type_error(column: &str, data_type: Option<&DataType>) -> Error {
    let reason = match data_type {
        None => format!("the input has no column `{column}`"),
        Some(t) => format!("column `{column}` is {t}, not a number"),
    };
    Error::Config {
        what: "priority",
        reason,
    }
}

fn priorities(batch: &RecordBatch, column: &str) -> Result<Vec<f64>, Error> {
    let array = match batch.column_by_name(column) {
        Some(array) if array.data_type().is_numeric() => array,
        other => return Err(priority_type_error(column, other.map(Array::data_type))),
    };
    let numbers =
        arrow::compute::cast(array, &DataType::Float64).map_err(|source| Error::Arrow {
            column: column.to_owned(),
            source,
        })?;
    let numbers = numbers.as_primitive::<arrow::datatypes::Float64Type>();
    Ok((0..numbers.len())
        .map(|i| {
            let v = numbers.value(i);
            if numbers.is_null(i) || v.is_nan() {
                f64::NEG_INFINITY
            } else {
                v
            }
        })
        .collect())
}

/// A component member waiting for the rest of its component.
struct Waiting {
    priority: f64,
    doc: u32,
    shingles: Option<Vec<u64>>,
    member: ClusterMember,
}

/// The pass before [`deduplicate`] with `--priority COL`: reads `column`
/// and decides every cluster's representative. Exact: one hash per row,
/// the best row per key. Near (`plan` from pass 1): the members of each
/// candidate component are held (with their shingle sets) until the last
/// one is read, then clustered in priority order, as [`deduplicate`]
/// clusters rows in input order.
///
/// # Errors
/// [`Error::Config`] when `column` is missing or not numeric; read errors.
#[expect(
    clippy::too_many_lines,
    reason = "one pass: prepare in parallel, decide in order"
)]
pub fn priority_decisions(
    batches: impl IntoIterator<Item = regime_corpus::Result<CorpusBatch>>,
    map: &FieldMap,
    config: &DedupConfig,
    plan: Option<NearPlan<'_>>,
    column: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<PriorityDecisions, Error> {
    let words = WordTokenizer::new();
    let normalizer = config.normalizer();
    let mut clusterer = Clusterer::new(config, plan);
    let mut best: HashMap<u128, Best> = HashMap::new();
    let index_docs = plan.map_or(0, |p| p.candidates.index_docs);
    let mut keep = Vec::new();
    let mut waiting: HashMap<u32, Vec<Waiting>> = HashMap::new();
    let mut doc = index_docs;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        let text = BatchText::try_new(map, &batch.batch)?;
        let priority = priorities(&batch.batch, column)?;
        let ids = id_column(&batch.batch);
        let first_doc = doc;
        let prepared: Vec<(String, Option<Vec<u64>>)> = (0..text.num_rows())
            .into_par_iter()
            .map(|row| {
                let c = content(&text, row, config, &normalizer);
                let d = first_doc.saturating_add(u32::try_from(row).unwrap_or(u32::MAX));
                let shingles = match (config.near, plan) {
                    (Some(near), Some(p))
                        if near.verify.is_some()
                            && !c.is_empty()
                            && p.candidates
                                .component_of
                                .get(d as usize)
                                .is_some_and(|&c| c != u32::MAX) =>
                    {
                        Some(shingle_set(&c, near.shingles, &words))
                    }
                    _ => None,
                };
                (c, shingles)
            })
            .collect();
        for (row, (content, shingles)) in prepared.into_iter().enumerate() {
            let row_id = batch.row_id(row).as_u64();
            let p = priority[row];
            keep.push(true);
            match plan {
                None if !content.is_empty() => {
                    best.entry(content_hash(&content))
                        .and_modify(|b| {
                            b.rows += 1;
                            if rank((p, row_id), (b.priority, b.row_id)).is_lt() {
                                (b.priority, b.row_id) = (p, row_id);
                            }
                        })
                        .or_insert(Best {
                            priority: p,
                            row_id,
                            rows: 1,
                        });
                }
                Some(plan) => {
                    let comp = plan
                        .candidates
                        .component_of
                        .get(doc as usize)
                        .copied()
                        .unwrap_or(u32::MAX);
                    if let Some(&size) = plan.candidates.sizes.get(comp as usize) {
                        let members = waiting.entry(comp).or_default();
                        members.push(Waiting {
                            priority: p,
                            doc,
                            shingles,
                            member: ClusterMember::corpus_row(
                                row_id,
                                ids.as_ref().and_then(|f| f(row)),
                            ),
                        });
                        if members.len() == size as usize
                            && let Some(mut members) = waiting.remove(&comp)
                        {
                            members.sort_by(|a, b| {
                                rank((a.priority, a.member.row_id), (b.priority, b.member.row_id))
                            });
                            for m in members {
                                let kept = clusterer.keep_near(
                                    plan,
                                    m.doc,
                                    m.shingles.as_deref(),
                                    m.member,
                                )?;
                                keep[(m.doc - index_docs) as usize] = kept;
                            }
                        }
                    }
                }
                None => {}
            }
            doc = doc.checked_add(1).ok_or_else(too_many_rows)?;
        }
        rows += batch.num_rows() as u64;
        progress(rows);
    }
    Ok(PriorityDecisions(match plan {
        None => Decided::Exact(best),
        Some(_) => Decided::Near {
            keep,
            members: clusterer.finish(),
        },
    }))
}

/// A row prepared in parallel for the in-order decisions of pass 2.
struct Prepared {
    content: String,
    shingles: Option<Vec<u64>>,
    keys: Option<Vec<u64>>,
}

/// Pass 2: streams the rows in input order, keeps each cluster's
/// representative (the lowest row id, or the one `decided` by
/// [`priority_decisions`]; an index row when checked against one) and every
/// row outside a cluster, writes the kept rows to `writer` (none: the
/// report only), adds the kept rows to `save_index` when given, and returns
/// the report and the cluster members (sorted by cluster, then row).
///
/// # Errors
/// Read and write errors.
#[expect(
    clippy::too_many_lines,
    clippy::too_many_arguments,
    reason = "one streaming pass: prepare, decide, write; its inputs are the phases before it"
)]
pub fn deduplicate(
    batches: impl IntoIterator<Item = regime_corpus::Result<CorpusBatch>>,
    map: &FieldMap,
    config: &DedupConfig,
    plan: Option<NearPlan<'_>>,
    decided: Option<PriorityDecisions>,
    mut save_index: Option<&mut IndexWriter>,
    mut writer: Option<&mut PartWriter<'_>>,
    progress: &mut dyn FnMut(u64),
) -> Result<(DedupReport, Vec<ClusterMember>), Error> {
    let words = WordTokenizer::new();
    let normalizer = config.normalizer();
    let hasher = match (&save_index, &config.near) {
        (Some(_), Some(near)) => Some(min_hasher(near)?),
        _ => None,
    };
    let mut clusterer = Clusterer::new(config, plan);
    let mut doc: u32 = plan.map_or(0, |p| p.candidates.index_docs);
    let mut rows = 0u64;
    let mut empty = 0u64;
    let mut kept = 0u64;
    for batch in batches {
        let batch = batch?;
        let text = BatchText::try_new(map, &batch.batch)?;
        let ids = id_column(&batch.batch);
        let first_doc = doc;
        // Content, shingles and (for the index) band keys in parallel;
        // decisions in order.
        let prepared: Vec<Prepared> = (0..text.num_rows())
            .into_par_iter()
            .map(|row| {
                let c = content(&text, row, config, &normalizer);
                let d = first_doc.saturating_add(u32::try_from(row).unwrap_or(u32::MAX));
                let in_component = plan.is_some_and(|p| {
                    p.candidates
                        .component_of
                        .get(d as usize)
                        .is_some_and(|&c| c != u32::MAX)
                });
                let mut prepared = Prepared {
                    content: String::new(),
                    shingles: None,
                    keys: None,
                };
                let verifies = in_component && decided.is_none();
                if let Some(near) = config.near
                    && !c.is_empty()
                    && ((verifies && near.verify.is_some()) || hasher.is_some())
                {
                    let set = shingle_set(&c, near.shingles, &words);
                    prepared.keys = hasher.as_ref().map(|h| h.band_keys(&h.signature(&set)));
                    prepared.shingles = Some(set);
                }
                prepared.content = c;
                prepared
            })
            .collect();
        let mut keep = Vec::with_capacity(text.num_rows());
        for (row, p) in prepared.into_iter().enumerate() {
            empty += u64::from(p.content.is_empty());
            let row_id = batch.row_id(row).as_u64();
            let id = ids.as_ref().and_then(|f| f(row));
            let member = ClusterMember::corpus_row(row_id, id.clone());
            let kept_row = match decided.as_ref().map(|d| &d.0) {
                None => clusterer.keep(doc, &p.content, p.shingles.as_deref(), member)?,
                Some(Decided::Near { keep, .. }) => keep
                    .get((doc - plan.map_or(0, |p| p.candidates.index_docs)) as usize)
                    .copied()
                    .unwrap_or(true),
                Some(Decided::Exact(best)) => match best.get(&content_hash(&p.content)) {
                    Some(b) if !p.content.is_empty() => {
                        if b.rows > 1 {
                            clusterer.members.push(ClusterMember {
                                cluster_id: b.row_id,
                                representative: b.row_id,
                                ..member
                            });
                        }
                        b.row_id == row_id
                    }
                    _ => true,
                },
            };
            if kept_row
                && let (Some(index), Some(set), Some(keys)) =
                    (save_index.as_deref_mut(), &p.shingles, &p.keys)
            {
                index.push(row_id, id.as_deref(), set, keys)?;
            }
            keep.push(kept_row);
            kept += u64::from(kept_row);
            doc = doc.checked_add(1).ok_or_else(too_many_rows)?;
        }
        if let Some(writer) = writer.as_deref_mut() {
            let filtered =
                filter_record_batch(&batch.batch, &BooleanArray::from(keep)).map_err(|source| {
                    Error::Arrow {
                        column: "(kept rows)".into(),
                        source,
                    }
                })?;
            writer.write(&filtered)?;
        }
        rows += batch.num_rows() as u64;
        progress(rows);
    }
    let members = match decided {
        Some(PriorityDecisions(Decided::Near { members, .. })) => members,
        _ => clusterer.finish(),
    };
    let mut sizes: Vec<(u64, u64)> = Vec::new();
    let mut last: Option<(bool, u64)> = None;
    for m in &members {
        let key = (m.representative_from_index, m.cluster_id);
        match sizes.last_mut() {
            Some((_, n)) if last == Some(key) => *n += 1,
            _ => sizes.push((m.cluster_id, 1)),
        }
        last = Some(key);
    }
    let report = DedupReport {
        rows,
        empty,
        kept,
        duplicates: rows - kept,
        clusters: sizes.len() as u64,
        largest_cluster: sizes.iter().map(|s| s.1).max().unwrap_or(0),
        oversized: sizes
            .iter()
            .copied()
            .filter(|s| s.1 > config.max_cluster as u64)
            .collect(),
        cluster_sizes: size_histogram(sizes.iter().map(|s| s.1)),
        near: config.near,
        s_curve: config.near.map(|n| n.s_curve()).unwrap_or_default(),
    };
    Ok((report, members))
}

type IdReader<'a> = Box<dyn Fn(usize) -> Option<String> + 'a>;

/// Reads a row's `id` column as text, when the input has one.
fn id_column(batch: &RecordBatch) -> Option<IdReader<'_>> {
    let column = batch.column_by_name("id")?;
    let column: &dyn Array = column.as_ref();
    match column.data_type() {
        DataType::Utf8 => {
            let a = column.as_string::<i32>();
            Some(Box::new(move |i| {
                a.is_valid(i).then(|| a.value(i).to_owned())
            }))
        }
        DataType::LargeUtf8 => {
            let a = column.as_string::<i64>();
            Some(Box::new(move |i| {
                a.is_valid(i).then(|| a.value(i).to_owned())
            }))
        }
        // Views, dictionaries (a pandas categorical) and integers of any
        // width: as text once per batch, so that every id reaches the
        // clusters.
        other if is_id_type(other) => {
            let plain = arrow::compute::cast(column, &DataType::Utf8).ok()?;
            Some(Box::new(move |i| {
                let a = plain.as_string::<i32>();
                a.is_valid(i).then(|| a.value(i).to_owned())
            }))
        }
        _ => None,
    }
}

/// The `clusters.parquet` table: `row_id`, `id` (when `with_id`),
/// `cluster_id`, `representative`, `jaccard`, and with `against` (a run
/// checked against an index) `from_index` and `representative_from_index`.
///
/// # Errors
/// Never for well-formed members (Arrow validates the columns).
pub fn clusters_batch(
    members: &[ClusterMember],
    with_id: bool,
    against: bool,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array};
    use arrow::datatypes::{Field, Schema};

    let mut fields = vec![Field::new("row_id", DataType::UInt64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(
        members.iter().map(|m| m.row_id),
    ))];
    if with_id {
        fields.push(Field::new("id", DataType::Utf8, true));
        columns.push(Arc::new(
            members
                .iter()
                .map(|m| m.id.as_deref())
                .collect::<StringArray>(),
        ));
    }
    fields.push(Field::new("cluster_id", DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from_iter_values(
        members.iter().map(|m| m.cluster_id),
    )));
    fields.push(Field::new("representative", DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from_iter_values(
        members.iter().map(|m| m.representative),
    )));
    fields.push(Field::new("jaccard", DataType::Float64, true));
    columns.push(Arc::new(
        members.iter().map(|m| m.jaccard).collect::<Float64Array>(),
    ));
    if against {
        fields.push(Field::new("from_index", DataType::Boolean, false));
        columns.push(Arc::new(
            members
                .iter()
                .map(|m| Some(m.from_index))
                .collect::<BooleanArray>(),
        ));
        fields.push(Field::new(
            "representative_from_index",
            DataType::Boolean,
            false,
        ));
        columns.push(Arc::new(
            members
                .iter()
                .map(|m| Some(m.representative_from_index))
                .collect::<BooleanArray>(),
        ));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Whether a schema has an `id` column [`deduplicate`] can read.
#[must_use]
pub fn has_id_column(schema: &arrow::datatypes::Schema) -> bool {
    schema
        .field_with_name("id")
        .is_ok_and(|f| is_id_type(f.data_type()))
}

/// Whether an `id` column of this type is carried into the clusters: text
/// in any layout, or integers.
fn is_id_type(data_type: &DataType) -> bool {
    regime_corpus::is_string(data_type) || data_type.is_integer()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, DictionaryArray, Int32Array, StringViewArray, UInt64Array};
    use arrow::datatypes::{Field, Int8Type, Schema};

    use super::*;

    #[test]
    fn settings_do_not_depend_on_the_order_roles_are_named_in() {
        let config = |roles: Vec<Role>| DedupConfig {
            roles: Some(roles),
            case_fold: false,
            near: None,
            max_cluster: 10,
        };
        let near = NearConfig::datatrove();
        assert_eq!(
            config(vec![Role::User, Role::Assistant]).settings(near),
            config(vec![Role::Assistant, Role::User, Role::User]).settings(near)
        );
    }

    #[test]
    fn dictionary_view_and_integer_ids_are_read() {
        let dict: DictionaryArray<Int8Type> = [Some("7"), None, Some("7")].into_iter().collect();
        let view = StringViewArray::from(vec![Some("7"), None, Some("7")]);
        let int32 = Int32Array::from(vec![Some(7), None, Some(7)]);
        let uint64 = UInt64Array::from(vec![Some(7), None, Some(7)]);
        let columns: [ArrayRef; 4] = [
            Arc::new(dict),
            Arc::new(view),
            Arc::new(int32),
            Arc::new(uint64),
        ];
        for column in columns {
            let schema = Schema::new(vec![Field::new("id", column.data_type().clone(), true)]);
            assert!(has_id_column(&schema), "{}", column.data_type());
            let batch = RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap();
            let ids = id_column(&batch).unwrap();
            assert_eq!(
                (0..3).map(ids).collect::<Vec<_>>(),
                [Some("7".to_owned()), None, Some("7".to_owned())]
            );
        }
        let float = Schema::new(vec![Field::new("id", DataType::Float64, true)]);
        assert!(!has_id_column(&float));
    }
}
