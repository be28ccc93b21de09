//! The persistent response cache: SQLite in WAL mode, one row per answer,
//! keyed by the request's [`CacheKey`].
//!
//! Every answer is committed as it arrives. With `synchronous=NORMAL` a
//! commit is a write to the WAL without fsync: it survives the process
//! being killed (the OS has the bytes), though not a power cut, at a cost of
//! tens of microseconds, so a rerun after kill -9 sends only the requests
//! that were never answered.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::request::CacheKey;
use crate::response::{Completion, Usage};

/// Bumped when the table layout changes; an older cache is refused with a
/// clear message rather than misread.
const SCHEMA_VERSION: i64 = 1;

/// A cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedAnswer {
    /// A chat completion (well-formed or not: judging it is the caller's
    /// business, and a malformed answer is retried with another seed, which
    /// is another key).
    Completed(Completion),
    /// A deterministic refusal (400, 413, 422): sending it again would be
    /// refused again.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

/// One stored answer with its request, as the export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRow {
    /// The key (32 hex digits).
    pub key: String,
    /// The request body's canonical JSON.
    pub request: String,
    /// The answer.
    pub answer: CachedAnswer,
    /// How long the server took, in milliseconds (0 for imported answers).
    pub latency_ms: u64,
}

/// The response cache of a teacher run.
#[derive(Debug)]
pub struct ResponseCache {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl ResponseCache {
    /// The cache file's name inside `--cache-dir`.
    pub const FILE_NAME: &str = "teacher-cache.sqlite";

    /// Opens (creating if needed) the cache in `dir`.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created; [`Error::Cache`]
    /// when the file is not a regime cache or SQLite fails.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(Self::FILE_NAME);
        let conn = Connection::open(&path).map_err(|source| Error::Cache {
            path: path.clone(),
            source,
        })?;
        Self::set_up(conn, path)
    }

