//! Checking a whole recipe and turning it into a plan: for every stage its
//! output directory and the exact command line it runs, parsed by the real
//! argument parser. Nothing here runs a stage or writes a file.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use regime_teacher::redact_url;

use super::recipe::{
    OneOrMany, OptionValue, RecipeError, Scalar, Source, float_word, rounded_number,
};
use super::stages::{Reads, StageKind, Writes};
use crate::cli::Cli;

/// Options the runner sets itself; a recipe may not.
pub(crate) const RESERVED: &[&str] = &["out", "overwrite", "help", "version", "verbose", "quiet"];

/// Options naming a directory a stage writes besides its own: in a recipe
/// their value is a name in OUT, as a stage's, which later stages' options
/// may name in turn.
const OUTPUT_OPTIONS: &[&str] = &["save-index"];

/// Options whose value may name such a directory of an earlier stage.
const OUTPUT_READERS: &[&str] = &["against"];

/// A checked recipe, ready to run.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The recipe's description.
    pub(crate) description: Option<String>,
    /// The recipe file as given.
    pub(crate) file: String,
    /// The run's output directory.
    pub(crate) out: PathBuf,
    /// The stages, in order.
    pub(crate) stages: Vec<PlannedStage>,
}

/// One stage of a plan.
#[derive(Debug)]
pub(crate) struct PlannedStage {
    /// Unique name, also the output directory's name.
    pub(crate) name: String,
    /// What it runs.
    pub(crate) kind: &'static StageKind,
    /// Its output directory.
    pub(crate) dir: PathBuf,
    /// The full command line, starting with `regime`.
    pub(crate) argv: Vec<String>,
    /// `argv` as recorded in `run.json` and shown (`--dry-run`, `run.html`):
    /// credentials in URLs (`--teacher-url` from `${VAR}`) redacted.
    pub(crate) shown: Vec<String>,
    /// Corpus inputs (INPUT…), as passed.
    pub(crate) corpus: Vec<PathBuf>,
    /// Other files the stage reads (models, tokenizers, field maps).
    pub(crate) files: Vec<PathBuf>,
    /// Earlier stages whose output directories it reads.
    pub(crate) after: Vec<usize>,
    /// Directories it writes besides `dir`, by their names in OUT (a
    /// near-dedup index, `save-index = NAME`).
    pub(crate) writes_also: Vec<(String, PathBuf)>,
    /// The options as given, for the manifest's config.
    pub(crate) config: serde_json::Value,
}

/// Where a recipe's relative paths start and what replaces its input.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// The recipe file's directory.
    pub(crate) base: PathBuf,
    /// The run's output directory when given on the command line.
    pub(crate) out: Option<PathBuf>,
    /// Corpus paths replacing the recipe's `[input] paths` (quickstart
    /// `--corpus`, the embedded sample).
    pub(crate) input: Option<Vec<PathBuf>>,
    /// The recipe's file stem, for the default output directory.
    pub(crate) stem: String,
}

/// Checks every key, value and input of the recipe and builds the plan.
///
/// # Errors
/// The first problem, naming the recipe file, the line and the key.
pub(crate) fn plan(source: &Source, cx: &Context) -> Result<Plan, RecipeError> {
    let recipe = &source.recipe;
    let out = cx.out.clone().unwrap_or_else(|| {
        recipe
            .out
            .as_ref()
            .map_or_else(|| Path::new("out").join(&cx.stem), PathBuf::from)
    });
    let input = recipe_input(source, cx)?;
    if recipe.stages.is_empty() {
        return Err(source.stage_error(0, None, "the recipe has no [[stage]]"));
    }
    let mut stages: Vec<PlannedStage> = Vec::with_capacity(recipe.stages.len());
    for index in 0..recipe.stages.len() {
        let stage = plan_stage(source, index, &stages, input.as_ref(), &out, cx)?;
        stages.push(stage);
    }
    Ok(Plan {
        description: recipe.description.clone(),
        file: source.file.clone(),
        out,
        stages,
    })
}

