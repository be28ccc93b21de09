//! Builders of controlled training-data conditions from a corpus, as the
//! paper defines them (see `PAPER.md`): condition C, repetition-concentrated
//! (a tenth of the first half repeated ten times), and condition D,
//! frequency-concentrated (the first half rewritten by a teacher LLM).
//!
//! This crate composes the corpus layer (reading, writing) with pure plans;
//! it knows nothing about the CLI, progress bars or statistics.
//!
//! # Overview
//! - [`RepeatConfig`] validates condition C's options; [`RepeatPlan`] is the
//!   pure plan (which rows, how many copies, in what order).
//! - [`build_repeat_condition`] streams a corpus through the plan into a
//!   [`regime_corpus::PartWriter`] and returns a [`RepeatReport`].
//! - [`RewriteConfig`] holds condition D's options; [`build_rewrite_condition`]
//!   streams D1's fields through a `regime_teacher` client (or only counts or
//!   exports them, per [`RewriteMode`]) and returns a [`RewriteReport`];
//!   [`import_batch`] fills the response cache from a batch output file.
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
mod condition_d;
mod error;
mod repeat_plan;
mod rewrite_config;
mod rewrite_field;
mod split;
mod teacher_cache;
mod teacher_text;

pub use condition_c::{
    COPY_COLUMN, RepeatReport, SOURCE_ROW_COLUMN, build_repeat_condition, repeat_output_schema,
};
pub use condition_d::{
    FieldCounts, MAX_BATCHES, MODEL_COLUMN, RequestCounts, RequestEstimate, RewriteMode,
    RewriteObserver, RewriteProgress, RewriteReport, STATUS_COLUMN, Teacher, TokenCounts,
    build_rewrite_condition, check_export_target, import_batch, rewrite_output_schema,
};
pub use error::{Error, Result};
pub use repeat_plan::{DEFAULT_REPEAT, DEFAULT_SPLIT, Layout, RepeatConfig, RepeatPlan};
pub use rewrite_config::{DEFAULT_HAN_THRESHOLD, DEFAULT_REWRITE_ROLES, OnFailure, RewriteConfig};
pub use rewrite_field::{NOT_CACHED, UNREACHABLE_FIELDS_IN_A_ROW};
pub use split::d1_rows;
pub use teacher_cache::{cache_export_schema, export_cache};