    /// Opens the cache in `dir` for reading only, as an inspection does: no
    /// table, pragma or journal mode is written, so the file is left exactly
    /// as it was, and a file that is not a regime cache (another SQLite
    /// database, an empty file) is refused rather than turned into one.
    /// WAL mode reads through the `-wal` and `-shm` files, which SQLite
    /// creates beside the file when they are missing (a read-only
    /// directory without them cannot be opened).
    ///
    /// # Errors
    /// [`Error::NotACache`] when the file lacks this layout's tables or
    /// version; [`Error::Cache`] when it cannot be opened or is not SQLite.
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let path = dir.join(Self::FILE_NAME);
        let err = |source| Error::Cache {
            path: path.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master
                 WHERE type = 'table' AND name IN ('answers', 'batch_requests')",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if version != SCHEMA_VERSION || tables != 2 {
            return Err(Error::NotACache {
                path,
                reason: format!(
                    "layout version {version} (regime's is {SCHEMA_VERSION}), {tables} of its 2 tables"
                ),
            });
        }
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// An empty cache that lives in memory only: what a run that must
    /// write nothing (a dry run without a cache yet) reads and fills.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn in_memory() -> Result<Self> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| Error::Cache {
            path: path.clone(),
            source,
        })?;
        Self::set_up(conn, path)
    }

    /// Sets the connection's pragmas and creates (or checks) the tables.
    fn set_up(conn: Connection, path: PathBuf) -> Result<Self> {
        let err = |source| Error::Cache {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        if version == 0 {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS answers (
                    key BLOB PRIMARY KEY,
                    request TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    content TEXT,
                    finish_reason TEXT,
                    prompt_tokens INTEGER NOT NULL,
                    completion_tokens INTEGER NOT NULL,
                    error TEXT,
                    latency_ms INTEGER NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS batch_requests (
                    custom_id TEXT PRIMARY KEY,
                    key BLOB NOT NULL,
                    request TEXT NOT NULL
                 );",
            )
            .map_err(err)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(err)?;
        } else if version != SCHEMA_VERSION {
            return Err(err(rusqlite::Error::InvalidParameterName(format!(
                "cache layout version {version}, this regime reads {SCHEMA_VERSION}: use another --cache-dir"
            ))));
        }
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The cache file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere cannot leave SQLite inconsistent: each
        // statement is its own transaction.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Cache {
            path: self.path.clone(),
            source,
        }
    }

    /// The answer stored under `key`.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn get(&self, key: CacheKey) -> Result<Option<CachedAnswer>> {
        self.conn()
            .query_row(
                "SELECT status, content, finish_reason, prompt_tokens, completion_tokens, error
                 FROM answers WHERE key = ?1",
                params![key.0.as_slice()],
                answer_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Stores `answer` for the request `request` (its canonical JSON) and
    /// commits. A key already present is left as it is.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn put(
        &self,
        key: CacheKey,
        request: &str,
        answer: &CachedAnswer,
        latency_ms: u64,
    ) -> Result<()> {
        let (status, content, finish, usage, error) = match answer {
            CachedAnswer::Completed(c) => (
                200u16,
                Some(c.content.as_str()),
                c.finish_reason.as_deref(),
                c.usage,
                None,
            ),
            CachedAnswer::Rejected { status, message } => (
                *status,
                None,
                None,
                Usage::default(),
                Some(message.as_str()),
            ),
        };
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO answers
                 (key, request, status, content, finish_reason, prompt_tokens, completion_tokens, error, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    key.0.as_slice(),
                    request,
                    status,
                    content,
                    finish,
                    sql_int(usage.prompt_tokens),
                    sql_int(usage.completion_tokens),
                    error,
                    sql_int(latency_ms)
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Number of stored answers.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn len(&self) -> Result<u64> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM answers", [], |r| r.get::<_, i64>(0))
            .map(from_sql_int)
            .map_err(|e| self.err(e))
    }

    /// Whether no answer is stored.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// Remembers which request a batch file's `custom_id` stands for, so
    /// the batch output can be imported under the right key. Every export's
    /// ids are kept: an id carries its key (`batch::custom_id`), so a later
    /// export with other options adds ids rather than repointing old ones.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn record_batch_request(
        &self,
        custom_id: &str,
        key: CacheKey,
        request: &str,
    ) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO batch_requests (custom_id, key, request) VALUES (?1, ?2, ?3)",
                params![custom_id, key.0.as_slice(), request],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The key and request body recorded for `custom_id` by an export.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn batch_request(&self, custom_id: &str) -> Result<Option<(CacheKey, String)>> {
        self.conn()
            .query_row(
                "SELECT key, request FROM batch_requests WHERE custom_id = ?1",
                params![custom_id],
                |r| {
                    let key: Vec<u8> = r.get(0)?;
                    let request: String = r.get(1)?;
                    Ok((key, request))
                },
            )
            .optional()
            .map_err(|e| self.err(e))
            .map(|found| {
                found.and_then(|(key, request)| {
                    let key: [u8; 16] = key.try_into().ok()?;
                    Some((CacheKey(key), request))
                })
            })
    }

    /// Calls `f` with every stored answer, in key order.
    ///
    /// # Errors
    /// [`Error::Cache`] when SQLite fails.
    pub fn for_each(&self, mut f: impl FnMut(CacheRow)) -> Result<()> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT status, content, finish_reason, prompt_tokens, completion_tokens, error,
                        key, request, latency_ms
                 FROM answers ORDER BY key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let answer = answer_from_row(r)?;
                let key: Vec<u8> = r.get(6)?;
                Ok(CacheRow {
                    key: CacheKey(key.try_into().unwrap_or_default()).to_string(),
                    request: r.get(7)?,
                    answer,
                    latency_ms: from_sql_int(r.get(8)?),
                })
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            f(row.map_err(|e| self.err(e))?);
        }
        Ok(())
    }
}

