//! The plan of condition C (repetition-concentrated), as CORPUS.md defines
//! it, computed from row counts alone:
//!
//! - D1 = rows `[0, ⌊n·split⌋)` in input order (computed exactly by
//!   [`crate::d1_rows`], as condition D does); D2 = the rest, unchanged.
//! - k = ⌈|D1| / repeat⌉ rows of D1 are drawn uniformly without replacement
//!   with a seeded RNG (`ChaCha8`); each is emitted `repeat` times and the last
//!   copies (of the last chosen row in source order) are trimmed so the phase
//!   holds exactly |D1| rows. The rest of D1 is discarded.
//! - The copies are laid out `shuffled` (a seeded Fisher–Yates permutation),
//!   `adjacent` (each row's copies together, rows in source order) or
//!   `spread` (round-robin: copy c of every row before copy c+1 of any, so
//!   a row's copies sit k positions apart).
//!
//! Memory: 4 bytes per chosen row plus 8 per phase row.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::split::{check_split, d1_rows};

/// Default share of rows in D1.
pub const DEFAULT_SPLIT: f64 = 0.5;
/// Default number of copies of each chosen row.
pub const DEFAULT_REPEAT: u16 = 10;

/// Where the copies go inside the D1 phase.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A seeded random permutation of all copies.
    #[default]
    Shuffled,
    /// Each chosen row's copies next to each other, rows in source order.
    Adjacent,
    /// Round-robin: every row's copy c before any row's copy c+1.
    Spread,
}

/// Condition C's parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct RepeatConfig {
    /// Share of rows forming D1, in (0, 1]; defaults to [`DEFAULT_SPLIT`].
    pub split: f64,
    /// Copies per chosen row (≥ 1); defaults to [`DEFAULT_REPEAT`].
    pub repeat: u16,
    /// Share of D1 chosen; always `1 / repeat`, so the phase keeps |D1| rows.
    pub fraction: f64,
    /// Copy layout; defaults to [`Layout::Shuffled`].
    pub layout: Layout,
    /// RNG seed.
    pub seed: u64,
}

impl RepeatConfig {
    /// Validates the options. `fraction`, when given, must equal `1/repeat`
    /// (the phase keeps exactly |D1| rows only then); when `repeat` is not
    /// given it is derived from `fraction`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the inconsistent option.
    pub fn new(
        split: f64,
        fraction: Option<f64>,
        repeat: Option<u16>,
        layout: Layout,
        seed: u64,
    ) -> Result<Self> {
        check_split(split)?;
        let given_repeat = repeat;
        let repeat = match (fraction, repeat) {
            (_, Some(0)) => return Err(repeat_below_one()),
            (_, Some(r)) => r,
            (Some(f), None) => {
                let r = (1.0 / f).round();
                if !(f > 0.0 && f <= 1.0) || r > f64::from(u16::MAX) {
                    return Err(Error::Config {
                        option: "--fraction",
                        reason: format!("must be in (0, 1] and at least 1/65535, got {f}"),
                    });
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "r is a positive integer below 65536, checked above"
                )]
                let r = r as u16;
                r
            }
            (None, None) => DEFAULT_REPEAT,
        };
        let implied = 1.0 / f64::from(repeat);
        // Any spelling of 1/repeat will do (0.1, 0.3333333, …).
        if let Some(f) = fraction
            && (!f.is_finite() || (f * f64::from(repeat) - 1.0).abs() > 1e-6)
        {
            let reason = if given_repeat.is_some() {
                format!(
                    "{f} × --repeat {repeat} must be 1 so that D1 keeps its row count (use --fraction {implied})"
                )
            } else {
                format!(
                    "{f} is not 1/N for a whole N, so D1 would not keep its row count (give --repeat N instead, e.g. --repeat {repeat})"
                )
            };
            return Err(Error::Config {
                option: "--fraction",
                reason,
            });
        }
        Ok(Self {
            split,
            repeat,
            fraction: implied,
            layout,
            seed,
        })
    }
}

/// The error for a repeat of 0.
fn repeat_below_one() -> Error {
    Error::Config {
        option: "--repeat",
        reason: "must be at least 1".into(),
    }
}

/// The rows condition C emits for the D1 phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatPlan {
    /// Rows in the input.
    pub rows: u64,
    /// Rows in D1 (and in the phase that replaces it).
    pub d1_rows: u64,
    /// The chosen D1 row indices (input order), ascending.
    pub chosen: Vec<u64>,
    /// The phase, in output order: (index into `chosen`, copy number).
    pub phase: Vec<(u32, u16)>,
}

