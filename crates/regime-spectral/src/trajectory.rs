//! Trend labels for checkpoint trajectories of the α ∈ [2, 6] share.
//!
//! Each condition is a series of shares (in percentage points) at the same
//! checkpoints, in training order: by the step each checkpoint's name gives
//! ([`checkpoint_step`]: `2k` < `20k`, `step-500`, `1.5M`) when every name
//! gives one, else in the order first given. One condition is the
//! reference. The series is split into an **early** window (the first
//! ⌊n/2⌋ checkpoints) and a **plateau** window (the last ⌈n/2⌉). With `d_t` = condition − reference at checkpoint t and
//! `d_end` its last value, the first rule that holds gives the label:
//!
//! 1. **Stuck**: every plateau `d_t ≤ −stuck_gap` (default 10).
//! 2. **Gap**: `−gap_max ≤ d_end ≤ −gap_min` (defaults 10, 1).
//! 3. **Recover**: some early `d_t ≤ −dip_min` (default 1) and
//!    `d_end ≥ −recover_band` (default 2).
//! 4. **Stable**: every plateau value within ±`stable_band` (default 2) of
//!    the plateau mean (the reference is judged by this rule alone).
//! 5. otherwise **Unsettled**.
//!
//! These defaults reproduce the labels of the paper's Table 1 (tested below).
//!
//! The reference must name one of the conditions ([`reference_condition`]). With a
//! single condition, that condition is its own reference: only rule 4
//! applies, so it is Stable or Unsettled.
//!
//! Differences are compared after rounding to [`POINTS_PRECISION`]: a share
//! computed as 57/100·100 is 56.99999999999999, and without rounding a
//! difference of exactly 10 points would fall on either side of a threshold.

use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{Error, Result};

/// Default for [`TrendThresholds::stable_band`].
pub const DEFAULT_STABLE_BAND: f64 = 2.0;
/// Default for [`TrendThresholds::stuck_gap`].
pub const DEFAULT_STUCK_GAP: f64 = 10.0;
/// Default for [`TrendThresholds::gap_min`].
pub const DEFAULT_GAP_MIN: f64 = 1.0;
/// Default for [`TrendThresholds::gap_max`].
pub const DEFAULT_GAP_MAX: f64 = 10.0;
/// Default for [`TrendThresholds::dip_min`].
pub const DEFAULT_DIP_MIN: f64 = 1.0;
/// Default for [`TrendThresholds::recover_band`].
pub const DEFAULT_RECOVER_BAND: f64 = 2.0;

/// Shares and their differences are rounded to this many percentage points
/// before they are compared or stored: far finer than any share of a
/// model's matrices (1 in 10⁷ matrices is 1e-5 points), far coarser than the
/// float error of a share and a difference (~1e-14 points).
pub const POINTS_PRECISION: f64 = 1e-9;

/// `x` (percentage points) rounded to [`POINTS_PRECISION`].
#[must_use]
pub fn round_points(x: f64) -> f64 {
    (x / POINTS_PRECISION).round() * POINTS_PRECISION
}

/// A share (0–1) in percentage points, rounded with [`round_points`]
/// (0.57 → 57, not 56.99999999999999).
#[must_use]
pub fn share_points(share: f64) -> f64 {
    round_points(share * 100.0)
}

/// Thresholds of the trend rules, in percentage points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrendThresholds {
    /// Stable: plateau values within ± this of the plateau mean.
    pub stable_band: f64,
    /// Stuck: plateau at least this far below the reference.
    pub stuck_gap: f64,
    /// Gap: ends at least this far below the reference…
    pub gap_min: f64,
    /// …and at most this far.
    pub gap_max: f64,
    /// Recover: an early checkpoint at least this far below the reference…
    pub dip_min: f64,
    /// …and ends no further than this below it.
    pub recover_band: f64,
}