/// SQLite integers are signed 64-bit; counts never reach 2^63.
fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_sql_int(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn answer_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CachedAnswer> {
    let status: u16 = r.get(0)?;
    if status == 200 {
        Ok(CachedAnswer::Completed(Completion {
            content: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            finish_reason: r.get(2)?,
            usage: Usage {
                prompt_tokens: from_sql_int(r.get(3)?),
                completion_tokens: from_sql_int(r.get(4)?),
            },
        }))
    } else {
        Ok(CachedAnswer::Rejected {
            status,
            message: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(text: &str) -> CachedAnswer {
        CachedAnswer::Completed(Completion {
            content: text.into(),
            finish_reason: Some("stop".into()),
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: 4,
            },
        })
    }

    #[test]
    fn answers_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (CacheKey([1; 16]), CacheKey([2; 16]));
        {
            let cache = ResponseCache::open(dir.path()).unwrap();
            assert!(cache.is_empty().unwrap());
            cache.put(a, "{\"a\":1}", &completion("x"), 12).unwrap();
            let rejected = CachedAnswer::Rejected {
                status: 400,
                message: "too long".into(),
            };
            cache.put(b, "{\"b\":1}", &rejected, 1).unwrap();
            // A second put of the same key keeps the first answer.
            cache.put(a, "{\"a\":1}", &completion("y"), 1).unwrap();
        }
        let cache = ResponseCache::open(dir.path()).unwrap();
        assert_eq!(cache.len().unwrap(), 2);
        assert_eq!(cache.get(a).unwrap(), Some(completion("x")));
        assert_eq!(
            cache.get(b).unwrap(),
            Some(CachedAnswer::Rejected {
                status: 400,
                message: "too long".into()
            })
        );
        assert_eq!(cache.get(CacheKey([3; 16])).unwrap(), None);
        let mut rows = Vec::new();
        cache.for_each(|r| rows.push(r)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].key, "01".repeat(16));
        assert_eq!(rows[0].latency_ms, 12);
        assert_eq!(rows[1].request, "{\"b\":1}");
    }

    #[test]
    fn batch_requests_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResponseCache::open(dir.path()).unwrap();
        cache
            .record_batch_request("row-1/user-0", CacheKey([9; 16]), "{}")
            .unwrap();
        assert_eq!(
            cache.batch_request("row-1/user-0").unwrap(),
            Some((CacheKey([9; 16]), "{}".to_owned()))
        );
        assert_eq!(cache.batch_request("nope").unwrap(), None);
    }

    #[test]
    fn read_only_opening_refuses_a_foreign_database_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ResponseCache::FILE_NAME);
        let conn = Connection::open(&file).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep');")
            .unwrap();
        drop(conn);
        let before = std::fs::read(&file).unwrap();
        let err = ResponseCache::open_read_only(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("not a regime teacher cache"),
            "{err}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // An empty file is an empty SQLite database: refused too.
        std::fs::write(&file, b"").unwrap();
        assert!(ResponseCache::open_read_only(dir.path()).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"");
    }

    #[test]
    fn read_only_opening_reads_a_cache() {
        let dir = tempfile::tempdir().unwrap();
        ResponseCache::open(dir.path())
            .unwrap()
            .put(CacheKey([1; 16]), "{}", &completion("x"), 1)
            .unwrap();
        let file = dir.path().join(ResponseCache::FILE_NAME);
        let before = std::fs::read(&file).unwrap();
        let cache = ResponseCache::open_read_only(dir.path()).unwrap();
        assert_eq!(cache.get(CacheKey([1; 16])).unwrap(), Some(completion("x")));
        assert!(
            cache
                .put(CacheKey([2; 16]), "{}", &completion("y"), 1)
                .is_err()
        );
        drop(cache);
        assert_eq!(std::fs::read(&file).unwrap(), before);
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(ResponseCache::FILE_NAME)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = ResponseCache::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("cache layout version 99"), "{err}");
    }
}
