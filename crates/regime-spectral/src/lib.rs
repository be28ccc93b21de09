//! WeightWatcher-compatible spectral diagnostics of model weight matrices.
//!
//! `regime-spectral` owns the spectral audit of trained checkpoints: it
//! memory-maps safetensors files (single, directory or sharded with an
//! index), converts one matrix at a time to f64, computes its empirical
//! spectral density (the eigenvalues of `WᵀW`), fits WeightWatcher's power law
//! to the tail, and derives the per-matrix metrics, per-model summaries,
//! checkpoint-to-checkpoint deltas and trajectory trend labels defined in
//! `SPECTRAL.md`. It knows nothing of Arrow, corpora, reports or the CLI:
//! results are plain `serde`-serialisable structs and progress is a callback.
//!
//! # Overview
//! - [`Model`] opens a checkpoint without copying it.
//! - [`AuditBuilder`] configures tensor selection (regexes, `min_evals`,
//!   `max_evals`, `max_n`), fused-qkv splitting and base alignment, and
//!   builds an [`Audit`], whose [`Audit::run`] / [`Audit::run_with_base`]
//!   return a [`ModelAudit`] of [`MatrixReport`]s in file order.
//! - [`SpectralMetrics`] holds one matrix's metrics, [`PowerLawFit`] its
//!   fit (see [`fit_power_law`]), [`MatrixDelta`] its change since a base.
//! - [`ModelSummary`] is the per-model summary (α ∈ [2, 6] share, histogram,
//!   layer profiles); [`trajectory::label`] gives trend labels.
//! - [`PrefixMap`] and [`classify`] handle tensor names.
//! - [`SummaryFile`] and [`CompareFile`] are the JSON files the commands
//!   write (with JSON Schemas derived from them).
//!
//! # Example
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("model.safetensors");
//! # let data: Vec<u8> = (0..32 * 16).flat_map(|i| (((i * 37) % 101) as f32 / 50.0 - 1.0).to_le_bytes()).collect();
//! # let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![32, 16], &data)?;
//! # safetensors::serialize_to_file([("layers.0.mlp.up_proj.weight", view)], None, &path)?;
//! use regime_spectral::{AuditBuilder, Model, ModelSummary};
//!
//! let model = Model::open(&path)?;
//! let audit = AuditBuilder::new().build()?.run(&model, &|_| {})?;
//! let summary = ModelSummary::from_audit(&audit);
//! assert_eq!(audit.matrices[0].module, "mlp.up_proj");
//! assert_eq!(summary.matrices, 1);
//! # Ok(())
//! # }
//! ```

mod audit;
mod delta;
mod error;
pub mod esd;
pub mod fit;
mod header;
pub mod metrics;
mod model;
pub mod names;
mod output;
mod summary;
pub mod trajectory;

pub use audit::{
    Audit, AuditBuilder, BaseAlignment, DEFAULT_MAX_EVALS, DEFAULT_MAX_N, DEFAULT_MIN_BASE_MATCH,
    DEFAULT_MIN_EVALS, MatrixReport, ModelAudit, Progress, ShapeMismatch, SkipReason,
    SkippedTensor,
};
pub use delta::{ChangeStats, MatrixDelta, change_stats};
pub use error::{Error, Result};
pub use esd::EsdMethod;
pub use fit::{PowerLawFit, fit_power_law};
pub use metrics::{SpectralMetrics, Warning};
pub use model::{INDEX_FILE, Model, SINGLE_FILE, TensorEntry};
pub use names::{NameInfo, PrefixMap, classify};
pub use output::{AuditConfig, CompareEntry, CompareFile, SummaryFile};
pub use summary::{
    ALPHA_FAR_TAIL, HISTOGRAM_BIN, HISTOGRAM_MAX, Histogram, ModelSummary, ModuleProfile,
    ProfilePoint, median,
};
pub use trajectory::{Trajectory, TrajectoryRow, Trend, TrendThresholds};
