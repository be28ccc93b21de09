//! The audit: select the weight matrices of a model, compute their spectra
//! in parallel, and (with a base model) their change since the base.
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and matrix dimensions are far below 2^52"
)]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use faer::Mat;
use rayon::prelude::*;
use regex::Regex;
use schemars::JsonSchema;
use serde::Serialize;

use crate::delta::{MatrixDelta, change_stats, difference};
use crate::error::{Error, Result};
use crate::esd::{EsdMethod, eigenvalues};
use crate::metrics::SpectralMetrics;
use crate::model::{Model, TensorEntry};
use crate::names::{PrefixMap, classify, fused_part_name, is_fused_qkv};

/// Default for [`AuditBuilder::with_min_evals`]: skip matrices with M < 8.
pub const DEFAULT_MIN_EVALS: usize = 8;
/// Default for [`AuditBuilder::with_max_evals`]: skip matrices with M > 15000.
pub const DEFAULT_MAX_EVALS: usize = 15_000;
/// Default for [`AuditBuilder::with_max_n`]: skip matrices with N > 50000.
pub const DEFAULT_MAX_N: usize = 50_000;
/// Default for [`AuditBuilder::with_min_base_match`]: at least half of the
/// audited matrices must have a base counterpart of the same shape.
pub const DEFAULT_MIN_BASE_MATCH: f64 = 0.5;

/// Progress of a running audit, reported after each matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Matrices finished.
    pub done: usize,
    /// Matrices in the audit.
    pub total: usize,
}

/// Configures an [`Audit`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AuditBuilder {
    include: Option<String>,
    exclude: Option<String>,
    min_evals: usize,
    max_evals: usize,
    max_n: usize,
    fix_fingers: bool,
    split_qkv: bool,
    esd: EsdMethod,
    prefix_map: PrefixMap,
    min_base_match: f64,
}

impl Default for AuditBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl AuditBuilder {
    /// WeightWatcher's defaults.
    pub fn new() -> Self {
        Self {
            include: None,
            exclude: None,
            min_evals: DEFAULT_MIN_EVALS,
            max_evals: DEFAULT_MAX_EVALS,
            max_n: DEFAULT_MAX_N,
            fix_fingers: false,
            split_qkv: true,
            esd: EsdMethod::Auto,
            prefix_map: PrefixMap::default(),
            min_base_match: DEFAULT_MIN_BASE_MATCH,
        }
    }

    /// Audit only tensors whose name matches this regex. Default: all.
    pub fn with_include(mut self, pattern: Option<String>) -> Self {
        self.include = pattern;
        self
    }

    /// Skip tensors whose name matches this regex. Default: none.
    pub fn with_exclude(mut self, pattern: Option<String>) -> Self {
        self.exclude = pattern;
        self
    }

    /// Skip matrices with fewer eigenvalues. Defaults to [`DEFAULT_MIN_EVALS`].
    pub fn with_min_evals(mut self, m: usize) -> Self {
        self.min_evals = m;
        self
    }

    /// Skip matrices with more eigenvalues. Defaults to [`DEFAULT_MAX_EVALS`].
    pub fn with_max_evals(mut self, m: usize) -> Self {
        self.max_evals = m;
        self
    }

    /// Skip matrices whose larger side exceeds this. Defaults to [`DEFAULT_MAX_N`].
    pub fn with_max_n(mut self, n: usize) -> Self {
        self.max_n = n;
        self
    }

    /// Clip "finger" eigenvalues before fitting. Default: off.
    pub fn with_fix_fingers(mut self, on: bool) -> Self {
        self.fix_fingers = on;
        self
    }

    /// Split fused `attn.qkv` weights into q, k, v thirds. Default: on.
    pub fn with_split_qkv(mut self, on: bool) -> Self {
        self.split_qkv = on;
        self
    }

    /// How eigenvalues are computed. Default: [`EsdMethod::Auto`].
    pub fn with_esd_method(mut self, method: EsdMethod) -> Self {
        self.esd = method;
        self
    }

    /// Name rewriting used to align a base model. Default: [`PrefixMap::default`].
    pub fn with_prefix_map(mut self, map: PrefixMap) -> Self {
        self.prefix_map = map;
        self
    }

