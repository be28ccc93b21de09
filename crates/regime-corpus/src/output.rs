//! Output directories: refuse to clobber, stage every file, publish
//! atomically, and recognise (and clean up after) an interrupted run.
//!
//! Files are written into `DIR/.regime-staging/` under `*.tmp` names, so a
//! glob such as `DIR/*.parquet` never sees a partial file. [`OutputDir::commit`]
//! first records the names it is about to publish (and those of the previous
//! run it replaces) in `DIR/.regime-commit`, removes the previous
//! `manifest.json`, renames each staged file into place, writes
//! `manifest.json` last, and then removes the record. A directory holding only staging leftovers or a commit
//! record is therefore an interrupted regime run, which a rerun may replace
//! without `--overwrite`.

use std::path::{Path, PathBuf};

use crate::atomic::{sync_parent, write_atomic, write_json};
use crate::error::{Error, Result};
use crate::manifest::{MANIFEST_FILE, Manifest, OutputRecord};

const STAGING: &str = ".regime-staging";
/// The commit record: a directory holding it is a commit that did not
/// finish, which readers refuse.
pub(crate) const COMMIT_RECORD: &str = ".regime-commit";

/// An output directory being written.
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    staging: PathBuf,
    created: bool,
    done: bool,
    previous: Option<Manifest>,
    /// The directory, locked (`None` where the file system cannot lock).
    lock: Option<std::fs::File>,
}

