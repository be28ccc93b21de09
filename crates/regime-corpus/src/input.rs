//! Resolving the user's INPUT arguments (files, directories, globs) into one
//! sorted list of corpus files.
//!
//! The order of that list defines the shard index of every file, and with it
//! every row id, so it must not depend on the file system's listing order:
//! directories and globs are sorted by path.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::COMMIT_RECORD;

/// How a corpus file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// JSON Lines, one object per line, optionally compressed.
    Jsonl(Compression),
    /// Arrow IPC, the stream or the file (Feather v2) format: what
    /// Hugging Face `datasets` writes with `save_to_disk` and keeps in its
    /// cache.
    Arrow,
}

/// Whole-file compression of a JSONL input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

/// One input file of a corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The file's path as resolved.
    pub path: PathBuf,
    /// Its encoding, from the file name.
    pub format: FileFormat,
}

impl FileFormat {
    /// The format a file name implies, if regime reads it.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let jsonl = |stem: &str| {
            [".jsonl", ".ndjson", ".json"]
                .iter()
                .any(|ext| stem.ends_with(ext))
        };
        if name.ends_with(".parquet") {
            Some(Self::Parquet)
        } else if [".arrow", ".arrows", ".feather", ".ipc"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            Some(Self::Arrow)
        } else if let Some(stem) = name.strip_suffix(".gz") {
            jsonl(stem).then_some(Self::Jsonl(Compression::Gzip))
        } else if let Some(stem) = name.strip_suffix(".zst") {
            jsonl(stem).then_some(Self::Jsonl(Compression::Zstd))
        } else {
            jsonl(&name).then_some(Self::Jsonl(Compression::None))
        }
    }
}

/// Resolves INPUT arguments into a sorted, de-duplicated file list.
///
/// - a file is taken as it is (its extension must name a supported format);
/// - a directory contributes every parquet, Arrow IPC, `.jsonl` and
///   `.ndjson` file (plain, `.gz`, `.zst`) below it, recursively, skipping
///   hidden entries (names starting with `.`, such as regime's own staging
///   directories) and the `cache-*.arrow` files `datasets` keeps beside a
///   dataset's own (the results of `map` and `filter`, not more rows);
///   plain `.json` files are taken only when named directly, so reports and
///   manifests are never read as data; a regime output directory (one with a
///   `manifest.json`) contributes only its data parts (`part-*.parquet`), not
///   side tables such as `clusters.parquet`;
/// - anything containing `*`, `?` or `[` is a glob pattern: the files it
///   matches, then the directories it matches (hidden ones skipped), each
///   read as above.
///
/// Within each directory or glob, files are sorted by path; the arguments
/// keep the order the user gave. A file named more than once (by any path:
/// links and `..` included) is read once, where it is first named.
///
/// # Errors
/// [`Error::MissingInput`], [`Error::EmptyDirectory`], [`Error::Glob`] or
/// [`Error::UnsupportedFormat`], naming the offending argument;
/// [`Error::InterruptedOutput`] for a file in a directory where a regime
/// run was interrupted while publishing.
pub fn resolve_inputs<P: AsRef<Path>>(inputs: &[P]) -> Result<Vec<InputFile>> {
    let mut files: Vec<InputFile> = Vec::new();
    // Each file's real path: one named twice (a directory and a glob in
    // it, `./a` and `a`, a link) is read once.
    let mut real: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    for input in inputs {
        let input = input.as_ref();
        let text = input.to_string_lossy();
        let found = if !input.exists() && text.contains(['*', '?', '[']) {
            glob_files(&text)?
        } else if input.is_dir() {
            let found = dir_files(input)?;
            if found.is_empty() {
                return Err(Error::EmptyDirectory { path: input.into() });
            }
            found
        } else if input.is_file() {
            vec![input.to_path_buf()]
        } else {
            return Err(Error::MissingInput { path: input.into() });
        };
        for path in found {
            let format = FileFormat::from_path(&path)
                .ok_or_else(|| Error::UnsupportedFormat { path: path.clone() })?;
            // A directory mid-commit holds a mix of two runs' outputs.
            let dir = path.parent().unwrap_or(Path::new(""));
            if dir.join(COMMIT_RECORD).exists() {
                return Err(Error::InterruptedOutput { path: dir.into() });
            }
            let real_path = path.canonicalize().unwrap_or_else(|_| path.clone());
            if real.insert(real_path) {
                files.push(InputFile { path, format });
            }
        }
    }
    Ok(files)
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>> {
    let glob_err = |reason: String| Error::Glob {
        pattern: pattern.to_owned(),
        reason,
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in glob::glob(pattern).map_err(|e| glob_err(e.to_string()))? {
        let path = entry.map_err(|e| glob_err(e.to_string()))?;
        if path.is_file() {
            files.push(path);
        } else if path.is_dir()
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            // Hidden directories (`.git`, `.regime-staging`, snapshots) are
            // skipped, as when their parent is named.
            dirs.push(path);
        }
    }
    files.sort();
    dirs.sort();
    // A matched directory is read as if named: `out/dedup-*` reads each
    // output's parts, after the files the pattern matched.
    for dir in dirs {
        files.extend(dir_files(&dir)?);
    }
    if files.is_empty() {
        return Err(glob_err("pattern matched no data files".to_owned()));
    }
    Ok(files)
}

/// The data files below `dir`, sorted by path.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(COMMIT_RECORD).exists() {
        return Err(Error::InterruptedOutput { path: dir.into() });
    }
    let mut found = Vec::new();
    walk_dir(dir, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let regime_output = dir.join(crate::manifest::MANIFEST_FILE).is_file();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk_dir(&path, out)?;
        } else if regime_output {
            if name.starts_with("part-") && name.ends_with(".parquet") {
                out.push(path);
            }
        } else if FileFormat::from_path(&path).is_some()
            && !is_plain_json(&name)
            && !is_datasets_cache(&name)
        {
            out.push(path);
        }
    }
    Ok(())
}

