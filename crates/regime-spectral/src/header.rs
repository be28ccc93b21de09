//! Plain-words diagnosis of a safetensors file the parser rejected.
//!
//! `safetensors` reports header problems as bare enum variants, some without
//! the tensor at fault (`TensorInvalidInfo`) and some with the wrong cause
//! (an unknown dtype is a JSON deserialisation error). When it fails, the
//! header is read again here, leniently, to say what is wrong and with which
//! tensor.

use safetensors::{Dtype, SafeTensorError};
use serde_json::{Map, Value};

/// The header length field: 8 bytes, little-endian, before the JSON header.
const LENGTH_FIELD: usize = 8;
/// `safetensors`' own limit on the header size.
const MAX_HEADER: u64 = 100_000_000;

/// One line saying why `file` (the whole safetensors file) was rejected with `error`.
pub(crate) fn diagnose(file: &[u8], error: &SafeTensorError) -> String {
    use SafeTensorError as E;
    let declared = file
        .get(..LENGTH_FIELD)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes);
    // A real length field under the 100 MB cap has zero high bytes; JSON
    // text has none.
    let json = file.trim_ascii_start().first() == Some(&b'{')
        && !file.iter().take(LENGTH_FIELD).any(|&b| b == 0);
    if json {
        return "a JSON file, not safetensors (for a sharded model give its directory or \
                its model.safetensors.index.json)"
            .to_owned();
    }
    match (error, declared) {
        (E::HeaderTooSmall, _) | (_, None) => format!(
            "file is {} bytes, shorter than the 8-byte header length field",
            file.len()
        ),
        (E::HeaderTooLarge | E::InvalidHeaderLength, Some(n)) => {
            let available = file.len().saturating_sub(LENGTH_FIELD);
            if n > MAX_HEADER {
                format!("header length field says {n} bytes, over the 100000000-byte limit")
            } else {
                format!(
                    "header length field says {n} bytes but only {available} follow (truncated file?)"
                )
            }
        }
        (E::InvalidHeader(_), _) => {
            "header is not UTF-8 text: a tensor name or metadata value is not UTF-8".to_owned()
        }
        (E::InvalidHeaderDeserialization(e), Some(n)) => match header(file, n) {
            Some(Value::Object(entries)) => find_entry_problem(&entries)
                .unwrap_or_else(|| format!("header does not follow the safetensors layout: {e}")),
            Some(_) => "header is JSON but not an object of tensors".to_owned(),
            None => format!("header is not valid JSON: {e}"),
        },
        (E::InvalidOffset(name), _) => format!(
            "tensor {name}: data offsets do not start where the previous tensor ends: \
             overlapping, out of order or with a gap"
        ),
        (E::TensorInvalidInfo | E::ValidationOverflow | E::MisalignedSlice, Some(n)) => {
            match header(file, n) {
                Some(Value::Object(entries)) => find_size_problem(&entries),
                _ => None,
            }
            .unwrap_or_else(|| format!("a tensor's shape, dtype and offsets disagree ({error})"))
        }
        (E::MetadataIncompleteBuffer, Some(n)) => {
            let data = (file.len() as u64).saturating_sub(LENGTH_FIELD as u64 + n);
            let end = match header(file, n) {
                Some(Value::Object(entries)) => entries
                    .values()
                    .filter_map(|v| offsets(v).map(|(_, e)| e))
                    .max(),
                _ => None,
            };
            match end {
                Some(end) if end > data => format!(
                    "tensors need {end} data bytes but the file holds {data} (truncated file?)"
                ),
                Some(end) => format!(
                    "{} stray bytes after the last tensor's data: the file holds {data}, tensors end at {end}",
                    data - end
                ),
                None => "data section does not match the header (truncated file?)".to_owned(),
            }
        }
        (other, _) => other.to_string(),
    }
}

/// The header's JSON, if the length field and the bytes allow reading it.
fn header(file: &[u8], n: u64) -> Option<Value> {
    let end = usize::try_from(n).ok()?.checked_add(LENGTH_FIELD)?;
    let text = std::str::from_utf8(file.get(LENGTH_FIELD..end)?).ok()?;
    serde_json::from_str(text).ok()
}

/// The tensor entries of a header, without `__metadata__`, in name order.
fn tensors(entries: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    entries.iter().filter(|(name, _)| *name != "__metadata__")
}

fn offsets(entry: &Value) -> Option<(u64, u64)> {
    match entry.get("data_offsets")?.as_array()?.as_slice() {
        [s, e] => Some((s.as_u64()?, e.as_u64()?)),
        _ => None,
    }
}

