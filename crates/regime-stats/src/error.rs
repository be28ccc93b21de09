//! The crate's error type.

/// Everything that can go wrong in `regime-stats`: only invalid
/// configuration and combining states built with different settings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid {what}: {reason}")]
    Config {
        /// The setting, e.g. `"max n"`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// Two states built with different settings cannot be combined.
    #[error("cannot combine states: {what} differs ({left} vs {right})")]
    Incompatible {
        /// The setting that differs.
        what: &'static str,
        /// Its value in the receiving state.
        left: String,
        /// Its value in the other state.
        right: String,
    },
}
