//! `regime profile` and `regime merge`.

use std::path::PathBuf;

use clap::Args;

use super::InputArgs;
use super::number::{at_least, between};

/// Coverage, diversity, n-gram frequency, duplication and Gopher repetition
/// statistics of a corpus, per role and overall.
///
/// Writes `report.json`, `ngrams.parquet` (top-k per n and scope),
/// `roles.parquet`, `categories.parquet` (with `--by`), `report.html` and a
/// manifest into `--out`. With `--compare`, the two INPUTs are corpora A and
/// B and the report gives B relative to A (Jensen–Shannon divergence, Δ types,
/// Δ entropy, Δ head/tail mass, Δ distinct-n, rare-type survival). With
/// `--shard I/N` only the I-th of N contiguous blocks of samples is read and a
/// partial state (`partial.json`) is written; `regime merge` finalises the
/// partials into the same report a single run gives.
#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    /// The corpus (or, with `--compare`, corpora A and B).
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR", help_heading = "Output options")]
    pub(crate) out: PathBuf,
    /// Replace the contents of a non-empty output directory.
    #[arg(long, help_heading = "Output options")]
    pub(crate) overwrite: bool,
    /// Compare two corpora: the two INPUTs are A and B.
    #[arg(long)]
    pub(crate) compare: bool,
    /// A Hugging Face `tokenizer.json`: count model tokens (ids) instead of
    /// the built-in UAX #29 words. Padding and truncation off, no special
    /// tokens added, text passed as is [env: `REGIME_TOKENIZER`].
    #[arg(long, value_name = "PATH", env = "REGIME_TOKENIZER")]
    pub(crate) tokenizer: Option<PathBuf>,
    /// One more protected token, one built-in word token and never cut
    /// into prompt segments (repeatable); <image>, <video> and <|…|>
    /// specials always are. Shards merge only with the same list.
    #[arg(long = "protect", value_name = "TOKEN", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) protect: Vec<String>,
    /// Largest n of the n-gram figures (1–4).
    #[arg(long, default_value_t = regime_stats::DEFAULT_MAX_N, value_name = "N", allow_negative_numbers = true, value_parser = between(1_usize, regime_stats::MAX_N))]
    pub(crate) max_n: usize,
    /// Entries in each top-k list (`ngrams.parquet`, `top` in the report);
    /// 0 lists none and leaves every other figure as it is.
    #[arg(long, default_value_t = regime_stats::DEFAULT_TOP_K, value_name = "K", allow_negative_numbers = true, value_parser = at_least(0_usize))]
    pub(crate) top_k: usize,
    /// Memory for exact n-gram tables (e.g. 512M, 4G); past it the largest
    /// tables switch to HyperLogLog + space-saving sketches and the report
    /// marks those figures `exact: false` with their error bounds.
    #[arg(long, default_value = "4G", value_name = "SIZE", value_parser = parse_size, allow_hyphen_values = true, env = "REGIME_MEMORY_BUDGET")]
    pub(crate) memory_budget: u64,
    /// Counters per space-saving sketch (sketch mode only).
    #[arg(long, default_value_t = regime_stats::DEFAULT_SKETCH_CAPACITY, value_name = "K", allow_negative_numbers = true, value_parser = at_least(1_usize))]
    pub(crate) sketch_capacity: usize,
    /// Categorical columns to report coverage for (comma-separated):
    /// one scalar per row: string, number, boolean, date or time (or a
    /// dictionary of them); floats are keyed by their printed value.
    #[arg(long, value_delimiter = ',', value_name = "COL,…")]
    pub(crate) by: Vec<String>,
    /// Process only block I of N and write a partial state for `regime
    /// merge`. Not with `--compare`, which reads both corpora whole.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, allow_hyphen_values = true, conflicts_with = "compare")]
    pub(crate) shard: Option<(u64, u64)>,
    /// Also measure the near-duplicate share: the share of samples `regime
    /// dedup near` (datatrove preset, every text field) would remove. Two
    /// more passes over the corpus; not with `--shard` or `--compare`.
    #[arg(long, conflicts_with_all = ["shard", "compare"])]
    pub(crate) near: bool,
}

/// Finalise `regime profile --shard I/N` partial states into one report.
///
/// Give exactly one partial for each block 0…N−1 of one split, in any
/// order, all computed from the same input files with the same settings;
/// anything else is refused (exit 2) before any output is written.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Partial output directories (or their `partial.json` files).
    #[arg(required = true, value_name = "PARTIAL")]
    pub(crate) partials: Vec<PathBuf>,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Replace the contents of a non-empty output directory.
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// The tokenizer.json the partials were made with (to name token ids);
    /// defaults to the path recorded in the partials.
    #[arg(long, value_name = "PATH")]
    pub(crate) tokenizer: Option<PathBuf>,
}

/// Parses `512`, `64K`, `512M`, `4G`, `1T` (binary units) into bytes;
/// `4GiB` and `4 GiB` (the form reports print) too. `4GB` is refused: it
/// could mean 10⁹ or 2³⁰.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let s = match text.len().checked_sub(2).map(|i| text.split_at(i)) {
        Some((unit, "iB" | "ib")) => unit,
        _ => text,
    };
    if s != text && !s.ends_with(['K', 'k', 'M', 'm', 'G', 'g', 'T', 't']) {
        return Err(format!("`{text}` is not a size like 512M, 4G or 4GiB"));
    }
    if s == text && s.len() > 1 && s.ends_with(['B', 'b']) {
        let unit = &s[..s.len() - 1];
        if unit.ends_with(['K', 'k', 'M', 'm', 'G', 'g', 'T', 't']) {
            // `4gb` → `4GiB or 4G`: the unit as the docs write it.
            let unit = unit.trim().to_ascii_uppercase();
            return Err(format!(
                "`{text}`: sizes are binary; write {unit}iB or {unit}"
            ));
        }
    }
    let (num, shift) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 10),
        Some((i, 'M' | 'm')) => (&s[..i], 20),
        Some((i, 'G' | 'g')) => (&s[..i], 30),
        Some((i, 'T' | 't')) => (&s[..i], 40),
        _ => (s, 0),
    };
    let value: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 512M, 4G or 4GiB"))?;
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses `I/N` with `I < N`.
pub(crate) fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let err = || format!("`{s}` is not a shard like 0/3 (I/N with I < N)");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let i: u64 = i.trim().parse().map_err(|_| err())?;
    let n: u64 = n.trim().parse().map_err(|_| err())?;
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_shards_parse() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999T").is_err());
        // The form report.html prints reads back.
        assert_eq!(parse_size("4 GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4GB").unwrap_err().contains("write 4GiB or 4G"));
        assert!(parse_size("4iB").is_err());
        assert!(parse_size("iB").is_err());
        assert_eq!(parse_shard("1/3"), Ok((1, 3)));
        assert!(parse_shard("3/3").is_err());
        assert!(parse_shard("1").is_err());
    }
}