/// Plans stage `index`, given the stages before it.
fn plan_stage(
    source: &Source,
    index: usize,
    stages: &[PlannedStage],
    input: Option<&Vec<PathBuf>>,
    out: &Path,
    cx: &Context,
) -> Result<PlannedStage, RecipeError> {
    let spec = &source.recipe.stages[index];
    let err = |key: Option<&str>, msg: String| source.stage_error(index, key, msg);
    let kind = StageKind::find(&spec.run).ok_or_else(|| {
        err(
            Some("run"),
            format!(
                "unknown stage `{}` (known: {})",
                spec.run,
                StageKind::known()
            ),
        )
    })?;
    let name = stage_name(source, index, kind, stages)?;
    let dir = out.join(&name);
    let mut argv: Vec<String> = vec!["regime".into()];
    argv.extend(kind.words().iter().map(|w| (*w).to_owned()));
    let mut after = Vec::new();
    let mut corpus = Vec::new();
    let mut files = Vec::new();
    match kind.reads {
        Reads::Corpus | Reads::Source => {
            corpus = stage_corpus(source, index, stages, input, cx, &mut after)?;
        }
        Reads::Models => files = stage_models(source, index, kind, cx)?,
    }
    argv.extend(corpus.iter().chain(&files).map(|p| p.display().to_string()));
    if kind.takes_out() {
        argv.extend(["--out".to_owned(), dir.display().to_string()]);
        if matches!(kind.writes, Writes::Corpus | Writes::Report) {
            argv.push("--overwrite".into());
        }
    }
    argv.extend(kind.fixed.iter().map(|f| (*f).to_owned()));
    let command = subcommand(kind);
    let mut config = serde_json::Map::new();
    // For a corpus stage `model` is an ordinary option (condition d's
    // teacher model), not the models a spectral stage reads.
    let model = match (&spec.model, kind.reads) {
        (Some(OneOrMany::One(m)), Reads::Corpus) => Some(OptionValue::Text(m.clone())),
        (Some(OneOrMany::Many(m)), Reads::Corpus) => Some(OptionValue::List(
            m.iter().map(|s| Scalar::Text(s.clone())).collect(),
        )),
        _ => None,
    };
    let model = model.as_ref().map(|m| ("model".to_owned(), m));
    let mut writes_also = Vec::new();
    for (key, value) in spec
        .options
        .iter()
        .map(|(k, v)| (k.clone(), v))
        .chain(model)
    {
        let key = key.as_str();
        let taken = (name.as_str(), stages);
        let words = match out_option(source, index, &command, key, value, taken, out)? {
            Some(OutOption::Writes(name, dir)) => {
                let words = vec![format!("--{key}"), dir.display().to_string()];
                writes_also.push((name, dir));
                words
            }
            Some(OutOption::Reads(stage, dir)) => {
                after.push(stage);
                vec![format!("--{key}"), dir.display().to_string()]
            }
            None => option_words(source, index, kind, &command, key, value, cx, &mut files)?,
        };
        let mut json = option_json(value);
        redact_strings(&mut json);
        config.insert(key.to_owned(), json);
        argv.extend(words);
    }
    if kind.reads == Reads::Corpus {
        argv.extend(input_flags(source, index, cx, &mut files)?);
    }
    check_with_parser(source, index, &argv)?;
    let shown = argv.iter().map(|word| redact_url(word)).collect();
    Ok(PlannedStage {
        name,
        kind,
        dir,
        argv,
        shown,
        corpus,
        files,
        after,
        writes_also,
        config: serde_json::Value::Object(config),
    })
}

/// Redacts URL credentials in every string of `value`.
fn redact_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = redact_url(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_strings),
        _ => {}
    }
}

