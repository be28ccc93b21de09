//! LSH band entries as sorted runs on disk, and their k-way merge into
//! candidate links (CORPUS.md "Scale": signatures → per-band sorted runs on
//! disk → candidate pairs → union-find).
//!
//! A [`RunWriter`] buffers `(key, doc)` entries per band for a bounded
//! number of documents, then sorts each band's buffer and appends it to one
//! file as a *segment* of 12-byte little-endian records (`key: u64`,
//! `doc: u32`). [`band_links_from_runs`] merges one band's segments from any
//! number of run files (shards, spills) in `(key, doc)` order and emits the
//! same links as [`crate::band_links`] over all the entries at once, so the
//! candidates never depend on how the corpus was split.
//!
//! Memory: the writer holds `12 × bands` bytes per buffered document; the
//! merge holds one read buffer per segment, one descriptor per run file and
//! the band's links.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::Error;

/// Bytes of one record: key (u64) and document (u32), little endian.
pub const ENTRY_BYTES: u64 = 12;

/// Documents whose band keys are buffered before a sorted run is written.
/// Defaults to 262,144 (≈ 44 MB with 14 bands).
pub const DEFAULT_RUN_DOCS: usize = 1 << 18;

/// Read buffer per merged segment.
const READ_BUFFER: usize = 64 << 10;

/// One band's sorted entries inside a run file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// The band.
    pub band: u32,
    /// Byte offset of the first record.
    pub offset: u64,
    /// Records in the segment.
    pub entries: u64,
}

/// A file of sorted segments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Its segments, in file order.
    pub segments: Vec<Segment>,
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| {
        Error::Corpus(regime_corpus::Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Writes band entries as sorted runs into one file.
#[derive(Debug)]
pub struct RunWriter {
    path: PathBuf,
    file: BufWriter<File>,
    offset: u64,
    buffers: Vec<Vec<(u64, u32)>>,
    buffered_docs: usize,
    run_docs: usize,
    segments: Vec<Segment>,
}

impl RunWriter {
    /// Creates (truncates) `path` for `bands` bands, writing a run every
    /// `run_docs` documents (at least 1).
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path, bands: usize, run_docs: usize) -> Result<Self, Error> {
        let file = File::create(path).map_err(io_error(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            buffers: vec![Vec::new(); bands],
            buffered_docs: 0,
            run_docs: run_docs.max(1),
            segments: Vec::new(),
        })
    }

    /// Adds one document's band keys (one per band).
    ///
    /// # Errors
    /// Writing a full run failed.
    pub fn push(&mut self, doc: u32, keys: &[u64]) -> Result<(), Error> {
        for (buffer, &key) in self.buffers.iter_mut().zip(keys) {
            buffer.push((key, doc));
        }
        self.buffered_docs += 1;
        if self.buffered_docs >= self.run_docs {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), Error> {
        if self.buffered_docs == 0 {
            return Ok(());
        }
        self.buffers.par_iter_mut().for_each(|b| b.sort_unstable());
        for (band, buffer) in self.buffers.iter_mut().enumerate() {
            let band = u32::try_from(band).unwrap_or(u32::MAX);
            let entries = buffer.len() as u64;
            for &(key, doc) in &*buffer {
                let mut record = [0u8; 12];
                record[..8].copy_from_slice(&key.to_le_bytes());
                record[8..].copy_from_slice(&doc.to_le_bytes());
                self.file.write_all(&record).map_err(io_error(&self.path))?;
            }
            self.segments.push(Segment {
                band,
                offset: self.offset,
                entries,
            });
            self.offset += entries * ENTRY_BYTES;
            buffer.clear();
        }
        self.buffered_docs = 0;
        Ok(())
    }

    /// Writes the last run, flushes and syncs the file.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(mut self) -> Result<RunFile, Error> {
        self.spill()?;
        let file = self
            .file
            .into_inner()
            .map_err(|e| io_error(&self.path)(e.into_error()))?;
        file.sync_all().map_err(io_error(&self.path))?;
        Ok(RunFile {
            path: self.path,
            segments: self.segments,
        })
    }
}

/// Reads one segment through a run file opened once per merge: a band's
/// segments share their file, so a merge holds one descriptor per run file
/// however many spills the runs have (one per segment ran out of file
/// descriptors with many spills and parallel bands).
struct SegmentReader<'f> {
    file: &'f File,
    path: &'f Path,
    /// File offset of the first record not yet in `buffer`.
    offset: u64,
    /// Records not yet read into `buffer`.
    unread: u64,
    buffer: Vec<u8>,
    /// Next unread byte of `buffer`.
    at: usize,
}

impl<'f> SegmentReader<'f> {
    fn new(file: &'f File, path: &'f Path, segment: Segment) -> Self {
        Self {
            file,
            path,
            offset: segment.offset,
            unread: segment.entries,
            buffer: Vec::new(),
            at: 0,
        }
    }

    fn read_next(&mut self) -> Result<Option<(u64, u32)>, Error> {
        if self.at == self.buffer.len() {
            if self.unread == 0 {
                return Ok(None);
            }
            let records = self.unread.min(READ_BUFFER as u64 / ENTRY_BYTES);
            let len = usize::try_from(records * ENTRY_BYTES).unwrap_or(READ_BUFFER);
            self.buffer.resize(len, 0);
            self.file
                .read_exact_at(&mut self.buffer, self.offset)
                .map_err(io_error(self.path))?;
            self.offset += records * ENTRY_BYTES;
            self.unread -= records;
            self.at = 0;
        }
        let record = &self.buffer[self.at..self.at + 12];
        self.at += 12;
        let mut key = [0u8; 8];
        key.copy_from_slice(&record[..8]);
        let mut doc = [0u8; 4];
        doc.copy_from_slice(&record[8..]);
        Ok(Some((u64::from_le_bytes(key), u32::from_le_bytes(doc))))
    }
}

