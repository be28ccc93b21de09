//! The line a JSONL error comes from. Schema inference and arrow's decoder
//! report errors for a whole run of records ("at line 1 column 2" of
//! whichever record they were parsing); re-reading the file one line at a
//! time, only once something failed, names the line itself.

use arrow::datatypes::{DataType, Fields, SchemaRef};

use crate::error::Result;
use crate::input::InputFile;
use crate::json_line::escape_raw_controls;
use crate::json_mixed::MixedFields;
use crate::json_numbers::{InexactNumber, parse_numbers};
use crate::jsonl_order::RecordAt;
use crate::reader::{FileInfo, for_each_record, json_decoding, sampled_values};

/// A line (1-based, blank lines counted) and what is wrong with it.
pub(crate) type BadLine = (u64, String);

/// The first record of the JSON `inputs` that is not a JSON object, or
/// whose type conflicts with the records before it, among the first
/// `records` of each input (those schema inference reads). Syntax is
/// checked on each line as stored (so a column is one of the file's);
/// types as inference reads them (repaired, `mixed` fields as one type).
pub(crate) fn first_uninferable(
    inputs: &[&InputFile],
    mixed: &MixedFields,
    records: usize,
) -> Result<Option<(RecordAt, String)>> {
    for (at, input) in inputs.iter().enumerate() {
        if let Some((line, reason)) = first_unparsable(input, records)? {
            return Ok(Some((RecordAt { input: at, line }, reason)));
        }
    }
    // Every line parses: a type conflict. The shortest failing prefix of
    // the records inference reads ends at the culprit (inference of a
    // prefix fails iff it holds a conflict): first the input, then its
    // record. Each try reads the inputs again, on this error path only.
    let fails = |upto: &[&InputFile], last: usize| {
        arrow::json::reader::infer_json_schema_from_iterator(sampled_values(
            upto, mixed, records, last,
        ))
        .err()
    };
    if fails(inputs, records).is_none() {
        return Ok(None);
    }
    let (mut ok, mut bad) = (0, inputs.len());
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if fails(&inputs[..mid], records).is_some() {
            bad = mid;
        } else {
            ok = mid;
        }
    }
    let (upto, input) = (&inputs[..bad], inputs[bad - 1]);
    let mut count = 0;
    for_each_record(&input.path, input.format, None, |_, _| {
        count += 1;
        (count == records).then_some(())
    })?;
    let (mut ok, mut bad) = (0, count);
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if fails(upto, mid).is_some() {
            bad = mid;
        } else {
            ok = mid;
        }
    }
    let mut seen = 0;
    let line = for_each_record(&input.path, input.format, None, |number, _| {
        seen += 1;
        (seen == bad).then_some(number)
    })?
    .unwrap_or(0);
    let reason = fails(upto, bad).map_or_else(String::new, |e| {
        format!("{e} (a bad record, or a field whose records hold JSON of different shapes: such a field can be read as JSON text)")
    });
    let at = RecordAt {
        input: upto.len() - 1,
        line,
    };
    Ok(Some((at, reason)))
}

/// The first of the first `records` non-blank lines of `input` that is no
/// JSON object, read as stored.
fn first_unparsable(input: &InputFile, records: usize) -> Result<Option<BadLine>> {
    let mut seen = 0;
    let found = for_each_record(&input.path, input.format, None, |number, line| {
        if seen == records {
            return Some(None);
        }
        seen += 1;
        let strict = escape_raw_controls(line);
        // Without its line end: a line cut inside a string then reads as
        // cut off, not as a string holding a line break.
        let body = strict.strip_suffix(b"\n").unwrap_or(&strict);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) if value.is_object() => None,
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
    Ok(found.flatten())
}

/// Why a record does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undecodable {
    /// It holds a field the schema lacks (its path, `a[].b`).
    UnknownField(String),
    /// It holds a number its column cannot hold exactly.
    Inexact(InexactNumber),
    /// What the decoder said.
    Other(String),
}

