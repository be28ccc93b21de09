//! The recipe file: its types (the source of `schemas/recipe.schema.json`),
//! parsing with line numbers in every error, and `${VAR}` expansion.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;

/// A pipeline recipe: an input corpus and an ordered list of stages.
///
/// Paths are relative to the recipe file. Each stage is written as the
/// subcommand it runs (`run = "dedup near"`) followed by that subcommand's
/// options under their command-line names (`threshold = 0.8` for
/// `--threshold 0.8`, `provenance = true` for `--provenance`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "regime recipe")]
pub(crate) struct Recipe {
    /// What the recipe builds, shown in the plan and in run.html.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Output directory, relative to the working directory (like every
    /// `--out`) [default: out/NAME, NAME the recipe's file stem].
    #[serde(default)]
    pub(crate) out: Option<String>,
    /// The corpus the first stage reads.
    #[serde(default)]
    pub(crate) input: Option<InputSpec>,
    /// The stages, run in this order.
    #[serde(rename = "stage")]
    pub(crate) stages: Vec<StageSpec>,
}

/// The recipe's input corpus.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputSpec {
    /// Parquet or JSONL files, directories or glob patterns (as INPUT…).
    pub(crate) paths: Vec<String>,
    /// Field layout (`--profile`): llava, sharegpt, messages or columns.
    #[serde(default)]
    pub(crate) profile: Option<String>,
    /// Column → role TOML file for `profile = "columns"` (`--fields`).
    #[serde(default)]
    pub(crate) fields: Option<String>,
    /// Records of each JSON input the columns are inferred from, or
    /// `"all"` (`--infer-records`).
    #[serde(default, rename = "infer-records")]
    pub(crate) infer_records: Option<Scalar>,
}

/// One stage: the subcommand, its name, what it reads, and its options.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub(crate) struct StageSpec {
    /// The subcommand, as typed after `regime`: `inspect`, `profile`,
    /// `prompt-dedup`, `audit-prompts`, `dedup exact`, `dedup near`,
    /// `condition c`, `spectral`, `spectral-compare`, …
    pub(crate) run: String,
    /// The stage's name and output directory [default: `run` with spaces
    /// as dashes]. Unique within the recipe.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// What a corpus stage reads: `"input"` (the recipe's input), the name
    /// of an earlier stage that writes a corpus, or paths [default: the
    /// latest earlier stage that writes a corpus, else the input].
    #[serde(default)]
    pub(crate) input: Option<OneOrMany>,
    /// The model (`spectral`) or models (`spectral-compare`): paths. For
    /// a corpus stage, its `--model` option (`condition d`'s teacher model).
    #[serde(default)]
    pub(crate) model: Option<OneOrMany>,
    /// The subcommand's options, under their long names without `--`.
    /// `true` passes a flag, a list repeats the option; `${VAR}` in a
    /// string is replaced by the environment variable VAR.
    #[serde(flatten)]
    pub(crate) options: BTreeMap<String, OptionValue>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a string or a list of strings")]
pub(crate) enum OneOrMany {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values, in order.
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

/// The value of a stage option.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "true or false, a number, a string, or a list of numbers and strings"
)]
pub(crate) enum OptionValue {
    /// A flag: `true` passes it, `false` leaves it out.
    Flag(bool),
    /// An integer.
    Integer(i64),
    /// A number.
    Float(f64),
    /// A string (`${VAR}` expanded).
    Text(String),
    /// A list: the option is given once per element.
    List(Vec<Scalar>),
}

/// An element of a list option.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a number or a string")]
pub(crate) enum Scalar {
    /// An integer.
    Integer(i64),
    /// A number.
    Float(f64),
    /// A string (`${VAR}` expanded).
    Text(String),
}

impl Scalar {
    /// The value as one command-line word (before `${VAR}` expansion);
    /// `None` for a number that [`float_word`] refuses.
    pub(crate) fn word(&self) -> Option<String> {
        match self {
            Self::Integer(i) => Some(i.to_string()),
            Self::Float(f) => float_word(*f),
            Self::Text(s) => Some(s.clone()),
        }
    }
}

