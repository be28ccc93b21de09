//! Field roles: which columns (or which conversation turns) hold the system
//! prompt, user turns, assistant answers, captions, OCR text and metadata.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::datatypes::{DataType, Field, Fields, Schema};

use crate::error::{Error, Result};
use crate::splice::RewrittenColumn;

/// The part a text field plays in a training sample.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A system prompt.
    System,
    /// A user (human) turn: the instruction the model reads.
    User,
    /// An assistant turn: the training target.
    Assistant,
    /// An image caption.
    Caption,
    /// OCR-derived text.
    Ocr,
    /// Free-form metadata serialised as text.
    Metadata,
    /// Text whose role is unknown.
    Other,
}

impl Role {
    /// Every role, in report order.
    pub const ALL: [Self; 7] = [
        Self::System,
        Self::User,
        Self::Assistant,
        Self::Caption,
        Self::Ocr,
        Self::Metadata,
        Self::Other,
    ];

    /// The role's name as used in reports and config files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Caption => "caption",
            Self::Ocr => "ocr",
            Self::Metadata => "metadata",
            Self::Other => "other",
        }
    }

    /// Parses a role name (`system`, `user`, …).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The role of a conversation turn from its speaker label
    /// (`human`/`user`, `gpt`/`assistant`, `system`, …), case-insensitive.
    #[must_use]
    pub fn from_speaker(speaker: &str) -> Self {
        // Called once per turn: compare in place rather than allocate a
        // lowercased copy.
        let is = |names: &[&str]| names.iter().any(|n| speaker.eq_ignore_ascii_case(n));
        if is(&["human", "user"]) {
            Self::User
        } else if is(&[
            "gpt",
            "assistant",
            "model",
            "bot",
            "chatgpt",
            "bard",
            "bing",
        ]) {
            Self::Assistant
        } else if is(&["system"]) {
            Self::System
        } else {
            Self::Other
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A built-in way of laying out samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// LLaVA: `conversations: [{from, value}]`.
    Llava,
    /// ShareGPT: the same layout as LLaVA.
    Sharegpt,
    /// OpenAI-style `messages: [{role, content}]`.
    Messages,
    /// Flat string columns, each mapped to a role in a TOML file.
    Columns,
}

impl Profile {
    /// The profile's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Llava => "llava",
            Self::Sharegpt => "sharegpt",
            Self::Messages => "messages",
            Self::Columns => "columns",
        }
    }

    /// The conversation column and its (speaker, text) keys, if any.
    const fn conversation_layout(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Self::Llava | Self::Sharegpt => Some(("conversations", "from", "value")),
            Self::Messages => Some(("messages", "role", "content")),
            Self::Columns => None,
        }
    }
}

/// A conversation column: a list of `{speaker, text}` structs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConversationColumn {
    /// The column name (`conversations`, `messages`, …).
    pub column: String,
    /// The struct field holding the speaker label (`from`, `role`).
    pub speaker_key: String,
    /// The struct field holding the text (`value`, `content`).
    pub text_key: String,
    /// When that field holds a list of parts rather than a string (the
    /// Hugging Face chat-template layout, `content: [{type, text}, …]`,
    /// images as parts without text): the part field holding the text
    /// (`text`). Each part with text is then a field of the turn's role.
    pub part_text_key: Option<String>,
}

/// Maps a corpus schema to role-tagged text fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldMap {
    /// The layout the map follows.
    pub profile: Profile,
    /// Whether the profile was detected from the schema rather than given.
    pub detected: bool,
    /// The conversation column, for the conversation profiles.
    pub conversation: Option<ConversationColumn>,
    /// Flat string columns and their roles, in schema order.
    pub columns: Vec<(String, Role)>,
    /// Columns named like a flat role column (`system`, `caption`, …) that
    /// are left out because their type holds no text regime reads, with
    /// that type as Arrow prints it: [`FieldMap::describe`] names them, so that a role is
    /// never dropped without a word.
    pub unmapped: Vec<(String, String)>,
}

