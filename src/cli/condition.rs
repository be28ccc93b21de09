//! `regime condition …`.

use clap::{Args, Subcommand, ValueEnum};

use super::{InputArgs, OutputArgs};

/// Build a controlled training-data condition.
#[derive(Debug, Args)]
pub(crate) struct ConditionArgs {
    /// Which condition.
    #[command(subcommand)]
    pub(crate) command: ConditionCommand,
}

/// The conditions.
#[derive(Debug, Subcommand)]
pub(crate) enum ConditionCommand {
    /// Condition C, repetition-concentrated: a fraction of the first part
    /// (D1) repeated, the rest of D1 discarded, D2 unchanged.
    ///
    /// D1 is the first ⌊n·split⌋ rows in input order. k = ⌈|D1| / repeat⌉ of
    /// them are drawn with a seeded RNG and each is emitted `repeat` times
    /// (the last copies trimmed so the phase keeps exactly |D1| rows). Output
    /// rows carry `regime_source_row` (the source row id) and `regime_copy`.
    C(ConditionCArgs),
}

/// Options of `regime condition c`.
#[derive(Debug, Args)]
pub(crate) struct ConditionCArgs {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Where to write.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    /// Share of rows (in input order) forming D1.
    #[arg(long, default_value_t = regime_conditions::DEFAULT_SPLIT, value_name = "SHARE")]
    pub(crate) split: f64,
    /// Share of D1 to keep and repeat; must equal 1/repeat [default: 0.1].
    #[arg(long, value_name = "SHARE")]
    pub(crate) fraction: Option<f64>,
    /// Copies of each kept row [default: 10, or 1/fraction].
    #[arg(long, value_name = "N")]
    pub(crate) repeat: Option<u16>,
    /// How copies are laid out inside the D1 phase.
    #[arg(long, value_enum, default_value_t = LayoutArg::Shuffled)]
    pub(crate) layout: LayoutArg,
    /// RNG seed.
    #[arg(long, default_value_t = 0, env = "REGIME_SEED")]
    pub(crate) seed: u64,
}

/// Copy layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LayoutArg {
    /// A seeded random permutation of all copies.
    Shuffled,
    /// Each row's copies together, rows in source order.
    Adjacent,
    /// Round-robin: every row's copy c before any row's copy c+1.
    Spread,
}
