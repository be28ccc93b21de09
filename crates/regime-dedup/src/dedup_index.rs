//! A near-duplicate index on disk (`--save-index DIR`), and reading it back
//! to de-duplicate a new corpus against it (`--against DIR`).
//!
//! The index holds the rows a near run kept (non-empty content only), in
//! input order as documents `0..docs`:
//! - `bands.bin`: their band keys as sorted runs ([`crate::band_runs`]),
//!   merged with the new corpus's runs, index documents numbered first;
//! - `shingles.bin` + `offsets.bin`: their shingle sets (u64 LE) and where
//!   each starts, so candidates are verified by exact Jaccard against index
//!   rows as against the corpus's own;
//! - `rows.bin` (row ids, u64 LE) and `ids.jsonl` (the `id` column value or
//!   `null`, one per line): every index row stays traceable to its corpus;
//! - `index.json`: the [`Settings`] (a run against the index must use the
//!   same), the document count and the run segments.
//!
//! Opening an index reads offsets, row ids and ids into memory (16 bytes per
//! row plus the ids); shingle sets are read per candidate component.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::band_runs::{RunFile, RunWriter, Segment, io_error};
use crate::corpus_dedup::{ClusterMember, Settings};
use crate::error::Error;

/// Name of the index description file.
pub const INDEX_FILE: &str = "index.json";
const BANDS: &str = "bands.bin";
const SHINGLES: &str = "shingles.bin";
const OFFSETS: &str = "offsets.bin";
const ROWS: &str = "rows.bin";
const IDS: &str = "ids.jsonl";

/// `index.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct IndexMeta {
    format: u32,
    settings: Settings,
    docs: u32,
    segments: Vec<Segment>,
}

fn bad_index(dir: &Path, reason: impl Into<String>) -> Error {
    Error::Config {
        what: "index",
        reason: format!("{}: {}", dir.display(), reason.into()),
    }
}

/// Writes an index; `path(name)` says where each file goes (an output
/// directory's staging names).
pub struct IndexWriter {
    settings: Settings,
    runs: RunWriter,
    files: [(PathBuf, BufWriter<File>); 4],
    meta_path: PathBuf,
    offset: u64,
    docs: u32,
}

impl std::fmt::Debug for IndexWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("docs", &self.docs)
            .finish_non_exhaustive()
    }
}

impl IndexWriter {
    /// Creates the index files.
    ///
    /// # Errors
    /// A file cannot be created.
    pub fn create(
        path: impl Fn(&str) -> PathBuf,
        settings: Settings,
        run_docs: usize,
    ) -> Result<Self, Error> {
        let open = |name: &str| -> Result<(PathBuf, BufWriter<File>), Error> {
            let p = path(name);
            let f = File::create(&p).map_err(io_error(&p))?;
            Ok((p, BufWriter::with_capacity(1 << 20, f)))
        };
        let mut files = [open(SHINGLES)?, open(OFFSETS)?, open(ROWS)?, open(IDS)?];
        let (p, w) = &mut files[1];
        w.write_all(&0u64.to_le_bytes()).map_err(io_error(p))?;
        Ok(Self {
            runs: RunWriter::create(&path(BANDS), settings.near.bands, run_docs)?,
            settings,
            files,
            meta_path: path(INDEX_FILE),
            offset: 0,
            docs: 0,
        })
    }

    /// Adds a kept row: its row id, `id` value, shingle set and band keys.
    ///
    /// # Errors
    /// Write errors; [`Error::Config`] past 2³² − 1 rows.
    pub fn push(
        &mut self,
        row_id: u64,
        id: Option<&str>,
        shingles: &[u64],
        keys: &[u64],
    ) -> Result<(), Error> {
        self.runs.push(self.docs, keys)?;
        self.docs = self.docs.checked_add(1).ok_or_else(|| Error::Config {
            what: "index",
            reason: "more than 2^32 - 1 rows".into(),
        })?;
        let [shingle_file, offsets, rows, ids] = &mut self.files;
        for s in shingles {
            shingle_file
                .1
                .write_all(&s.to_le_bytes())
                .map_err(io_error(&shingle_file.0))?;
        }
        self.offset += shingles.len() as u64;
        offsets
            .1
            .write_all(&self.offset.to_le_bytes())
            .map_err(io_error(&offsets.0))?;
        rows.1
            .write_all(&row_id.to_le_bytes())
            .map_err(io_error(&rows.0))?;
        let mut line = serde_json::to_vec(&id).map_err(|e| bad_index(&ids.0, e.to_string()))?;
        line.push(b'\n');
        ids.1.write_all(&line).map_err(io_error(&ids.0))?;
        Ok(())
    }