/// The columns auto-detection takes for a conversation, first found first.
const CONVERSATION_COLUMNS: [&str; 3] = ["conversations", "messages", "conversation"];

/// The flat columns auto-detection maps to roles, by name.
const FLAT_ROLE_COLUMNS: [(&str, Role); 6] = [
    ("system", Role::System),
    ("caption", Role::Caption),
    ("ocr", Role::Ocr),
    ("ocr_text", Role::Ocr),
    ("metadata", Role::Metadata),
    ("meta", Role::Metadata),
];

impl FieldMap {
    /// Detects the layout: a conversation column (the first of
    /// `conversations`, `messages`, `conversation` the schema has) whose
    /// turns are `{from, value}` (the llava profile) or `{role, content}`
    /// (the messages profile), plus flat string columns named `system`,
    /// `caption`, `ocr`/`ocr_text`, `metadata`/`meta`.
    ///
    /// # Errors
    /// [`Error::NoTextColumns`] when nothing maps to a role (`path` names the
    /// corpus in the message); [`Error::ColumnType`] when a conversation column
    /// has neither turn layout.
    pub fn detect(schema: &Schema, path: &Path) -> Result<Self> {
        let mut conversation = None;
        for name in CONVERSATION_COLUMNS {
            let Ok(field) = schema.field_with_name(name) else {
                continue;
            };
            match Self::for_column(field, schema) {
                Ok(map) => {
                    conversation = Some(map);
                    break;
                }
                // `conversation` may well be a column of another kind (a
                // transcript string): without turn keys, the flat columns
                // are read instead.
                Err(_) if name == "conversation" && turn_keys(field).is_empty() => {}
                Err(e) => return Err(e),
            }
        }
        let mut map = if let Some(map) = conversation {
            map
        } else {
            let (columns, unmapped) = detect_flat_columns(schema);
            Self {
                profile: Profile::Columns,
                detected: true,
                conversation: None,
                columns,
                unmapped,
            }
        };
        map.detected = true;
        if map.conversation.is_none() && map.columns.is_empty() {
            return Err(Error::NoTextColumns {
                path: path.to_path_buf(),
                available: column_list(schema),
                unsupported: unsupported_list(&map.unmapped),
            });
        }
        Ok(map)
    }

    /// The field map of a conversation profile (`llava`, `sharegpt`,
    /// `messages`), with the flat role columns the schema also has. The
    /// conversation is the profile's own column (`conversations`,
    /// `messages`) or, when the schema has none, the first of
    /// `conversations`, `messages`, `conversation` with the profile's turn
    /// keys (as [`FieldMap::detect`] finds it).
    ///
    /// # Errors
    /// [`Error::MissingColumn`] or [`Error::ColumnType`] naming the
    /// conversation column; [`Error::FieldMapFile`] for `columns`, which needs
    /// [`FieldMap::from_toml`].
    pub fn for_profile(profile: Profile, schema: &Schema) -> Result<Self> {
        let Some((column, speaker, text)) = profile.conversation_layout() else {
            return Err(Error::FieldMapFile {
                path: "--fields".into(),
                reason: "the columns profile needs a TOML file naming its columns".into(),
            });
        };
        let field = match schema.field_with_name(column) {
            Ok(field) => field,
            Err(_) => CONVERSATION_COLUMNS
                .iter()
                .filter_map(|name| schema.field_with_name(name).ok())
                .find(|field| turn_keys(field).contains(&(speaker, text)))
                .ok_or_else(|| Error::MissingColumn {
                    column: column.into(),
                    available: column_list(schema),
                })?,
        };
        let part_text_key = check_conversation_type(field, speaker, text)?;
        Ok(Self::with_conversation(
            profile,
            schema,
            ConversationColumn {
                column: field.name().clone(),
                speaker_key: speaker.into(),
                text_key: text.into(),
                part_text_key,
            },
        ))
    }

