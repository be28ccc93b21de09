//! Per-model summary: the α ∈ [2, 6] share, histogram, tail mass, per-module
//! layer profiles and layer-wise heterogeneity.
//!
//! Shares are over matrices with a successful fit (failed fits are counted
//! separately, never as over-trained). Heterogeneity per profile: the
//! population standard deviation of α across its layers and the largest
//! `|α_{l+1} − α_l|` between consecutive layers (sorted by index).
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "histogram bin index of a non-negative, clamped α"
)]
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and matrix dimensions are far below 2^52"
)]

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::audit::ModelAudit;
use crate::metrics::{ALPHA_HIGH, ALPHA_LOW};

/// Width of a histogram bin of α.
pub const HISTOGRAM_BIN: f64 = 0.5;
/// Histogram upper edge; larger α fall in the last bin.
pub const HISTOGRAM_MAX: f64 = 12.0;
/// α above this is in the far tail.
pub const ALPHA_FAR_TAIL: f64 = 10.0;

/// Counts of α in fixed bins `[edges[i], edges[i+1])`; the last bin also
/// holds everything ≥ its lower edge, the first everything below 0.5.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Histogram {
    /// Bin edges (one more than counts).
    pub edges: Vec<f64>,
    /// Matrices per bin.
    pub counts: Vec<usize>,
}

/// One point of a layer profile.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProfilePoint {
    /// Layer index.
    pub layer: u32,
    /// Matrix name.
    pub name: String,
    /// α (`None` for a failed fit).
    pub alpha: Option<f64>,
    /// Fitted xmin (`λ_min`).
    pub xmin: Option<f64>,
    /// Effective feature number.
    pub num_pl_spikes: usize,
    /// Effective rank (`None` for an all-zero matrix).
    pub erank: Option<f64>,
    /// Stable rank (`None` for an all-zero matrix).
    pub stable_rank: Option<f64>,
    /// With a base: relative change.
    pub relative_change: Option<f64>,
    /// With a base: correlation with the base.
    pub correlation: Option<f64>,
    /// With a base: erank change.
    pub delta_erank: Option<f64>,
}

/// Metrics of one module across layers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ModuleProfile {
    /// Profile key: the module, prefixed with its stack (`visual.blocks: attn.proj`)
    /// when the model has several layer stacks.
    pub key: String,
    /// Points sorted by layer.
    pub points: Vec<ProfilePoint>,
    /// Population std of α across layers.
    pub alpha_std: Option<f64>,
    /// Largest |Δα| between consecutive layers.
    pub alpha_max_jump: Option<f64>,
}

/// The per-model summary written to `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ModelSummary {
    /// Audited matrices.
    pub matrices: usize,
    /// Matrices with a successful fit.
    pub fitted: usize,
    /// Failed fits.
    pub failed_fits: usize,
    /// Share (0–1) of fitted matrices with 2 ≤ α ≤ 6.
    pub share_alpha_2_6: Option<f64>,
    /// Share with α < 2.
    pub share_below_2: Option<f64>,
    /// Share with 6 < α ≤ 10.
    pub share_6_10: Option<f64>,
    /// Share with α > 10.
    pub share_above_10: Option<f64>,
    /// Median α.
    pub median_alpha: Option<f64>,
    /// Mean α.
    pub mean_alpha: Option<f64>,
    /// Histogram of α.
    pub histogram: Histogram,
    /// Per-module layer profiles.
    pub profiles: Vec<ModuleProfile>,
    /// With a base: median relative change over matched matrices.
    pub median_relative_change: Option<f64>,
    /// With a base: median correlation.
    pub median_correlation: Option<f64>,
    /// With a base: mean Δerank.
    pub mean_delta_erank: Option<f64>,
}

