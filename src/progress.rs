//! Progress bars: drawn on stderr when it is a terminal, hidden under `-q`,
//! `-v` (they would interleave with log lines) or when not a TTY.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::GlobalArgs;

/// A bar counting `unit`s up to `len` (a spinner when `len` is unknown).
pub(crate) fn bar(global: &GlobalArgs, len: Option<u64>, message: &str, unit: &str) -> ProgressBar {
    let bar = len.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
    if global.quiet > 0 || global.verbose > 0 || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let template = if len.is_some() {
        format!(
            "{{msg}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{elapsed}}, eta {{eta}})"
        )
    } else {
        format!("{{spinner}} {{msg}} {{human_pos}} {unit} ({{elapsed}})")
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

/// Prints a one-line summary on stderr unless `-q`.
pub(crate) fn summary(global: &GlobalArgs, line: &str) {
    if global.quiet == 0 {
        #[expect(clippy::print_stderr, reason = "summaries go to stderr by design")]
        {
            eprintln!("{line}");
        }
    }
}
