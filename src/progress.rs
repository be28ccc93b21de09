//! Progress bars: drawn on stderr when it is a terminal; under `-v` (where
//! they would interleave with log lines) an info log line every
//! [`LOG_EVERY`] instead, on a terminal or not, so a long run in CI shows
//! it is alive; hidden under `-q` and, without `-v`, off a terminal.

use std::io::{self, IsTerminal};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::cli::GlobalArgs;

/// How often `-v` logs a bar's progress.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A bar counting `unit`s up to `len` (a spinner when `len` is unknown).
pub(crate) fn bar(global: &GlobalArgs, len: Option<u64>, message: &str, unit: &str) -> ProgressBar {
    let bar = len.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
    let log = global.verbose > 0;
    if global.quiet > 0 || (!log && !std::io::stderr().is_terminal()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let template = match (log, len.is_some()) {
        (true, true) => format!(
            "{{msg}}: {{pos}}/{{len}} {unit} ({{percent}}%, {{elapsed}} elapsed, eta {{eta}})"
        ),
        (true, false) => format!("{{msg}}: {{pos}} {unit} ({{elapsed}} elapsed)"),
        (false, true) => format!(
            "{{msg}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{elapsed}}, eta {{eta}})"
        ),
        (false, false) => format!("{{spinner}} {{msg}} {{human_pos}} {unit} ({{elapsed}})"),
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    if log {
        // Every update reaches the target (updates come per batch, not per
        // row), so the last one it logs is the bar's end.
        bar.set_draw_target(ProgressDrawTarget::term_like(Box::new(LogLines::default())));
    }
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

/// A draw target writing what a bar shows as an info log line: one per
/// [`LOG_EVERY`], and the last state when the bar goes (a run shorter than
/// that logs only its end).
#[derive(Debug)]
struct LogLines {
    state: Mutex<Logged>,
}

/// When a line was last logged, and the latest one not logged yet.
#[derive(Debug)]
struct Logged {
    at: Instant,
    pending: Option<String>,
}

impl Default for LogLines {
    fn default() -> Self {
        Self {
            state: Mutex::new(Logged {
                at: Instant::now(),
                pending: None,
            }),
        }
    }
}

impl LogLines {
    fn log(&self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now.duration_since(state.at) >= LOG_EVERY {
            state.at = now;
            state.pending = None;
            tracing::info!("{line}");
        } else {
            state.pending = Some(line.to_owned());
        }
    }
}

/// The bar's last state, if not logged yet.
impl Drop for LogLines {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(line) = state.pending.take() {
            tracing::info!("{line}");
        }
    }
}

/// Cursor moves and clearing mean nothing to a log.
impl TermLike for LogLines {
    fn width(&self) -> u16 {
        // Wide enough that no line is cut.
        500
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, line: &str) -> io::Result<()> {
        self.log(line);
        Ok(())
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.log(s);
        Ok(())
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}
