//! The rewrite prompts: the paper's English template, its Chinese
//! translation, user replacements, and the language choice per text.

use crate::error::{Error, Result};

/// The paper's rewrite prompt, verbatim (PAPER.md); `{text}` is the text.
pub const EN_TEMPLATE: &str = "Please rewrite the following content according to these instructions:
1. First, classify the content as [Text], [Exercise], or [Code].
2. If it is [Text], try to use very simple words and sentences to express the same meaning.
3. If it is [Code], rewrite it in JavaScript format.
4. If it is [Exercise], output it exactly as it is without any changes.
5. Keep formatting symbols in the original text, such as '\\n', and do not change formatting based on them.
6. Do not add extra content or modify the original data.
7. Only output the rewritten content; do not mention the classification result.
8. Format the output as: <output> your output </output>.
Content to rewrite: {text}";

/// A faithful Chinese translation of the same eight rules (the paper uses a
/// Chinese variant but does not print it). The `<output>` tags stay as they
/// are: the answer is parsed by them.
pub const ZH_TEMPLATE: &str = "请按照以下要求改写下面的内容：
1. 首先，将内容归类为 [文本]、[习题] 或 [代码]。
2. 如果是 [文本]，请尽量用非常简单的词语和句子表达相同的意思。
3. 如果是 [代码]，请将其改写为 JavaScript 格式。
4. 如果是 [习题]，请原样输出，不做任何修改。
5. 保留原文中的格式符号，例如 '\\n'，不要根据这些符号改变格式。
6. 不要添加额外内容，也不要修改原始数据。
7. 只输出改写后的内容，不要提及分类结果。
8. 输出格式为：<output> 你的输出 </output>。
需要改写的内容：{text}";

/// The placeholder a template must contain exactly once.
const PLACEHOLDER: &str = "{text}";

/// A prompt language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// English (the paper's template).
    En,
    /// Chinese.
    Zh,
}

impl Lang {
    /// `en` or `zh`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh",
        }
    }
}

/// How the template language is chosen.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LangChoice {
    /// Per text: Chinese when its share of Han characters ([`han_share`])
    /// is at least the threshold, English otherwise.
    Auto {
        /// The Han share at and above which a text is Chinese.
        threshold: f64,
    },
    /// Always this language.
    Fixed(Lang),
}

impl LangChoice {
    /// The language for `text`.
    #[must_use]
    pub fn choose(self, text: &str) -> Lang {
        match self {
            Self::Auto { threshold } => detect_lang(text, threshold),
            Self::Fixed(lang) => lang,
        }
    }
}

/// Whether `c` is a Han ideograph (CJK radicals, ideographic symbols, CJK
/// Unified Ideographs with every extension, compatibility ideographs). Kana
/// and Hangul are not Han: Japanese and Korean text stays below the
/// threshold unless it is mostly kanji/hanja.
const fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF
        | 0x3005..=0x3007
        | 0x3021..=0x3029
        | 0x3038..=0x303B
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FA1F
        | 0x30000..=0x323AF)
}

/// Share of Han characters among the alphabetic characters of `text`
/// (letters of any script; digits, punctuation and spaces do not count).
/// 0 for a text without letters.
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "character counts below 2^52")]
pub fn han_share(text: &str) -> f64 {
    let (mut han, mut letters) = (0u64, 0u64);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        han += u64::from(is_han(c));
    }
    if letters == 0 {
        0.0
    } else {
        han as f64 / letters as f64
    }
}

