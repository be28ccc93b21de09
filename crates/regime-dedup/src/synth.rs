//! A generator of realistic multimodal samples with planted prompt
//! duplication and its ground truth (`regime synth prompt-dup`).
//!
//! From a LLaVA corpus (`id`, `image`, `conversations: [{from, value}]`,
//! optionally `split`), every output row gets a system prompt (one of a few
//! templates), a caption built from the sample's own answers (colour,
//! shape), OCR text (mostly null, sometimes a watermark) and a `metadata`
//! JSON string. Exactly `round(share · rows)` rows, drawn with the seeded
//! RNG, copy their instruction (the first user question) into 1–4 of
//! those fields: verbatim (a segment of its own, or the whole field), as a
//! template fragment (`Question: …`, `Q: …`, a JSON `"prompt"` value) or as
//! a substring of longer text. Base fields use their own RNG stream per
//! row, so the same seed gives the same base fields at every share.
//!
//! The [`TRUTH_COLUMN`] struct holds, per row: `planted`, `copies` (in the
//! order prompt-dedup lists them), `segments` (prompt-segment occurrences),
//! `chars` (characters of prompt fields), `copy_chars`, and the expected
//! text of each planted-into field after de-duplication (`expected_system`,
//! `expected_caption`, `expected_ocr_text`, `expected_metadata`).
//!
//! Layouts: `llava` (`conversations` plus flat `system`, `caption`,
//! `ocr_text`, `metadata`), `messages` (`messages: [{role, content}]` with
//! the system prompt as the first message, plus the flat columns), `parts`
//! (the same with each content a list of parts `[{type, text}]`, the
//! Hugging Face chat-template layout: the `<image>` token becomes an image
//! part, without text, ahead of the question's text part) and
//! `columns` (flat `prompt`, `response`, `system`, `caption`, `ocr_text`,
//! `metadata`; the first exchange only; map it with [`COLUMNS_FIELDS_TOML`]).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, ListBuilder, RecordBatch, StringArray, StringBuilder,
    StructArray, StructBuilder, UInt32Array, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};

/// Name of the ground-truth column.
pub const TRUTH_COLUMN: &str = "regime_truth";

/// Default rows per generated batch.
pub const DEFAULT_SYNTH_BATCH_ROWS: usize = 8192;

/// The `--fields` file for the `columns` layout.
pub const COLUMNS_FIELDS_TOML: &str = "[columns]\nprompt = \"user\"\nresponse = \"assistant\"\nsystem = \"system\"\ncaption = \"caption\"\nocr_text = \"ocr\"\nmetadata = \"metadata\"\n";

/// How generated samples are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SynthLayout {
    /// `conversations: [{from, value}]` plus flat role columns.
    Llava,
    /// `messages: [{role, content}]` (system first) plus flat role columns.
    Messages,
    /// As [`Self::Messages`], each content a list of `{type, text}` parts.
    Parts,
    /// Flat columns only.
    Columns,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SynthConfig {
    /// Share of rows with planted duplication, in `[0, 1]`.
    pub share: f64,
    /// RNG seed.
    pub seed: u64,
    /// Output layout.
    pub layout: SynthLayout,
    /// Rows to generate (the source rows cycled); default: the source's.
    pub rows: Option<u64>,
    /// Rows per generated batch; default [`DEFAULT_SYNTH_BATCH_ROWS`].
    pub batch_rows: usize,
}

impl SynthConfig {
    /// A configuration with the default row count and batch size.
    ///
    /// # Errors
    /// [`Error::Config`] when `share` is outside `[0, 1]`.
    pub fn new(share: f64, seed: u64, layout: SynthLayout) -> Result<Self> {
        if !(0.0..=1.0).contains(&share) {
            return Err(Error::Config {
                what: "share",
                reason: format!("{share} is not in [0, 1]"),
            });
        }
        Ok(Self {
            share,
            seed,
            layout,
            rows: None,
            batch_rows: DEFAULT_SYNTH_BATCH_ROWS,
        })
    }
}