impl Default for TrendThresholds {
    fn default() -> Self {
        Self {
            stable_band: DEFAULT_STABLE_BAND,
            stuck_gap: DEFAULT_STUCK_GAP,
            gap_min: DEFAULT_GAP_MIN,
            gap_max: DEFAULT_GAP_MAX,
            dip_min: DEFAULT_DIP_MIN,
            recover_band: DEFAULT_RECOVER_BAND,
        }
    }
}

/// A trend label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Trend {
    /// Stays within the band of its own plateau.
    Stable,
    /// Stays far below the reference.
    Stuck,
    /// Dips early, ends near the reference.
    Recover,
    /// Ends moderately below the reference.
    Gap,
    /// None of the rules hold.
    Unsettled,
}

impl Trend {
    /// The label as printed.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stable => "Stable",
            Self::Stuck => "Stuck",
            Self::Recover => "Recover",
            Self::Gap => "Gap",
            Self::Unsettled => "Unsettled",
        }
    }
}

/// Labels `series` (same length as `reference`, in percentage points).
/// Returns `None` when the lengths differ or there are fewer than 2 points.
#[must_use]
pub fn label(
    series: &[f64],
    reference: &[f64],
    is_reference: bool,
    th: &TrendThresholds,
) -> Option<Trend> {
    let n = series.len();
    if n < 2 || reference.len() != n {
        return None;
    }
    let early = n / 2;
    let plateau = &series[early..];
    let d: Vec<f64> = series
        .iter()
        .zip(reference)
        .map(|(s, r)| round_points(s - r))
        .collect();
    let d_end = d[n - 1];
    if !is_reference {
        if d[early..].iter().all(|&x| x <= -th.stuck_gap) {
            return Some(Trend::Stuck);
        }
        if (-th.gap_max..=-th.gap_min).contains(&d_end) {
            return Some(Trend::Gap);
        }
        if d[..early].iter().any(|&x| x <= -th.dip_min) && d_end >= -th.recover_band {
            return Some(Trend::Recover);
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "a handful of checkpoints")]
    let mean = plateau.iter().sum::<f64>() / plateau.len() as f64;
    if plateau
        .iter()
        .all(|v| round_points((v - mean).abs()) <= th.stable_band)
    {
        return Some(Trend::Stable);
    }
    Some(Trend::Unsettled)
}

/// The α ∈ [2, 6] share of one condition across checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TrajectoryRow {
    /// Condition name.
    pub condition: String,
    /// Shares in percentage points, one per checkpoint (`None` when missing).
    pub shares: Vec<Option<f64>>,
    /// Trend label, when it could be judged (complete series of ≥ 2 points).
    pub trend: Option<Trend>,
}

/// A trajectory table: conditions × checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Trajectory {
    /// Checkpoint names, in step order when every name gives a step
    /// ([`checkpoint_step`]), else in first-seen order.
    pub checkpoints: Vec<String>,
    /// Whether `checkpoints` are in step order (rather than as given).
    pub ordered_by_step: bool,
    /// One row per condition, in first-seen order.
    pub rows: Vec<TrajectoryRow>,
    /// The reference condition.
    pub reference: String,
}

/// The conditions of labels `CONDITION@CHECKPOINT`, in first-seen order;
/// `None` unless every label has an `@` (then there is no trajectory).
#[must_use]
pub fn conditions(labels: &[&str]) -> Option<Vec<String>> {
    split_labels(labels).map(|cells| distinct(cells.iter().map(|(c, _)| *c)))
}

/// Each label as `(condition, checkpoint)`; `None` unless every label has
/// an `@`.
fn split_labels<'a>(labels: &[&'a str]) -> Option<Vec<(&'a str, &'a str)>> {
    labels.iter().map(|label| label.split_once('@')).collect()
}

/// The distinct `names`, in first-seen order.
fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for name in names {
        if !seen.iter().any(|x| x == name) {
            seen.push(name.to_owned());
        }
    }
    seen
}

