//! The subcommands a recipe can run, one table entry each: how a stage gets
//! its positional arguments and what its output directory holds.

/// What a stage's positional arguments are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reads {
    /// INPUT…: a corpus (the recipe input, an earlier stage's output, or
    /// paths); gets the recipe's `--profile` / `--fields`.
    Corpus,
    /// MODEL…: safetensors files or directories from the `model` key.
    Models,
    /// SOURCE…: a corpus read whole, as the data to generate from (the
    /// recipe's `--profile` / `--fields` do not apply).
    Source,
}

/// What a stage leaves in its output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writes {
    /// Parquet parts + report.json + manifest.json (through `OutputDir`);
    /// later stages read it as their corpus by default.
    Corpus,
    /// Reports + manifest.json, written by the command itself (`--out`).
    Report,
    /// Nothing but stdout: the runner stores it as this file (with a
    /// manifest), and echoes it when `echo` is set.
    Stdout {
        /// The file stdout is stored in.
        file: &'static str,
        /// Also copy it to the run's stdout when the check failed (a
        /// failed gate's report is what a CI log must show).
        echo: bool,
    },
}

/// One kind of stage.
#[derive(Debug)]
pub(crate) struct StageKind {
    /// What a recipe writes in `run = "…"`: the subcommand words.
    pub(crate) run: &'static str,
    /// Options the runner always passes (and a recipe may not set).
    pub(crate) fixed: &'static [&'static str],
    /// Positional arguments.
    pub(crate) reads: Reads,
    /// Output directory contents.
    pub(crate) writes: Writes,
    /// The report page and JSON that run.html links, when there are.
    pub(crate) html: Option<&'static str>,
    /// The JSON file whose figures run.html shows.
    pub(crate) json: Option<&'static str>,
    /// Key figures for run.html: label and JSON pointer into `json`
    /// (pointers the file lacks are left out; with none found, its
    /// top-level numbers are shown).
    pub(crate) figures: &'static [(&'static str, &'static str)],
}

const PROFILE_FIGURES: &[(&str, &str)] = &[
    ("samples", "/overall/samples"),
    ("unigram types", "/overall/unigram/types"),
    ("entropy (bits)", "/overall/unigram/entropy_bits"),
    ("head mass", "/overall/unigram/head_mass"),
    ("tail mass", "/overall/unigram/tail_mass"),
    (
        "exact duplicate share",
        "/overall/duplication/exact_duplicate_share",
    ),
    (
        "Gopher: share over any threshold",
        "/overall/gopher/share_over_any",
    ),
    ("JS divergence (bits)", "/compare/js_divergence_bits"),
    ("Δ types", "/compare/delta_types"),
    ("Δ entropy (bits)", "/compare/delta_entropy_bits"),
    ("Δ head mass", "/compare/delta_head_mass"),
    ("rare-type survival", "/compare/rare_type_survival"),
];

const DEDUP_FIGURES: &[(&str, &str)] = &[
    ("rows", "/rows"),
    ("kept", "/kept"),
    ("duplicates", "/duplicates"),
    ("clusters", "/clusters"),
    ("largest cluster", "/largest_cluster"),
];

const PROMPT_FIGURES: &[(&str, &str)] = &[
    ("samples", "/samples"),
    ("sample_dup_rate", "/sample_dup_rate"),
    ("segment_dup_rate", "/segment_dup_rate"),
    ("char_dup_rate", "/char_dup_rate"),
    ("max template share", "/max_template_share"),
    ("sample_dup_rate after", "/after/sample_dup_rate"),
    ("fields changed", "/fields_changed"),
];

const SPECTRAL_FIGURES: &[(&str, &str)] = &[
    ("matrices", "/summary/matrices"),
    ("share with α in [2,6]", "/summary/share_alpha_2_6"),
    ("median α", "/summary/median_alpha"),
];

