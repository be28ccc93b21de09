//! JSON files holding one array of records (LLaVA's
//! `llava_v1_5_mix665k.json`, ShareGPT dumps), read as JSON Lines: a
//! streaming rewrite puts each element of the top-level array on a line of
//! its own, so every JSON Lines path (schema inference, decoding, the
//! search for a bad record) reads them unchanged, line N being element N.
//! Nothing is held but the read buffers, however large the array.

use std::io::{self, BufRead, Read};

/// The UTF-8 byte-order mark some tools write first.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether `start`, the first bytes of a JSON file, opens an array: after
/// an optional UTF-8 byte-order mark and whitespace, a `[`.
pub(crate) fn opens_array(start: &[u8]) -> bool {
    let start = start.strip_prefix(UTF8_BOM).unwrap_or(start);
    start
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'[')
}

/// The elements of the JSON array read from `inner`, one per line.
///
/// Byte for byte: the opening `[` (and the byte-order mark and whitespace
/// before it) is dropped, the commas between elements and the closing `]`
/// become line feeds, and line breaks outside strings (whitespace in
/// JSON) become spaces, so a pretty-printed element stays on one line.
/// Every other byte, strings included, passes as it is, so an invalid
/// element stays invalid and the JSON reader reports it at its line. What
/// the reader could not see is an error of the read itself
/// ([`io::ErrorKind::InvalidData`], naming the element): an array cut off
/// before its `]`, text after it, an empty element (`,,` or `,]`) and two
/// elements without a `,` between them.
pub(crate) struct ArrayElements<R> {
    inner: R,
    scan: Scan,
}

/// Where the rewrite stands.
#[derive(Debug, Default)]
struct Scan {
    array: Array,
    /// Brackets and braces open within the current element.
    depth: u64,
    string: StringState,
    /// The current element, 1-based.
    element: u64,
    value: Value,
    /// The first structural error, returned once the bytes before it are.
    error: Option<String>,
}

/// Where the rewrite stands in the top-level array.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Array {
    /// Its `[` is still to come.
    #[default]
    Before,
    Inside,
    /// Its `]` has been read.
    After,
}

/// Where the rewrite stands in a JSON string.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum StringState {
    #[default]
    Outside,
    Inside,
    /// Inside, right after a backslash.
    Escaped,
}

/// How much of the current element's value has been read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// None of it.
    #[default]
    Empty,
    /// An object, array or string, still open.
    Open,
    /// A number or literal, maybe not over.
    Scalar,
    /// All of it.
    Done,
}

impl<R: BufRead> ArrayElements<R> {
    /// Reads the array from `inner`, which must start as [`opens_array`]
    /// says.
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            scan: Scan {
                element: 1,
                ..Scan::default()
            },
        }
    }
}