/// Totals of a generated corpus (its ground-truth figures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SynthSummary {
    /// Rows written.
    pub rows: u64,
    /// Rows with planted duplication.
    pub planted: u64,
    /// Planted copies.
    pub copies: u64,
    /// Prompt-segment occurrences.
    pub segments: u64,
    /// Characters of prompt fields.
    pub chars: u64,
    /// Characters of planted copies.
    pub copy_chars: u64,
}

const SYSTEM_PROMPTS: [(&str, u64); 5] = [
    (
        "You are a helpful assistant that answers questions about images.",
        1,
    ),
    (
        "You are a visual question answering model. Answer with a single word.",
        2,
    ),
    (
        "Look at the picture carefully and answer the user's question.",
        1,
    ),
    (
        "You are an expert at recognising shapes and colours. Be concise.",
        2,
    ),
    ("Answer every question about the image truthfully.", 1),
];

const CAPTIONS: [&str; 3] = [
    "A {color} {shape} on a plain white background",
    "A simple drawing of one {color} {shape}",
    "Synthetic picture showing a single {color} {shape} in the middle",
];

const OCR_NOISE: [&str; 3] = ["EASY VQA", "© easy-vqa", "img 64x64"];

const COLORS: [&str; 8] = [
    "red", "green", "blue", "black", "gray", "teal", "brown", "yellow",
];
const SHAPES: [&str; 3] = ["circle", "rectangle", "triangle"];

/// What the generator needs from one source row.
#[derive(Debug, Clone)]
struct SourceRow {
    /// The conversation: (speaker, text).
    turns: Vec<(String, String)>,
    /// The first user question without protected tokens.
    question: String,
    color: &'static str,
    shape: &'static str,
}

/// One generated row's text fields and truth.
#[derive(Debug, Default)]
struct Row {
    system: String,
    caption: String,
    ocr: Option<String>,
    metadata: String,
    planted: bool,
    copies: Vec<String>,
    segments: u64,
    expected_system: String,
    expected_caption: String,
    expected_ocr: Option<String>,
    expected_metadata: String,
}

fn row_rng(seed: u64, row: u64, stream: u8) -> ChaCha8Rng {
    let mut key = [0u8; 17];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&row.to_le_bytes());
    key[16] = stream;
    ChaCha8Rng::seed_from_u64(xxh3_64(&key))
}

fn read_source(source: &RecordBatch) -> Result<Vec<SourceRow>> {
    let missing = |what: &str| Error::Source(format!("source corpus: {what}"));
    let list = source
        .column_by_name("conversations")
        .ok_or_else(|| missing("no `conversations` column (a LLaVA corpus is needed)"))?;
    let list = list
        .as_list_opt::<i32>()
        .ok_or_else(|| missing("`conversations` is not list<struct<from, value>>"))?;
    let turns = list
        .values()
        .as_struct_opt()
        .ok_or_else(|| missing("`conversations` items are not structs"))?;
    let from = turns
        .column_by_name("from")
        .and_then(|a| a.as_string_opt::<i32>())
        .ok_or_else(|| missing("`conversations.from` is not a string"))?;
    let value = turns
        .column_by_name("value")
        .and_then(|a| a.as_string_opt::<i32>())
        .ok_or_else(|| missing("`conversations.value` is not a string"))?;
    let offsets = list.value_offsets();
    let mut rows = Vec::with_capacity(source.num_rows());
    for row in 0..source.num_rows() {
        let (start, end) = (
            usize::try_from(offsets[row]).unwrap_or(0),
            usize::try_from(offsets[row + 1]).unwrap_or(0),
        );
        let turns: Vec<(String, String)> = (start..end)
            .map(|t| (from.value(t).to_owned(), value.value(t).to_owned()))
            .collect();
        let question = turns
            .iter()
            .find(|(f, _)| f == "human")
            .map(|(_, v)| v.replace("<image>", "").trim().to_owned())
            .ok_or_else(|| missing(&format!("row {row} has no human turn")))?;
        if question.chars().count() < 16 || question.contains(['\n', '"', '\\']) {
            return Err(missing(&format!(
                "row {row}: first question {question:?} is not a single plain segment of ≥ 16 characters"
            )));
        }
        let mut color = "coloured";
        let mut shape = "shape";
        for (f, v) in &turns {
            if f == "gpt" {
                if let Some(c) = COLORS.iter().find(|c| *c == v) {
                    color = c;
                }
                if let Some(s) = SHAPES.iter().find(|s| *s == v) {
                    shape = s;
                }
            }
        }
        rows.push(SourceRow {
            turns,
            question,
            color,
            shape,
        });
    }
    Ok(rows)
}