    /// Share of audited matrices that must match the base by name and shape,
    /// below which the base counts as another architecture. Defaults to
    /// [`DEFAULT_MIN_BASE_MATCH`].
    pub fn with_min_base_match(mut self, share: f64) -> Self {
        self.min_base_match = share;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    /// [`Error::Regex`] for a bad pattern, [`Error::Config`] when
    /// `min_evals > max_evals`, `min_evals < 2` or the match share is not in [0, 1].
    pub fn build(self) -> Result<Audit> {
        let compile = |option: &'static str, p: Option<String>| {
            p.map(|pattern| {
                Regex::new(&pattern).map_err(|error| Error::Regex {
                    option,
                    pattern,
                    error,
                })
            })
            .transpose()
        };
        if self.min_evals < 2 {
            return Err(Error::Config(format!(
                "min-evals must be at least 2, got {}",
                self.min_evals
            )));
        }
        if self.min_evals > self.max_evals {
            return Err(Error::Config(format!(
                "min-evals {} is larger than max-evals {}",
                self.min_evals, self.max_evals
            )));
        }
        if !(0.0..=1.0).contains(&self.min_base_match) {
            return Err(Error::Config(format!(
                "base match share {} is not in [0, 1]",
                self.min_base_match
            )));
        }
        Ok(Audit {
            include: compile("include", self.include)?,
            exclude: compile("exclude", self.exclude)?,
            min_evals: self.min_evals,
            max_evals: self.max_evals,
            max_n: self.max_n,
            fix_fingers: self.fix_fingers,
            split_qkv: self.split_qkv,
            esd: self.esd,
            prefix_map: self.prefix_map,
            min_base_match: self.min_base_match,
        })
    }
}

/// A configured audit; see [`AuditBuilder`].
#[derive(Debug, Clone)]
pub struct Audit {
    include: Option<Regex>,
    exclude: Option<Regex>,
    min_evals: usize,
    max_evals: usize,
    max_n: usize,
    fix_fingers: bool,
    split_qkv: bool,
    esd: EsdMethod,
    prefix_map: PrefixMap,
    min_base_match: f64,
}

/// Why a tensor was not audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Not a 2-D tensor.
    NotMatrix,
    /// Left out by `--include` / `--exclude`.
    Filtered,
    /// Fewer eigenvalues than `min_evals`.
    TooFewEvals,
    /// More eigenvalues than `max_evals`.
    TooManyEvals,
    /// Larger side above `max_n`.
    TooLarge,
}

/// A tensor that was not audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SkippedTensor {
    /// Tensor name.
    pub name: String,
    /// Tensor shape.
    pub shape: Vec<usize>,
    /// Why.
    pub reason: SkipReason,
}

/// The result for one audited matrix (or one third of a fused qkv tensor).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixReport {
    /// Reported name (`…attn.qkv_q.weight` for a fused third).
    pub name: String,
    /// Name of the stored tensor.
    pub tensor: String,
    /// Module (see [`crate::names`]).
    pub module: String,
    /// Layer index.
    pub layer: Option<u32>,
    /// Layer container path (`model.layers`), empty when none.
    pub stack: String,
    /// Spectral metrics (N, M and everything else).
    pub metrics: SpectralMetrics,
    /// Change since the base model, when one was given and matched.
    pub delta: Option<MatrixDelta>,
}

/// A tensor present in both models with different shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ShapeMismatch {
    /// Name in the audited model.
    pub name: String,
    /// Shape in the audited model (rows, cols).
    pub shape: (usize, usize),
    /// Shape in the base model.
    pub base_shape: (usize, usize),
}

/// How the audited model lined up with its base.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BaseAlignment {
    /// The base model path.
    pub path: PathBuf,
    /// Matrices matched by aligned name and shape.
    pub matched: usize,
    /// Audited matrices with no base counterpart.
    pub missing_in_base: Vec<String>,
    /// Base matrices with no counterpart in the audited model.
    pub missing_in_model: Vec<String>,
    /// Counterparts with different shapes.
    pub shape_mismatches: Vec<ShapeMismatch>,
}

/// The audit of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelAudit {
    /// The model path.
    pub path: PathBuf,
    /// Tensors in the model.
    pub tensors: usize,
    /// One entry per audited matrix, in file order.
    pub matrices: Vec<MatrixReport>,
    /// Tensors not audited, with the reason.
    pub skipped: Vec<SkippedTensor>,
    /// Alignment with the base model, when one was given.
    pub base: Option<BaseAlignment>,
}

/// One unit of work: a 2-D tensor or a third of a fused one.
#[derive(Debug, Clone)]
struct Job<'a> {
    name: String,
    tensor: &'a TensorEntry,
    rows: Option<(usize, usize)>,
    shape: (usize, usize),
}