/// The language of `text`: Chinese when [`han_share`] ≥ `threshold`.
#[must_use]
pub fn detect_lang(text: &str, threshold: f64) -> Lang {
    let share = han_share(text);
    if share > 0.0 && share >= threshold {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// One template split at its placeholder, so a text that itself contains
/// `{text}` is inserted literally.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    before: String,
    after: String,
}

impl Template {
    fn parse(name: &str, text: &str) -> Result<Self> {
        let mut parts = text.split(PLACEHOLDER);
        let before = parts.next().unwrap_or_default();
        let Some(after) = parts.next() else {
            return Err(Error::Template {
                name: name.to_owned(),
                reason: format!("it has no {PLACEHOLDER} placeholder"),
            });
        };
        if parts.next().is_some() {
            return Err(Error::Template {
                name: name.to_owned(),
                reason: format!("{PLACEHOLDER} appears more than once"),
            });
        }
        Ok(Self {
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }

    fn render(&self, text: &str) -> String {
        let mut out = String::with_capacity(self.before.len() + text.len() + self.after.len());
        out.push_str(&self.before);
        out.push_str(text);
        out.push_str(&self.after);
        out
    }

    fn source(&self) -> String {
        format!("{}{PLACEHOLDER}{}", self.before, self.after)
    }
}

/// The English and Chinese rewrite templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    en: Template,
    zh: Template,
}

impl Default for Templates {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Templates {
    /// The built-in [`EN_TEMPLATE`] and [`ZH_TEMPLATE`] (both contain the
    /// placeholder exactly once, as a test checks).
    #[must_use]
    pub fn builtin() -> Self {
        Self::new(None, None).unwrap_or_else(|_| unreachable!("built-in templates are valid"))
    }

    /// The built-ins, with either replaced by a user's template text.
    ///
    /// # Errors
    /// [`Error::Template`] when a replacement lacks `{text}` or has it
    /// more than once.
    pub fn new(en: Option<(&str, &str)>, zh: Option<(&str, &str)>) -> Result<Self> {
        let (en_name, en_text) = en.unwrap_or(("en", EN_TEMPLATE));
        let (zh_name, zh_text) = zh.unwrap_or(("zh", ZH_TEMPLATE));
        Ok(Self {
            en: Template::parse(en_name, en_text)?,
            zh: Template::parse(zh_name, zh_text)?,
        })
    }

    /// The prompt for `text` in `lang`.
    #[must_use]
    pub fn render(&self, lang: Lang, text: &str) -> String {
        self.get(lang).render(text)
    }

    /// The template text of `lang` (with its placeholder), for manifests.
    #[must_use]
    pub fn source(&self, lang: Lang) -> String {
        self.get(lang).source()
    }

    /// xxh3-128 of both template texts, as 32 hex digits: changes whenever
    /// either template does.
    #[must_use]
    pub fn hash(&self) -> String {
        let joined = format!("{}\u{0}{}", self.source(Lang::En), self.source(Lang::Zh));
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(joined.as_bytes()))
    }

    fn get(&self, lang: Lang) -> &Template {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_one_placeholder_and_eight_rules() {
        for (template, marker) in [(EN_TEMPLATE, "8. "), (ZH_TEMPLATE, "8. ")] {
            assert_eq!(template.matches(PLACEHOLDER).count(), 1);
            assert!(template.contains(marker));
            assert!(template.contains("<output>") && template.contains("</output>"));
            assert!(template.ends_with("{text}"));
        }
        assert_eq!(Templates::builtin(), Templates::default());
    }

    #[test]
    fn render_inserts_text_literally() {
        let t = Templates::new(Some(("mine", "A {text} B")), None).unwrap();
        assert_eq!(t.render(Lang::En, "x {text} y"), "A x {text} y B");
        assert!(t.render(Lang::Zh, "文本").ends_with("需要改写的内容：文本"));
        assert_eq!(t.source(Lang::En), "A {text} B");
    }

    #[test]
    fn bad_templates_are_named() {
        let err = Templates::new(Some(("my.txt", "no placeholder")), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template `my.txt`: it has no {text} placeholder"
        );
        let err = Templates::new(None, Some(("zh.txt", "{text}{text}"))).unwrap_err();
        assert!(err.to_string().contains("more than once"));
    }

    #[test]
    fn hash_follows_either_template() {
        let base = Templates::builtin().hash();
        assert_eq!(base.len(), 32);
        assert_ne!(
            base,
            Templates::new(Some(("e", "{text}")), None).unwrap().hash()
        );
        assert_ne!(
            base,
            Templates::new(None, Some(("z", "{text}"))).unwrap().hash()
        );
    }

    #[test]
    fn han_share_counts_letters_only() {
        // 2 Han of 4 letters; digits, spaces and punctuation ignored.
        assert!((han_share("ab 中文 12!") - 0.5).abs() < 1e-12);
        assert!((han_share("汉字") - 1.0).abs() < 1e-12);
        assert!(han_share("12 !?").abs() < 1e-12);
        // Kana and Hangul are letters but not Han.
        assert!((han_share("かな漢字") - 0.5).abs() < 1e-12);
        assert!(han_share("한국어").abs() < 1e-12);
    }

    #[test]
    fn language_choice() {
        let auto = LangChoice::Auto { threshold: 0.3 };
        assert_eq!(auto.choose("What colour is the shape?"), Lang::En);
        assert_eq!(auto.choose("这个形状是什么颜色？"), Lang::Zh);
        // 3 Han of 9 letters = 0.333 ≥ 0.3.
        assert_eq!(auto.choose("abcdef 中文字"), Lang::Zh);
        assert_eq!(auto.choose("abcdefgh 中文"), Lang::En);
        assert_eq!(auto.choose("1234"), Lang::En);
        assert_eq!(LangChoice::Fixed(Lang::Zh).choose("hello"), Lang::Zh);
    }
}
