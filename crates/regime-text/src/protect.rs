//! Protected tokens: spans of text that are never split, removed or rewritten.
//!
//! By default `<image>`, `<video>` and every `<|…|>` special (no whitespace
//! and no `<`/`>` inside, at most [`MAX_SPECIAL_LEN`] bytes in all) are
//! protected; [`ProtectedTokens::with_token`] adds literal tokens.

/// Literal tokens protected by [`ProtectedTokens::default`].
pub const DEFAULT_PROTECTED: &[&str] = &["<image>", "<video>"];

/// Longest `<|…|>` special recognised, in bytes, delimiters included.
pub const MAX_SPECIAL_LEN: usize = 64;

/// A set of protected tokens and the matcher that finds them in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedTokens {
    /// Literal tokens, longest first so the longest match wins.
    literals: Vec<String>,
    /// Whether `<|…|>` specials are protected.
    specials: bool,
    /// Bytes that can start a protected token.
    first: [bool; 256],
    /// The only byte that can start one, when there is exactly one (the
    /// default set: `<`), searched for with `memchr`.
    only_first: Option<u8>,
}

impl Default for ProtectedTokens {
    /// [`DEFAULT_PROTECTED`] plus `<|…|>` specials.
    fn default() -> Self {
        DEFAULT_PROTECTED
            .iter()
            .fold(Self::none().with_specials(true), |p, t| p.with_token(*t))
    }
}

/// One piece of a text: either a protected token or the plain text between
/// protected tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<'t> {
    /// The text of the span.
    pub text: &'t str,
    /// Byte offset of the span in the original text.
    pub start: usize,
    /// Whether the span is a protected token.
    pub protected: bool,
}

impl ProtectedTokens {
    /// Nothing protected, not even `<|…|>` specials.
    #[must_use]
    pub fn none() -> Self {
        Self {
            literals: Vec::new(),
            specials: false,
            first: [false; 256],
            only_first: None,
        }
    }

    fn with_first_updated(mut self) -> Self {
        let mut starts = (0..=255u8).filter(|&b| self.first[usize::from(b)]);
        self.only_first = match (starts.next(), starts.next()) {
            (Some(b), None) if b.is_ascii() => Some(b),
            _ => None,
        };
        self
    }

    /// Protects one more literal token (ignored when empty). Default: only
    /// [`DEFAULT_PROTECTED`].
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        if let Some(&b) = token.as_bytes().first()
            && !self.literals.contains(&token)
        {
            self.first[usize::from(b)] = true;
            self.literals.push(token);
            self.literals
                .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }
        self.with_first_updated()
    }

    /// Protects each of `tokens` too (see [`Self::with_token`]).
    #[must_use]
    pub fn with_tokens<T: Into<String>>(self, tokens: impl IntoIterator<Item = T>) -> Self {
        tokens.into_iter().fold(self, Self::with_token)
    }

    /// Whether `<|…|>` specials are protected. Default: `true`.
    #[must_use]
    pub fn with_specials(mut self, on: bool) -> Self {
        self.specials = on;
        if on {
            self.first[usize::from(b'<')] = true;
        } else {
            self.first[usize::from(b'<')] = self.literals.iter().any(|l| l.starts_with('<'));
        }
        self.with_first_updated()
    }

    /// The literal tokens, longest first.
    #[must_use]
    pub fn literals(&self) -> &[String] {
        &self.literals
    }

    /// Length in bytes of the protected token starting at byte `pos` of
    /// `text`, if one starts there.
    #[must_use]
    pub fn match_at(&self, text: &str, pos: usize) -> Option<usize> {
        let rest = text.get(pos..)?;
        let &b = rest.as_bytes().first()?;
        if !self.first[usize::from(b)] {
            return None;
        }
        if let Some(lit) = self.literals.iter().find(|l| rest.starts_with(l.as_str())) {
            return Some(lit.len());
        }
        if self.specials && rest.starts_with("<|") {
            let window = &rest.as_bytes()[2..rest.len().min(MAX_SPECIAL_LEN)];
            for (i, &c) in window.iter().enumerate() {
                match c {
                    b'|' if window.get(i + 1) == Some(&b'>') && i > 0 => return Some(i + 4),
                    b'<' | b'>' => return None,
                    c if c.is_ascii_whitespace() => return None,
                    _ => {}
                }
            }
        }
        None
    }

    /// Whether `text` contains a protected token.
    #[must_use]
    pub fn contains(&self, text: &str) -> bool {
        self.spans(text).any(|s| s.protected)
    }

    /// Splits `text` into protected tokens and the plain spans between them,
    /// in order; empty plain spans are skipped.
    #[must_use]
    pub fn spans<'a, 't>(&'a self, text: &'t str) -> Spans<'a, 't> {
        Spans {
            protected: self,
            text,
            pos: 0,
            pending: None,
        }
    }

    /// Byte offset of the next protected token at or after `from`, with its
    /// length.
    fn next_match(&self, text: &str, from: usize) -> Option<(usize, usize)> {
        if let Some(b) = self.only_first {
            let mut i = from;
            // `memchr` (SIMD) rather than `str::find`, whose byte search is
            // a word-at-a-time loop; most texts hold no `<` at all.
            while let Some(at) = text.as_bytes().get(i..).and_then(|t| memchr::memchr(b, t)) {
                if let Some(len) = self.match_at(text, i + at) {
                    return Some((i + at, len));
                }
                i += at + 1;
            }
            return None;
        }
        let bytes = text.as_bytes();
        let mut i = from;
        while i < bytes.len() {
            if self.first[usize::from(bytes[i])]
                && let Some(len) = self.match_at(text, i)
            {
                return Some((i, len));
            }
            i += 1;
        }
        None
    }
}