impl Audit {
    /// Audits `model`, calling `progress` after each matrix (from worker threads).
    ///
    /// # Errors
    /// [`Error::NoMatrices`] when nothing is selected,
    /// [`Error::UnsupportedDtype`] for a selected tensor of another dtype,
    /// [`Error::NoConvergence`] if a decomposition fails.
    pub fn run(&self, model: &Model, progress: &(dyn Fn(Progress) + Sync)) -> Result<ModelAudit> {
        self.run_inner(model, None, progress)
    }

    /// Audits `model` and its change since `base`.
    ///
    /// # Errors
    /// As [`Audit::run`], and [`Error::BaseMismatch`] when fewer than the
    /// configured share of matrices match the base by name and shape.
    pub fn run_with_base(
        &self,
        model: &Model,
        base: &Model,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ModelAudit> {
        self.run_inner(model, Some(base), progress)
    }

    fn select<'a>(&self, model: &'a Model) -> Result<(Vec<Job<'a>>, Vec<SkippedTensor>)> {
        let mut jobs = Vec::new();
        let mut skipped = Vec::new();
        for tensor in model.tensors() {
            let skip = |reason| SkippedTensor {
                name: tensor.name.clone(),
                shape: tensor.shape.clone(),
                reason,
            };
            let [rows, cols] = tensor.shape[..] else {
                skipped.push(skip(SkipReason::NotMatrix));
                continue;
            };
            if self
                .include
                .as_ref()
                .is_some_and(|re| !re.is_match(&tensor.name))
                || self
                    .exclude
                    .as_ref()
                    .is_some_and(|re| re.is_match(&tensor.name))
            {
                skipped.push(skip(SkipReason::Filtered));
                continue;
            }
            let info = classify(&tensor.name);
            let fused =
                self.split_qkv && is_fused_qkv(&info.module) && rows.is_multiple_of(3) && rows > 0;
            let unit_rows = if fused { rows / 3 } else { rows };
            let (n, m) = (unit_rows.max(cols), unit_rows.min(cols));
            let reason = if m < self.min_evals {
                Some(SkipReason::TooFewEvals)
            } else if m > self.max_evals {
                Some(SkipReason::TooManyEvals)
            } else if n > self.max_n {
                Some(SkipReason::TooLarge)
            } else {
                None
            };
            if let Some(reason) = reason {
                skipped.push(skip(reason));
                continue;
            }
            if !Model::supports(tensor.dtype) {
                return Err(Error::UnsupportedDtype {
                    path: model.file_of(tensor).to_path_buf(),
                    name: tensor.name.clone(),
                    dtype: format!("{:?}", tensor.dtype),
                });
            }
            if fused {
                for (k, part) in ['q', 'k', 'v'].into_iter().enumerate() {
                    jobs.push(Job {
                        name: fused_part_name(&tensor.name, part),
                        tensor,
                        rows: Some((k * unit_rows, unit_rows)),
                        shape: (unit_rows, cols),
                    });
                }
            } else {
                jobs.push(Job {
                    name: tensor.name.clone(),
                    tensor,
                    rows: None,
                    shape: (rows, cols),
                });
            }
        }
        Ok((jobs, skipped))
    }

    fn spectrum(&self, name: &str, w: &Mat<f64>) -> Result<SpectralMetrics> {
        let evals = eigenvalues(w.as_ref(), self.esd).ok_or_else(|| Error::NoConvergence {
            name: name.to_owned(),
        })?;
        let n = w.nrows().max(w.ncols());
        Ok(SpectralMetrics::compute(&evals, n, self.fix_fingers))
    }

