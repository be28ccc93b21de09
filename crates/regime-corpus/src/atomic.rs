//! Atomic file output: write to a temporary name in the target directory,
//! fsync, rename. A reader (or a crash) sees the old file or the new one,
//! never a truncated one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file being written under a temporary name beside its final path.
///
/// [`AtomicFile::commit`] makes it visible; dropping it uncommitted removes
/// the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
    /// Whether the temporary file is in place under the target's name.
    renamed: bool,
}

impl AtomicFile {
    /// Creates the temporary file `.<name>.tmp-<pid>` beside `target`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the target when the directory is not writable.
    pub fn create(target: impl Into<PathBuf>) -> Result<Self> {
        let target = target.into();
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&temp).map_err(|e| Error::io(&target, e))?;
        Ok(Self {
            target,
            temp,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
            renamed: false,
        })
    }

    /// Flushes, fsyncs and renames the file into place.
    ///
    /// # Errors
    /// [`Error::Io`] naming the target.
    pub fn commit(mut self) -> Result<()> {
        let writer = self.writer.take();
        if let Some(writer) = writer {
            let file = writer
                .into_inner()
                .map_err(|e| Error::io(&self.target, e.into_error()))?;
            file.sync_all().map_err(|e| Error::io(&self.target, e))?;
        }
        std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.renamed = true;
        sync_parent(&self.target);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("atomic file already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: an uncommitted temporary (or one whose commit
            // failed) is garbage.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// Writes `value` to `path` atomically as pretty JSON ending in exactly one
/// newline: the form of every JSON file regime writes, so that a file is a
/// complete text file (`cat`, `diff` and `wc -l` see its last line) and two
/// writers never differ by a trailing byte.
///
/// # Errors
/// [`Error::Json`] when `value` cannot be serialised, [`Error::Io`] naming
/// the path.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Makes a rename durable by syncing the directory that holds it. Not all
/// platforms allow opening a directory; failure only weakens durability.
pub(crate) fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_commit_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should go: the rename fails.
        let path = dir.path().join("a.json");
        std::fs::create_dir_all(path.join("x")).unwrap();
        assert!(write_atomic(&path, b"one").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_replaces_and_drop_discards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"two").unwrap();
            // dropped without commit
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&path, b"three").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
    }
}
