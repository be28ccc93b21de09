//! Builders of controlled training-data conditions from a corpus, as the
//! paper defines them (see `PAPER.md`): condition C, repetition-concentrated
//! (a tenth of the first half repeated ten times), with condition D
//! (teacher-rewritten) to follow.
//!
//! This crate composes the corpus layer (reading, writing) with pure plans;
//! it knows nothing about the CLI, progress bars or statistics.
//!
//! # Overview
//! - [`RepeatConfig`] validates condition C's options; [`RepeatPlan`] is the
//!   pure plan (which rows, how many copies, in what order).
//! - [`build_repeat_condition`] streams a corpus through the plan into a
//!   [`regime_corpus::PartWriter`] and returns a [`RepeatReport`].
//!
//! # Example
//! ```
//! use regime_conditions::{Layout, RepeatConfig, RepeatPlan};
//!
//! let config = RepeatConfig::new(0.5, Some(0.1), Some(10), Layout::Shuffled, 7)?;
//! let plan = RepeatPlan::new(5000, &config)?;
//! assert_eq!(plan.k(), 250);
//! assert_eq!(plan.phase.len(), 2500);
//! # Ok::<(), regime_conditions::Error>(())
//! ```

mod condition_c;
mod error;
mod repeat_plan;

pub use condition_c::{
    COPY_COLUMN, RepeatReport, SOURCE_ROW_COLUMN, build_repeat_condition, repeat_output_schema,
};
pub use error::{Error, Result};
pub use repeat_plan::{DEFAULT_REPEAT, DEFAULT_SPLIT, Layout, RepeatConfig, RepeatPlan};
