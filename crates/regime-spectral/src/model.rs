//! Memory-mapped safetensors models: one file, a directory, or sharded files
//! with `model.safetensors.index.json`.
//!
//! Nothing is copied at open time: each shard is mapped and only its header
//! is parsed. A matrix is converted to f64 when [`Model::matrix`] asks for it.
//!
//! Which file holds a tensor: with an index, the file its `weight_map` names
//! (a copy of the tensor in another shard, or a tensor the index does not
//! list, is not part of the model, as for `transformers`); without one, the
//! only file holding it, and a name held by two `*.safetensors` files is an
//! error ([`Error::DuplicateTensor`]) since neither copy is "the" tensor.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use faer::Mat;
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// One tensor of a model, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Name as stored.
    pub name: String,
    /// Element type as stored.
    pub dtype: Dtype,
    /// Shape as stored (row-major).
    pub shape: Vec<usize>,
    shard: usize,
    /// Byte range in the shard's data section.
    range: (usize, usize),
}

#[derive(Debug)]
struct Shard {
    path: PathBuf,
    mmap: Mmap,
    data_start: usize,
}

/// A model opened for auditing.
#[derive(Debug)]
pub struct Model {
    path: PathBuf,
    shards: Vec<Shard>,
    tensors: Vec<TensorEntry>,
}

/// Index file of sharded checkpoints.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// Single-file checkpoint name inside a model directory.
pub const SINGLE_FILE: &str = "model.safetensors";

impl Model {
    /// Opens a safetensors file, or a directory holding `model.safetensors`,
    /// an index with its shards, or `*.safetensors` files.
    ///
    /// # Errors
    /// [`Error::NoModel`], [`Error::Io`], [`Error::NotSafetensors`],
    /// [`Error::BadIndex`], [`Error::NotRegularFile`] (a FIFO, socket or
    /// device, refused before it is opened: opening a FIFO would wait for a
    /// writer) or [`Error::DuplicateTensor`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let kind = std::fs::metadata(&path)
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?
            .file_type();
        let is_index = kind.is_file() && path.file_name().is_some_and(|n| n == INDEX_FILE);
        let (files, weight_map) = if is_index {
            // A sharded model's index stands for its directory.
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            resolve_dir(dir.unwrap_or(Path::new(".")))?
        } else if kind.is_dir() {
            resolve_dir(&path)?
        } else if kind.is_file() {
            (vec![path.clone()], None)
        } else {
            return Err(Error::NotRegularFile { path });
        };
        let mut shards = Vec::with_capacity(files.len());
        let mut tensors = Vec::new();
        // Without an index: the file where each name was first seen.
        let mut seen: HashMap<String, &Path> = HashMap::new();
        for (index, file) in files.iter().enumerate() {
            let handle = File::open(file).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            let mmap = map(&handle).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            let (header, meta) =
                SafeTensors::read_metadata(&mmap).map_err(|e| Error::NotSafetensors {
                    path: file.clone(),
                    reason: crate::header::diagnose(&mmap, &e),
                })?;
            for name in meta.offset_keys() {
                match &weight_map {
                    // The index names another shard (or none): not this copy.
                    Some(index) if index.files.get(&name) != Some(file) => continue,
                    Some(_) => {}
                    None => {
                        if let Some(first) = seen.get(&name) {
                            return Err(Error::DuplicateTensor {
                                name,
                                first: first.to_path_buf(),
                                second: file.clone(),
                            });
                        }
                        seen.insert(name.clone(), file);
                    }
                }
                let info = meta.info(&name).ok_or_else(|| Error::NotSafetensors {
                    path: file.clone(),
                    reason: format!("tensor {name} listed without info"),
                })?;
                tensors.push(TensorEntry {
                    name,
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    shard: index,
                    range: info.data_offsets,
                });
            }
            shards.push(Shard {
                path: file.clone(),
                mmap,
                data_start: 8 + header,
            });
        }
        if let Some(map) = &weight_map {
            let held: std::collections::HashSet<&str> =
                tensors.iter().map(|t| t.name.as_str()).collect();
            // The first (by name) that the index maps to a shard not holding it.
            let unheld = map
                .files
                .iter()
                .filter(|(name, _)| !held.contains(name.as_str()))
                .min();
            if let Some((name, file)) = unheld {
                return Err(Error::BadIndex {
                    path: map.path.clone(),
                    reason: format!(
                        "weight_map maps {name} to {}, which does not hold it",
                        file.display()
                    ),
                });
            }
        }
        Ok(Self {
            path,
            shards,
            tensors,
        })
    }

    /// The path given to [`Model::open`].
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shard files, in reading order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.shards.iter().map(|s| s.path.as_path())
    }

    /// Total size of the mapped files in bytes.
    #[must_use]
    pub fn mapped_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.mmap.len()).sum()
    }

    /// Every tensor, shard by shard in file-offset order.
    #[must_use]
    pub fn tensors(&self) -> &[TensorEntry] {
        &self.tensors
    }

    /// The file holding `tensor`.
    #[must_use]
    pub fn file_of(&self, tensor: &TensorEntry) -> &Path {
        &self.shards[tensor.shard].path
    }

    /// The raw little-endian bytes of `tensor`.
    fn bytes(&self, tensor: &TensorEntry) -> &[u8] {
        let shard = &self.shards[tensor.shard];
        // Offsets were validated against the file length by `read_metadata`.
        &shard.mmap[shard.data_start + tensor.range.0..shard.data_start + tensor.range.1]
    }

    /// Converts rows `rows` (all when `None`) of the 2-D `tensor` to f64.
    /// The matrix is returned **transposed** (columns × rows): filling it
    /// column-major then reads the row-major file sequentially, and the
    /// spectrum does not depend on orientation.
    ///
    /// # Errors
    /// [`Error::UnsupportedDtype`] for anything but F64, F32, F16 and BF16;
    /// [`Error::NonFinite`] when the selected rows hold a NaN or ±∞ (an F16
    /// overflow included).
    pub fn matrix(&self, tensor: &TensorEntry, rows: Option<(usize, usize)>) -> Result<Mat<f64>> {
        let [nrows, ncols] = tensor.shape[..] else {
            return Err(Error::Config(format!("tensor {} is not 2-D", tensor.name)));
        };
        let (start, len) = rows.unwrap_or((0, nrows));
        let bytes = self.bytes(tensor);
        let width = element_size(tensor.dtype).ok_or_else(|| self.unsupported(tensor))?;
        let read: fn(&[u8]) -> f64 = match tensor.dtype {
            Dtype::F64 => |b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
            Dtype::F32 => |b| f64::from(f32::from_le_bytes(b.try_into().unwrap_or([0; 4]))),
            Dtype::F16 => |b| half::f16::from_le_bytes(b.try_into().unwrap_or([0; 2])).to_f64(),
            Dtype::BF16 => |b| half::bf16::from_le_bytes(b.try_into().unwrap_or([0; 2])).to_f64(),
            _ => return Err(self.unsupported(tensor)),
        };
        let base = start * ncols * width;
        let w = Mat::from_fn(ncols, len, |i, j| {
            let at = base + (j * ncols + i) * width;
            read(&bytes[at..at + width])
        });
        // Checked here, before any decomposition: a NaN or ∞ would otherwise
        // surface as a decomposition that "did not converge".
        let non_finite = count_non_finite(&w);
        if non_finite > 0 {
            return Err(Error::NonFinite {
                path: self.file_of(tensor).to_path_buf(),
                name: tensor.name.clone(),
                count: non_finite,
                total: ncols * len,
            });
        }
        Ok(w)
    }

    /// Whether [`Model::matrix`] can convert this dtype.
    #[must_use]
    pub fn supports(dtype: Dtype) -> bool {
        element_size(dtype).is_some()
    }

    fn unsupported(&self, tensor: &TensorEntry) -> Error {
        Error::UnsupportedDtype {
            path: self.file_of(tensor).to_path_buf(),
            name: tensor.name.clone(),
            dtype: format!("{:?}", tensor.dtype),
        }
    }
}

