//! The content `regime dedup exact` compares, shared with `regime profile`'s
//! exact-duplicate figures so that both count the same samples
//! (CORPUS.md "Corpus de-duplication": xxh3-128 of the normalised content
//! of the chosen fields).

use regime_text::content_hash;

/// A sample's exact-duplicate content: the normalised text of its chosen
/// fields in sample order, empty fields left out, the rest joined by
/// newlines. Role names are not part of it, so a user turn and a caption
/// with the same text are the same content. Empty content has no key: an
/// empty sample is never a duplicate of another empty one.
///
/// Reusable: [`Self::clear`] keeps the buffer.
#[derive(Debug, Clone, Default)]
pub struct ExactContent {
    text: String,
}

impl ExactContent {
    /// Empties the content, keeping its buffer.
    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// Appends one chosen field, already normalised (by
    /// [`crate::DedupConfig::normalizer`]); an empty one adds nothing.
    pub fn push_normalized(&mut self, field: &str) {
        if field.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(field);
    }

    /// The content so far.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The content, giving up the buffer.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }

    /// The exact-duplicate key, xxh3-128 of the content; `None` when the
    /// content is empty.
    #[must_use]
    pub fn key(&self) -> Option<u128> {
        (!self.text.is_empty()).then(|| content_hash(&self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_left_out_and_empty_content_has_no_key() {
        let mut a = ExactContent::default();
        assert_eq!(a.key(), None);
        a.push_normalized("");
        assert_eq!(a.key(), None);
        for f in ["hello world", "", "bye"] {
            a.push_normalized(f);
        }
        assert_eq!(a.as_str(), "hello world\nbye");
        let mut b = ExactContent::default();
        b.push_normalized("hello world");
        b.push_normalized("bye");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), Some(content_hash("hello world\nbye")));
        // One field holding both lines is another content.
        b.clear();
        b.push_normalized("hello world bye");
        assert_ne!(a.key(), b.key());
    }
}