/// The models a stage that reads models (`spectral`, `spectral-compare`)
/// names with `model`, checked to exist.
fn stage_models(
    source: &Source,
    index: usize,
    kind: &StageKind,
    cx: &Context,
) -> Result<Vec<PathBuf>, RecipeError> {
    let spec = &source.recipe.stages[index];
    let err = |key: Option<&str>, msg: String| source.stage_error(index, key, msg);
    if spec.input.is_some() {
        return Err(err(
            Some("input"),
            format!("`{}` reads models: use `model`", kind.run),
        ));
    }
    let models = spec.model.as_ref().ok_or_else(|| {
        err(
            None,
            format!(
                "`{}` needs `model` (a safetensors file or directory, or a list)",
                kind.run
            ),
        )
    })?;
    let files = models
        .to_vec()
        .iter()
        .map(|model| resolve_path(source, index, "model", model, cx))
        .collect::<Result<Vec<_>, _>>()?;
    if kind.run == "spectral" && files.len() != 1 {
        return Err(err(
            Some("model"),
            "`spectral` audits one model (use `spectral-compare` for several)".into(),
        ));
    }
    Ok(files)
}

/// An option naming a directory in OUT other than a stage's own.
enum OutOption {
    /// One the stage writes: its name and path.
    Writes(String, PathBuf),
    /// One the earlier stage (by index) wrote, at this path.
    Reads(usize, PathBuf),
}

/// Option `key` of stage `index` as a directory in OUT, when it names one
/// ([`OUTPUT_OPTIONS`], or an [`OUTPUT_READERS`] option naming an earlier
/// stage's such directory); `None` for any other option. `taken` is the
/// stage's own name and the stages before it.
fn out_option(
    source: &Source,
    index: usize,
    command: &clap::Command,
    key: &str,
    value: &OptionValue,
    taken: (&str, &[PlannedStage]),
    out: &Path,
) -> Result<Option<OutOption>, RecipeError> {
    let (_, earlier) = taken;
    let OptionValue::Text(name) = value else {
        return Ok(None);
    };
    if !command.get_arguments().any(|a| a.get_long() == Some(key)) {
        return Ok(None);
    }
    if OUTPUT_OPTIONS.contains(&key) {
        let name = output_name(source, index, key, name, taken)?;
        let dir = out.join(&name);
        return Ok(Some(OutOption::Writes(name, dir)));
    }
    let wrote = earlier
        .iter()
        .position(|s| s.writes_also.iter().any(|(n, _)| n == name));
    Ok(wrote
        .filter(|_| OUTPUT_READERS.contains(&key))
        .map(|stage| OutOption::Reads(stage, out.join(name))))
}

/// The name in OUT of a directory that option `key` of stage `index`
/// writes: a plain name no stage (this one included) or other output has.
fn output_name(
    source: &Source,
    index: usize,
    key: &str,
    name: &str,
    (own, earlier): (&str, &[PlannedStage]),
) -> Result<String, RecipeError> {
    let err = |msg: String| source.stage_error(index, Some(key), msg);
    check_plain_name(name).map_err(|why| err(format!("{key} `{name}`: {why}")))?;
    let taken = own == name
        || earlier
            .iter()
            .any(|s| s.name == name || s.writes_also.iter().any(|(n, _)| n == name))
        || source
            .recipe
            .stages
            .iter()
            .any(|s| s.name.as_deref() == Some(name));
    if taken {
        return Err(err(format!(
            "{key} `{name}` is the name of a stage or of another output in OUT (choose another)"
        )));
    }
    Ok(name.to_owned())
}

/// Why `name` cannot name a directory in OUT, if it cannot: it must be
/// plain, and not the recipe's input or one of the runner's own files.
fn check_plain_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("use letters, digits, `-`, `_` and `.` (it names a directory in OUT)".into());
    }
    if name == "input" {
        return Err("reserved for the recipe's input".into());
    }
    if [super::exec::RUN_FILE, super::super::run::PAGE].contains(&name) {
        return Err("the runner writes a file of that name in OUT".into());
    }
    Ok(())
}