impl ModelSummary {
    /// Summarises an audit.
    #[must_use]
    pub fn from_audit(audit: &ModelAudit) -> Self {
        let alphas: Vec<f64> = audit
            .matrices
            .iter()
            .filter_map(|m| m.metrics.alpha())
            .collect();
        let fitted = alphas.len();
        let share = |pred: &dyn Fn(f64) -> bool| {
            (fitted > 0).then(|| alphas.iter().filter(|&&a| pred(a)).count() as f64 / fitted as f64)
        };
        let nbins = (HISTOGRAM_MAX / HISTOGRAM_BIN).round() as usize;
        let edges: Vec<f64> = (0..=nbins).map(|i| i as f64 * HISTOGRAM_BIN).collect();
        let mut counts = vec![0; nbins];
        for &a in &alphas {
            let bin = ((a / HISTOGRAM_BIN).floor().max(0.0) as usize).min(nbins - 1);
            counts[bin] += 1;
        }
        let rel: Vec<f64> = audit
            .matrices
            .iter()
            .filter_map(|m| m.delta.as_ref()?.relative_change)
            .collect();
        let corr: Vec<f64> = audit
            .matrices
            .iter()
            .filter_map(|m| m.delta.as_ref()?.correlation)
            .collect();
        let derank: Vec<f64> = audit
            .matrices
            .iter()
            .filter_map(|m| m.delta.as_ref()?.delta_erank)
            .collect();
        Self {
            matrices: audit.matrices.len(),
            fitted,
            failed_fits: audit.matrices.len() - fitted,
            share_alpha_2_6: share(&|a| (ALPHA_LOW..=ALPHA_HIGH).contains(&a)),
            share_below_2: share(&|a| a < ALPHA_LOW),
            share_6_10: share(&|a| a > ALPHA_HIGH && a <= ALPHA_FAR_TAIL),
            share_above_10: share(&|a| a > ALPHA_FAR_TAIL),
            median_alpha: median(&alphas),
            mean_alpha: (fitted > 0).then(|| alphas.iter().sum::<f64>() / fitted as f64),
            histogram: Histogram { edges, counts },
            profiles: profiles(audit),
            median_relative_change: median(&rel),
            median_correlation: median(&corr),
            mean_delta_erank: (!derank.is_empty())
                .then(|| derank.iter().sum::<f64>() / derank.len() as f64),
        }
    }
}

/// Median (mean of the two middle values for an even count); `None` when empty.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        f64::midpoint(v[mid - 1], v[mid])
    } else {
        v[mid]
    })
}

fn profiles(audit: &ModelAudit) -> Vec<ModuleProfile> {
    let stacks: std::collections::BTreeSet<&str> = audit
        .matrices
        .iter()
        .filter(|m| m.layer.is_some())
        .map(|m| m.stack.as_str())
        .collect();
    let mut groups: BTreeMap<String, Vec<ProfilePoint>> = BTreeMap::new();
    for m in &audit.matrices {
        let Some(layer) = m.layer else { continue };
        let key = if stacks.len() > 1 {
            format!("{}: {}", m.stack, m.module)
        } else {
            m.module.clone()
        };
        groups.entry(key).or_default().push(ProfilePoint {
            layer,
            name: m.name.clone(),
            alpha: m.metrics.alpha(),
            xmin: m.metrics.fit.map(|f| f.xmin),
            num_pl_spikes: m.metrics.num_pl_spikes,
            erank: m.metrics.erank,
            stable_rank: m.metrics.stable_rank,
            relative_change: m.delta.as_ref().and_then(|d| d.relative_change),
            correlation: m.delta.as_ref().and_then(|d| d.correlation),
            delta_erank: m.delta.as_ref().and_then(|d| d.delta_erank),
        });
    }
    groups
        .into_iter()
        .map(|(key, mut points)| {
            points.sort_by_key(|p| p.layer);
            let alphas: Vec<f64> = points.iter().filter_map(|p| p.alpha).collect();
            let alpha_std = (!alphas.is_empty()).then(|| {
                let mean = alphas.iter().sum::<f64>() / alphas.len() as f64;
                (alphas.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / alphas.len() as f64)
                    .sqrt()
            });
            let alpha_max_jump = points
                .windows(2)
                .filter_map(|w| Some((w[1].alpha? - w[0].alpha?).abs()))
                .reduce(f64::max);
            ModuleProfile {
                key,
                points,
                alpha_std,
                alpha_max_jump,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