fn shape(entry: &Value) -> Option<Vec<u64>> {
    entry
        .get("shape")?
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect()
}

/// The first entry the parser cannot read: not an object, an unknown dtype,
/// or a missing or mistyped `shape` / `data_offsets`.
fn find_entry_problem(entries: &Map<String, Value>) -> Option<String> {
    tensors(entries).find_map(|(name, entry)| {
        if !entry.is_object() {
            return Some(format!("tensor {name}: entry is not a JSON object"));
        }
        let Some(dtype) = entry.get("dtype").and_then(Value::as_str) else {
            return Some(format!("tensor {name}: no dtype string"));
        };
        if serde_json::from_value::<Dtype>(Value::String(dtype.to_owned())).is_err() {
            return Some(format!("tensor {name}: unknown dtype {dtype:?}"));
        }
        if shape(entry).is_none() {
            return Some(format!(
                "tensor {name}: shape is not a list of non-negative integers"
            ));
        }
        offsets(entry)
            .is_none()
            .then(|| format!("tensor {name}: data_offsets is not a pair of non-negative integers"))
    })
}

/// The first entry whose byte range does not fit its shape and dtype.
fn find_size_problem(entries: &Map<String, Value>) -> Option<String> {
    tensors(entries).find_map(|(name, entry)| {
        let dtype_name = entry.get("dtype")?.as_str()?;
        let dtype: Dtype = serde_json::from_value(Value::String(dtype_name.to_owned())).ok()?;
        let dims = shape(entry)?;
        let (s, e) = offsets(entry)?;
        let bits = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .and_then(|count| count.checked_mul(u64::try_from(dtype.bitsize()).ok()?));
        let Some(bits) = bits else {
            return Some(format!("tensor {name}: shape {dims:?} is too large"));
        };
        if !bits.is_multiple_of(8) {
            return Some(format!(
                "tensor {name}: shape {dims:?} of {dtype_name} is not a whole number of bytes"
            ));
        }
        let need = bits / 8;
        (e < s || e - s != need).then(|| {
            format!(
                "tensor {name}: shape {dims:?} of {dtype_name} needs {need} bytes \
                 but its data_offsets [{s}, {e}] span {}",
                e.saturating_sub(s)
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with this JSON header and `data` bytes of data.
    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut f = (header.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(header.as_bytes());
        f.resize(f.len() + data, 0);
        f
    }

    fn message(f: &[u8]) -> String {
        let e = safetensors::SafeTensors::read_metadata(f).expect_err("rejected");
        diagnose(f, &e)
    }

    #[test]
    fn each_header_problem_is_named_in_plain_words() {
        let unknown = file(
            r#"{"w":{"dtype":"WHAT","shape":[2,2],"data_offsets":[0,16]}}"#,
            16,
        );
        assert_eq!(message(&unknown), r#"tensor w: unknown dtype "WHAT""#);

        let shape_lie = file(
            r#"{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}"#,
            16,
        );
        assert_eq!(
            message(&shape_lie),
            "tensor w: shape [3, 2] of F32 needs 24 bytes but its data_offsets [0, 16] span 16"
        );

        let overlap = file(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            12,
        );
        let m = message(&overlap);
        assert!(m.starts_with("tensor b: data offsets"), "{m}");

        // JSON text is named as such; a length field whose low byte is `{`
        // is still a length field.
        assert!(message(b"{\"weight_map\": {}}").starts_with("a JSON file, not safetensors"));
        let brace = file(&format!("{{{}}}", " ".repeat(121)), 0);
        assert_eq!(brace[0], b'{');
        assert!(!message(&brace[..100]).contains("JSON file"));

        let mut huge = file("{}", 0);
        huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(message(&huge).contains("over the 100000000-byte limit"));

        let not_json = file("{not json", 0);
        assert!(message(&not_json).starts_with("header is not valid JSON: "));

        let extra = file(
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            12,
        );
        assert_eq!(
            message(&extra),
            "4 stray bytes after the last tensor's data: the file holds 12, tensors end at 8"
        );
        let short = file(
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            4,
        );
        assert_eq!(
            message(&short),
            "tensors need 8 data bytes but the file holds 4 (truncated file?)"
        );
        assert!(message(&[1, 2, 3]).contains("shorter than the 8-byte"));
        for m in [&unknown, &shape_lie, &overlap, &huge, &not_json, &extra] {
            let text = message(m);
            assert!(!text.contains('\n') && !text.contains("(\""), "{text}");
        }
    }
}