/// The stage's name: given or derived from `run`; a plain, unique
/// directory name.
fn stage_name(
    source: &Source,
    index: usize,
    kind: &StageKind,
    stages: &[PlannedStage],
) -> Result<String, RecipeError> {
    let spec = &source.recipe.stages[index];
    let err = |key: Option<&str>, msg: String| source.stage_error(index, key, msg);
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| kind.run.replace(' ', "-"));
    check_plain_name(&name)
        .map_err(|why| err(Some("name"), format!("stage name `{name}`: {why}")))?;
    if stages.iter().any(|s| s.name == name) {
        return Err(err(
            Some("name"),
            format!("stage name `{name}` is used twice (set a distinct `name`)"),
        ));
    }
    if let Some((stage, key)) = stages.iter().find_map(|s| {
        s.writes_also
            .iter()
            .any(|(n, _)| *n == name)
            .then_some((&s.name, s.kind.run))
    }) {
        return Err(err(
            Some("name"),
            format!(
                "stage name `{name}` is the directory stage `{stage}` ({key}) writes an \
                 index to (set a distinct `name`)"
            ),
        ));
    }
    Ok(name)
}

/// The recipe's `--profile` / `--fields` / `--infer-records` for a corpus
/// stage that does not set its own.
fn input_flags(
    source: &Source,
    index: usize,
    cx: &Context,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<String>, RecipeError> {
    let spec = &source.recipe.stages[index];
    let mut words = Vec::new();
    let Some(spec_input) = &source.recipe.input else {
        return Ok(words);
    };
    let infer_records =
        match &spec_input.infer_records {
            Some(n) => Some(n.word().ok_or_else(|| {
                source.input_error("infer-records", rounded_number("infer-records"))
            })?),
            None => None,
        };
    for (flag, value) in [
        ("profile", &spec_input.profile),
        ("fields", &spec_input.fields),
        ("infer-records", &infer_records),
    ] {
        if let Some(value) = value
            && !spec.options.contains_key(flag)
        {
            let value = if flag == "fields" {
                let path = resolve_path_in_input(source, "fields", value, cx)?;
                files.push(path.clone());
                path.display().to_string()
            } else {
                value.clone()
            };
            words.extend([format!("--{flag}"), value]);
        }
    }
    Ok(words)
}

/// The recipe's input corpus paths, checked to exist.
fn recipe_input(source: &Source, cx: &Context) -> Result<Option<Vec<PathBuf>>, RecipeError> {
    if let Some(paths) = &cx.input {
        return Ok(Some(paths.clone()));
    }
    let Some(spec) = &source.recipe.input else {
        return Ok(None);
    };
    let mut paths = Vec::with_capacity(spec.paths.len());
    for raw in &spec.paths {
        let path = resolve_path_in_input(source, "paths", raw, cx)?;
        regime_corpus::resolve_inputs(std::slice::from_ref(&path))
            .map_err(|e| source.input_error("paths", format!("input: {e}")))?;
        paths.push(path);
    }
    if paths.is_empty() {
        return Err(source.input_error("paths", "[input] paths is empty"));
    }
    Ok(Some(paths))
}

/// What a corpus stage reads: `input` references, or the latest earlier
/// corpus stage, or the recipe input.
fn stage_corpus(
    source: &Source,
    index: usize,
    earlier: &[PlannedStage],
    input: Option<&Vec<PathBuf>>,
    cx: &Context,
    after: &mut Vec<usize>,
) -> Result<Vec<PathBuf>, RecipeError> {
    let spec = &source.recipe.stages[index];
    let err = |msg: String| source.stage_error(index, Some("input"), msg);
    let refs = match &spec.input {
        Some(refs) => refs.to_vec(),
        None => match earlier
            .iter()
            .rposition(|s| s.kind.writes == Writes::Corpus)
        {
            Some(i) => vec![earlier[i].name.clone()],
            None => vec!["input".to_owned()],
        },
    };
    let mut paths = Vec::new();
    for r in refs {
        if r == "input" {
            let input = input.ok_or_else(|| {
                source.stage_error(
                    index,
                    None,
                    format!(
                        "stage `{}` reads the recipe's input, but there is no [input] paths",
                        spec.name.as_deref().unwrap_or(&spec.run)
                    ),
                )
            })?;
            paths.extend(input.iter().cloned());
        } else if let Some(i) = earlier.iter().position(|s| s.name == r) {
            if earlier[i].kind.writes != Writes::Corpus {
                return Err(err(format!(
                    "stage `{r}` ({}) writes no corpus to read",
                    earlier[i].kind.run
                )));
            }
            after.push(i);
            paths.push(earlier[i].dir.clone());
        } else if source
            .recipe
            .stages
            .iter()
            .skip(index)
            .any(|s| s.name.as_deref() == Some(&r))
        {
            return Err(err(format!(
                "input `{r}` is a later stage: a stage reads only earlier ones"
            )));
        } else {
            let path = resolve_path(source, index, "input", &r, cx)?;
            regime_corpus::resolve_inputs(std::slice::from_ref(&path))
                .map_err(|e| err(format!("input: {e}")))?;
            paths.push(path);
        }
    }
    Ok(paths)
}

/// The clap definition of a stage's subcommand.
pub(crate) fn subcommand(kind: &StageKind) -> clap::Command {
    let mut command = Cli::command();
    // Built, so every subcommand holds the global options (`threads`).
    command.build();
    for word in kind.words() {
        command = command
            .find_subcommand(word)
            .cloned()
            .unwrap_or_else(|| clap::Command::new(word));
    }
    command
}

/// One option as command-line words, checked against the subcommand's
/// arguments; path values are resolved against the recipe directory and
/// must exist.
#[expect(clippy::too_many_arguments, reason = "one option's full context")]
fn option_words(
    source: &Source,
    index: usize,
    kind: &StageKind,
    command: &clap::Command,
    key: &str,
    value: &OptionValue,
    cx: &Context,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<String>, RecipeError> {
    let err = |msg: String| source.stage_error(index, Some(key), msg);
    let flag = format!("--{key}");
    if matches!(key, "verbose" | "quiet" | "help" | "version") {
        return Err(err(format!(
            "`{key}` is not a stage option: give it to `regime run` itself"
        )));
    }
    if RESERVED.contains(&key) || kind.fixed.contains(&flag.as_str()) {
        return Err(err(format!(
            "`{key}` is set by `regime run` (each stage writes OUT/NAME)"
        )));
    }
    let Some(arg) = command
        .get_arguments()
        .find(|a| a.get_long() == Some(key) && !a.is_hide_set())
    else {
        let longs: Vec<&str> = command
            .get_arguments()
            .filter_map(clap::Arg::get_long)
            .filter(|l| !RESERVED.contains(l))
            .collect();
        let hint =
            closest(key, &longs).map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"));
        return Err(err(format!(
            "unknown option `{key}` for `{}`{hint}",
            kind.run
        )));
    };
    let is_flag = !arg.get_action().takes_values();
    let is_path = arg.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>();
    let mut word = |raw: String| -> Result<String, RecipeError> {
        let expanded = super::recipe::expand_env(&raw, |n| std::env::var(n).ok()).map_err(&err)?;
        if is_path {
            let path = resolve_path(source, index, key, &expanded, cx)?;
            files.push(path.clone());
            Ok(path.display().to_string())
        } else {
            Ok(expanded)
        }
    };
    match value {
        OptionValue::Flag(on) if is_flag => Ok(if *on { vec![flag] } else { vec![] }),
        _ if is_flag => Err(err(format!("`{key}` is a flag: write `{key} = true`"))),
        OptionValue::Flag(_) => Err(err(format!("`{key}` takes a value, not true/false"))),
        OptionValue::Integer(i) => Ok(vec![flag, i.to_string()]),
        OptionValue::Float(f) => Ok(vec![
            flag,
            float_word(*f).ok_or_else(|| err(rounded_number(key)))?,
        ]),
        OptionValue::Text(s) => Ok(vec![flag, word(s.clone())?]),
        OptionValue::List(items) => {
            let mut words = Vec::with_capacity(items.len() * 2);
            for item in items {
                let raw = item.word().ok_or_else(|| err(rounded_number(key)))?;
                words.push(flag.clone());
                words.push(word(raw)?);
            }
            Ok(words)
        }
    }
}

/// The option's value as JSON, for the manifest.
fn option_json(value: &OptionValue) -> serde_json::Value {
    match value {
        OptionValue::Flag(b) => (*b).into(),
        OptionValue::Integer(i) => (*i).into(),
        OptionValue::Float(f) => (*f).into(),
        OptionValue::Text(s) => s.clone().into(),
        OptionValue::List(items) => items
            .iter()
            .map(|item| item.word().map_or(serde_json::Value::Null, Into::into))
            .collect(),
    }
}

/// A path from a stage key, relative to the recipe; must exist.
fn resolve_path(
    source: &Source,
    index: usize,
    key: &str,
    raw: &str,
    cx: &Context,
) -> Result<PathBuf, RecipeError> {
    let expanded = super::recipe::expand_env(raw, |n| std::env::var(n).ok())
        .map_err(|m| source.stage_error(index, Some(key), m))?;
    let path = canonical(cx.base.join(&expanded));
    if !is_glob(&expanded) && !path.exists() {
        return Err(source.stage_error(
            index,
            Some(key),
            format!("{key}: {} does not exist", path.display()),
        ));
    }
    Ok(path)
}

/// A path from the `[input]` table, relative to the recipe; must exist.
fn resolve_path_in_input(
    source: &Source,
    key: &str,
    raw: &str,
    cx: &Context,
) -> Result<PathBuf, RecipeError> {
    let expanded = super::recipe::expand_env(raw, |n| std::env::var(n).ok())
        .map_err(|m| source.input_error(key, m))?;
    let path = canonical(cx.base.join(&expanded));
    if !is_glob(&expanded) && !path.exists() {
        return Err(source.input_error(
            key,
            format!("input {key}: {} does not exist", path.display()),
        ));
    }
    Ok(path)
}

/// The absolute path of an existing file (so a recipe copied elsewhere
/// that names the same files plans the same command lines); other paths
/// as they are.
fn canonical(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Parses the stage's command line with the real parser, so every value
/// error surfaces before any stage runs.
fn check_with_parser(source: &Source, index: usize, argv: &[String]) -> Result<(), RecipeError> {
    let Err(error) = Cli::try_parse_from(argv) else {
        return Ok(());
    };
    let key = match error.get(clap::error::ContextKind::InvalidArg) {
        Some(clap::error::ContextValue::String(arg)) => arg
            .strip_prefix("--")
            .map(|rest| rest.split([' ', '=']).next().unwrap_or(rest).to_owned()),
        _ => None,
    };
    // The message is the paragraph before the usage: one line, or a
    // heading with the missing arguments under it, joined into one line.
    let text = error.render().to_string();
    let message = text
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_owned();
    Err(source.stage_error(index, key.as_deref(), message))
}

/// The candidate nearest to `key` by edit distance, if close enough to be
/// a typo (at most a third of the key's length, and at least one edit).
pub(crate) fn closest<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = key.chars().count().div_ceil(3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(key, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_matches_hand_counts() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        // kitten → sitting: k→s, e→i, +g.
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("min_chars", "min-chars"), 1);
    }

    #[test]
    fn closest_suggests_only_near_keys() {
        let keys = ["min-chars", "case-fold", "top"];
        assert_eq!(closest("min_chars", &keys), Some("min-chars"));
        assert_eq!(closest("mnichars", &keys), Some("min-chars"));
        assert_eq!(closest("zzzzzz", &keys), None);
    }
}
