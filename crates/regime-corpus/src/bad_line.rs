//! The line a JSONL error comes from. Schema inference and arrow's decoder
//! report errors for a whole run of records ("at line 1 column 2" of
//! whichever record they were parsing); re-reading the file one line at a
//! time, only once something failed, names the line itself.

use std::path::Path;

use arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::input::FileFormat;
use crate::json_line::{decode_astral_escapes, escape_raw_controls};
use crate::json_mixed::MixedFields;
use crate::reader::{FileInfo, for_each_record, json_decoding};

/// A line (1-based, blank lines counted) and what is wrong with it.
pub(crate) type BadLine = (u64, String);

/// The first non-blank line of `path` that is not a JSON object, or whose
/// type conflicts with the lines before it, among the first `records`
/// records (those schema inference reads). Syntax is checked on each line
/// as stored (so a column is one of the file's); types as inference reads
/// them (repaired, `mixed` fields as one type).
pub(crate) fn first_uninferable(
    path: &Path,
    format: FileFormat,
    mixed: &MixedFields,
    records: usize,
) -> Result<Option<BadLine>> {
    let mut values = Vec::new();
    let mut numbers = Vec::new();
    let mut repaired = Vec::new();
    let found = for_each_record(path, format, None, |number, line| {
        if values.len() == records {
            return Some(None);
        }
        let strict = escape_raw_controls(line);
        // Without its line end: a line cut inside a string then reads as
        // cut off, not as a string holding a line break.
        let body = strict.strip_suffix(b"\n").unwrap_or(&strict);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) if value.is_object() => {
                repaired.clear();
                mixed.rewrite_line(&decode_astral_escapes(&strict), &mut repaired);
                let value = serde_json::from_slice(&repaired).unwrap_or(value);
                values.push(value);
                numbers.push(number);
                None
            }
            Ok(_) => Some(Some((number, "not a JSON object".to_owned()))),
            Err(e) => {
                // serde's message ends with " at line 1 column N" of this
                // one line: keep the column only.
                let message = e.to_string();
                let message = message
                    .rfind(" at line ")
                    .map_or(message.as_str(), |at| &message[..at]);
                let reason = if e.is_eof() {
                    format!("not valid JSON: {message} (the line ends early: cut off?)")
                } else {
                    let column = stored_column(line, &strict, e.column());
                    format!("column {column}: not valid JSON: {message}")
                };
                Some(Some((number, reason)))
            }
        }
    })?;
    if let Some(found) = found.flatten() {
        return Ok(Some(found));
    }
    // Every line parses: a type conflict. The shortest failing prefix ends
    // at the culprit (inference of a prefix fails iff it holds a conflict).
    let infer =
        |n: usize| arrow::json::reader::infer_json_schema_from_iterator(values[..n].iter().map(Ok));
    if infer(values.len()).is_ok() {
        return Ok(None);
    }
    let (mut ok, mut bad) = (0, values.len());
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if infer(mid).is_ok() {
            ok = mid;
        } else {
            bad = mid;
        }
    }
    let reason = infer(bad).err().map_or_else(String::new, |e| {
        format!("{e} (a bad record, or a field whose records hold JSON of different shapes: such a field can be read as JSON text)")
    });
    Ok(Some((numbers[bad - 1], reason)))
}

/// The first record of `file`, from record `from` (0-based, blank lines
/// not counted) on, that does not decode under `schema`, read as the
/// decoder reads it.
pub(crate) fn first_undecodable(
    file: &FileInfo,
    schema: &SchemaRef,
    from: u64,
) -> Result<Option<BadLine>> {
    let mut record = 0u64;
    let found = for_each_record(
        &file.path,
        file.format,
        Some(&file.mixed),
        |number, line| {
            record += 1;
            if record <= from {
                return None;
            }
            decode_one(schema, line).err().map(|e| (number, e))
        },
    )?;
    Ok(found)
}

/// Decodes one JSON line under `schema`.
fn decode_one(schema: &SchemaRef, line: &[u8]) -> std::result::Result<(), String> {
    let mut decoder = json_decoding(schema)
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.decode(line).map_err(|e| e.to_string())?;
    decoder.flush().map(|_| ()).map_err(|e| e.to_string())
}