    /// The map of a detected conversation column: the profile whose turn
    /// keys it has, `{from, value}` tried first.
    fn for_column(field: &Field, schema: &Schema) -> Result<Self> {
        let mut first_err = None;
        for profile in [Profile::Llava, Profile::Messages] {
            let Some((_, speaker, text)) = profile.conversation_layout() else {
                continue;
            };
            match check_conversation_type(field, speaker, text) {
                Ok(part_text_key) => {
                    let conversation = ConversationColumn {
                        column: field.name().clone(),
                        speaker_key: speaker.into(),
                        text_key: text.into(),
                        part_text_key,
                    };
                    return Ok(Self::with_conversation(profile, schema, conversation));
                }
                // The error of the layout the column's name suggests.
                Err(e) if first_err.is_none() || field.name() == "messages" => {
                    first_err = Some(e);
                }
                Err(_) => {}
            }
        }
        Err(first_err.unwrap_or_else(|| Error::MissingColumn {
            column: field.name().clone(),
            available: column_list(schema),
        }))
    }

    fn with_conversation(
        profile: Profile,
        schema: &Schema,
        conversation: ConversationColumn,
    ) -> Self {
        let (columns, unmapped) = detect_flat_columns(schema);
        Self {
            profile,
            detected: false,
            conversation: Some(conversation),
            columns,
            unmapped,
        }
    }

    /// A `columns` profile from a TOML file of `column = "role"` lines, under
    /// an optional `[columns]` table:
    ///
    /// ```toml
    /// [columns]
    /// prompt = "user"
    /// response = "assistant"
    /// source_caption = "caption"
    /// ```
    ///
    /// # Errors
    /// [`Error::FieldMapFile`] for unreadable TOML or unknown roles;
    /// [`Error::MissingColumn`] / [`Error::ColumnType`] when a named column is
    /// absent or not a string column.
    pub fn from_toml(path: &Path, schema: &Schema) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file_err = |reason: String| Error::FieldMapFile {
            path: path.to_path_buf(),
            reason,
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| {
            // toml's Display draws the line with a caret; one line instead.
            let at = e.span().map_or_else(String::new, |span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            });
            file_err(format!("{at}{}", e.message()))
        })?;
        let table = match table.get("columns") {
            // Keys beside `[columns]` (above its header, say) would be
            // dropped without a word.
            Some(toml::Value::Table(_)) if table.len() > 1 => {
                let stray: Vec<&str> = table
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != "columns")
                    .collect();
                return Err(file_err(format!(
                    "`{}` outside the [columns] table (put every column under it)",
                    stray.join("`, `")
                )));
            }
            Some(toml::Value::Table(inner)) => inner.clone(),
            Some(_) => return Err(file_err("`columns` must be a table".into())),
            None => table,
        };
        let mut named: BTreeMap<usize, (String, Role)> = BTreeMap::new();
        for (column, role) in &table {
            let role_name = role
                .as_str()
                .ok_or_else(|| file_err(format!("`{column}`: role must be a string")))?;
            let role = Role::parse(role_name).ok_or_else(|| {
                file_err(format!(
                    "`{column}`: unknown role `{role_name}` (expected one of system, user, assistant, caption, ocr, metadata, other)"
                ))
            })?;
            let (index, field) =
                schema
                    .column_with_name(column)
                    .ok_or_else(|| Error::MissingColumn {
                        column: column.clone(),
                        available: column_list(schema),
                    })?;
            if !is_string(field.data_type()) {
                return Err(Error::ColumnType {
                    column: column.clone(),
                    found: field.data_type().to_string(),
                    expected: STRING_TYPES.into(),
                });
            }
            named.insert(index, (column.clone(), role));
        }
        if named.is_empty() {
            return Err(file_err("names no columns".into()));
        }
        Ok(Self {
            profile: Profile::Columns,
            detected: false,
            conversation: None,
            columns: named.into_values().collect(),
            unmapped: Vec::new(),
        })
    }

    /// The top-level columns a stage must read to see every text field.
    #[must_use]
    pub fn text_columns(&self) -> Vec<String> {
        self.conversation
            .iter()
            .map(|c| c.column.clone())
            .chain(self.columns.iter().map(|(c, _)| c.clone()))
            .collect()
    }

    /// What a stage that edits the text fields (and nothing else) rewrites:
    /// the flat text columns, and the text of the conversation's turns
    /// (its speakers and shape are copied).
    #[must_use]
    pub fn text_leaves(&self) -> Vec<RewrittenColumn> {
        self.conversation
            .iter()
            .map(|c| {
                let inner: Vec<&str> = std::iter::once(c.text_key.as_str())
                    .chain(c.part_text_key.as_deref())
                    .collect();
                RewrittenColumn::inner(&c.column, &inner)
            })
            .chain(self.columns.iter().map(|(c, _)| RewrittenColumn::whole(c)))
            .collect()
    }

    /// [`Self::describe`] without saying whether the layout was detected or
    /// named: what partial results record, since either reads the same text.
    #[must_use]
    pub fn layout(&self) -> String {
        Self {
            detected: false,
            ..self.clone()
        }
        .describe()
    }

    /// One line saying what was mapped, e.g.
    /// `llava (detected): conversations[from/value] → user/assistant turns, caption → caption`,
    /// and what was not: `; not mapped: system (Binary is not a string type)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.conversation {
            let text = match &c.part_text_key {
                Some(part) => format!("{}[].{part}", c.text_key),
                None => c.text_key.clone(),
            };
            parts.push(format!(
                "{}[{}/{text}] → system/user/assistant turns",
                c.column, c.speaker_key
            ));
        }
        for (column, role) in &self.columns {
            parts.push(format!("{column} → {role}"));
        }
        let mut line = format!(
            "{}{}: {}",
            self.profile.as_str(),
            if self.detected { " (detected)" } else { "" },
            parts.join(", ")
        );
        if !self.unmapped.is_empty() {
            line.push_str("; not mapped: ");
            line.push_str(&unsupported_list(&self.unmapped));
        }
        line
    }
}

