//! The `regime` command line: parses arguments, sets up logging, runs one
//! command and maps its outcome to an exit code (0 ok, 1 a gate's check
//! failed, 2 usage or input error).

mod cli;
mod commands;
mod progress;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose, cli.global.quiet);
    match commands::run(&cli) {
        Ok(commands::Outcome::Success) => ExitCode::SUCCESS,
        Ok(commands::Outcome::CheckFailed) => ExitCode::from(1),
        Err(err) => {
            // A reader that stopped early (`| head`) is not an error; serde
            // keeps the io::Error of a failed write to itself.
            for cause in err.chain() {
                let kind = cause
                    .downcast_ref::<std::io::Error>()
                    .map(std::io::Error::kind)
                    .or_else(|| cause.downcast_ref::<serde_json::Error>()?.io_error_kind());
                if kind == Some(std::io::ErrorKind::BrokenPipe) {
                    return ExitCode::SUCCESS;
                }
            }
            #[expect(clippy::print_stderr, reason = "the binary's one error line")]
            {
                eprintln!("error: {}{}", one_line(&err), hint(&err));
            }
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, `: `-separated, leaving out a cause
/// whose text the line already holds (library errors often print their
/// source inside their own message as well as chaining it).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// What to do about an error, where a flag of this command line is the
/// answer the library's message cannot name.
fn hint(err: &anyhow::Error) -> String {
    // The crates that read corpora hold their errors transparently: the
    // chain shows theirs, not the one inside.
    let corpus = err.chain().find_map(|cause| {
        cause
            .downcast_ref::<regime_corpus::Error>()
            .or_else(|| match cause.downcast_ref::<regime_dedup::Error>()? {
                regime_dedup::Error::Corpus(inner) => Some(inner),
                _ => None,
            })
            .or_else(|| match cause.downcast_ref::<regime_conditions::Error>()? {
                regime_conditions::Error::Corpus(inner) => Some(inner),
                _ => None,
            })
    });
    match corpus {
        Some(regime_corpus::Error::UnknownJsonField { .. }) => {
            " (--infer-records all infers them from every record)".into()
        }
        Some(regime_corpus::Error::JsonNumber { field, integer, .. }) => {
            if *integer {
                " (--infer-records all infers the columns from every record)".into()
            } else {
                format!(" (--json-text {field} reads the field as its JSON text)")
            }
        }
        _ => String::new(),
    }
}

/// Logs go to stderr; `-v` raises the level, `-q` silences warnings.
fn init_tracing(verbose: u8, quiet: u8) {
    let level = match (quiet, verbose) {
        (q, _) if q > 0 => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("REGIME_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour only on a terminal: logs redirected to a file or a CI log
    // get plain text (and never with NO_COLOR set).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .without_time()
        .with_target(false)
        .init();
}