    /// Flushes every file and writes `index.json`; returns the row count.
    ///
    /// # Errors
    /// Write errors.
    pub fn finish(self) -> Result<u32, Error> {
        let run = self.runs.finish()?;
        for (p, w) in self.files {
            let f = w.into_inner().map_err(|e| io_error(&p)(e.into_error()))?;
            f.sync_all().map_err(io_error(&p))?;
        }
        let meta = IndexMeta {
            format: 1,
            settings: self.settings,
            docs: self.docs,
            segments: run.segments,
        };
        regime_corpus::write_json(&self.meta_path, &meta)?;
        Ok(self.docs)
    }
}

/// An index opened for `--against`.
#[derive(Debug)]
pub struct NearIndex {
    settings: Settings,
    runs: RunFile,
    offsets: Vec<u64>,
    row_ids: Vec<u64>,
    ids: Vec<Option<String>>,
    shingles: File,
    shingles_path: PathBuf,
}

/// Little-endian u64s (a trailing partial value is ignored).
fn u64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect()
}

fn read_u64s(path: &Path) -> Result<Vec<u64>, Error> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_error(path))?;
    Ok(u64s(&bytes))
}

impl NearIndex {
    /// Opens the index in `dir`.
    ///
    /// # Errors
    /// Missing or unreadable files, and files that disagree on the row
    /// count, each naming the index.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let meta_path = dir.join(INDEX_FILE);
        let meta_bytes = std::fs::read(&meta_path).map_err(|e| {
            // A directory without the index file is most often another
            // output (a corpus, a report) given by mistake.
            if e.kind() == std::io::ErrorKind::NotFound && dir.is_dir() {
                bad_index(
                    dir,
                    format!(
                        "not a regime dedup index (no {INDEX_FILE}; `dedup near --save-index DIR` writes one)"
                    ),
                )
            } else {
                io_error(&meta_path)(e)
            }
        })?;
        let meta: IndexMeta = serde_json::from_slice(&meta_bytes)
            .map_err(|e| bad_index(&meta_path, format!("not a regime dedup index ({e})")))?;
        let offsets = read_u64s(&dir.join(OFFSETS))?;
        let row_ids = read_u64s(&dir.join(ROWS))?;
        let ids_path = dir.join(IDS);
        let ids_file = File::open(&ids_path).map_err(io_error(&ids_path))?;
        let mut ids = Vec::with_capacity(row_ids.len());
        for line in BufReader::new(ids_file).lines() {
            let line = line.map_err(io_error(&ids_path))?;
            ids.push(
                serde_json::from_str::<Option<String>>(&line)
                    .map_err(|e| bad_index(&ids_path, e.to_string()))?,
            );
        }
        let docs = meta.docs as usize;
        if offsets.len() != docs + 1 || row_ids.len() != docs || ids.len() != docs {
            return Err(bad_index(
                dir,
                format!("files disagree on the row count ({docs} in {INDEX_FILE})"),
            ));
        }
        let shingles_path = dir.join(SHINGLES);
        let shingles = File::open(&shingles_path).map_err(io_error(&shingles_path))?;
        Ok(Self {
            settings: meta.settings,
            runs: RunFile {
                path: dir.join(BANDS),
                segments: meta.segments,
            },
            offsets,
            row_ids,
            ids,
            shingles,
            shingles_path,
        })
    }

    /// The settings the index was built with.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Rows in the index.
    #[must_use]
    pub fn docs(&self) -> u32 {
        u32::try_from(self.row_ids.len()).unwrap_or(u32::MAX)
    }

    /// The sorted band runs of the index rows.
    #[must_use]
    pub fn runs(&self) -> &RunFile {
        &self.runs
    }

    /// Index row `doc` as a cluster member (its own representative).
    pub(crate) fn member(&self, doc: u32) -> ClusterMember {
        let d = doc as usize;
        let row_id = self.row_ids.get(d).copied().unwrap_or(u64::MAX);
        ClusterMember {
            row_id,
            id: self.ids.get(d).cloned().flatten(),
            cluster_id: row_id,
            representative: row_id,
            jaccard: Some(1.0),
            from_index: true,
            representative_from_index: true,
        }
    }

    /// The shingle set of index row `doc`.
    pub(crate) fn shingles(&self, doc: u32) -> Result<Vec<u64>, Error> {
        let d = doc as usize;
        let (Some(&start), Some(&end)) = (self.offsets.get(d), self.offsets.get(d + 1)) else {
            return Err(bad_index(&self.shingles_path, format!("no row {doc}")));
        };
        let len = usize::try_from(end.saturating_sub(start) * 8)
            .map_err(|_| bad_index(&self.shingles_path, "offsets out of range"))?;
        let mut bytes = vec![0u8; len];
        self.shingles
            .read_exact_at(&mut bytes, start * 8)
            .map_err(io_error(&self.shingles_path))?;
        Ok(u64s(&bytes))
    }
}