/// Calls `f` with every entry of `band` across `runs` in `(key, doc)` order.
///
/// # Errors
/// A run file cannot be read or is shorter than its segments say.
pub fn merge_band(runs: &[RunFile], band: u32, mut f: impl FnMut(u64, u32)) -> Result<(), Error> {
    let files = runs
        .iter()
        .map(|run| File::open(&run.path).map_err(io_error(&run.path)))
        .collect::<Result<Vec<File>, Error>>()?;
    let mut readers = Vec::new();
    for (run, file) in runs.iter().zip(&files) {
        for segment in run.segments.iter().filter(|s| s.band == band) {
            readers.push(SegmentReader::new(file, &run.path, *segment));
        }
    }
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some((key, doc)) = r.read_next()? {
            heap.push(Reverse((key, doc, i)));
        }
    }
    while let Some(Reverse((key, doc, i))) = heap.pop() {
        f(key, doc);
        if let Some((key, doc)) = readers[i].read_next()? {
            heap.push(Reverse((key, doc, i)));
        }
    }
    Ok(())
}

/// Candidate links of one band across every run: `(first, doc)` for each
/// document after the first (lowest) of each run of equal keys — what
/// [`crate::band_links`] gives for the same entries held in memory.
///
/// # Errors
/// As [`merge_band`].
pub fn band_links_from_runs(runs: &[RunFile], band: u32) -> Result<Vec<(u32, u32)>, Error> {
    let mut links = Vec::new();
    let mut current: Option<(u64, u32)> = None;
    merge_band(runs, band, |key, doc| match current {
        Some((k, first)) if k == key => {
            if doc != first {
                links.push((first, doc));
            }
        }
        _ => current = Some((key, doc)),
    })?;
    Ok(links)
}

/// Every band's links across `runs`, bands merged in parallel, in band
/// order.
///
/// # Errors
/// As [`merge_band`].
pub fn links_from_runs(runs: &[RunFile], bands: usize) -> Result<Vec<(u32, u32)>, Error> {
    let per_band: Vec<Result<Vec<(u32, u32)>, Error>> = (0..bands)
        .into_par_iter()
        .map(|b| band_links_from_runs(runs, u32::try_from(b).unwrap_or(u32::MAX)))
        .collect();
    let mut links = Vec::new();
    for band in per_band {
        links.extend(band?);
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::near_clusters::band_links;

    #[test]
    fn merged_runs_give_the_in_memory_links() {
        let dir = std::env::temp_dir().join(format!("regime-band-runs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // 300 docs, 3 bands, keys from a small range so runs of equal keys
        // cross spills and files.
        let keys: Vec<[u64; 3]> = (0..300)
            .map(|_| std::array::from_fn(|_| rng.random_range(0..40)))
            .collect();
        // Two "shards" (docs 0..170 and 170..300), spilling every 50 docs.
        let mut runs = Vec::new();
        for (i, range) in [(0u32..170), (170..300)].into_iter().enumerate() {
            let mut w = RunWriter::create(&dir.join(format!("r{i}.bin")), 3, 50).unwrap();
            for doc in range {
                w.push(doc, &keys[doc as usize]).unwrap();
            }
            runs.push(w.finish().unwrap());
        }
        assert_eq!(runs[0].segments.len(), 4 * 3);
        for band in 0..3u32 {
            let entries: Vec<(u64, u32)> = (0..300u32)
                .map(|d| (keys[d as usize][band as usize], d))
                .collect();
            let got = band_links_from_runs(&runs, band).unwrap();
            assert_eq!(got, band_links(entries));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_truncated_run_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("regime-band-trunc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.bin");
        let mut w = RunWriter::create(&path, 1, 10).unwrap();
        for doc in 0..5 {
            w.push(doc, &[u64::from(doc)]).unwrap();
        }
        let run = w.finish().unwrap();
        std::fs::write(&path, [0u8; 20]).unwrap();
        let err = band_links_from_runs(&[run], 0).unwrap_err().to_string();
        assert!(err.contains("r.bin"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Open descriptors of this process (Linux), `None` elsewhere.
    fn open_fds() -> Option<usize> {
        std::fs::read_dir("/proc/self/fd").ok().map(Iterator::count)
    }

    #[test]
    fn a_merge_opens_each_run_file_once() {
        let dir = std::env::temp_dir().join(format!("regime-band-fds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 400 spills of one document: 400 segments of the band in one file.
        let mut w = RunWriter::create(&dir.join("r.bin"), 1, 1).unwrap();
        for doc in 0..400u32 {
            w.push(doc, &[u64::from(doc % 7)]).unwrap();
        }
        let run = w.finish().unwrap();
        assert_eq!(run.segments.len(), 400);
        let Some(before) = open_fds() else { return };
        let mut most = 0;
        let mut seen = 0;
        merge_band(std::slice::from_ref(&run), 0, |_, _| {
            seen += 1;
            most = most.max(open_fds().unwrap_or(0));
        })
        .unwrap();
        assert_eq!(seen, 400);
        // Other tests of this binary open a few files at the same time.
        assert!(
            most < before + 100,
            "{most} descriptors open, {before} before"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