/// The first record of `file`, from record `from` (0-based, blank lines
/// not counted) on, that does not decode under `schema`, read as the
/// decoder reads it: its line and why.
pub(crate) fn first_undecodable(
    file: &FileInfo,
    schema: &SchemaRef,
    from: u64,
) -> Result<Option<(u64, Undecodable)>> {
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
            let why = match decode_one(schema, line).err()? {
                Undecodable::Other(error) => unknown_field(line, schema)
                    .map_or(Undecodable::Other(error), Undecodable::UnknownField),
                why => why,
            };
            Some((number, why))
        },
    )?;
    Ok(found)
}

/// Decodes one JSON line under `schema`, as the reader does.
fn decode_one(schema: &SchemaRef, line: &[u8]) -> std::result::Result<(), Undecodable> {
    let other = |e: arrow::error::ArrowError| Undecodable::Other(e.to_string());
    let mut decoder = json_decoding(schema).build_decoder().map_err(other)?;
    decoder.decode(line).map_err(other)?;
    let Some(batch) = decoder.flush().map_err(other)? else {
        return Ok(());
    };
    parse_numbers(batch, schema)
        .map(|_| ())
        .map_err(Undecodable::Inexact)
}

/// The path (`a[].b`) of the first field of the JSON record `line` that
/// `schema` lacks, looking through lists and into structs.
fn unknown_field(line: &[u8], schema: &SchemaRef) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    unknown_under(&value, schema.fields(), "")
}

fn unknown_under(value: &serde_json::Value, fields: &Fields, prefix: &str) -> Option<String> {
    let object = value.as_object()?;
    object.iter().find_map(|(key, value)| {
        let path = format!("{prefix}{key}");
        let Some(field) = fields.iter().find(|f| f.name() == key) else {
            return Some(path);
        };
        unknown_in(value, field.data_type(), &path)
    })
}