impl Scan {
    /// Rewrites a prefix of `input` into `out` (each input byte gives at
    /// most one output byte), stopping at a structural error; returns the
    /// bytes used and written.
    fn rewrite(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let (mut used, mut written) = (0, 0);
        while used < input.len() && written < out.len() && self.error.is_none() {
            if self.string == StringState::Inside {
                // Text, most of a record: copied up to its next quote or
                // backslash at once.
                let room = (input.len() - used).min(out.len() - written);
                let from = &input[used..used + room];
                let run = memchr::memchr2(b'"', b'\\', from).unwrap_or(room);
                out[written..written + run].copy_from_slice(&from[..run]);
                used += run;
                written += run;
                if run == room {
                    continue;
                }
            }
            match self.step(input[used]) {
                Ok(Some(b)) => {
                    out[written] = b;
                    written += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
            used += 1;
        }
        (used, written)
    }

    /// The byte `b` becomes, if any; an error names what is wrong where.
    fn step(&mut self, b: u8) -> Result<Option<u8>, String> {
        if self.array == Array::Before {
            if b == b'[' {
                self.array = Array::Inside;
            }
            return Ok(None);
        }
        match self.string {
            StringState::Outside => {}
            StringState::Escaped => {
                self.string = StringState::Inside;
                return Ok(Some(b));
            }
            StringState::Inside => {
                match b {
                    b'"' => {
                        self.string = StringState::Outside;
                        if self.depth == 0 {
                            self.value = Value::Done;
                        }
                    }
                    b'\\' => self.string = StringState::Escaped,
                    _ => {}
                }
                return Ok(Some(b));
            }
        }
        if self.array == Array::After {
            // JSON's whitespace (not `is_ascii_whitespace`, which takes
            // a form feed too).
            return if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                Ok(Some(b' '))
            } else {
                Err("text after the array's closing `]`".into())
            };
        }
        let at_top = self.depth == 0;
        match b {
            b'\n' | b'\r' | b' ' | b'\t' => {
                if self.value == Value::Scalar {
                    self.value = Value::Done;
                }
                return Ok(Some(if b == b'\t' { b } else { b' ' }));
            }
            b',' | b']' if at_top => return self.end_element(b == b']').map(|()| Some(b'\n')),
            b'}' | b']' => {
                // Unbalanced at the top: passed on for the reader to report.
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 && !at_top {
                    self.value = Value::Done;
                }
                return Ok(Some(b));
            }
            _ => {}
        }
        if at_top {
            // A value starts, or a scalar goes on.
            match (self.value, b) {
                (Value::Done, _) | (Value::Scalar, b'{' | b'[' | b'"') => {
                    return Err(self.at("another value follows with no `,` before it"));
                }
                (Value::Scalar, _) => {}
                (_, b'{' | b'[' | b'"') => self.value = Value::Open,
                _ => self.value = Value::Scalar,
            }
        }
        match b {
            b'"' => self.string = StringState::Inside,
            b'{' | b'[' => self.depth += 1,
            _ => {}
        }
        Ok(Some(b))
    }

    /// The current element ends at a `,` or at the array's `]` (`last`).
    fn end_element(&mut self, last: bool) -> Result<(), String> {
        // An empty element is one only after a `,` (element 2 on) or
        // before one: `[]` is an empty array.
        if self.value == Value::Empty && (!last || self.element > 1) {
            return Err(self.at(if last {
                "a `,` before the array's closing `]`"
            } else {
                "an empty element (`,` with no value before it)"
            }));
        }
        if last {
            self.array = Array::After;
        } else {
            self.element += 1;
            self.value = Value::Empty;
        }
        Ok(())
    }

    /// `reason`, at the current element.
    fn at(&self, reason: &str) -> String {
        format!("array element {}: {reason}", self.element)
    }

    /// The error of a read that found the end of the input here.
    fn at_end(&self) -> Option<String> {
        (self.array != Array::After)
            .then(|| self.at("the file ends before the array's closing `]` (cut off?)"))
    }
}

impl<R: BufRead> Read for ArrayElements<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(e) = &self.scan.error {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
            }
            let input = self.inner.fill_buf()?;
            if input.is_empty() {
                self.scan.error = self.scan.at_end();
                if self.scan.error.is_some() {
                    continue;
                }
                return Ok(0);
            }
            let (used, written) = self.scan.rewrite(input, out);
            self.inner.consume(used);
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> String {
        let mut out = String::new();
        ArrayElements::new(text.as_bytes())
            .read_to_string(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn tells_an_array_from_json_lines() {
        assert!(opens_array(b"[{\"a\": 1}]"));
        assert!(opens_array(b"\xEF\xBB\xBF \n\t[\n"));
        assert!(!opens_array(b"{\"a\": [1]}\n"));
        assert!(!opens_array(b"  \n"));
        assert!(!opens_array(b""));
    }

    #[test]
    fn each_element_on_a_line_of_its_own() {
        let pretty = "\u{feff}[\n  {\n    \"id\": \"a\",\n    \"turns\": [{\"v\": 1}, {\"v\": [2, 3]}]\n  },\n  {\"id\": \"b\"}\r\n]\n";
        assert_eq!(
            lines(pretty),
            "   {     \"id\": \"a\",     \"turns\": [{\"v\": 1}, {\"v\": [2, 3]}]   }\n   {\"id\": \"b\"}  \n "
        );
        assert_eq!(lines("[]"), "\n");
        assert_eq!(lines("[{\"a\":1},{\"a\":2}]"), "{\"a\":1}\n{\"a\":2}\n");
    }

    #[test]
    fn strings_pass_unchanged() {
        // Brackets, commas and escaped quotes inside strings are text.
        let text = r#"[{"s": "a, ] [ } \" \\", "t": "\n,"}, {"u": "\\"}]"#;
        assert_eq!(
            lines(text),
            "{\"s\": \"a, ] [ } \\\" \\\\\", \"t\": \"\\n,\"}\n {\"u\": \"\\\\\"}\n"
        );
    }

    /// The error a read of `text` ends with.
    fn error_of(text: &str) -> String {
        let mut out = String::new();
        match ArrayElements::new(text.as_bytes()).read_to_string(&mut out) {
            Ok(_) => panic!("{text:?} read as {out:?}"),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
                e.to_string()
            }
        }
    }

    #[test]
    fn what_the_lines_would_hide_is_an_error() {
        let cut = "the file ends before the array's closing `]` (cut off?)";
        let no_comma = "another value follows with no `,` before it";
        for (text, want) in [
            (r#"[{"a": 1}, {"a": 2}"#, format!("array element 2: {cut}")),
            (r#"[{"a": 1},"#, format!("array element 2: {cut}")),
            (r#"[{"a": "x]"#, format!("array element 1: {cut}")),
            ("[", format!("array element 1: {cut}")),
            (
                r#"[{"a": 1}] {"a": 2}"#,
                "text after the array's closing `]`".into(),
            ),
            (
                r#"[{"a": 1},]"#,
                "array element 2: a `,` before the array's closing `]`".into(),
            ),
            (
                r#"[{"a": 1},, {"a": 2}]"#,
                "array element 2: an empty element (`,` with no value before it)".into(),
            ),
            (
                "[, {}]",
                "array element 1: an empty element (`,` with no value before it)".into(),
            ),
            (
                r#"[{"a": 1}, {"a": 2} {"a": 3}]"#,
                format!("array element 2: {no_comma}"),
            ),
            (
                r#"[{"a": 1}, "s" {}]"#,
                format!("array element 2: {no_comma}"),
            ),
            ("[1 2]", format!("array element 1: {no_comma}")),
            ("[true\n[]]", format!("array element 1: {no_comma}")),
            ("[{}]\u{c}", "text after the array's closing `]`".into()),
        ] {
            assert_eq!(error_of(text), want, "{text:?}");
        }
        // Well-formed arrays of any values read; the reader then judges
        // each element.
        assert_eq!(lines("[1, \"s\", [2], {}]\n\n"), "1\n \"s\"\n [2]\n {}\n  ");
    }

    #[test]
    fn reads_through_any_buffer_size() {
        let text = r#"[{"a": "x,y \" ] \\"},
 {"a": [1, {"b": "\\\"{"}]}]"#;
        let whole = lines(text);
        for cap in 1..8 {
            let inner = io::BufReader::with_capacity(cap, text.as_bytes());
            let mut reader = ArrayElements::new(inner);
            let mut out = Vec::new();
            let mut chunk = [0u8; 3];
            loop {
                let n = reader.read(&mut chunk).unwrap_or_else(|e| panic!("{e}"));
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(String::from_utf8(out).unwrap_or_default(), whole, "{cap}");
        }
        assert_eq!(
            whole,
            "{\"a\": \"x,y \\\" ] \\\\\"}\n  {\"a\": [1, {\"b\": \"\\\\\\\"{\"}]}\n"
        );
    }
}