/// Entries of `w` that are NaN or ±∞.
fn count_non_finite(w: &Mat<f64>) -> usize {
    (0..w.ncols())
        .map(|j| w.col(j).iter().filter(|x| !x.is_finite()).count())
        .sum()
}

fn element_size(dtype: Dtype) -> Option<usize> {
    match dtype {
        Dtype::F64 => Some(8),
        Dtype::F32 => Some(4),
        Dtype::F16 | Dtype::BF16 => Some(2),
        _ => None,
    }
}

#[expect(
    unsafe_code,
    reason = "memory-mapping is unsafe because another process could modify the file"
)]
fn map(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: the map is read-only and checkpoints are not modified while
    // being audited; a concurrent writer could at worst change the numbers
    // read, not memory safety of this process beyond what the OS allows.
    unsafe { Mmap::map(file) }
}

/// `model.safetensors.index.json`'s `weight_map`: the shard of each name.
#[derive(Debug)]
struct WeightMap {
    /// The index file.
    path: PathBuf,
    /// Tensor name → shard path.
    files: HashMap<String, PathBuf>,
}

/// The files of a model directory, and its index when it has one.
fn resolve_dir(dir: &Path) -> Result<(Vec<PathBuf>, Option<WeightMap>)> {
    let index = dir.join(INDEX_FILE);
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|source| Error::Io {
            path: index.clone(),
            source,
        })?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::BadIndex {
            path: index.clone(),
            reason: e.to_string(),
        })?;
        let map = json
            .get("weight_map")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| Error::BadIndex {
                path: index.clone(),
                reason: "no weight_map object".to_owned(),
            })?;
        let mut files: Vec<PathBuf> = Vec::new();
        let mut by_name = HashMap::with_capacity(map.len());
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| Error::BadIndex {
                path: index.clone(),
                reason: format!("weight_map entry {name} is not a file name"),
            })?;
            if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                return Err(Error::BadIndex {
                    path: index.clone(),
                    reason: format!("shard name {file:?} is not a plain file name"),
                });
            }
            let file = dir.join(file);
            if !files.contains(&file) {
                files.push(file.clone());
            }
            by_name.insert(name.clone(), file);
        }
        files.sort();
        if let Some(bad) = files.iter().find(|f| !f.is_file()) {
            let what = if bad.exists() {
                "is not a regular file"
            } else {
                "is missing"
            };
            return Err(Error::BadIndex {
                path: index,
                reason: format!("shard {} {what}", bad.display()),
            });
        }
        if files.is_empty() {
            return Err(Error::BadIndex {
                path: index,
                reason: "empty weight_map".to_owned(),
            });
        }
        let map = WeightMap {
            path: index,
            files: by_name,
        };
        return Ok((files, Some(map)));
    }
    let single = dir.join(SINGLE_FILE);
    if single.is_file() {
        return Ok((vec![single], None));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    // Regular files only: a FIFO named *.safetensors would block the open.
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::NoModel {
            path: dir.to_path_buf(),
        });
    }
    Ok((files, None))
}
