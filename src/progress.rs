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
    if global.quiet > 0 {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    if global.verbose > 0 {
        let template = if len.is_some() {
            format!(
                "{{msg}}: {{pos}}/{{len}} {unit} ({{percent}}%, {{elapsed}} elapsed, eta {{eta}})"
            )
        } else {
            format!("{{msg}}: {{pos}} {unit} ({{elapsed}} elapsed)")
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        bar.set_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(LogLines::default()),
            1,
        ));
        return bar;
    }
    if !std::io::stderr().is_terminal() {
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

/// A draw target writing what a bar shows as an info log line, at most one
/// per [`LOG_EVERY`] (the first at once).
#[derive(Debug, Default)]
struct LogLines {
    last: Mutex<Option<Instant>>,
}

impl LogLines {
    fn log(&self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_none_or(|t| now.duration_since(t) >= LOG_EVERY) {
            *last = Some(now);
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