/// What a text column may be stored as, for error messages.
pub(crate) const STRING_TYPES: &str =
    "a string column (utf8, large_utf8, utf8_view, or a dictionary of one of them)";

/// Columns and their roles, and columns left out with their types.
type FlatColumns = (Vec<(String, Role)>, Vec<(String, String)>);

/// The flat columns named like a role: those of a string type with their
/// role, and the others with their type.
fn detect_flat_columns(schema: &Schema) -> FlatColumns {
    let mut mapped = Vec::new();
    let mut unmapped = Vec::new();
    for field in schema.fields() {
        let Some((_, role)) = FLAT_ROLE_COLUMNS
            .iter()
            .find(|(name, _)| field.name().eq_ignore_ascii_case(name))
        else {
            continue;
        };
        if is_string(field.data_type()) {
            mapped.push((field.name().clone(), *role));
        } else {
            unmapped.push((field.name().clone(), field.data_type().to_string()));
        }
    }
    (mapped, unmapped)
}

/// `system (Binary is not a string type), …`.
fn unsupported_list(unmapped: &[(String, String)]) -> String {
    unmapped
        .iter()
        .map(|(column, data_type)| format!("{column} ({data_type} is not a string type)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a type holds UTF-8 strings regime can read as text: `Utf8`,
/// `LargeUtf8`, `Utf8View`, or a dictionary of one of them with any
/// integer keys (what pyarrow writes for a `DictionaryArray` or a pandas
/// categorical).
#[must_use]
pub fn is_string(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(key, value) => {
            key.is_dictionary_key_type()
                && matches!(
                    value.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
        }
        _ => false,
    }
}

/// Checks that `field` is a list of `{speaker, text}` structs whose text is
/// a string, or a list of parts with a string [`PART_TEXT_KEY`]; returns
/// the part key in that case.
fn check_conversation_type(field: &Field, speaker: &str, text: &str) -> Result<Option<String>> {
    let expected = || {
        format!(
            "list<struct<{speaker}: string, {text}: string>> or \
             list<struct<{speaker}: string, {text}: list<struct<{PART_TEXT_KEY}: string, …>>>>"
        )
    };
    let type_err = || Error::ColumnType {
        column: field.name().clone(),
        found: field.data_type().to_string(),
        expected: expected(),
    };
    let (DataType::List(item) | DataType::LargeList(item)) = field.data_type() else {
        return Err(type_err());
    };
    let DataType::Struct(children) = item.data_type() else {
        return Err(type_err());
    };
    if !struct_child(children, speaker).is_some_and(is_string) {
        return Err(type_err());
    }
    match struct_child(children, text) {
        Some(t) if is_string(t) => Ok(None),
        Some(DataType::List(part) | DataType::LargeList(part)) => match part.data_type() {
            DataType::Struct(part) if struct_child(part, PART_TEXT_KEY).is_some_and(is_string) => {
                Ok(Some(PART_TEXT_KEY.to_owned()))
            }
            _ => Err(type_err()),
        },
        _ => Err(type_err()),
    }
}

/// The type of struct field `key` among `fields`.
fn struct_child<'f>(fields: &'f Fields, key: &str) -> Option<&'f DataType> {
    fields
        .iter()
        .find(|c| c.name() == key)
        .map(|c| c.data_type())
}

/// The (speaker, text) key pairs of the built-in profiles that `field`'s
/// turns have, whatever their types: `field` is a list of structs with
/// those fields.
fn turn_keys(field: &Field) -> Vec<(&'static str, &'static str)> {
    let (DataType::List(item) | DataType::LargeList(item)) = field.data_type() else {
        return Vec::new();
    };
    let DataType::Struct(children) = item.data_type() else {
        return Vec::new();
    };
    let has = |key: &str| children.iter().any(|c| c.name() == key);
    [Profile::Llava, Profile::Messages]
        .into_iter()
        .filter_map(Profile::conversation_layout)
        .map(|(_, speaker, text)| (speaker, text))
        .filter(|&(speaker, text)| has(speaker) && has(text))
        .collect()
}

/// The field of a message part holding its text, in the Hugging Face
/// chat-template layout (`{"type": "text", "text": …}`).
const PART_TEXT_KEY: &str = "text";

/// The column names of `schema`, comma-separated, for messages that say
/// which columns there are.
#[must_use]
pub fn column_list(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn conversation_type(speaker: &str, text: &str) -> DataType {
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(Fields::from(vec![
                Field::new(speaker, DataType::Utf8, true),
                Field::new(text, DataType::Utf8, true),
            ])),
            true,
        )))
    }

    #[test]
    fn detects_llava_with_flat_role_columns() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("conversations", conversation_type("from", "value"), true),
            Field::new("caption", DataType::Utf8, true),
            Field::new("ocr_text", DataType::LargeUtf8, true),
            Field::new("meta", DataType::Utf8, true),
        ]);
        let map = FieldMap::detect(&schema, Path::new("x.parquet")).unwrap();
        assert_eq!(map.profile, Profile::Llava);
        assert!(map.detected);
        assert_eq!(
            map.columns,
            [
                ("caption".to_owned(), Role::Caption),
                ("ocr_text".to_owned(), Role::Ocr),
                ("meta".to_owned(), Role::Metadata)
            ]
        );
        assert_eq!(
            map.text_columns(),
            ["conversations", "caption", "ocr_text", "meta"]
        );
    }

    #[test]
    fn detects_the_turn_keys_whatever_the_column_name() {
        // `conversations` of {role, content} (OpenHermes-style exports),
        // lmsys-chat-1m's `conversation`, `messages` of {from, value}.
        for (column, speaker, text, profile) in [
            ("conversations", "role", "content", Profile::Messages),
            ("conversation", "role", "content", Profile::Messages),
            ("messages", "from", "value", Profile::Llava),
        ] {
            let schema = Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new(column, conversation_type(speaker, text), true),
            ]);
            let map = FieldMap::detect(&schema, Path::new("x")).unwrap();
            assert_eq!(map.profile, profile, "{column}");
            let c = map.conversation.unwrap();
            assert_eq!(
                (
                    c.column.as_str(),
                    c.speaker_key.as_str(),
                    c.text_key.as_str()
                ),
                (column, speaker, text)
            );
        }
        // A given profile finds the column detection finds, and no other.
        let schema = Schema::new(vec![Field::new(
            "conversation",
            conversation_type("role", "content"),
            true,
        )]);
        let given = FieldMap::for_profile(Profile::Messages, &schema).unwrap();
        let mut detected = FieldMap::detect(&schema, Path::new("x")).unwrap();
        detected.detected = false;
        assert_eq!(given, detected);
        assert!(FieldMap::for_profile(Profile::Llava, &schema).is_err());
        // A `conversation` column of another kind is not a conversation.
        let schema = Schema::new(vec![
            Field::new("conversation", DataType::Utf8, true),
            Field::new("caption", DataType::Utf8, true),
        ]);
        let map = FieldMap::detect(&schema, Path::new("x")).unwrap();
        assert_eq!(map.profile, Profile::Columns);
        assert_eq!(map.columns, [("caption".to_owned(), Role::Caption)]);
        // One with turn keys but text of another type is an error, found
        // or given, never silently skipped.
        let binary_turns = Schema::new(vec![
            Field::new(
                "conversation",
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(Fields::from(vec![
                        Field::new("role", DataType::Utf8, true),
                        Field::new("content", DataType::Binary, true),
                    ])),
                    true,
                ))),
                true,
            ),
            Field::new("caption", DataType::Utf8, true),
        ]);
        for map in [
            FieldMap::detect(&binary_turns, Path::new("x")),
            FieldMap::for_profile(Profile::Messages, &binary_turns),
        ] {
            let err = map.unwrap_err().to_string();
            assert!(err.starts_with("column `conversation` has type"), "{err}");
        }
    }

    #[test]
    fn detects_messages_with_parts() {
        let parts = |text: &str| {
            DataType::LargeList(Arc::new(Field::new(
                "item",
                DataType::Struct(Fields::from(vec![
                    Field::new("type", DataType::Utf8, true),
                    Field::new(text, DataType::Utf8View, true),
                ])),
                true,
            )))
        };
        let messages = |content: DataType| {
            Schema::new(vec![Field::new(
                "messages",
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(Fields::from(vec![
                        Field::new("role", DataType::Utf8, true),
                        Field::new("content", content, true),
                    ])),
                    true,
                ))),
                true,
            )])
        };
        let map = FieldMap::detect(&messages(parts("text")), Path::new("x")).unwrap();
        let conversation = map.conversation.as_ref().unwrap();
        assert_eq!(conversation.part_text_key.as_deref(), Some("text"));
        assert!(
            map.describe()
                .starts_with("messages (detected): messages[role/content[].text] → "),
            "{}",
            map.describe()
        );
        assert_eq!(
            map.text_leaves(),
            [RewrittenColumn::inner("messages", &["content", "text"])]
        );
        // Parts without a `text` string are no conversation regime reads.
        let err = FieldMap::detect(&messages(parts("value")), Path::new("x")).unwrap_err();
        assert!(
            err.to_string()
                .contains("list<struct<role: string, content: list<struct<text: string, …>>>>"),
            "{err}"
        );
    }

    #[test]
    fn detects_messages() {
        let schema = Schema::new(vec![Field::new(
            "messages",
            conversation_type("role", "content"),
            true,
        )]);
        let map = FieldMap::detect(&schema, Path::new("x")).unwrap();
        assert_eq!(map.profile, Profile::Messages);
    }

    #[test]
    fn wrong_nested_type_names_the_column() {
        let schema = Schema::new(vec![Field::new(
            "conversations",
            conversation_type("from", "text"),
            true,
        )]);
        let err = FieldMap::detect(&schema, Path::new("x")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("column `conversations` has type"),
            "{err}"
        );
    }

    #[test]
    fn dictionary_string_columns_are_mapped() {
        let dict =
            |key: DataType, value: DataType| DataType::Dictionary(Box::new(key), Box::new(value));
        let schema = Schema::new(vec![
            Field::new("system", dict(DataType::Int32, DataType::Utf8), true),
            Field::new("caption", dict(DataType::UInt8, DataType::LargeUtf8), true),
            Field::new("ocr", dict(DataType::Int64, DataType::Utf8View), true),
        ]);
        let map = FieldMap::detect(&schema, Path::new("x")).unwrap();
        assert_eq!(
            map.columns,
            [
                ("system".to_owned(), Role::System),
                ("caption".to_owned(), Role::Caption),
                ("ocr".to_owned(), Role::Ocr)
            ]
        );
        assert!(map.unmapped.is_empty());
        assert!(!is_string(&dict(DataType::Int32, DataType::Binary)));
    }

    #[test]
    fn role_named_columns_of_other_types_are_named_not_dropped() {
        let schema = Schema::new(vec![
            Field::new("conversations", conversation_type("from", "value"), true),
            Field::new("system", DataType::Binary, true),
            Field::new("caption", DataType::Utf8, true),
        ]);
        let map = FieldMap::detect(&schema, Path::new("x")).unwrap();
        assert_eq!(map.columns, [("caption".to_owned(), Role::Caption)]);
        let line = map.describe();
        assert!(
            line.ends_with("caption → caption; not mapped: system (Binary is not a string type)"),
            "{line}"
        );
        // With nothing else to read, the error names the column and type.
        let schema = Schema::new(vec![Field::new(
            "meta",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Binary)),
            true,
        )]);
        let err = FieldMap::detect(&schema, Path::new("x.parquet")).unwrap_err();
        assert!(
            err.to_string()
                .contains("not mapped: meta (Dictionary(Int32, Binary) is not a string type)"),
            "{err}"
        );
    }

    #[test]
    fn no_text_column_is_an_error() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        let err = FieldMap::detect(&schema, Path::new("x.parquet")).unwrap_err();
        assert!(matches!(err, Error::NoTextColumns { .. }));
    }

    #[test]
    fn speakers_map_to_roles() {
        assert_eq!(Role::from_speaker("human"), Role::User);
        assert_eq!(Role::from_speaker("GPT"), Role::Assistant);
        assert_eq!(Role::from_speaker("bing"), Role::Assistant);
        assert_eq!(Role::from_speaker("system"), Role::System);
        assert_eq!(Role::from_speaker("tool"), Role::Other);
        assert_eq!(Role::from_speaker("User"), Role::User);
        assert_eq!(Role::from_speaker("users"), Role::Other);
        assert_eq!(Role::from_speaker(""), Role::Other);
    }

    #[test]
    fn columns_profile_from_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fields.toml");
        std::fs::write(
            &path,
            "[columns]\nprompt = \"user\"\nanswer = \"assistant\"\n",
        )
        .unwrap();
        let schema = Schema::new(vec![
            Field::new("answer", DataType::Utf8, true),
            Field::new(
                "prompt",
                DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
                true,
            ),
        ]);
        let map = FieldMap::from_toml(&path, &schema).unwrap();
        assert_eq!(
            map.columns,
            [
                ("answer".to_owned(), Role::Assistant),
                ("prompt".to_owned(), Role::User)
            ]
        );
        std::fs::write(&path, "missing = \"user\"\n").unwrap();
        let err = FieldMap::from_toml(&path, &schema).unwrap_err();
        assert!(
            err.to_string().starts_with("column `missing` not found"),
            "{err}"
        );
        std::fs::write(&path, "prompt = \"teacher\"\n").unwrap();
        let err = FieldMap::from_toml(&path, &schema).unwrap_err();
        assert!(err.to_string().contains("unknown role `teacher`"), "{err}");
        // A key above the [columns] header is not silently dropped.
        std::fs::write(
            &path,
            "answer = \"assistant\"\n[columns]\nprompt = \"user\"\n",
        )
        .unwrap();
        let err = FieldMap::from_toml(&path, &schema).unwrap_err();
        assert!(
            err.to_string()
                .contains("`answer` outside the [columns] table"),
            "{err}"
        );
    }
}