/// `f` as a command-line word, or `None` for a whole number of magnitude
/// 2^53 or more: TOML has no integers past ±2^63, and its parser reads
/// such a literal (a `u64` seed) as a float, rounding its digits
/// (18446744073709551615 comes back as 18446744073709552000), so passing
/// it on would silently change the value. Written as a string, it passes.
pub(crate) fn float_word(f: f64) -> Option<String> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    (f.fract() != 0.0 || f.abs() < EXACT || !f.is_finite()).then(|| f.to_string())
}

/// The message for a number [`float_word`] refuses.
pub(crate) fn rounded_number(key: &str) -> String {
    format!(
        "`{key}`: a whole number this large does not fit a TOML integer and would be rounded; write it as a string (`{key} = \"…\"`)"
    )
}

/// A recipe error at a place in the file: `FILE:LINE: message`.
#[derive(Debug)]
pub(crate) struct RecipeError {
    /// The recipe file as given.
    pub(crate) file: String,
    /// 1-based line (0 when unknown).
    pub(crate) line: usize,
    /// What is wrong, naming the key or value.
    pub(crate) message: String,
}

impl std::fmt::Display for RecipeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for RecipeError {}

/// A parsed recipe with what is needed to point at its lines.
#[derive(Debug)]
pub(crate) struct Source {
    /// The recipe file as given (for messages).
    pub(crate) file: String,
    /// Its text.
    pub(crate) text: String,
    /// The parsed recipe.
    pub(crate) recipe: Recipe,
}

impl Source {
    /// Parses `text`; errors name `file` and the line.
    pub(crate) fn parse(file: &str, text: String) -> Result<Self, RecipeError> {
        match toml::from_str::<Recipe>(&text) {
            Ok(recipe) => Ok(Self {
                file: file.to_owned(),
                text,
                recipe,
            }),
            Err(err) => Err(RecipeError {
                file: file.to_owned(),
                line: err.span().map_or(0, |s| line_of(&text, s.start)),
                message: err.message().trim().replace('\n', " "),
            }),
        }
    }

