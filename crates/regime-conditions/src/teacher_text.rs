//! What of a field the teacher sees. Protected tokens (`<image>`, `<|…|>`
//! specials, …) are not text to rewrite: a teacher asked to rewrite
//! `"<image>\nwhat is the blue shape?"` may drop, move or translate the
//! token, and a LLaVA turn without its `<image>` no longer lines up with
//! its image. So the tokens at either end of a field, with the whitespace
//! that joins them to the text, stay out of the request and are put back
//! around the rewrite; tokens inside the text are sent, and a rewrite that
//! does not keep them, in order, is malformed.

use regime_text::ProtectedTokens;

/// A field cut into the part sent to the teacher and what stays around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TeacherText<'t> {
    /// Protected tokens and whitespace before the text.
    pub(crate) head: &'t str,
    /// The text to rewrite: from its first to its last character outside
    /// a protected token that is not whitespace (empty when there is none).
    pub(crate) body: &'t str,
    /// Whitespace and protected tokens after it.
    pub(crate) tail: &'t str,
}

impl<'t> TeacherText<'t> {
    /// Cuts `text` around its body.
    pub(crate) fn of(protected: &ProtectedTokens, text: &'t str) -> Self {
        let mut start = None;
        let mut end = 0;
        for span in protected.spans(text) {
            if span.protected {
                continue;
            }
            let trimmed = span.text.trim_start();
            if trimmed.is_empty() {
                continue;
            }
            let lead = span.text.len() - trimmed.len();
            start.get_or_insert(span.start + lead);
            end = span.start + span.text.trim_end().len();
        }
        let start = start.unwrap_or(text.len());
        let end = end.max(start);
        Self {
            head: &text[..start],
            body: &text[start..end],
            tail: &text[end..],
        }
    }

    /// The field with `rewrite` in place of the body.
    pub(crate) fn around(&self, rewrite: &str) -> String {
        [self.head, rewrite, self.tail].concat()
    }
}

/// Whether `rewrite` holds the same protected tokens as `body`, in the
/// same order (and no others).
pub(crate) fn keeps_protected(protected: &ProtectedTokens, body: &str, rewrite: &str) -> bool {
    let tokens = |text| {
        protected
            .spans(text)
            .filter(|s| s.protected)
            .map(|s| s.text)
    };
    tokens(body).eq(tokens(rewrite))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> (&str, &str, &str) {
        let t = TeacherText::of(&ProtectedTokens::default(), text);
        (t.head, t.body, t.tail)
    }

    #[test]
    fn tokens_at_either_end_stay_out_of_the_body() {
        assert_eq!(
            cut("<image>\nwhat is the blue shape?"),
            ("<image>\n", "what is the blue shape?", "")
        );
        assert_eq!(
            cut("  Describe it. <image> <|eot_id|>\n"),
            ("  ", "Describe it.", " <image> <|eot_id|>\n")
        );
        assert_eq!(
            cut("<image><video> a <image> b <video>"),
            ("<image><video> ", "a <image> b", " <video>")
        );
        assert_eq!(cut("plain"), ("", "plain", ""));
    }

    #[test]
    fn a_field_of_tokens_and_whitespace_has_no_body() {
        assert_eq!(cut("<image>\n "), ("<image>\n ", "", ""));
        assert_eq!(cut(" \n"), (" \n", "", ""));
        assert_eq!(cut(""), ("", "", ""));
    }

    #[test]
    fn the_rewrite_goes_back_between_head_and_tail() {
        let t = TeacherText::of(&ProtectedTokens::default(), "<image>\nwhat shape? ");
        assert_eq!(t.around("Which shape?"), "<image>\nWhich shape? ");
    }

    #[test]
    fn inner_tokens_must_survive_in_order() {
        let p = ProtectedTokens::default();
        let body = "compare <image> with <video> now";
        assert!(keeps_protected(&p, body, "set <image> against <video>"));
        assert!(!keeps_protected(&p, body, "set <video> against <image>"));
        assert!(!keeps_protected(&p, body, "set the image against <video>"));
        assert!(!keeps_protected(&p, body, "<image> <image> <video>"));
        assert!(keeps_protected(&p, "no tokens", "still none"));
        assert!(!keeps_protected(&p, "no tokens", "one <|im_end|>"));
    }
}
