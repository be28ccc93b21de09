//! JSON files holding one array of records (LLaVA's
//! `llava_v1_5_mix665k.json`, ShareGPT dumps), read as JSON Lines: a
//! streaming rewrite puts each element of the top-level array on a line of
//! its own, so every JSON Lines path (schema inference, decoding, the
//! search for a bad record) reads them unchanged, line N being element N.
//! Nothing is held but the read buffers, however large the array.

use std::io::{self, BufRead, Read};

/// Whether `start`, the first bytes of a JSON file, opens an array: after
/// an optional UTF-8 byte-order mark and whitespace, a `[`.
pub(crate) fn opens_array(start: &[u8]) -> bool {
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
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
/// Every other byte, strings included, passes as it is: invalid JSON stays
/// invalid, and is reported by the JSON reader at its element.
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

impl<R: BufRead> ArrayElements<R> {
    /// Reads the array from `inner`, which must start as [`opens_array`]
    /// says.
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            scan: Scan::default(),
        }
    }
}

impl Scan {
    /// Rewrites a prefix of `input` into `out` (each input byte gives at
    /// most one output byte); returns the bytes used and written.
    fn rewrite(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let (mut used, mut written) = (0, 0);
        while used < input.len() && written < out.len() {
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
            if let Some(b) = self.step(input[used]) {
                out[written] = b;
                written += 1;
            }
            used += 1;
        }
        (used, written)
    }

    /// The byte `b` becomes, if any.
    fn step(&mut self, b: u8) -> Option<u8> {
        if self.array == Array::Before {
            if b == b'[' {
                self.array = Array::Inside;
            }
            return None;
        }
        match self.string {
            StringState::Outside => {}
            StringState::Escaped => {
                self.string = StringState::Inside;
                return Some(b);
            }
            StringState::Inside => {
                match b {
                    b'"' => self.string = StringState::Outside,
                    b'\\' => self.string = StringState::Escaped,
                    _ => {}
                }
                return Some(b);
            }
        }
        Some(match b {
            b'"' => {
                self.string = StringState::Inside;
                b
            }
            b'{' | b'[' => {
                self.depth += 1;
                b
            }
            b'}' | b']' if self.depth > 0 => {
                self.depth -= 1;
                b
            }
            b']' | b',' if self.depth == 0 && self.array == Array::Inside => {
                if b == b']' {
                    self.array = Array::After;
                }
                b'\n'
            }
            b'\n' | b'\r' => b' ',
            _ => b,
        })
    }
}

impl<R: BufRead> Read for ArrayElements<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            if input.is_empty() {
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