/// The (1-based) byte column in `line`, as stored, of `column` in
/// `strict`, its copy with raw control characters written as 6-byte
/// `\u00XX` escapes.
fn stored_column(line: &[u8], strict: &[u8], column: usize) -> usize {
    let (mut at, mut at_strict) = (0, 0);
    while at_strict + 1 < column && at < line.len() {
        at_strict += if strict.get(at_strict) == Some(&line[at]) {
            1
        } else {
            6
        };
        at += 1;
    }
    at + 1
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::input::Compression;

    const PLAIN: FileFormat = FileFormat::Jsonl(Compression::None);

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(f.path(), text).unwrap_or_else(|e| panic!("{e}"));
        f
    }

    #[test]
    fn names_the_line_that_is_not_json_blank_lines_counted() {
        let f = file("{\"a\":1}\n\n{\"a\":2}\n{bad\n{\"a\":3}\n");
        let found = first_uninferable(f.path(), PLAIN, &MixedFields::default(), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        let (line, reason) = found.unwrap_or_else(|| panic!("not found"));
        assert_eq!(line, 4);
        assert!(reason.starts_with("column 2: not valid JSON"), "{reason}");
        let f = file("{\"a\":1}\n[1, 2]\n");
        let found = first_uninferable(f.path(), PLAIN, &MixedFields::default(), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found, Some((2, "not a JSON object".to_owned())));
    }

    /// Columns count the line as stored, raw control characters as one
    /// byte; a line cut off names no column.
    #[test]
    fn columns_are_of_the_stored_line_and_a_cut_line_says_so() {
        let f = file("{\"a\":\"x\\ty\"}\n{\"a\":\"\t\t\", bad}\n");
        let found = first_uninferable(f.path(), PLAIN, &MixedFields::default(), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        let (line, reason) = found.unwrap_or_else(|| panic!("not found"));
        assert_eq!(line, 2);
        // `{"a":"<tab><tab>", bad}`: `b` is byte 12.
        assert!(reason.starts_with("column 12: not valid JSON"), "{reason}");
        for (text, inside) in [
            ("{\"a\":1}\n{\"a\": [1, 2\n{\"a\":3}\n", "a list"),
            ("{\"a\":\"ok\"}\n{\"a\":\"abc\n{\"a\":\"x\"}\n", "a string"),
            (
                "{\"a\":\"ok\"}\r\n{\"a\":\"abc\r\n{\"a\":\"x\"}\r\n",
                "a string",
            ),
        ] {
            let f = file(text);
            let found = first_uninferable(f.path(), PLAIN, &MixedFields::default(), 1000)
                .unwrap_or_else(|e| panic!("{e}"));
            let (line, reason) = found.unwrap_or_else(|| panic!("not found"));
            assert_eq!(line, 2);
            assert_eq!(
                reason,
                format!(
                    "not valid JSON: EOF while parsing {inside} (the line ends early: cut off?)"
                )
            );
        }
    }

    #[test]
    fn names_the_line_whose_type_conflicts_with_earlier_ones() {
        let f = file("{\"a\":\"x\"}\n{\"a\":\"y\"}\n\n{\"a\":{\"b\":1}}\n{\"a\":\"z\"}\n");
        let found = first_uninferable(f.path(), PLAIN, &MixedFields::default(), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.map(|(line, _)| line), Some(4));
        // Only the records inference reads are looked at.
        let found = first_uninferable(f.path(), PLAIN, &MixedFields::default(), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found, None);
    }

    #[test]
    fn names_the_first_line_that_does_not_decode_from_a_record_on() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        // A number under a text column reads as its text; an object or a
        // list does not decode.
        let f = file("{\"a\":{}}\n{\"a\":1.50}\n\n{\"a\":[1]}\n");
        let info = FileInfo {
            path: f.path().to_path_buf(),
            format: PLAIN,
            bytes: 0,
            rows: None,
            row_groups: Vec::new(),
            parquet: None,
            ipc: None,
            mixed: MixedFields::default(),
        };
        let at = |from| {
            first_undecodable(&info, &schema, from)
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|(line, _)| line)
        };
        assert_eq!(at(0), Some(1));
        assert_eq!(at(1), Some(4));
        assert_eq!(at(3), None);
    }
}