    fn run_inner(
        &self,
        model: &Model,
        base: Option<&Model>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ModelAudit> {
        let (jobs, skipped) = self.select(model)?;
        if jobs.is_empty() {
            return Err(Error::NoMatrices {
                path: model.path().to_path_buf(),
                total: model.tensors().len(),
                skipped: skipped.len(),
            });
        }
        // Pair each job with its base job (same canonical name and shape).
        let (pairs, alignment) = match base {
            None => (vec![None; jobs.len()], None),
            Some(base_model) => {
                let (pairs, alignment) = self.align(&jobs, base_model)?;
                (pairs, Some(alignment))
            }
        };
        let total = jobs.len();
        let done = AtomicUsize::new(0);
        let matrices = jobs
            .par_iter()
            .zip(pairs.par_iter())
            .map(|(job, pair)| {
                let report = self.audit_job(model, job, base.zip(pair.as_ref()));
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(Progress {
                    done: finished,
                    total,
                });
                report
            })
            // Every job runs, so the error reported is the first in job
            // order at any thread count, not the first to finish.
            .collect::<Vec<Result<_>>>()
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(ModelAudit {
            path: model.path().to_path_buf(),
            tensors: model.tensors().len(),
            matrices,
            skipped,
            base: alignment,
        })
    }

    fn audit_job(
        &self,
        model: &Model,
        job: &Job<'_>,
        base: Option<(&Model, &Job<'_>)>,
    ) -> Result<MatrixReport> {
        let w = model.matrix(job.tensor, job.rows)?;
        let metrics = self.spectrum(&job.name, &w)?;
        let info = classify(&job.name);
        let delta = match base {
            None => None,
            Some((base_model, base_job)) => {
                let w0 = base_model.matrix(base_job.tensor, base_job.rows)?;
                let stats = change_stats(w0.as_ref(), w.as_ref());
                let base_metrics = self.spectrum(&base_job.name, &w0)?;
                drop(w0);
                let update = difference(
                    base_model.matrix(base_job.tensor, base_job.rows)?.as_ref(),
                    w.as_ref(),
                );
                let update_alpha = self.spectrum(&job.name, &update)?.alpha();
                Some(MatrixDelta {
                    base_name: base_job.name.clone(),
                    mean_change: stats.mean_change,
                    change_variance: stats.change_variance,
                    relative_change: stats.relative_change,
                    correlation: stats.correlation,
                    base_erank: base_metrics.erank,
                    delta_erank: metrics.erank.zip(base_metrics.erank).map(|(a, b)| a - b),
                    base_alpha: base_metrics.alpha(),
                    delta_alpha: metrics
                        .alpha()
                        .zip(base_metrics.alpha())
                        .map(|(a, b)| a - b),
                    update_alpha,
                })
            }
        };
        Ok(MatrixReport {
            name: job.name.clone(),
            tensor: job.tensor.name.clone(),
            module: info.module,
            layer: info.layer,
            stack: info.stack,
            metrics,
            delta,
        })
    }

    /// Name used to pair tensors: prefix rules applied, then a leading
    /// `model.` dropped (so `model.text_model.encoder…` pairs with `encoder…`).
    fn align_key(&self, name: &str) -> String {
        let canonical = self.prefix_map.canonical(name);
        match canonical.strip_prefix("model.") {
            Some(rest) => rest.to_owned(),
            None => canonical,
        }
    }

    fn align<'b>(
        &self,
        jobs: &[Job<'_>],
        base: &'b Model,
    ) -> Result<(Vec<Option<Job<'b>>>, BaseAlignment)> {
        let (base_jobs, _) = self.select(base)?;
        let mut by_name: HashMap<String, &Job<'b>> = HashMap::with_capacity(base_jobs.len());
        for job in &base_jobs {
            by_name.entry(self.align_key(&job.name)).or_insert(job);
        }
        let mut used: HashSet<&str> = HashSet::new();
        let mut pairs = Vec::with_capacity(jobs.len());
        let mut missing_in_base = Vec::new();
        let mut shape_mismatches = Vec::new();
        for job in jobs {
            match by_name.get(&self.align_key(&job.name)) {
                Some(b) if b.shape == job.shape => {
                    used.insert(b.name.as_str());
                    pairs.push(Some((*b).clone()));
                }
                Some(b) => {
                    used.insert(b.name.as_str());
                    shape_mismatches.push(ShapeMismatch {
                        name: job.name.clone(),
                        shape: job.shape,
                        base_shape: b.shape,
                    });
                    pairs.push(None);
                }
                None => {
                    missing_in_base.push(job.name.clone());
                    pairs.push(None);
                }
            }
        }
        let matched = pairs.iter().filter(|p| p.is_some()).count();
        if (matched as f64) < self.min_base_match * jobs.len() as f64 || matched == 0 {
            return Err(Error::BaseMismatch {
                path: base.path().to_path_buf(),
                matched,
                total: jobs.len(),
            });
        }
        let missing_in_model = base_jobs
            .iter()
            .filter(|b| !used.contains(b.name.as_str()))
            .map(|b| b.name.clone())
            .collect();
        Ok((
            pairs,
            BaseAlignment {
                path: base.path().to_path_buf(),
                matched,
                missing_in_base,
                missing_in_model,
                shape_mismatches,
            },
        ))
    }
}