/// Builds the base fields of a row.
fn base_row(src: &SourceRow, split: &str, id: &str, rng: &mut ChaCha8Rng) -> (Row, String) {
    let (system, system_segments) = SYSTEM_PROMPTS[rng.random_range(0..SYSTEM_PROMPTS.len())];
    let body = CAPTIONS[rng.random_range(0..CAPTIONS.len())]
        .replace("{color}", src.color)
        .replace("{shape}", src.shape);
    let ocr = (rng.random_range(0..10) < 3)
        .then(|| OCR_NOISE[rng.random_range(0..OCR_NOISE.len())].to_owned());
    let metadata = format!(
        "{{\"source\": \"easy-vqa\", \"split\": \"{split}\", \"source_id\": \"{id}\", \"task\": \"vqa\", \"license\": \"MIT\"}}"
    );
    let caption = format!("{body}.");
    let segments = system_segments + 1 + u64::from(ocr.is_some()) + 1;
    let row = Row {
        system: system.to_owned(),
        expected_system: system.to_owned(),
        expected_caption: caption.clone(),
        caption,
        expected_ocr: ocr.clone(),
        ocr,
        expected_metadata: metadata.clone(),
        metadata,
        segments,
        ..Row::default()
    };
    (row, body)
}

/// Plants copies of `q` into 1–4 fields.
fn plant(row: &mut Row, body: &str, q: &str, rng: &mut ChaCha8Rng) {
    let mut targets = [0u8, 1, 2, 3];
    for i in (1..targets.len()).rev() {
        targets.swap(i, rng.random_range(0..=i));
    }
    let count = rng.random_range(1..=targets.len());
    let mut chosen = targets[..count].to_vec();
    // Priority order: system, caption, ocr, metadata.
    chosen.sort_unstable();
    row.planted = true;
    for target in chosen {
        let style = rng.random_range(0..3);
        match (target, style) {
            (0, 0) => {
                row.system = format!("{} {q}", row.system);
                row.segments += 1;
            }
            (0, 1) => {
                row.system = format!("{}\nQuestion: {q}", row.system);
                row.expected_system = format!("{}\nQuestion:", row.expected_system);
                row.segments += 1;
            }
            (0, _) => {
                row.system = format!("{q}\n{}", row.system);
                row.segments += 1;
            }
            (1, 0) => {
                row.caption = format!("{} {q}", row.caption);
                row.segments += 1;
            }
            (1, 1) => {
                row.caption = format!("{body}, shown for the question {q} in a quiz.");
                row.expected_caption = format!("{body}, shown for the question in a quiz.");
                row.segments += 1;
            }
            (1, _) => {
                q.clone_into(&mut row.caption);
                row.expected_caption = String::new();
            }
            (2, 0) => {
                if let Some(base) = row.ocr.clone() {
                    row.ocr = Some(format!("{base}\n{q}"));
                } else {
                    row.ocr = Some(q.to_owned());
                    row.expected_ocr = Some(String::new());
                }
                row.segments += 1;
            }
            (2, _) => {
                if let Some(base) = row.ocr.clone() {
                    row.ocr = Some(format!("{base}\nQ: {q}"));
                    row.expected_ocr = Some(format!("{base}\nQ:"));
                } else {
                    row.ocr = Some(format!("Q: {q}"));
                    row.expected_ocr = Some("Q:".into());
                }
                row.segments += 1;
            }
            (_, 0 | 1) => {
                let open = row.metadata.trim_end_matches('}').to_owned();
                row.metadata = format!("{open}, \"prompt\": \"{q}\"}}");
                row.expected_metadata = format!("{open}, \"prompt\": \"\"}}");
            }
            (_, _) => {
                let open = row.metadata.trim_end_matches('}').to_owned();
                row.metadata = format!("{open}, \"note\": \"Asked: {q} Answer with one word.\"}}");
                row.expected_metadata =
                    format!("{open}, \"note\": \"Asked: Answer with one word.\"}}");
                row.segments += 1;
            }
        }
        row.copies.push(q.to_owned());
    }
}