/// The condition `reference` names among `labels`: a condition itself, or
/// one of the labels (`A@20k` names condition `A`). Check it before any
/// model is audited.
///
/// # Errors
/// [`Error::UnknownReference`] when it names none (its `conditions` empty
/// when the labels make no trajectory).
pub fn reference_condition(labels: &[&str], reference: &str) -> Result<String> {
    let conditions = conditions(labels).unwrap_or_default();
    if conditions.iter().any(|c| c == reference) {
        return Ok(reference.to_owned());
    }
    if labels.contains(&reference)
        && let Some((condition, _)) = reference.split_once('@')
        && !conditions.is_empty()
    {
        return Ok(condition.to_owned());
    }
    Err(Error::UnknownReference {
        reference: reference.to_owned(),
        conditions,
    })
}

impl Trajectory {
    /// Builds the table from labels `CONDITION@CHECKPOINT` and their shares
    /// (percentage points), checkpoints in step order when every checkpoint
    /// name gives a step. Returns `Ok(None)` unless every label has an `@`.
    /// The reference defaults to the first condition.
    ///
    /// # Errors
    /// [`Error::UnknownReference`] for a `reference` that names no
    /// condition ([`reference_condition`]).
    pub fn from_labels(
        labels: &[&str],
        shares: &[Option<f64>],
        reference: Option<&str>,
        th: &TrendThresholds,
    ) -> Result<Option<Self>> {
        let reference = reference
            .map(|r| reference_condition(labels, r))
            .transpose()?;
        let Some(split) = split_labels(labels) else {
            return Ok(None);
        };
        let conditions = distinct(split.iter().map(|(c, _)| *c));
        let mut checkpoints = distinct(split.iter().map(|(_, k)| *k));
        let cells: Vec<(&str, &str, Option<f64>)> = split
            .iter()
            .zip(shares)
            .map(|(&(c, k), share)| (c, k, *share))
            .collect();
        // The early window and the plateau are positions in this order, so
        // it must be training order, whatever order the models came in (a
        // shell glob lists A-20k before A-2k). Equal steps keep their order.
        let steps: Option<Vec<f64>> = checkpoints.iter().map(|k| checkpoint_step(k)).collect();
        let ordered_by_step = steps.is_some();
        if let Some(steps) = steps {
            let mut order: Vec<(f64, String)> = steps.into_iter().zip(checkpoints).collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0));
            checkpoints = order.into_iter().map(|(_, k)| k).collect();
        }
        let Some(first) = conditions.first() else {
            return Ok(None);
        };
        let reference = reference.unwrap_or_else(|| first.clone());
        let series = |c: &str| -> Vec<Option<f64>> {
            checkpoints
                .iter()
                .map(|k| {
                    cells
                        .iter()
                        .find(|(cc, kk, _)| *cc == c && kk == k)
                        .and_then(|x| x.2)
                })
                .collect()
        };
        let complete = |v: &[Option<f64>]| v.iter().copied().collect::<Option<Vec<f64>>>();
        let ref_series = complete(&series(&reference));
        let rows = conditions
            .iter()
            .map(|c| {
                let shares = series(c);
                let trend = complete(&shares)
                    .zip(ref_series.as_ref())
                    .and_then(|(s, r)| label(&s, r, *c == reference, th));
                TrajectoryRow {
                    condition: c.clone(),
                    shares,
                    trend,
                }
            })
            .collect();
        Ok(Some(Self {
            checkpoints,
            ordered_by_step,
            rows,
            reference,
        }))
    }
}