fn unknown_in(value: &serde_json::Value, data_type: &DataType, path: &str) -> Option<String> {
    match (value, data_type) {
        (serde_json::Value::Object(_), DataType::Struct(fields)) => {
            unknown_under(value, fields, &format!("{path}."))
        }
        (
            serde_json::Value::Array(items),
            DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item),
        ) => {
            let path = format!("{path}[]");
            items
                .iter()
                .find_map(|value| unknown_in(value, item.data_type(), &path))
        }
        _ => None,
    }
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
    use crate::input::{Compression, FileFormat};

    const PLAIN: FileFormat = FileFormat::Jsonl(Compression::None);

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(f.path(), text).unwrap_or_else(|e| panic!("{e}"));
        f
    }

    fn input(f: &tempfile::NamedTempFile) -> InputFile {
        InputFile {
            path: f.path().to_path_buf(),
            format: PLAIN,
        }
    }

    /// The first bad line of one JSON input, among its first `records`.
    fn bad_line_of(f: &tempfile::NamedTempFile, records: usize) -> Option<BadLine> {
        first_uninferable(&[&input(f)], &MixedFields::default(), records)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|(at, reason)| {
                assert_eq!(at.input, 0);
                (at.line, reason)
            })
    }

    #[test]
    fn names_the_line_that_is_not_json_blank_lines_counted() {
        let f = file("{\"a\":1}\n\n{\"a\":2}\n{bad\n{\"a\":3}\n");
        let found = bad_line_of(&f, 1000);
        let (line, reason) = found.unwrap_or_else(|| panic!("not found"));
        assert_eq!(line, 4);
        assert!(reason.starts_with("column 2: not valid JSON"), "{reason}");
        let f = file("{\"a\":1}\n[1, 2]\n");
        let found = bad_line_of(&f, 1000);
        assert_eq!(found, Some((2, "not a JSON object".to_owned())));
    }

    /// Columns count the line as stored, raw control characters as one
    /// byte; a line cut off names no column.
    #[test]
    fn columns_are_of_the_stored_line_and_a_cut_line_says_so() {
        let f = file("{\"a\":\"x\\ty\"}\n{\"a\":\"\t\t\", bad}\n");
        let found = bad_line_of(&f, 1000);
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
            let found = bad_line_of(&f, 1000);
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
        let found = bad_line_of(&f, 1000);
        assert_eq!(found.map(|(line, _)| line), Some(4));
        // Only the records inference reads are looked at.
        let found = bad_line_of(&f, 2);
        assert_eq!(found, None);
    }

    /// Across inputs: the input whose records first conflict with those
    /// read before them (the first `records` of each), then the record.
    #[test]
    fn names_the_input_and_line_whose_type_conflicts_across_inputs() {
        let a = file("{\"a\":\"x\"}\n{\"b\":1}\n{\"a\":{\"c\":1}}\n");
        let b = file("{\"b\":2}\n{\"a\":\"y\"}\n");
        let c = file("\n{\"b\":3}\n\n{\"a\":{\"c\":2}}\n");
        let inputs = [&input(&a), &input(&b), &input(&c)];
        let found = |records| {
            first_uninferable(&inputs, &MixedFields::default(), records)
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|(at, _)| at)
        };
        // `a`'s third record is past the first 2 read of it.
        assert_eq!(found(2), Some(RecordAt { input: 2, line: 4 }));
        assert_eq!(found(3), Some(RecordAt { input: 0, line: 3 }));
        assert_eq!(found(1), None);
        // A syntax error of a later input is named too.
        let d = file("{\"a\":\"z\"}\n{oops\n");
        let inputs = [&input(&b), &input(&d)];
        let found = first_uninferable(&inputs, &MixedFields::default(), 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            found.map(|(at, _)| at),
            Some(RecordAt { input: 1, line: 2 })
        );
    }

    /// A JSON Lines file with no mixed fields, as `first_undecodable`
    /// reads it.
    fn plain_info(path: &std::path::Path) -> FileInfo {
        FileInfo {
            path: path.to_path_buf(),
            format: PLAIN,
            bytes: 0,
            rows: None,
            row_groups: Vec::new(),
            parquet: None,
            ipc: None,
            mixed: MixedFields::default(),
        }
    }

    #[test]
    fn names_the_first_line_that_does_not_decode_from_a_record_on() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        // A number under a text column reads as its text; an object or a
        // list does not decode.
        let f = file("{\"a\":{}}\n{\"a\":1.50}\n\n{\"a\":[1]}\n");
        let info = plain_info(f.path());
        let at = |from| {
            first_undecodable(&info, &schema, from)
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|(line, _)| line)
        };
        assert_eq!(at(0), Some(1));
        assert_eq!(at(1), Some(4));
        assert_eq!(at(3), None);
    }

    /// A field the schema lacks is named by its path, lists looked
    /// through; the decoder (strict) stops at it.
    #[test]
    fn names_a_field_the_schema_lacks_by_its_path() {
        let turn = Field::new(
            "item",
            DataType::Struct(vec![Field::new("role", DataType::Utf8, true)].into()),
            true,
        );
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("messages", DataType::List(Arc::new(turn)), true),
        ]));
        let f = file(concat!(
            "{\"id\":1,\"messages\":[{\"role\":\"user\"}]}\n",
            "{\"id\":2,\"messages\":[{\"role\":\"user\"},{\"role\":\"tool\",\"name\":\"f\"}]}\n",
            "{\"id\":3,\"tools\":[]}\n",
        ));
        let info = plain_info(f.path());
        let at = |from| first_undecodable(&info, &schema, from).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            at(0),
            Some((2, Undecodable::UnknownField("messages[].name".into())))
        );
        assert_eq!(at(2), Some((3, Undecodable::UnknownField("tools".into()))));
        assert_eq!(
            unknown_field(br#"{"id":1,"messages":null,"x":{"y":1}}"#, &schema),
            Some("x".into())
        );
        assert_eq!(unknown_field(br#"{"id":1,"messages":[]}"#, &schema), None);
    }
}