fn chars(s: &str) -> u64 {
    s.chars().count() as u64
}

/// LLaVA's image token.
const IMAGE_TOKEN: &str = "<image>";

/// A LLaVA turn's text without its image token (and the line break that
/// sets it apart).
fn without_image(text: &str) -> String {
    text.replacen("<image>\n", "", 1)
        .replacen("\n<image>", "", 1)
        .replacen(IMAGE_TOKEN, "", 1)
}

/// A row's messages as (role, content): its system prompt, then the
/// source's turns.
fn message_turns<'a>(
    row: &'a Row,
    source: &'a SourceRow,
) -> impl Iterator<Item = (&'static str, &'a str)> {
    std::iter::once(("system", row.system.as_str())).chain(
        source
            .turns
            .iter()
            .map(|(f, v)| (if f == "human" { "user" } else { "assistant" }, v.as_str())),
    )
}

/// The `parts` layout's `messages` column: the system prompt, then the
/// source turns, each content a list of `{type, text}` parts; a turn with
/// the image token gets an image part (null text) before its text.
fn parts_messages(src_rows: &[SourceRow], sources: &[u32], rows: &[(String, Row)]) -> ArrayRef {
    let part = Fields::from(vec![
        Field::new("type", DataType::Utf8, true),
        Field::new("text", DataType::Utf8, true),
    ]);
    let item = Fields::from(vec![
        Field::new("role", DataType::Utf8, true),
        Field::new(
            "content",
            DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(part.clone()),
                true,
            ))),
            true,
        ),
    ]);
    let mut list = ListBuilder::new(StructBuilder::new(
        item,
        vec![
            Box::new(StringBuilder::new()),
            Box::new(ListBuilder::new(StructBuilder::from_fields(part, 0))),
        ],
    ));
    for (&s, (_, row)) in sources.iter().zip(rows) {
        for (role, content) in message_turns(row, &src_rows[s as usize]) {
            let item = list.values();
            if let Some(b) = item.field_builder::<StringBuilder>(0) {
                b.append_value(role);
            }
            if let Some(b) = item.field_builder::<ListBuilder<StructBuilder>>(1) {
                let mut push = |kind: &str, text: Option<&str>| {
                    let p = b.values();
                    if let Some(t) = p.field_builder::<StringBuilder>(0) {
                        t.append_value(kind);
                    }
                    if let Some(t) = p.field_builder::<StringBuilder>(1) {
                        t.append_option(text);
                    }
                    p.append(true);
                };
                if content.contains(IMAGE_TOKEN) {
                    push("image", None);
                    push("text", Some(&without_image(content)));
                } else {
                    push("text", Some(content));
                }
                b.append(true);
            }
            item.append(true);
        }
        list.append(true);
    }
    Arc::new(list.finish())
}