/// Every stage a recipe can run. Adding a subcommand to recipes is one
/// entry here.
pub(crate) const STAGES: &[StageKind] = &[
    StageKind {
        run: "inspect",
        fixed: &["--json"],
        reads: Reads::Corpus,
        writes: Writes::Stdout {
            file: "inspect.json",
            echo: false,
        },
        html: None,
        json: Some("inspect.json"),
        figures: &[
            ("rows", "/rows"),
            ("row groups", "/row_groups"),
            ("profile", "/profile/name"),
        ],
    },
    StageKind {
        run: "profile",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Report,
        html: Some("report.html"),
        json: Some("report.json"),
        figures: PROFILE_FIGURES,
    },
    StageKind {
        run: "synth prompt-dup",
        fixed: &[],
        reads: Reads::Source,
        writes: Writes::Corpus,
        html: None,
        json: Some("report.json"),
        figures: &[
            ("rows", "/truth/rows"),
            ("planted", "/truth/planted"),
            ("copies", "/truth/copies"),
        ],
    },
    StageKind {
        run: "prompt-dedup",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Corpus,
        html: None,
        json: Some("report.json"),
        figures: PROMPT_FIGURES,
    },
    StageKind {
        run: "audit-prompts",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Stdout {
            file: "audit.out",
            echo: true,
        },
        html: None,
        json: Some("audit.out"),
        figures: PROMPT_FIGURES,
    },
    StageKind {
        run: "dedup exact",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Corpus,
        html: None,
        json: Some("report.json"),
        figures: DEDUP_FIGURES,
    },
    StageKind {
        run: "dedup near",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Corpus,
        html: None,
        json: Some("report.json"),
        figures: DEDUP_FIGURES,
    },
    StageKind {
        run: "condition c",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Corpus,
        html: None,
        json: Some("report.json"),
        figures: &[
            ("rows in", "/rows_in"),
            ("rows out", "/rows_out"),
            ("D1 rows", "/d1_rows"),
            ("chosen rows", "/chosen_rows"),
            ("phase duplicate share", "/phase_duplicate_share"),
            ("corpus duplicate share", "/corpus_duplicate_share"),
        ],
    },
    StageKind {
        run: "condition d",
        fixed: &[],
        reads: Reads::Corpus,
        writes: Writes::Corpus,
        html: Some("d1-compare.html"),
        json: Some("report.json"),
        figures: &[
            ("rows in", "/summary/rows_in"),
            ("rows out", "/summary/rows_out"),
            ("D1 rows", "/summary/d1_rows"),
            ("fields rewritten", "/summary/fields/rewritten"),
            ("fields kept original", "/summary/fields/kept_original"),
            ("requests", "/summary/requests/attempts"),
            ("answers from cache", "/summary/requests/cached_answers"),
            (
                "D1 Δ entropy (bits)",
                "/d1_compare/compare/delta_entropy_bits",
            ),
            ("D1 Δ types", "/d1_compare/compare/delta_types"),
            (
                "D1 rare-type survival",
                "/d1_compare/compare/rare_type_survival",
            ),
        ],
    },
    StageKind {
        run: "spectral",
        fixed: &[],
        reads: Reads::Models,
        writes: Writes::Report,
        html: Some("report.html"),
        json: Some("summary.json"),
        figures: SPECTRAL_FIGURES,
    },
    StageKind {
        run: "spectral-compare",
        fixed: &[],
        reads: Reads::Models,
        writes: Writes::Report,
        html: Some("report.html"),
        json: Some("compare.json"),
        figures: &[],
    },
];

impl StageKind {
    /// The entry for `run`.
    pub(crate) fn find(run: &str) -> Option<&'static Self> {
        let words: Vec<&str> = run.split_whitespace().collect();
        STAGES
            .iter()
            .find(|k| k.run.split_whitespace().eq(words.iter().copied()))
    }

    /// The subcommand words.
    pub(crate) fn words(&self) -> Vec<&'static str> {
        self.run.split_whitespace().collect()
    }

    /// Whether the stage writes into `--out` (all but stdout stages).
    pub(crate) fn takes_out(&self) -> bool {
        !matches!(self.writes, Writes::Stdout { .. })
    }

    /// The known `run` values, for error messages.
    pub(crate) fn known() -> String {
        STAGES
            .iter()
            .map(|k| format!("`{}`", k.run))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_ignores_spacing() {
        assert_eq!(
            StageKind::find("dedup  near").map(|k| k.run),
            Some("dedup near")
        );
        assert!(StageKind::find("dedup").is_none());
        assert_eq!(
            StageKind::find("condition c").unwrap().words(),
            ["condition", "c"]
        );
    }

    #[test]
    fn every_kind_is_a_real_subcommand() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        for kind in STAGES {
            let mut command = &cli;
            for word in kind.words() {
                command = command
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("`{}` is not a subcommand", kind.run));
            }
            for key in ["run", "name", "input"] {
                assert!(
                    command.get_arguments().all(|a| a.get_long() != Some(key)),
                    "{}: --{key} clashes with the recipe key",
                    kind.run
                );
            }
            assert!(
                kind.takes_out() == command.get_arguments().any(|a| a.get_long() == Some("out")),
                "{}: --out",
                kind.run
            );
        }
    }
}
