//! `manifest.json`: what produced an output directory — tool version,
//! command line, config, seed, input files with sizes and content hashes,
//! row counts, outputs and timings.

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3Default;

use crate::error::{Error, Result};

/// The file name of a run manifest inside an output directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A record of one run, written last into its output directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Manifest {
    /// Always `"regime"`.
    pub tool: String,
    /// The tool version that wrote the directory.
    pub version: String,
    /// The stage, e.g. `"condition c"`.
    pub stage: String,
    /// The command line, as given.
    pub command: Vec<String>,
    /// The stage's resolved configuration.
    pub config: serde_json::Value,
    /// The RNG seed, for stages that draw random numbers.
    pub seed: Option<u64>,
    /// Every input file, in shard order.
    pub inputs: Vec<InputRecord>,
    /// Rows read.
    pub rows_in: u64,
    /// Rows written.
    pub rows_out: u64,
    /// Every file written into the directory (besides this manifest).
    pub outputs: Vec<OutputRecord>,
    /// Start of the run, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Wall time of the run in seconds.
    pub elapsed_seconds: f64,
}

/// An input file and its content hash.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct InputRecord {
    /// The path as resolved.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// xxh3-128 of the file's bytes, as 32 hex digits.
    pub xxh3_128: String,
}

/// An output file.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct OutputRecord {
    /// File name relative to the output directory.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows, for table files.
    pub rows: Option<u64>,
}

impl Manifest {
    /// Reads `DIR/manifest.json`, if there is one.
    ///
    /// # Errors
    /// [`Error::Io`] for unreadable files, [`Error::Manifest`] for bad JSON.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(MANIFEST_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| Error::Manifest { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

/// Hashes input files (in parallel) for the manifest.
///
/// # Errors
/// [`Error::Io`] naming the unreadable file.
pub fn hash_inputs(paths: &[PathBuf]) -> Result<Vec<InputRecord>> {
    paths
        .par_iter()
        .map(|path| {
            let (bytes, hash) = hash_file(path)?;
            Ok(InputRecord {
                path: path.clone(),
                bytes,
                xxh3_128: format!("{hash:032x}"),
            })
        })
        .collect()
}

/// The byte count and xxh3-128 of a file's content.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn hash_file(path: &Path) -> Result<(u64, u128)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Xxh3Default::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok((total, hasher.digest128()));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}