/// Generates the corpus, handing each batch to `sink` in order.
///
/// # Errors
/// [`Error::Source`] when the source is not a LLaVA corpus with a usable
/// first question per row; [`Error::Arrow`] when a batch cannot be built;
/// whatever `sink` returns.
pub fn synth_prompt_dup(
    source: &RecordBatch,
    config: &SynthConfig,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<SynthSummary> {
    let rows_src = read_source(source)?;
    let n_src = rows_src.len() as u64;
    if n_src == 0 {
        return Err(Error::Source("source corpus: no rows".into()));
    }
    let ids = source
        .column_by_name("id")
        .map(|a| arrow::compute::cast(a, &DataType::Utf8))
        .transpose()
        .map_err(|source| Error::Arrow {
            column: "id".into(),
            source,
        })?;
    let ids: Option<&StringArray> = ids.as_ref().and_then(|a| a.as_string_opt::<i32>());
    let splits = source
        .column_by_name("split")
        .and_then(|a| a.as_string_opt::<i32>());
    let total = config.rows.unwrap_or(n_src);
    let planted_rows = {
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "share is in [0, 1] and row counts are far below 2^53"
        )]
        let k = (config.share * total as f64).round() as u64;
        let mut rng = row_rng(config.seed, u64::MAX, 2);
        let total_usize = usize::try_from(total).map_err(|_| Error::Config {
            what: "rows",
            reason: "too many rows for this platform".into(),
        })?;
        let k = usize::try_from(k.min(total)).unwrap_or(total_usize);
        let mut planted = vec![false; total_usize];
        for i in rand::seq::index::sample(&mut rng, total_usize, k) {
            planted[i] = true;
        }
        planted
    };
    let mut summary = SynthSummary::default();
    let batch_rows = config.batch_rows.max(1) as u64;
    let mut start = 0u64;
    while start < total {
        let end = (start + batch_rows).min(total);
        let mut rows = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        let mut sources = Vec::with_capacity(rows.capacity());
        for i in start..end {
            let s = usize::try_from(i % n_src).unwrap_or(0);
            let cycle = i / n_src;
            let src = &rows_src[s];
            let base_id = ids.map_or_else(|| s.to_string(), |a| a.value(s).to_owned());
            let id = if cycle == 0 {
                base_id
            } else {
                format!("{base_id}-{cycle}")
            };
            let split = splits.map_or("train", |a| a.value(s));
            let mut rng = row_rng(config.seed, i, 0);
            let (mut row, body) = base_row(src, split, &id, &mut rng);
            if planted_rows[usize::try_from(i).unwrap_or(0)] {
                let mut plant_rng = row_rng(config.seed, i, 1);
                plant(&mut row, &body, &src.question, &mut plant_rng);
            }
            rows.push((id, row));
            sources.push(u32::try_from(s).unwrap_or(0));
        }
        let batch = build_batch(
            source,
            &rows_src,
            &sources,
            &rows,
            config.layout,
            &mut summary,
        )?;
        sink(batch)?;
        start = end;
    }
    Ok(summary)
}

fn arrow_err(column: &str) -> impl Fn(arrow::error::ArrowError) -> Error + '_ {
    move |source| Error::Arrow {
        column: column.to_owned(),
        source,
    }
}

fn take(
    source: &RecordBatch,
    name: &str,
    indices: &UInt32Array,
) -> Result<Option<(Field, ArrayRef)>> {
    let Some((_, field)) = source
        .schema()
        .column_with_name(name)
        .map(|(i, f)| (i, f.clone()))
    else {
        return Ok(None);
    };
    let Some(array) = source.column_by_name(name) else {
        return Ok(None);
    };
    let taken = arrow::compute::take(array.as_ref(), indices, None).map_err(arrow_err(name))?;
    Ok(Some((field, taken)))
}

