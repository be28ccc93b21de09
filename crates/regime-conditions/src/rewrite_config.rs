//! Condition D's options, validated.

use regime_corpus::Role;
use regime_teacher::{LangChoice, Sampling};
use regime_text::ProtectedTokens;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What happens to a row when one of its fields cannot be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Keep the field's original text and flag it (the default).
    #[default]
    KeepOriginal,
    /// Drop the row (counted in the report).
    Drop,
    /// Stop the run with an error naming the row and field.
    Fail,
}

/// The default roles rewritten: user and assistant turns, captions, OCR
/// text. Never system prompts, metadata, images or ids.
pub const DEFAULT_REWRITE_ROLES: [Role; 4] =
    [Role::User, Role::Assistant, Role::Caption, Role::Ocr];

/// Han share at and above which `--lang auto` picks the Chinese template.
pub const DEFAULT_HAN_THRESHOLD: f64 = 0.3;

/// Options of a condition D run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RewriteConfig {
    /// Share of rows (in input order) forming D1, the part rewritten.
    pub split: f64,
    /// Roles whose fields are rewritten.
    pub roles: Vec<Role>,
    /// The teacher's model name.
    pub model: String,
    /// Template language choice.
    #[serde(serialize_with = "lang_choice")]
    pub lang: LangChoice,
    /// Sampling parameters.
    pub sampling: Sampling,
    /// Longest acceptable rewrite, as a multiple of the input's characters.
    pub max_growth: f64,
    /// Retries of a malformed answer (each with the next seed).
    pub malformed_retries: u32,
    /// What a failed field does to its row.
    pub on_failure: OnFailure,
    /// Extra request fields (validated).
    pub extra_body: Map<String, Value>,
    /// Rewrite only the first N rows of D1 (and write only them).
    pub limit: Option<u64>,
    /// Tokens kept out of the teacher's text besides the defaults
    /// (`<image>`, `<video>`, `<|…|>` specials; see `regime_text`).
    pub protect: Vec<String>,
}

fn lang_choice<S: serde::Serializer>(lang: &LangChoice, s: S) -> Result<S::Ok, S::Error> {
    match lang {
        LangChoice::Auto { threshold } => {
            s.serialize_str(&format!("auto (han share ≥ {threshold})"))
        }
        LangChoice::Fixed(l) => s.serialize_str(l.as_str()),
    }
}

impl RewriteConfig {
    /// Defaults for `model`: split 0.5, the default roles, auto language,
    /// [`Sampling::default`], growth ≤ 3×, 2 malformed retries,
    /// keep-original.
    #[must_use]
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            split: crate::DEFAULT_SPLIT,
            roles: DEFAULT_REWRITE_ROLES.to_vec(),
            model: model.into(),
            lang: LangChoice::Auto {
                threshold: DEFAULT_HAN_THRESHOLD,
            },
            sampling: Sampling::default(),
            max_growth: 3.0,
            malformed_retries: 2,
            on_failure: OnFailure::KeepOriginal,
            extra_body: Map::new(),
            limit: None,
            protect: Vec::new(),
        }
    }

    /// The tokens the teacher never rewrites: the defaults and `protect`.
    #[must_use]
    pub fn protected_tokens(&self) -> ProtectedTokens {
        ProtectedTokens::default().with_tokens(self.protect.iter().cloned())
    }

    /// Checks ranges.
    ///
    /// # Errors
    /// [`Error::Config`] naming the option.
    pub fn validate(&self) -> Result<()> {
        let config = |option, reason: &str| {
            Err(Error::Config {
                option,
                reason: reason.to_owned(),
            })
        };
        if !(self.split > 0.0 && self.split <= 1.0) {
            return config("--split", "must be in (0, 1]");
        }
        if self.roles.is_empty() {
            return config("--fields", "names no role");
        }
        if let LangChoice::Auto { threshold } = self.lang
            && !(0.0..=1.0).contains(&threshold)
        {
            return config("--han-threshold", "must be a share in [0, 1]");
        }
        if self.model.trim().is_empty() {
            return config("--model", "must not be empty");
        }
        if !(self.max_growth.is_finite() && self.max_growth > 0.0) {
            return config("--max-growth", "must be a positive number");
        }
        if !(self.sampling.temperature.is_finite() && self.sampling.temperature >= 0.0) {
            return config("--temperature", "must be ≥ 0");
        }
        if !(self.sampling.top_p > 0.0 && self.sampling.top_p <= 1.0) {
            return config("--top-p", "must be in (0, 1]");
        }
        if self.sampling.max_tokens_cap == 0 {
            return config("--max-tokens", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_option_out_of_range() {
        assert!(RewriteConfig::new("m").validate().is_ok());
        for (threshold, ok) in [(0.0, true), (1.0, true), (1.5, false), (-0.1, false)] {
            let mut c = RewriteConfig::new("m");
            c.lang = LangChoice::Auto { threshold };
            let result = c.validate();
            assert_eq!(result.is_ok(), ok, "{threshold}");
            if let Err(e) = result {
                assert!(e.to_string().starts_with("--han-threshold"), "{e}");
            }
        }
        let mut c = RewriteConfig::new("m");
        c.sampling.top_p = 2.0;
        assert!(c.validate().is_err());
    }
}