/// Iterator over the [`Span`]s of a text; see [`ProtectedTokens::spans`].
#[derive(Debug)]
pub struct Spans<'a, 't> {
    protected: &'a ProtectedTokens,
    text: &'t str,
    pos: usize,
    pending: Option<(usize, usize)>,
}

impl<'t> Iterator for Spans<'_, 't> {
    type Item = Span<'t>;

    fn next(&mut self) -> Option<Span<'t>> {
        loop {
            if let Some((start, len)) = self.pending.take() {
                self.pos = start + len;
                return Some(Span {
                    text: &self.text[start..start + len],
                    start,
                    protected: true,
                });
            }
            if self.pos >= self.text.len() {
                return None;
            }
            let start = self.pos;
            let Some((m, len)) = self.protected.next_match(self.text, start) else {
                self.pos = self.text.len();
                return Some(Span {
                    text: &self.text[start..],
                    start,
                    protected: false,
                });
            };
            self.pending = Some((m, len));
            if m > start {
                self.pos = m;
                return Some(Span {
                    text: &self.text[start..m],
                    start,
                    protected: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &ProtectedTokens, text: &str) -> Vec<(String, bool)> {
        p.spans(text)
            .map(|s| (s.text.to_owned(), s.protected))
            .collect()
    }

    #[test]
    fn default_protects_image_video_and_specials() {
        let p = ProtectedTokens::default();
        assert_eq!(
            parts(&p, "<image>\nhi<|im_start|>x<video>"),
            vec![
                ("<image>".into(), true),
                ("\nhi".into(), false),
                ("<|im_start|>".into(), true),
                ("x".into(), false),
                ("<video>".into(), true),
            ]
        );
    }

    #[test]
    fn specials_reject_whitespace_and_empty() {
        let p = ProtectedTokens::default();
        assert!(!p.contains("<| a |>"));
        assert!(!p.contains("<||>"));
        assert!(p.contains("a<|endoftext|>b"));
        assert_eq!(p.match_at("<|x|>", 0), Some(5));
    }

    #[test]
    fn configurable_literal_longest_first() {
        let p = ProtectedTokens::none()
            .with_token("[IMG]")
            .with_token("[IMG]X");
        assert_eq!(p.match_at("[IMG]X y", 0), Some(6));
        assert!(!p.contains("<image>"));
    }

    #[test]
    fn spans_cover_text_exactly() {
        let p = ProtectedTokens::default();
        let text = "a<image><image>b <|x|>";
        let joined: String = p.spans(text).map(|s| s.text).collect();
        assert_eq!(joined, text);
    }
}