impl RepeatPlan {
    /// Plans condition C for an input of `rows` rows.
    ///
    /// # Errors
    /// [`Error::Config`] when D1 is too large to index on this platform, or
    /// when `config` (its fields are public) has a split outside (0, 1] or a
    /// repeat of 0, which [`RepeatConfig::new`] would have refused.
    pub fn new(rows: u64, config: &RepeatConfig) -> Result<Self> {
        check_split(config.split)?;
        if config.repeat == 0 {
            return Err(repeat_below_one());
        }
        let d1_rows = d1_rows(rows, config.split)?;
        let d1 = usize::try_from(d1_rows).map_err(|_| Error::Config {
            option: "--split",
            reason: format!("D1 of {d1_rows} rows is too large for this platform"),
        })?;
        let repeat = usize::from(config.repeat);
        let k = d1.div_ceil(repeat);
        if u32::try_from(k).is_err() {
            return Err(Error::Config {
                option: "--repeat",
                reason: format!("{k} chosen rows exceed 2^32"),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut chosen: Vec<u64> = rand::seq::index::sample(&mut rng, d1, k)
            .into_iter()
            .map(|i| i as u64)
            .collect();
        chosen.sort_unstable();
        // Copies in source order, each row `repeat` times, trimmed to |D1|.
        let mut phase: Vec<(u32, u16)> = (0..k)
            .flat_map(|j| (0..config.repeat).map(move |c| (index_u32(j), c)))
            .take(d1)
            .collect();
        match config.layout {
            Layout::Adjacent => {}
            Layout::Shuffled => phase.shuffle(&mut rng),
            Layout::Spread => phase.sort_by_key(|&(j, c)| (c, j)),
        }
        Ok(Self {
            rows,
            d1_rows,
            chosen,
            phase,
        })
    }

    /// Number of distinct chosen rows (k).
    #[must_use]
    pub fn k(&self) -> usize {
        self.chosen.len()
    }
}

fn index_u32(j: usize) -> u32 {
    u32::try_from(j).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(layout: Layout) -> RepeatConfig {
        RepeatConfig::new(0.5, Some(0.1), Some(10), layout, 7).unwrap()
    }

    #[test]
    fn paper_defaults_on_5000_rows() {
        let plan = RepeatPlan::new(5000, &config(Layout::Shuffled)).unwrap();
        assert_eq!(plan.d1_rows, 2500);
        assert_eq!(plan.k(), 250); // ⌈2500 / 10⌉
        assert_eq!(plan.phase.len(), 2500);
        let mut counts = vec![0u32; plan.k()];
        for &(j, _) in &plan.phase {
            counts[j as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 10));
        assert!(plan.chosen.windows(2).all(|w| w[0] < w[1]));
        assert!(plan.chosen.iter().all(|&r| r < 2500));
    }

    #[test]
    fn trims_last_copies_to_keep_the_row_count() {
        // |D1| = 23, repeat 10 → k = 3, copies 10 + 10 + 3.
        let c = RepeatConfig::new(1.0, None, Some(10), Layout::Adjacent, 1).unwrap();
        let plan = RepeatPlan::new(23, &c).unwrap();
        assert_eq!(plan.k(), 3);
        assert_eq!(plan.phase.len(), 23);
        assert_eq!(plan.phase.iter().filter(|(j, _)| *j == 2).count(), 3);
        assert_eq!(plan.phase[..3], [(0, 0), (0, 1), (0, 2)]);
    }

    #[test]
    fn spread_places_copies_k_apart() {
        let plan = RepeatPlan::new(60, &config(Layout::Spread)).unwrap();
        // |D1| = 30, k = 3: rows cycle 0, 1, 2, 0, 1, 2, …
        let rows: Vec<u32> = plan.phase.iter().map(|&(j, _)| j).collect();
        assert_eq!(rows[..6], [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn same_seed_same_plan_other_seed_other_plan() {
        let a = RepeatPlan::new(1000, &config(Layout::Shuffled)).unwrap();
        let b = RepeatPlan::new(1000, &config(Layout::Shuffled)).unwrap();
        assert_eq!(a, b);
        let mut other = config(Layout::Shuffled);
        other.seed = 8;
        assert_ne!(a, RepeatPlan::new(1000, &other).unwrap());
    }

    #[test]
    fn fraction_must_match_repeat() {
        let err = RepeatConfig::new(0.5, Some(0.2), Some(10), Layout::Shuffled, 0).unwrap_err();
        assert!(err.to_string().starts_with("--fraction"), "{err}");
        let c = RepeatConfig::new(0.5, Some(0.25), None, Layout::Shuffled, 0).unwrap();
        assert_eq!(c.repeat, 4);
        // 1/3 as a user types it.
        let c = RepeatConfig::new(0.5, Some(0.333_333_3), Some(3), Layout::Shuffled, 0).unwrap();
        assert_eq!(c.repeat, 3);
        assert!(RepeatConfig::new(0.5, Some(0.3), Some(3), Layout::Shuffled, 0).is_err());
        for nan in [Some(10), None] {
            assert!(RepeatConfig::new(0.5, Some(f64::NAN), nan, Layout::Shuffled, 0).is_err());
        }
        assert!(RepeatConfig::new(0.0, None, None, Layout::Shuffled, 0).is_err());
        assert!(RepeatConfig::new(0.5, None, Some(0), Layout::Shuffled, 0).is_err());
    }

    #[test]
    fn plans_refuse_configs_built_by_hand_out_of_range() {
        for (split, repeat) in [(0.5, 0), (1.5, 10), (f64::NAN, 10), (0.0, 10)] {
            let mut c = config(Layout::Shuffled);
            (c.split, c.repeat) = (split, repeat);
            let err = RepeatPlan::new(100, &c).unwrap_err().to_string();
            let option = if repeat == 0 { "--repeat" } else { "--split" };
            assert!(err.starts_with(option), "{split} {repeat}: {err}");
        }
    }

    #[test]
    fn tiny_and_empty_inputs() {
        let plan = RepeatPlan::new(1, &config(Layout::Shuffled)).unwrap();
        assert_eq!((plan.d1_rows, plan.k()), (0, 0));
        let plan = RepeatPlan::new(0, &config(Layout::Spread)).unwrap();
        assert!(plan.phase.is_empty());
    }
}