impl OutputDir {
    /// Prepares `path` for a run that reads `inputs` (the paths as given:
    /// files or directories; pass the resolved files too when a glob named
    /// them): refuses it when it is or holds an input, or lies inside an
    /// input directory; creates it if missing; accepts it if empty or if it
    /// holds only an interrupted regime run (which is cleaned); otherwise
    /// requires `overwrite`.
    ///
    /// # Errors
    /// [`Error::OutputHoldsInput`], [`Error::OutputInsideInput`],
    /// [`Error::OutputNotEmpty`], or [`Error::Io`] naming the directory when
    /// it cannot be created or written.
    pub fn prepare<P: AsRef<Path>>(path: &Path, overwrite: bool, inputs: &[P]) -> Result<Self> {
        check_apart(path, inputs)?;
        let created = !path.exists();
        if created {
            std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        } else if !path.is_dir() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            ));
        }
        // Held until the run ends: a second run into the same directory
        // would take the first one's staging area for leftovers.
        let lock = lock_dir(path)?;
        recover_interrupted(path)?;
        let previous = Manifest::read(path).ok().flatten();
        let occupied = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .next()
            .is_some();
        if occupied && !overwrite {
            return Err(Error::OutputNotEmpty { path: path.into() });
        }
        let staging = path.join(STAGING);
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(path, e))?;
        Ok(Self {
            path: path.into(),
            staging,
            created,
            done: false,
            previous,
            lock,
        })
    }

    /// The output directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where to write the file that will be published as `name`.
    #[must_use]
    pub fn staged(&self, name: &str) -> PathBuf {
        self.staging.join(format!("{name}.tmp"))
    }

    /// Publishes every staged file, then `manifest` (its `outputs` filled in
    /// from the staged files), and removes outputs of a previous run in this
    /// directory that this run did not write again.
    ///
    /// Every staged file is fsynced before the first is published, so the
    /// renames follow one another within moments. Before them, the commit
    /// record names this run's outputs and the previous run's, and the
    /// previous `manifest.json` is removed: until the new one is written, the
    /// directory reads as an interrupted run, never as a complete one. A
    /// commit that fails part-way removes what it published (the previous
    /// outputs, partly replaced, go too); one that fails before publishing
    /// anything leaves the previous run's outputs as they were.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that could not be published.
    pub fn commit(self, manifest: Manifest) -> Result<Manifest> {
        self.commit_keeping(manifest, false)
    }

    /// [`Self::commit`] of a directory published with another (a
    /// near-dedup index beside the corpus it indexes): the commit record
    /// stays until [`PendingCommit::settle`], so that if the other's commit
    /// never completes, this directory too reads as interrupted, and a
    /// rerun replaces both without `--overwrite`.
    ///
    /// # Errors
    /// As [`Self::commit`].
    pub fn commit_pending(mut self, manifest: Manifest) -> Result<(Manifest, PendingCommit)> {
        let record = self.path.join(COMMIT_RECORD);
        // The directory stays locked until it is settled: another run must
        // not take it while it reads as interrupted.
        let lock = self.lock.take();
        let manifest = self.commit_keeping(manifest, true)?;
        Ok((
            manifest,
            PendingCommit {
                record,
                _lock: lock,
            },
        ))
    }

    fn commit_keeping(mut self, mut manifest: Manifest, keep_record: bool) -> Result<Manifest> {
        let mut staged: Vec<(String, PathBuf, u64)> = Vec::new();
        for entry in std::fs::read_dir(&self.staging).map_err(|e| Error::io(&self.staging, e))? {
            let entry = entry.map_err(|e| Error::io(&self.staging, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(final_name) = name.strip_suffix(".tmp") {
                let path = entry.path();
                let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
                file.sync_all().map_err(|e| Error::io(&path, e))?;
                let bytes = file.metadata().map_err(|e| Error::io(&path, e))?.len();
                staged.push((final_name.to_owned(), path, bytes));
            }
        }
        staged.sort();
        let names: Vec<&str> = staged.iter().map(|(n, _, _)| n.as_str()).collect();
        let replaced: Vec<&str> = self
            .previous
            .iter()
            .flat_map(|previous| &previous.outputs)
            .map(|old| old.path.as_str())
            .filter(|old| !names.contains(old) && is_plain_name(old))
            .collect();
        let record: Vec<&str> = names.iter().chain(&replaced).copied().collect();
        write_atomic(&self.path.join(COMMIT_RECORD), record.join("\n").as_bytes())?;
        let mut published = 0;
        let result = self.publish(
            &staged,
            &replaced,
            &mut manifest,
            &mut published,
            keep_record,
        );
        if let Err(e) = result {
            if published == 0 {
                // Nothing replaced: the previous run's outputs stand.
                if let Some(previous) = &self.previous {
                    let _ = write_json(&self.path.join(MANIFEST_FILE), previous);
                }
                let _ = std::fs::remove_file(self.path.join(COMMIT_RECORD));
            } else {
                let _ = recover_interrupted(&self.path);
            }
            return Err(e);
        }
        self.done = true;
        Ok(manifest)
    }

    /// The renames and the manifest of [`Self::commit`]; `published`
    /// counts the files renamed into place.
    fn publish(
        &self,
        staged: &[(String, PathBuf, u64)],
        replaced: &[&str],
        manifest: &mut Manifest,
        published: &mut usize,
        keep_record: bool,
    ) -> Result<()> {
        let old_manifest = self.path.join(MANIFEST_FILE);
        match std::fs::remove_file(&old_manifest) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&old_manifest, e));
            }
            _ => {}
        }
        let mut outputs = Vec::with_capacity(staged.len());
        for (name, from, bytes) in staged {
            let to = self.path.join(name);
            std::fs::rename(from, &to).map_err(|e| Error::io(&to, e))?;
            *published += 1;
            let rows = manifest
                .outputs
                .iter()
                .find(|o| &o.path == name)
                .and_then(|o| o.rows);
            outputs.push(OutputRecord {
                path: name.clone(),
                bytes: *bytes,
                rows,
            });
        }
        manifest.outputs = outputs;
        write_json(&self.path.join(MANIFEST_FILE), manifest)?;
        for old in replaced {
            let _ = std::fs::remove_file(self.path.join(old));
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        if !keep_record {
            let _ = std::fs::remove_file(self.path.join(COMMIT_RECORD));
        }
        sync_parent(&self.path.join(MANIFEST_FILE));
        Ok(())
    }

    /// Abandons the run: removes staged files, and the directory itself if
    /// this run created it.
    pub fn abort(mut self) {
        self.cleanup();
    }

    fn cleanup(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let _ = std::fs::remove_dir_all(&self.staging);
        if self.created {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Refuses a regime output directory `dir` (holding the file given, or
/// itself) where a run was interrupted while publishing: its outputs may
/// be a mix of two runs. For readers of outputs other than corpora (a
/// near-dedup index, profile partials), as
/// [`resolve_inputs`](crate::resolve_inputs) does for corpora.
///
/// # Errors
/// [`Error::InterruptedOutput`] naming the directory.
pub fn check_published(dir: &Path) -> Result<()> {
    let dir = if dir.is_dir() {
        dir
    } else {
        dir.parent().unwrap_or(Path::new(""))
    };
    if dir.join(COMMIT_RECORD).exists() {
        return Err(Error::InterruptedOutput { path: dir.into() });
    }
    Ok(())
}

/// A directory published by [`OutputDir::commit_pending`], complete once
/// its partner is.
#[derive(Debug)]
#[must_use = "until settled, the directory reads as an interrupted run"]
pub struct PendingCommit {
    record: PathBuf,
    /// The directory's lock, held from [`OutputDir::prepare`] until settled.
    _lock: Option<std::fs::File>,
}

impl PendingCommit {
    /// Marks the directory complete: its partner has been published.
    ///
    /// # Errors
    /// [`Error::Io`] naming the commit record.
    pub fn settle(self) -> Result<()> {
        std::fs::remove_file(&self.record).map_err(|e| Error::io(&self.record, e))?;
        sync_parent(&self.record);
        Ok(())
    }
}

/// Takes the exclusive lock on the directory `path`: [`Error::OutputInUse`]
/// while another run holds it. Where the file system does not support locks
/// the run goes on unlocked (`None`).
fn lock_dir(path: &Path) -> Result<Option<std::fs::File>> {
    let Ok(dir) = std::fs::File::open(path) else {
        return Ok(None);
    };
    match dir.try_lock() {
        Ok(()) => Ok(Some(dir)),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::OutputInUse { path: path.into() }),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// Removes what an interrupted run left: the staging directory, files
/// named in a commit record (a commit that did not finish) with the
/// manifest, and regime's temporary files (`.NAME.tmp-PID`, of a write cut
/// short; the directory's lock keeps out any live run that could own one).
fn recover_interrupted(path: &Path) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            if is_temporary(&entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let record = path.join(COMMIT_RECORD);
    if let Ok(text) = std::fs::read_to_string(&record) {
        for name in text.lines().filter(|n| is_plain_name(n)) {
            let _ = std::fs::remove_file(path.join(name));
        }
        let _ = std::fs::remove_file(path.join(MANIFEST_FILE));
        std::fs::remove_file(&record).map_err(|e| Error::io(&record, e))?;
    }
    let staging = path.join(STAGING);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    Ok(())
}

/// Whether `name` is an [`AtomicFile`](crate::AtomicFile)'s temporary name:
/// `.NAME.tmp-PID`.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(".tmp-")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// A bare file name: never lets a manifest steer deletion outside the dir.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

/// Refuses an output directory `out` that is or holds one of `inputs`, or
/// lies inside an input directory (compared as real paths, so links and
/// `..` do not hide an overlap). Inputs that do not exist are skipped:
/// reading them fails with its own error.
fn check_apart<P: AsRef<Path>>(out: &Path, inputs: &[P]) -> Result<()> {
    let real_out = real_path(out);
    for input in inputs {
        let input = input.as_ref();
        let Ok(real_in) = input.canonicalize() else {
            continue;
        };
        if real_in.starts_with(&real_out) {
            return Err(Error::OutputHoldsInput {
                out: out.into(),
                input: input.into(),
            });
        }
        if real_in.is_dir() && real_out.starts_with(&real_in) {
            return Err(Error::OutputInsideInput {
                out: out.into(),
                input: input.into(),
            });
        }
    }
    Ok(())
}

/// `path` with its longest existing ancestor resolved (links followed) and
/// the rest appended with `.` and `..` applied, for an output (directory
/// or file) that may not exist yet: what to compare with inputs'
/// canonical paths.
#[must_use]
pub fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut base = absolute.as_path();
    let mut rest = Vec::new();
    let mut real = loop {
        if let Ok(real) = base.canonicalize() {
            break real;
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            // A `..` at the end, or the root: nothing more to resolve.
            _ => break base.to_path_buf(),
        }
    };
    for name in rest.iter().rev() {
        real.push(name);
    }
    // `absolute` keeps `..` components; fold the ones left in the tail.
    let mut folded = PathBuf::new();
    for c in real.components() {
        match c {
            std::path::Component::ParentDir => {
                folded.pop();
            }
            std::path::Component::CurDir => {}
            other => folded.push(other),
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_INPUTS: &[&Path] = &[];

    fn manifest() -> Manifest {
        Manifest {
            tool: "regime".into(),
            version: "0".into(),
            stage: "test".into(),
            command: vec![],
            config: serde_json::Value::Null,
            seed: None,
            inputs: vec![],
            rows_in: 0,
            rows_out: 0,
            outputs: vec![],
            started_unix: 0,
            elapsed_seconds: 0.0,
        }
    }

    /// The entries of `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn refuses_foreign_files_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
        assert!(matches!(
            OutputDir::prepare(dir.path(), false, NO_INPUTS),
            Err(Error::OutputNotEmpty { .. })
        ));
        assert!(dir.path().join("keep.txt").exists());
    }

    #[test]
    fn abort_removes_a_created_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let staged = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        std::fs::write(staged.staged("a.parquet"), "partial").unwrap();
        staged.abort();
        assert!(!out.exists());
    }

    #[test]
    fn commit_publishes_and_rerun_replaces_stale_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let run = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        std::fs::write(run.staged("a.parquet"), "a").unwrap();
        std::fs::write(run.staged("b.parquet"), "b").unwrap();
        let m = run.commit(manifest()).unwrap();
        assert_eq!(m.outputs.len(), 2);
        assert!(matches!(
            OutputDir::prepare(&out, false, NO_INPUTS),
            Err(Error::OutputNotEmpty { .. })
        ));
        let run = OutputDir::prepare(&out, true, NO_INPUTS).unwrap();
        std::fs::write(run.staged("a.parquet"), "a2").unwrap();
        run.commit(manifest()).unwrap();
        assert_eq!(names_in(&out), ["a.parquet", "manifest.json"]);
    }

    #[test]
    fn a_second_run_into_a_directory_being_written_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        std::fs::write(first.staged("a.parquet"), "a").unwrap();
        for overwrite in [false, true] {
            assert!(matches!(
                OutputDir::prepare(&out, overwrite, NO_INPUTS),
                Err(Error::OutputInUse { .. })
            ));
        }
        // The first run's staged file is untouched, and it publishes.
        assert_eq!(std::fs::read(first.staged("a.parquet")).unwrap(), b"a");
        first.commit(manifest()).unwrap();
        OutputDir::prepare(&out, true, NO_INPUTS).unwrap().abort();
    }

    #[test]
    fn a_commit_failing_part_way_leaves_no_mix_of_two_runs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let run = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        std::fs::write(run.staged("a.parquet"), "a1").unwrap();
        std::fs::write(run.staged("old.parquet"), "old").unwrap();
        run.commit(manifest()).unwrap();
        // The second run's `b.parquet` cannot replace a directory of that
        // name: its rename fails after `a.parquet`'s.
        std::fs::create_dir_all(out.join("b.parquet/x")).unwrap();
        let run = OutputDir::prepare(&out, true, NO_INPUTS).unwrap();
        std::fs::write(run.staged("a.parquet"), "a2").unwrap();
        std::fs::write(run.staged("b.parquet"), "b2").unwrap();
        assert!(run.commit(manifest()).is_err());
        assert_eq!(names_in(&out), ["b.parquet"]);
    }

    #[test]
    fn a_commit_failing_before_publishing_keeps_the_previous_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let run = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        std::fs::write(run.staged("b.parquet"), "b1").unwrap();
        let first = run.commit(manifest()).unwrap();
        std::fs::create_dir_all(out.join("a.parquet/x")).unwrap();
        let run = OutputDir::prepare(&out, true, NO_INPUTS).unwrap();
        std::fs::write(run.staged("a.parquet"), "a2").unwrap();
        assert!(run.commit(manifest()).is_err());
        assert_eq!(names_in(&out), ["a.parquet", "b.parquet", "manifest.json"]);
        assert_eq!(Manifest::read(&out).unwrap(), Some(first));
        assert_eq!(std::fs::read(out.join("b.parquet")).unwrap(), b"b1");
    }

    #[test]
    fn temporaries_of_a_cut_write_do_not_block_a_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(".manifest.json.tmp-4242"), "{").unwrap();
        std::fs::write(out.join(COMMIT_RECORD), "part-00000.parquet").unwrap();
        std::fs::write(out.join("part-00000.parquet"), "published").unwrap();
        let run = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        assert_eq!(names_in(&out), [STAGING]);
        run.abort();
        assert!(
            is_temporary(".report.json.tmp-1")
                && !is_temporary(".x.tmp-")
                && !is_temporary("a.tmp-1")
        );
    }

    #[test]
    fn a_pair_published_together_is_interrupted_until_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (index, out) = (dir.path().join("index"), dir.path().join("out"));
        let run = OutputDir::prepare(&index, false, NO_INPUTS).unwrap();
        std::fs::write(run.staged("bands.bin"), "b").unwrap();
        let (_, pending) = run.commit_pending(manifest()).unwrap();
        // Its partner never published: a rerun replaces it as interrupted.
        drop(pending);
        assert!(index.join(COMMIT_RECORD).exists());
        let rerun = OutputDir::prepare(&index, false, NO_INPUTS).unwrap();
        std::fs::write(rerun.staged("bands.bin"), "b").unwrap();
        let (_, pending) = rerun.commit_pending(manifest()).unwrap();
        // Still locked: no other run takes it while it reads as interrupted.
        assert!(matches!(
            OutputDir::prepare(&index, true, NO_INPUTS),
            Err(Error::OutputInUse { .. })
        ));
        let partner = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        std::fs::write(partner.staged("part-00000.parquet"), "p").unwrap();
        partner.commit(manifest()).unwrap();
        assert!(matches!(
            check_published(&index.join("bands.bin")),
            Err(Error::InterruptedOutput { .. })
        ));
        pending.settle().unwrap();
        assert_eq!(names_in(&index), ["bands.bin", "manifest.json"]);
        check_published(&index).unwrap();
    }

    #[test]
    fn interrupted_run_is_recognised_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join(STAGING)).unwrap();
        std::fs::write(out.join(STAGING).join("a.parquet.tmp"), "partial").unwrap();
        std::fs::write(out.join("a.parquet"), "published").unwrap();
        std::fs::write(out.join(COMMIT_RECORD), "a.parquet").unwrap();
        let run = OutputDir::prepare(&out, false, NO_INPUTS).unwrap();
        assert!(!out.join("a.parquet").exists());
        run.abort();
    }

    #[test]
    fn refuses_an_output_that_is_holds_or_lies_inside_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        std::fs::create_dir_all(corpus.join("sub")).unwrap();
        let part = corpus.join("part-00000.parquet");
        std::fs::write(&part, "input").unwrap();
        // The input directory itself, its parent, and (through `..`) again.
        for out in [
            corpus.clone(),
            dir.path().to_path_buf(),
            corpus.join("sub").join(".."),
        ] {
            let err = OutputDir::prepare(&out, true, &[&corpus]).unwrap_err();
            assert!(matches!(err, Error::OutputHoldsInput { .. }), "{err}");
        }
        // A file input held by the output directory.
        let err = OutputDir::prepare(&corpus, true, &[&part]).unwrap_err();
        assert!(matches!(err, Error::OutputHoldsInput { .. }), "{err}");
        // Inside the input directory, existing or not.
        for out in [corpus.join("sub"), corpus.join("new").join("out")] {
            let err = OutputDir::prepare(&out, true, &[&corpus]).unwrap_err();
            assert!(matches!(err, Error::OutputInsideInput { .. }), "{err}");
            assert!(err.to_string().contains("write the output elsewhere"));
        }
        assert!(!corpus.join("new").exists());
        assert_eq!(std::fs::read(&part).unwrap(), b"input");
        // Beside the input: fine.
        let out = dir.path().join("out");
        OutputDir::prepare(&out, false, &[&corpus, &part])
            .unwrap()
            .abort();
    }
}
