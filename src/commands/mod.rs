//! One module per subcommand: each converts its clap arguments into library
//! configs, calls the libraries and renders the result.

mod audit_prompts;
mod condition_c;
mod condition_d;
mod corpus;
mod dedup;
mod inspect;
mod merge;
mod profile;
mod profile_output;
mod prompt_dedup;
mod quickstart;
mod run;
mod schema;
mod spectral;
mod spectral_compare;
mod split;
mod synth;
mod teacher_cache;

use anyhow::Context as _;

use crate::cli::{Cli, Command, ConditionCommand, SynthCommand};

/// How a command that did not error ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything ran and every check passed (exit 0).
    Success,
    /// The run completed but a check failed (exit 1).
    CheckFailed,
}

/// Runs the parsed command line, on `-j` worker threads when given.
pub(crate) fn run(cli: &Cli) -> anyhow::Result<Outcome> {
    with_threads(cli.global.threads, || dispatch(cli))?
}

fn dispatch(cli: &Cli) -> anyhow::Result<Outcome> {
    let global = &cli.global;
    match &cli.command {
        Command::Inspect(args) => inspect::run(args, global),
        Command::Profile(args) => profile::run(args, global),
        Command::Merge(args) => merge::run(args, global),
        Command::Condition(args) => match &args.command {
            ConditionCommand::C(c) => condition_c::run(c, global),
            ConditionCommand::D(d) => condition_d::run(d, global),
        },
        Command::Quickstart(args) => quickstart::run(args, global),
        Command::Run(args) => run::run(args, global),
        Command::Spectral(args) => spectral::run(args, global),
        Command::SpectralCompare(args) => spectral_compare::run(args, global),
        Command::Dedup(args) => dedup::run(&args.command, global),
        Command::PromptDedup(args) => prompt_dedup::run(args, global),
        Command::AuditPrompts(args) => audit_prompts::run(args, global),
        Command::Synth(args) => match &args.command {
            SynthCommand::PromptDup(a) => synth::run(a, global),
        },
        Command::TeacherCache(args) => teacher_cache::run(args, global),
        Command::Schema(args) => schema::run(args, global),
    }
}

/// Runs `f` on a pool of `threads` workers (the global pool when `None`).
fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> anyhow::Result<T> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .context("starting worker threads")?;
            Ok(pool.install(f))
        }
    }
}