    /// Reads and parses a recipe file.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Self::parse(&path.display().to_string(), text)?)
    }

    /// An error at the line of `key` in stage `index` (the stage's first
    /// line when `key` is `None` or not found).
    pub(crate) fn stage_error(
        &self,
        index: usize,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> RecipeError {
        RecipeError {
            file: self.file.clone(),
            line: self.stage_line(index, key),
            message: message.into(),
        }
    }

    /// An error at the line of `key` in the `[input]` table.
    pub(crate) fn input_error(&self, key: &str, message: impl Into<String>) -> RecipeError {
        let line = toml::de::DeTable::parse(&self.text)
            .ok()
            .and_then(|root| {
                let root = root.into_inner();
                let (_, input) = root.get_key_value("input")?;
                match input.get_ref() {
                    toml::de::DeValue::Table(t) => t
                        .get_key_value(key)
                        .map(|(k, _)| line_of(&self.text, k.span().start)),
                    _ => Some(line_of(&self.text, input.span().start)),
                }
            })
            .unwrap_or(0);
        RecipeError {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    fn stage_line(&self, index: usize, key: Option<&str>) -> usize {
        let Ok(root) = toml::de::DeTable::parse(&self.text) else {
            return 0;
        };
        let root = root.into_inner();
        let Some(toml::de::DeValue::Array(stages)) = root.get("stage").map(toml::Spanned::get_ref)
        else {
            return 0;
        };
        let Some(stage) = stages.get(index) else {
            return 0;
        };
        let keyed = match (stage.get_ref(), key) {
            (toml::de::DeValue::Table(table), Some(key)) => table
                .get_key_value(key)
                .map(|(k, _)| line_of(&self.text, k.span().start)),
            _ => None,
        };
        // An array-of-tables element spans from its `[[stage]]` header.
        keyed.unwrap_or_else(|| line_of(&self.text, stage.span().start))
    }
}

/// The 1-based line holding byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// Replaces every `${NAME}` with the environment variable NAME.
///
/// # Errors
/// The name of a variable that is not set (or not UTF-8), or an unclosed
/// `${`.
pub(crate) fn expand_env(
    value: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{value}`"))?;
        let name = &after[..end];
        let found = lookup(name)
            .ok_or_else(|| format!("environment variable {name} is not set (used in `{value}`)"))?;
        out.push_str(&found);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = r#"description = "t"

[input]
paths = ["a.parquet"]

[[stage]]
run = "profile"
max-n = 3

[[stage]]
run = "prompt-dedup"
name = "pd"
provenance = true
protect = ["<x>", "<y>"]
min-chars = 20
"#;

    #[test]
    fn parses_stages_and_options_in_order() {
        let source = Source::parse("r.toml", RECIPE.into()).unwrap();
        let stages = &source.recipe.stages;
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].run, "profile");
        assert_eq!(stages[0].options["max-n"], OptionValue::Integer(3));
        assert_eq!(stages[1].name.as_deref(), Some("pd"));
        assert_eq!(stages[1].options["provenance"], OptionValue::Flag(true));
        assert_eq!(
            stages[1].options["protect"],
            OptionValue::List(vec![Scalar::Text("<x>".into()), Scalar::Text("<y>".into())])
        );
    }

    #[test]
    fn lines_point_at_keys() {
        let source = Source::parse("r.toml", RECIPE.into()).unwrap();
        // Line 14 is `protect = …`, line 10 the second `[[stage]]`.
        assert_eq!(source.stage_line(1, Some("protect")), 14);
        assert_eq!(source.stage_line(1, Some("nope")), 10);
        assert_eq!(source.stage_line(0, Some("max-n")), 8);
        assert_eq!(source.input_error("paths", "x").line, 4);
    }

    #[test]
    fn unknown_top_level_key_names_key_and_line() {
        let err = Source::parse(
            "r.toml",
            "descripton = \"x\"\n[[stage]]\nrun = \"inspect\"\n".into(),
        )
        .unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("descripton"), "{}", err.message);
        let err = Source::parse(
            "r.toml",
            "[input]\npaths = []\nprofil = \"llava\"\n[[stage]]\nrun = \"inspect\"\n".into(),
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("profil"), "{}", err.message);
    }

    #[test]
    fn values_of_the_wrong_kind_say_what_is_expected() {
        let err = Source::parse("r.toml", "[[stage]]\nrun = \"profile\"\ninput = 5\n".into())
            .unwrap_err();
        assert!(
            err.message.contains("a string or a list of strings"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("untagged"), "{}", err.message);
        let err = Source::parse(
            "r.toml",
            "[[stage]]\nrun = \"profile\"\nmax-n = { a = 1 }\n".into(),
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("true or false, a number, a string, or a list of numbers and strings"),
            "{}",
            err.message
        );
        let err = Source::parse(
            "r.toml",
            "[[stage]]\nrun = \"profile\"\nby = [true]\n".into(),
        )
        .unwrap_err();
        // A bad list element is reported as the whole value's kind.
        assert!(
            err.message.contains("a list of numbers and strings"),
            "{}",
            err.message
        );
    }

    #[test]
    fn env_expansion() {
        let lookup = |n: &str| (n == "A").then(|| "x".to_owned());
        assert_eq!(expand_env("a${A}b${A}", lookup).unwrap(), "axbx");
        assert_eq!(expand_env("plain", lookup).unwrap(), "plain");
        assert!(expand_env("${B}", lookup).unwrap_err().contains('B'));
        assert!(expand_env("${A", lookup).is_err());
    }

    #[test]
    fn line_of_counts_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