fn string_column(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

#[expect(
    clippy::too_many_lines,
    reason = "one column after another, in schema order; splitting scatters the layout"
)]
fn build_batch(
    source: &RecordBatch,
    src_rows: &[SourceRow],
    sources: &[u32],
    rows: &[(String, Row)],
    layout: SynthLayout,
    summary: &mut SynthSummary,
) -> Result<RecordBatch> {
    let indices = UInt32Array::from(sources.to_vec());
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    fields.push(Field::new("id", DataType::Utf8, false));
    columns.push(string_column(rows.iter().map(|(id, _)| Some(id.clone()))));
    for name in ["split", "image"] {
        if let Some((field, array)) = take(source, name, &indices)? {
            fields.push(field);
            columns.push(array);
        }
    }
    // User-field figures per row: (segments, chars).
    let user: Vec<(u64, u64)> = sources
        .iter()
        .map(|&s| {
            let turns = &src_rows[s as usize].turns;
            let users = turns.iter().filter(|(f, _)| f == "human");
            match layout {
                SynthLayout::Columns => turns
                    .iter()
                    .find(|(f, _)| f == "human")
                    .map_or((0, 0), |(_, v)| (1, chars(v))),
                SynthLayout::Parts => users.fold((0, 0), |(n, c), (_, v)| {
                    (n + 1, c + chars(&without_image(v)))
                }),
                _ => users.fold((0, 0), |(n, c), (_, v)| (n + 1, c + chars(v))),
            }
        })
        .collect();
    match layout {
        SynthLayout::Llava => {
            if let Some((field, array)) = take(source, "conversations", &indices)? {
                fields.push(field);
                columns.push(array);
            }
        }
        SynthLayout::Messages => {
            let item = Fields::from(vec![
                Field::new("role", DataType::Utf8, true),
                Field::new("content", DataType::Utf8, true),
            ]);
            let mut list = ListBuilder::new(StructBuilder::from_fields(item, 0));
            for (&s, (_, row)) in sources.iter().zip(rows) {
                for (role, content) in message_turns(row, &src_rows[s as usize]) {
                    let item = list.values();
                    if let Some(b) = item.field_builder::<StringBuilder>(0) {
                        b.append_value(role);
                    }
                    if let Some(b) = item.field_builder::<StringBuilder>(1) {
                        b.append_value(content);
                    }
                    item.append(true);
                }
                list.append(true);
            }
            let array = list.finish();
            fields.push(Field::new("messages", array.data_type().clone(), true));
            columns.push(Arc::new(array));
        }
        SynthLayout::Parts => {
            let array = parts_messages(src_rows, sources, rows);
            fields.push(Field::new("messages", array.data_type().clone(), true));
            columns.push(array);
        }
        SynthLayout::Columns => {
            let first = |who: &str| {
                sources
                    .iter()
                    .map(|&s| {
                        src_rows[s as usize]
                            .turns
                            .iter()
                            .find(|(f, _)| f == who)
                            .map(|(_, v)| v.clone())
                    })
                    .collect::<Vec<_>>()
            };
            fields.push(Field::new("prompt", DataType::Utf8, true));
            columns.push(string_column(first("human").into_iter()));
            fields.push(Field::new("response", DataType::Utf8, true));
            columns.push(string_column(first("gpt").into_iter()));
        }
    }
    if !matches!(layout, SynthLayout::Messages | SynthLayout::Parts) {
        fields.push(Field::new("system", DataType::Utf8, true));
        columns.push(string_column(
            rows.iter().map(|(_, r)| Some(r.system.clone())),
        ));
    }
    fields.push(Field::new("caption", DataType::Utf8, true));
    columns.push(string_column(
        rows.iter().map(|(_, r)| Some(r.caption.clone())),
    ));
    fields.push(Field::new("ocr_text", DataType::Utf8, true));
    columns.push(string_column(rows.iter().map(|(_, r)| r.ocr.clone())));
    fields.push(Field::new("metadata", DataType::Utf8, true));
    columns.push(string_column(
        rows.iter().map(|(_, r)| Some(r.metadata.clone())),
    ));

    // Ground truth.
    let mut planted = BooleanBuilder::new();
    let mut copies = ListBuilder::new(StringBuilder::new());
    let mut segments = UInt64Builder::new();
    let mut total_chars = UInt64Builder::new();
    let mut copy_chars = UInt64Builder::new();
    for ((_, row), &(user_segments, user_chars)) in rows.iter().zip(&user) {
        let row_chars = user_chars
            + chars(&row.system)
            + chars(&row.caption)
            + row.ocr.as_deref().map_or(0, chars)
            + chars(&row.metadata);
        let row_copy_chars: u64 = row.copies.iter().map(|c| chars(c)).sum();
        planted.append_value(row.planted);
        for c in &row.copies {
            copies.values().append_value(c);
        }
        copies.append(true);
        segments.append_value(row.segments + user_segments);
        total_chars.append_value(row_chars);
        copy_chars.append_value(row_copy_chars);
        summary.rows += 1;
        summary.planted += u64::from(row.planted);
        summary.copies += row.copies.len() as u64;
        summary.segments += row.segments + user_segments;
        summary.chars += row_chars;
        summary.copy_chars += row_copy_chars;
    }
    let copies = copies.finish();
    let truth_fields: Vec<(Arc<Field>, ArrayRef)> = vec![
        (
            Arc::new(Field::new("planted", DataType::Boolean, false)),
            Arc::new(planted.finish()),
        ),
        (
            Arc::new(Field::new("copies", copies.data_type().clone(), false)),
            Arc::new(copies),
        ),
        (
            Arc::new(Field::new("segments", DataType::UInt64, false)),
            Arc::new(segments.finish()),
        ),
        (
            Arc::new(Field::new("chars", DataType::UInt64, false)),
            Arc::new(total_chars.finish()),
        ),
        (
            Arc::new(Field::new("copy_chars", DataType::UInt64, false)),
            Arc::new(copy_chars.finish()),
        ),
        (
            Arc::new(Field::new("expected_system", DataType::Utf8, true)),
            string_column(rows.iter().map(|(_, r)| Some(r.expected_system.clone()))),
        ),
        (
            Arc::new(Field::new("expected_caption", DataType::Utf8, true)),
            string_column(rows.iter().map(|(_, r)| Some(r.expected_caption.clone()))),
        ),
        (
            Arc::new(Field::new("expected_ocr_text", DataType::Utf8, true)),
            string_column(rows.iter().map(|(_, r)| r.expected_ocr.clone())),
        ),
        (
            Arc::new(Field::new("expected_metadata", DataType::Utf8, true)),
            string_column(rows.iter().map(|(_, r)| Some(r.expected_metadata.clone()))),
        ),
    ];
    let truth = StructArray::from(truth_fields);
    fields.push(Field::new(TRUTH_COLUMN, truth.data_type().clone(), false));
    columns.push(Arc::new(truth));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow_err("(batch)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> RecordBatch {
        let item = Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]);
        let mut list = ListBuilder::new(StructBuilder::from_fields(item, 0));
        for turns in [
            [
                ("human", "<image>\nwhat is the blue shape?"),
                ("gpt", "rectangle"),
            ],
            [
                ("human", "<image>\nwhat color is the shape?"),
                ("gpt", "red"),
            ],
        ] {
            for (f, v) in turns {
                let s = list.values();
                s.field_builder::<StringBuilder>(0).unwrap().append_value(f);
                s.field_builder::<StringBuilder>(1).unwrap().append_value(v);
                s.append(true);
            }
            list.append(true);
        }
        let list = list.finish();
        let id = StringArray::from(vec!["a", "b"]);
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, false),
                Field::new("conversations", list.data_type().clone(), true),
            ])),
            vec![Arc::new(id), Arc::new(list)],
        )
        .unwrap()
    }

    fn generate(share: f64, layout: SynthLayout, rows: u64) -> (Vec<RecordBatch>, SynthSummary) {
        let mut config = SynthConfig::new(share, 3, layout).unwrap();
        config.rows = Some(rows);
        config.batch_rows = 7;
        let mut out = Vec::new();
        let summary = synth_prompt_dup(&source(), &config, &mut |b| {
            out.push(b);
            Ok(())
        })
        .unwrap();
        (out, summary)
    }

    #[test]
    fn plants_exactly_the_share() {
        for layout in [
            SynthLayout::Llava,
            SynthLayout::Messages,
            SynthLayout::Parts,
            SynthLayout::Columns,
        ] {
            let (batches, summary) = generate(0.25, layout, 40);
            assert_eq!(summary.rows, 40);
            assert_eq!(summary.planted, 10);
            assert!(summary.copies >= 10);
            assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 40);
            assert!(batches[0].column_by_name(TRUTH_COLUMN).is_some());
        }
    }

    #[test]
    fn base_fields_do_not_depend_on_the_share() {
        let (clean, _) = generate(0.0, SynthLayout::Llava, 20);
        let (planted, _) = generate(1.0, SynthLayout::Llava, 20);
        let caption = |b: &RecordBatch| b.column_by_name("caption").unwrap().clone();
        let truth = planted[0].column_by_name(TRUTH_COLUMN).unwrap().as_struct();
        let expected = truth.column_by_name("expected_caption").unwrap();
        let clean_caption = caption(&clean[0]);
        let planted_caption = caption(&planted[0]);
        let clean_caption = clean_caption.as_string::<i32>();
        let expected = expected.as_string::<i32>();
        let planted_caption = planted_caption.as_string::<i32>();
        for i in 0..clean_caption.len() {
            if planted_caption.value(i) == expected.value(i) {
                assert_eq!(clean_caption.value(i), planted_caption.value(i));
            }
        }
        assert_eq!(
            clean[0].column_by_name("system").unwrap(),
            clean[0].column_by_name("system").unwrap()
        );
    }

    #[test]
    fn rejects_a_share_out_of_range() {
        assert!(SynthConfig::new(1.5, 0, SynthLayout::Llava).is_err());
    }
}
