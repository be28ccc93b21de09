//! The teacher response cache as a table, for inspection: one row per
//! stored answer, with the request that produced it.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, UInt16Builder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use regime_teacher::{CacheRow, CachedAnswer, ResponseCache, extract_output};

use crate::error::Result;

/// Rows per exported batch.
const BATCH_ROWS: usize = 4096;

/// The export's schema: `key`, `model`, `request` (canonical JSON), `status`
/// (200 for an answer, else the HTTP status of a cached refusal),
/// `content`, `output` (the text between the `<output>` tags, when there
/// are), `finish_reason`, `prompt_tokens`, `completion_tokens`, `error`
/// (a refusal's message) and `latency_ms`.
#[must_use]
pub fn cache_export_schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("key", false),
        text("model", true),
        text("request", false),
        Field::new("status", DataType::UInt16, false),
        text("content", true),
        text("output", true),
        text("finish_reason", true),
        Field::new("prompt_tokens", DataType::UInt64, false),
        Field::new("completion_tokens", DataType::UInt64, false),
        text("error", true),
        Field::new("latency_ms", DataType::UInt64, false),
    ]))
}

/// Column builders of one export batch.
#[derive(Default)]
struct ExportBuilder {
    key: StringBuilder,
    model: StringBuilder,
    request: StringBuilder,
    status: UInt16Builder,
    content: StringBuilder,
    output: StringBuilder,
    finish_reason: StringBuilder,
    prompt_tokens: UInt64Builder,
    completion_tokens: UInt64Builder,
    error: StringBuilder,
    latency_ms: UInt64Builder,
    rows: usize,
}

impl ExportBuilder {
    fn push(&mut self, row: &CacheRow) {
        self.key.append_value(&row.key);
        let model = serde_json::from_str::<serde_json::Value>(&row.request)
            .ok()
            .and_then(|v| v.get("model").and_then(|m| m.as_str().map(str::to_owned)));
        self.model.append_option(model);
        self.request.append_value(&row.request);
        match &row.answer {
            CachedAnswer::Completed(c) => {
                self.status.append_value(200);
                self.content.append_value(&c.content);
                self.output.append_option(extract_output(&c.content));
                self.finish_reason.append_option(c.finish_reason.as_deref());
                self.prompt_tokens.append_value(c.usage.prompt_tokens);
                self.completion_tokens
                    .append_value(c.usage.completion_tokens);
                self.error.append_null();
            }
            CachedAnswer::Rejected { status, message } => {
                self.status.append_value(*status);
                self.content.append_null();
                self.output.append_null();
                self.finish_reason.append_null();
                self.prompt_tokens.append_value(0);
                self.completion_tokens.append_value(0);
                self.error.append_value(message);
            }
        }
        self.latency_ms.append_value(row.latency_ms);
        self.rows += 1;
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.key.finish()),
            Arc::new(self.model.finish()),
            Arc::new(self.request.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.content.finish()),
            Arc::new(self.output.finish()),
            Arc::new(self.finish_reason.finish()),
            Arc::new(self.prompt_tokens.finish()),
            Arc::new(self.completion_tokens.finish()),
            Arc::new(self.error.finish()),
            Arc::new(self.latency_ms.finish()),
        ];
        Ok(RecordBatch::try_new(cache_export_schema(), columns)?)
    }
}

/// Streams every answer in `cache`, in key order, to `write` as batches of
/// [`cache_export_schema`]; returns the number of rows.
///
/// # Errors
/// [`crate::Error::Teacher`] when the cache cannot be read, or whatever
/// `write` returns.
pub fn export_cache(
    cache: &ResponseCache,
    mut write: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<u64> {
    let mut builder = ExportBuilder::default();
    let mut rows = 0u64;
    let mut failed = None;
    cache.for_each(|row| {
        if failed.is_some() {
            return;
        }
        builder.push(&row);
        rows += 1;
        if builder.rows == BATCH_ROWS {
            failed = builder.finish().and_then(|b| write(&b)).err();
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if builder.rows > 0 {
        write(&builder.finish()?)?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::UInt16Type;
    use regime_teacher::{Completion, RequestBody, Sampling, Usage};

    use super::*;

    #[test]
    fn every_answer_and_refusal_becomes_a_row() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResponseCache::open(dir.path()).unwrap();
        let extra = serde_json::Map::new();
        let a = RequestBody::new("m", "one", &Sampling::default(), 0, 64, &extra);
        let b = RequestBody::new("m", "two", &Sampling::default(), 0, 64, &extra);
        cache
            .put(
                a.key(),
                a.json(),
                &CachedAnswer::Completed(Completion {
                    content: "x <output>short</output>".into(),
                    finish_reason: Some("stop".into()),
                    usage: Usage {
                        prompt_tokens: 7,
                        completion_tokens: 3,
                    },
                }),
                12,
            )
            .unwrap();
        cache
            .put(
                b.key(),
                b.json(),
                &CachedAnswer::Rejected {
                    status: 400,
                    message: "too long".into(),
                },
                5,
            )
            .unwrap();
        let mut batches = Vec::new();
        let rows = export_cache(&cache, |batch| {
            batches.push(batch.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(rows, 2);
        let batch = arrow::compute::concat_batches(&cache_export_schema(), &batches).unwrap();
        let status = batch.column_by_name("status").unwrap();
        let mut statuses: Vec<u16> = status.as_primitive::<UInt16Type>().values().to_vec();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400]);
        let row = usize::from(status.as_primitive::<UInt16Type>().value(0) != 200);
        let output = batch.column_by_name("output").unwrap().as_string::<i32>();
        assert_eq!(output.value(row), "short");
        let model = batch.column_by_name("model").unwrap().as_string::<i32>();
        assert_eq!(model.value(0), "m");
        let error = batch.column_by_name("error").unwrap().as_string::<i32>();
        assert_eq!(error.value(1 - row), "too long");
    }
}
