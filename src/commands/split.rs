//! Checks that the outputs of `--shard I/N` runs handed to a merge are one
//! complete split: every block `0…N−1` exactly once, all of the same `N`,
//! computed from the same inputs with the same settings. `dedup near
//! --merge` (checked against the merging run) and `regime merge` (checked
//! against the first partial) share it, so both refuse the same mistakes
//! with the same one-line messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regime_corpus::InputRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the shards are compared with.
struct Reference<S, I> {
    /// How messages name it: "this run" or the first shard's directory.
    name: String,
    settings: S,
    inputs: I,
}

/// Accumulates shards one at a time; [`SplitCheck::finish`] checks that
/// none is missing. Each error is one line naming the offending shard.
pub(crate) struct SplitCheck<S, I> {
    /// How messages start: the command or flag doing the merge.
    what: &'static str,
    reference: Option<Reference<S, I>>,
    /// `N` of the split and the shard that set it.
    split: Option<(u64, PathBuf)>,
    /// Block index → the shard that holds it.
    seen: BTreeMap<u64, PathBuf>,
}

impl<S: PartialEq + Serialize, I: PartialEq + Serialize> SplitCheck<S, I> {
    /// A check whose reference is the first shard added.
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            reference: None,
            split: None,
            seen: BTreeMap::new(),
        }
    }

    /// A check against the settings and inputs of the merging run itself.
    pub(crate) fn against(what: &'static str, settings: S, inputs: I) -> Self {
        Self {
            reference: Some(Reference {
                name: "this run".into(),
                settings,
                inputs,
            }),
            ..Self::new(what)
        }
    }

    /// Adds the shard in `dir`: block `i` of `n`, computed with `settings`
    /// from `inputs`.
    ///
    /// # Errors
    /// When its settings or inputs differ from the reference's, its `n`
    /// from the split's, or its block was already given.
    pub(crate) fn add(
        &mut self,
        dir: &Path,
        (i, n): (u64, u64),
        settings: S,
        inputs: I,
    ) -> anyhow::Result<()> {
        let what = self.what;
        let shown = dir.display();
        anyhow::ensure!(
            i < n,
            "{what} {shown}: shard {i}/{n} is not a block of a split"
        );
        match &self.reference {
            None => {
                self.reference = Some(Reference {
                    name: dir.display().to_string(),
                    settings,
                    inputs,
                });
            }
            Some(r) => {
                anyhow::ensure!(
                    r.settings == settings,
                    "{what} {shown}: the shard was computed with other settings than {}{}",
                    r.name,
                    difference(&settings, &r.settings)
                );
                anyhow::ensure!(
                    r.inputs == inputs,
                    "{what} {shown}: the shard was computed on other inputs than {}{}",
                    r.name,
                    difference(&inputs, &r.inputs)
                );
            }
        }
        match &self.split {
            None => self.split = Some((n, dir.to_path_buf())),
            Some((m, first)) => anyhow::ensure!(
                *m == n,
                "{what} {shown}: shard {i}/{n} belongs to another split than {} (of {m} shards)",
                first.display()
            ),
        }
        if let Some(other) = self.seen.get(&i) {
            anyhow::bail!(
                "{what} {shown}: shard {i}/{n} is given twice (also as {})",
                other.display()
            );
        }
        self.seen.insert(i, dir.to_path_buf());
        Ok(())
    }

    /// `N`, once every block of the split was added.
    ///
    /// # Errors
    /// When no shard was added or a block is missing.
    pub(crate) fn finish(self) -> anyhow::Result<u64> {
        let what = self.what;
        let Some((n, _)) = self.split else {
            anyhow::bail!("{what}: no shards given");
        };
        let missing: Vec<String> = (0..n)
            .filter(|i| !self.seen.contains_key(i))
            .take(8)
            .map(|i| format!("{i}/{n}"))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "{what}: {} of {n} shards given (missing {}{}); every shard of the split is needed",
            self.seen.len(),
            missing.join(", "),
            if n - (self.seen.len() as u64) > 8 {
                ", …"
            } else {
                ""
            }
        );
        Ok(n)
    }
}

/// ` (`path`: this vs that)` for the first value where `a` and `b`
/// differ, so a refused shard says which setting or input file differs.
pub(crate) fn difference<T: Serialize>(a: &T, b: &T) -> String {
    let (Ok(a), Ok(b)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return String::new();
    };
    first_difference(&a, &b, String::new()).map_or_else(String::new, |(path, x, y)| {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!("`{path}`: ")
        };
        format!(" ({at}{x} vs {y})")
    })
}

