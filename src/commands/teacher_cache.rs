//! `regime teacher-cache`: a condition d response cache as parquet, for
//! inspecting what the teacher answered.

use regime_conditions::{cache_export_schema, export_cache};
use regime_corpus::{OutputDir, PartWriter};
use regime_teacher::ResponseCache;

use super::Outcome;
use super::corpus::{self, RunClock};
use crate::cli::{GlobalArgs, TeacherCacheArgs};
use crate::progress;

/// The export's file name inside `--out`.
const EXPORT_FILE: &str = "teacher-cache.parquet";

pub(crate) fn run(args: &TeacherCacheArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    // The cache's own file stands for its directory.
    let cache_dir = match args.cache_dir.file_name() {
        Some(name) if name == ResponseCache::FILE_NAME && args.cache_dir.is_file() => args
            .cache_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| ".".into(), std::path::Path::to_path_buf),
        _ => args.cache_dir.clone(),
    };
    anyhow::ensure!(
        cache_dir.is_dir(),
        "{}: no such directory (give the cache directory, OUT.teacher-cache next to condition d's --out by default)",
        cache_dir.display()
    );
    let file = cache_dir.join(ResponseCache::FILE_NAME);
    // Opening creates a cache; an export of a directory without one is a
    // mistyped path, not an empty cache.
    if !file.is_file() {
        anyhow::bail!(
            "{}: no teacher cache here ({} is missing)",
            cache_dir.display(),
            ResponseCache::FILE_NAME
        );
    }
    // Read-only: an inspection never writes to the cache, and refuses a
    // file that is not one rather than turning it into one.
    let cache = ResponseCache::open_read_only(&cache_dir)?;
    let out = OutputDir::prepare(
        &args.output.out,
        args.output.overwrite,
        std::slice::from_ref(&cache_dir),
    )?;
    let mut writer = PartWriter::try_new_single(
        &out,
        EXPORT_FILE,
        cache_export_schema(),
        corpus::writer_options(&args.output),
    )?;
    let rows = export_cache(&cache, |batch| Ok(writer.write(batch)?))?;
    let outputs = writer.finish()?;
    let mut manifest = clock.manifest(
        "teacher-cache",
        serde_json::json!({ "cache_dir": cache_dir.display().to_string() }),
        None,
        &[file],
        (rows, rows),
    )?;
    manifest.outputs = outputs;
    let dir = out.path().join(EXPORT_FILE);
    out.commit(manifest)?;
    progress::summary(
        global,
        &format!("teacher-cache: {rows} answers → {}", dir.display()),
    );
    Ok(Outcome::Success)
}
