//! The JSON files the spectral commands write: `summary.json` of one audit
//! ([`SummaryFile`]) and `compare.json` of a comparison ([`CompareFile`]).
//!
//! They derive [`schemars::JsonSchema`], so `schemas/spectral-summary.schema.json`
//! and `schemas/spectral-compare.schema.json` are generated from these types
//! and a test fails when either drifts. Undefined numbers (a failed fit's α,
//! the stable rank of an all-zero matrix) are `null`, never NaN.

use schemars::JsonSchema;
use serde::Serialize;

use crate::audit::{BaseAlignment, SkippedTensor};
use crate::summary::ModelSummary;
use crate::trajectory::Trajectory;

/// `DIR/summary.json` of `regime spectral`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SummaryFile {
    /// The program that wrote the file (`regime`).
    pub tool: String,
    /// Its version.
    pub version: String,
    /// The model path as given.
    pub model: String,
    /// The safetensors files read, in reading order.
    pub files: Vec<String>,
    /// The `--base` model path, when one was given.
    pub base: Option<String>,
    /// Tensors in the model.
    pub tensors: usize,
    /// The selection and fit settings.
    pub config: AuditConfig,
    /// The per-model summary.
    pub summary: ModelSummary,
    /// Tensors not audited, with the reason.
    pub skipped: Vec<SkippedTensor>,
    /// Alignment with the base model, when one was given.
    pub alignment: Option<BaseAlignment>,
}

/// The selection and fit settings recorded in [`SummaryFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AuditConfig {
    /// `--include` regex.
    pub include: Option<String>,
    /// `--exclude` regex.
    pub exclude: Option<String>,
    /// Smallest number of eigenvalues audited.
    pub min_evals: usize,
    /// Largest number of eigenvalues audited.
    pub max_evals: usize,
    /// Largest larger side audited.
    pub max_n: usize,
    /// Whether WeightWatcher's `clip_xmax` finger fix was applied.
    pub fix_fingers: bool,
    /// Eigenvalue route: `auto`, `svd` or `gram`.
    pub esd: String,
}

/// `DIR/compare.json` of `regime spectral-compare`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompareFile {
    /// The program that wrote the file (`regime`).
    pub tool: String,
    /// Its version.
    pub version: String,
    /// One entry per model, in the order given.
    pub models: Vec<CompareEntry>,
    /// The trajectory table, when every label is `CONDITION@CHECKPOINT`.
    pub trajectory: Option<Trajectory>,
}

/// One model of a [`CompareFile`].
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompareEntry {
    /// Its label.
    pub label: String,
    /// The model path as given.
    pub model: String,
    /// Its per-model summary.
    pub summary: ModelSummary,
}