fn first_difference(
    mine: &Value,
    theirs: &Value,
    path: String,
) -> Option<(String, String, String)> {
    match (mine, theirs) {
        (Value::Object(left), Value::Object(right)) => {
            let keys: std::collections::BTreeSet<&String> =
                left.keys().chain(right.keys()).collect();
            keys.into_iter().find_map(|key| {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                first_difference(
                    left.get(key).unwrap_or(&Value::Null),
                    right.get(key).unwrap_or(&Value::Null),
                    at,
                )
            })
        }
        (Value::Array(left), Value::Array(right)) if left.len() == right.len() => left
            .iter()
            .zip(right)
            .enumerate()
            .find_map(|(i, (l, r))| first_difference(l, r, format!("{path}[{i}]"))),
        _ if mine != theirs => Some((path, short(mine), short(theirs))),
        _ => None,
    }
}

/// A value as JSON, cut to 60 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

/// The corpus a shard was computed from: its rows and each file's size and
/// content hash, in input order. Paths are left out: the same files
/// mounted elsewhere give the same results, and a file rewritten in place
/// does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct InputFingerprint {
    /// Rows of the whole corpus.
    rows: u64,
    /// Each input file.
    files: Vec<FileFingerprint>,
}

/// One input file of an [`InputFingerprint`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileFingerprint {
    /// Size.
    bytes: u64,
    /// xxh3-128 of the content, as 32 hex digits.
    xxh3_128: String,
}

impl InputFingerprint {
    /// Rows of the whole corpus.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The fingerprint of `rows` rows read from the files `records` hash.
    pub(crate) fn new(rows: u64, records: &[InputRecord]) -> Self {
        Self {
            rows,
            files: records
                .iter()
                .map(|r| FileFingerprint {
                    bytes: r.bytes,
                    xxh3_128: r.xxh3_128.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> SplitCheck<u32, &'static str> {
        SplitCheck::new("merge")
    }

    #[test]
    fn a_complete_split_in_any_order_passes() {
        let mut c = check();
        for i in [2, 0, 1] {
            c.add(Path::new(&format!("p{i}")), (i, 3), 7, "in").unwrap();
        }
        assert_eq!(c.finish().unwrap(), 3);
    }

    #[test]
    fn each_mistake_is_named() {
        let err = |steps: &[(&str, (u64, u64), u32, &'static str)]| {
            let mut c = check();
            for &(dir, shard, s, i) in steps {
                if let Err(e) = c.add(Path::new(dir), shard, s, i) {
                    return e.to_string();
                }
            }
            c.finish().unwrap_err().to_string()
        };
        let e = err(&[("a", (0, 3), 7, "in"), ("b", (1, 3), 7, "in")]);
        assert_eq!(
            e,
            "merge: 2 of 3 shards given (missing 2/3); every shard of the split is needed"
        );
        let e = err(&[("a", (0, 3), 7, "in"), ("b", (0, 3), 7, "in")]);
        assert_eq!(e, "merge b: shard 0/3 is given twice (also as a)");
        let e = err(&[("a", (0, 3), 7, "in"), ("b", (1, 2), 7, "in")]);
        assert_eq!(
            e,
            "merge b: shard 1/2 belongs to another split than a (of 3 shards)"
        );
        let e = err(&[("a", (0, 2), 7, "in"), ("b", (1, 2), 8, "in")]);
        assert_eq!(
            e,
            "merge b: the shard was computed with other settings than a (8 vs 7)"
        );
        let e = err(&[("a", (0, 2), 7, "in"), ("b", (1, 2), 7, "other")]);
        assert_eq!(
            e,
            "merge b: the shard was computed on other inputs than a (\"other\" vs \"in\")"
        );
        assert_eq!(
            check().finish().unwrap_err().to_string(),
            "merge: no shards given"
        );
    }

    #[test]
    fn against_a_run_compares_with_it() {
        let mut c: SplitCheck<u32, u32> = SplitCheck::against("--merge", 1, 2);
        let e = c.add(Path::new("s0"), (0, 1), 1, 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--merge s0: the shard was computed on other inputs than this run (3 vs 2)"
        );
    }

    #[test]
    fn the_first_differing_field_is_named() {
        let a = serde_json::json!({"config": {"max_n": 4, "top_k": 20}, "by": ["x"]});
        let b = serde_json::json!({"config": {"max_n": 4, "top_k": 10}, "by": ["x"]});
        assert_eq!(difference(&a, &b), " (`config.top_k`: 20 vs 10)");
        assert_eq!(difference(&a, &a), "");
    }
}