/// `cache-<fingerprint>.arrow`: a Hugging Face `datasets` cache of a `map`
/// or `filter` result, kept beside the dataset's own files.
fn is_datasets_cache(name: &str) -> bool {
    name.starts_with("cache-")
        && Path::new(name)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("arrow"))
}

/// `x.json` (not `.jsonl`/`.ndjson`): a report or config, not a corpus,
/// unless the user names it.
fn is_plain_json(name: &str) -> bool {
    let stem = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name);
    Path::new(stem)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_extensions() {
        let f = |s: &str| FileFormat::from_path(Path::new(s));
        assert_eq!(f("a/b.parquet"), Some(FileFormat::Parquet));
        assert_eq!(f("x.JSONL"), Some(FileFormat::Jsonl(Compression::None)));
        assert_eq!(f("x.jsonl.gz"), Some(FileFormat::Jsonl(Compression::Gzip)));
        assert_eq!(
            f("x.ndjson.zst"),
            Some(FileFormat::Jsonl(Compression::Zstd))
        );
        assert_eq!(f("data-00000-of-00002.arrow"), Some(FileFormat::Arrow));
        assert_eq!(f("x.feather"), Some(FileFormat::Arrow));
        assert_eq!(f("x.csv"), None);
        assert_eq!(f("x.tar.gz"), None);
    }

    #[test]
    fn directories_are_sorted_and_skip_hidden_entries() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        for name in [
            "b.parquet",
            "a.parquet",
            "notes.txt",
            ".hidden.parquet",
            "report.json",
            "c.arrow",
            "cache-0123abcd.arrow",
        ] {
            std::fs::write(dir.path().join(name), b"").map_err(|e| Error::io(name, e))?;
        }
        std::fs::create_dir(dir.path().join(".regime-staging")).map_err(|e| Error::io("s", e))?;
        std::fs::write(dir.path().join(".regime-staging/c.parquet"), b"")
            .map_err(|e| Error::io("c", e))?;
        let files = resolve_inputs(&[dir.path()])?;
        let names: Vec<_> = files
            .iter()
            .filter_map(|f| f.path.file_name()?.to_str())
            .collect();
        assert_eq!(names, ["a.parquet", "b.parquet", "c.arrow"]);
        // Named again, through `..`, a glob and a link: read once.
        let a = dir.path().join("a.parquet");
        let again = dir.path().join(".regime-staging/../a.parquet");
        let link = dir.path().join("link.parquet");
        std::os::unix::fs::symlink(&a, &link).map_err(|e| Error::io("link", e))?;
        let glob = dir.path().join("[ab].parquet");
        let files = resolve_inputs(&[&a, &again, &link, &glob])?;
        let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        assert_eq!(paths, [a.as_path(), &dir.path().join("b.parquet")]);
        // A directory mid-commit is refused, named directly or through a file.
        std::fs::write(dir.path().join(COMMIT_RECORD), "a.parquet")
            .map_err(|e| Error::io("c", e))?;
        for input in [dir.path(), &a] {
            assert!(matches!(
                resolve_inputs(&[input]),
                Err(Error::InterruptedOutput { .. })
            ));
        }
        Ok(())
    }

    #[test]
    fn regime_output_directories_contribute_their_parts_only() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        for name in [
            "part-00000.parquet",
            "clusters.parquet",
            "manifest.json",
            "report.json",
        ] {
            std::fs::write(dir.path().join(name), b"").map_err(|e| Error::io(name, e))?;
        }
        let files = resolve_inputs(&[dir.path()])?;
        assert_eq!(files.len(), 1);
        assert!(files[0].path.ends_with("part-00000.parquet"));
        Ok(())
    }

    #[test]
    fn a_glob_reads_the_directories_it_matches_as_if_named() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        for (sub, name) in [
            ("out-b", "part-00000.parquet"),
            ("out-b", "manifest.json"),
            ("out-b", "clusters.parquet"),
            ("out-a", "part-00001.parquet"),
            ("out-a", "part-00000.parquet"),
            ("out-c", "notes.txt"),
        ] {
            let d = dir.path().join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(sub, e))?;
            std::fs::write(d.join(name), b"").map_err(|e| Error::io(name, e))?;
        }
        std::fs::write(dir.path().join("out-z.parquet"), b"").map_err(|e| Error::io("z", e))?;
        let files = resolve_inputs(&[dir.path().join("out-*")])?;
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.path.strip_prefix(dir.path()).ok())
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "out-z.parquet",
                "out-a/part-00000.parquet",
                "out-a/part-00001.parquet",
                "out-b/part-00000.parquet"
            ]
        );
        // Hidden directories (a staging area, `.git`) are skipped, as when
        // their parent is named.
        let staging = dir.path().join("out-a/.regime-staging");
        std::fs::create_dir(&staging).map_err(|e| Error::io("staging", e))?;
        std::fs::write(staging.join("part-00009.parquet"), b"").map_err(|e| Error::io("p", e))?;
        let files = resolve_inputs(&[dir.path().join("out-a/*")])?;
        assert_eq!(files.len(), 2, "{files:?}");
        // Only directories without data: nothing to read, said so.
        let err = resolve_inputs(&[dir.path().join("out-[c]")]).map(|_| ());
        assert!(
            matches!(&err, Err(Error::Glob { reason, .. }) if reason.contains("no data files")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn missing_and_empty_inputs_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.parquet");
        assert!(matches!(
            resolve_inputs(&[&missing]),
            Err(Error::MissingInput { path }) if path == missing
        ));
        assert!(matches!(
            resolve_inputs(&[dir.path()]),
            Err(Error::EmptyDirectory { .. })
        ));
        let pattern = dir.path().join("*.parquet");
        assert!(matches!(
            resolve_inputs(&[&pattern]),
            Err(Error::Glob { .. })
        ));
    }
}