/// The training step a checkpoint name gives: a plain number (`2000`,
/// `1e4`), or the number that ends it with an optional `k`, `M` or `B`
/// (×10³, ×10⁶, ×10⁹) after any other text (`2k`, `step-500`, `ckpt_1.5M`,
/// `global_step72000`). `None` when it ends in no number (`final`, `best`).
#[must_use]
pub fn checkpoint_step(name: &str) -> Option<f64> {
    if name.starts_with(|c: char| c.is_ascii_digit())
        && let Ok(step) = name.parse::<f64>()
    {
        return step.is_finite().then_some(step);
    }
    let (body, scale) = match name.as_bytes().last()? {
        b'k' | b'K' => (&name[..name.len() - 1], 1e3),
        b'm' | b'M' => (&name[..name.len() - 1], 1e6),
        b'b' | b'B' => (&name[..name.len() - 1], 1e9),
        _ => (name, 1.0),
    };
    let digits = |s: &str| s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let last = digits(body);
    if last == 0 {
        return None;
    }
    let mut start = body.len() - last;
    // A decimal point counts only between digits (`1.5k`, not `step.500`).
    if let Some(head) = body[..start].strip_suffix('.')
        && digits(head) > 0
    {
        start = head.len() - digits(head);
    }
    body[start..]
        .parse::<f64>()
        .ok()
        .filter(|step| step.is_finite())
        .map(|step| step * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_table_1_labels() {
        // PAPER.md, share of matrices with α ∈ [2, 6] (%), steps 2k 20k 40k 60k 72k.
        let a = [60.7, 81.7, 79.0, 79.5, 78.6];
        let b = [62.1, 57.6, 57.6, 61.2, 61.2];
        let c = [58.9, 79.9, 81.7, 80.4, 81.3];
        let d = [61.2, 77.2, 78.1, 77.7, 77.2];
        let th = TrendThresholds::default();
        assert_eq!(label(&a, &a, true, &th), Some(Trend::Stable));
        assert_eq!(label(&b, &a, false, &th), Some(Trend::Stuck));
        assert_eq!(label(&c, &a, false, &th), Some(Trend::Recover));
        assert_eq!(label(&d, &a, false, &th), Some(Trend::Gap));
    }

    #[test]
    fn table_from_labels() {
        let labels = ["A@2k", "B@2k", "A@20k", "B@20k"];
        let shares = [Some(60.0), Some(61.0), Some(80.0), Some(55.0)];
        let t = Trajectory::from_labels(&labels, &shares, Some("A"), &TrendThresholds::default())
            .expect("known reference")
            .expect("table");
        assert_eq!(t.checkpoints, ["2k", "20k"]);
        assert_eq!(t.rows[1].shares, vec![Some(61.0), Some(55.0)]);
        assert_eq!(t.rows[1].trend, Some(Trend::Stuck));
        assert!(
            Trajectory::from_labels(&["x"], &[Some(1.0)], None, &TrendThresholds::default())
                .expect("no reference to check")
                .is_none()
        );
    }

    #[test]
    fn checkpoint_names_give_their_step() {
        for (name, step) in [
            ("2k", Some(2e3)),
            ("20k", Some(2e4)),
            ("2000", Some(2e3)),
            ("1e4", Some(1e4)),
            ("step-500", Some(500.0)),
            ("step.500", Some(500.0)),
            ("ckpt_1.5M", Some(1.5e6)),
            ("global_step72000", Some(72e3)),
            ("100B", Some(1e11)),
            ("final", None),
            ("best", None),
            ("", None),
        ] {
            assert_eq!(checkpoint_step(name), step, "{name}");
        }
    }

    #[test]
    fn checkpoints_run_in_step_order_whatever_order_they_come_in() {
        let th = TrendThresholds::default();
        // As a shell glob lists them: 20k sorts before 2k.
        let labels = ["A@20k", "A@2k", "B@20k", "B@2k"];
        let shares = [Some(80.0), Some(60.0), Some(55.0), Some(61.0)];
        let t = Trajectory::from_labels(&labels, &shares, Some("A"), &th)
            .expect("known reference")
            .expect("table");
        assert!(t.ordered_by_step);
        assert_eq!(t.checkpoints, ["2k", "20k"]);
        assert_eq!(t.rows[0].shares, vec![Some(60.0), Some(80.0)]);
        assert_eq!(t.rows[1].shares, vec![Some(61.0), Some(55.0)]);
        assert_eq!(t.rows[1].trend, Some(Trend::Stuck));
        // A name without a step: the order given.
        let t = Trajectory::from_labels(&["A@final", "A@2k"], &[Some(1.0), Some(2.0)], None, &th)
            .expect("default reference")
            .expect("table");
        assert!(!t.ordered_by_step);
        assert_eq!(t.checkpoints, ["final", "2k"]);
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "exact values are the point of the test")]
    fn exact_ten_point_differences_do_not_flip_from_float_error() {
        // The reviewer's cases: shares of 100 fitted matrices, computed as
        // `regime spectral-compare` does (fraction × 100), so 57 % is
        // 56.99999999999999 and 47 − 57 came out as −9.999999999999993.
        let pts = |count: u32| f64::from(count) / 100.0 * 100.0;
        assert_ne!(pts(57), 57.0, "the float error this test is about");
        let th = TrendThresholds::default();
        // Stuck: every plateau d is exactly −10.
        let r = [pts(57); 4];
        let s = [pts(50), pts(47), pts(47), pts(47)];
        assert_eq!(label(&s, &r, false, &th), Some(Trend::Stuck));
        // Gap: ends exactly 10 points below (was labelled Stable).
        let r = [pts(67); 4];
        let g = [pts(67), pts(60), pts(58), pts(57)];
        assert_eq!(label(&g, &r, false, &th), Some(Trend::Gap));
        // Through the table, with the rounded shares `spectral-compare` stores.
        let labels = [
            "R@2k", "R@20k", "R@40k", "R@60k", "S@2k", "S@20k", "S@40k", "S@60k",
        ];
        let shares: Vec<Option<f64>> = [57, 57, 57, 57, 50, 47, 47, 47]
            .into_iter()
            .map(|c| Some(share_points(f64::from(c) / 100.0)))
            .collect();
        let t = Trajectory::from_labels(&labels, &shares, Some("R"), &th)
            .expect("known reference")
            .expect("table");
        assert_eq!(t.rows[0].shares[0], Some(57.0));
        assert_eq!(t.rows[1].trend, Some(Trend::Stuck));
    }

    #[test]
    fn a_reference_must_be_a_condition() {
        let labels = ["A@2k", "B@2k", "A@20k", "B@20k"];
        assert_eq!(reference_condition(&labels, "B").expect("B"), "B");
        // A label names its condition.
        assert_eq!(reference_condition(&labels, "A@20k").expect("A@20k"), "A");
        for bad in ["C", "A@99k", "", "@"] {
            let err = reference_condition(&labels, bad).expect_err(bad);
            assert!(
                matches!(&err, Error::UnknownReference { reference, conditions }
                    if reference == bad && conditions == &["A", "B"]),
                "{err}"
            );
            assert_eq!(err.to_string().lines().count(), 1);
        }
        let th = TrendThresholds::default();
        assert!(Trajectory::from_labels(&labels, &[Some(1.0); 4], Some("C"), &th).is_err());
        // Labels without `@` make no trajectory and have no conditions.
        let err = reference_condition(&["x", "y"], "x").expect_err("no conditions");
        assert!(
            matches!(&err, Error::UnknownReference { conditions, .. } if conditions.is_empty()),
            "{err}"
        );
    }

    #[test]
    fn a_single_condition_is_its_own_reference() {
        // One condition: its own reference, judged by the Stable rule only.
        let th = TrendThresholds::default();
        let t = Trajectory::from_labels(
            &["A@2k", "A@20k", "A@40k"],
            &[Some(60.0), Some(80.0), Some(81.0)],
            None,
            &th,
        )
        .expect("default reference")
        .expect("table");
        assert_eq!(t.reference, "A");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].trend, Some(Trend::Stable));
        let t = Trajectory::from_labels(
            &["A@2k", "A@20k", "A@40k"],
            &[Some(60.0), Some(80.0), Some(70.0)],
            Some("A"),
            &th,
        )
        .expect("known reference")
        .expect("table");
        assert_eq!(t.rows[0].trend, Some(Trend::Unsettled));
    }

    #[test]
    fn short_or_mismatched_series_have_no_label() {
        let th = TrendThresholds::default();
        assert_eq!(label(&[1.0], &[1.0], true, &th), None);
        assert_eq!(label(&[1.0, 2.0], &[1.0], false, &th), None);
    }
}
