//! Writes a synthetic LLaVA-layout corpus of a chosen size, for memory and
//! throughput measurements (BENCHMARKS.md):
//!
//! ```sh
//! cargo run --release --example synth_corpus -- OUT.parquet ROWS [IMAGE_BYTES]
//! ```
//!
//! Rows have an `id`, an `image: {bytes, path}` struct whose bytes are
//! incompressible (so the file size tracks `ROWS × IMAGE_BYTES`), and
//! `conversations: [{from, value}]` with 2–8 turns of Zipf-distributed words.
//! Same arguments, same file (seeded `ChaCha8`).

use std::fs::File;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryBuilder, ListBuilder, RecordBatch, StringBuilder, StructArray,
    StructBuilder,
};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BATCH: usize = 2000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(rows)) = (args.get(1), args.get(2)) else {
        return Err("usage: synth_corpus OUT.parquet ROWS [IMAGE_BYTES]".into());
    };
    let rows: usize = rows.parse()?;
    let image_bytes: usize = args.get(3).map_or(Ok(2000), |s| s.parse())?;
    let vocabulary: Vec<String> = (0..20_000).map(|i| format!("w{i:x}")).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut writer: Option<ArrowWriter<File>> = None;
    let mut done = 0;
    while done < rows {
        let n = BATCH.min(rows - done);
        let batch = make_batch(&mut rng, done, n, image_bytes, &vocabulary)?;
        if writer.is_none() {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
                .set_max_row_group_row_count(Some(2_000))
                .build();
            writer = Some(ArrowWriter::try_new(
                File::create(out)?,
                batch.schema(),
                Some(props),
            )?);
        }
        if let Some(writer) = writer.as_mut() {
            writer.write(&batch)?;
        }
        done += n;
    }
    if let Some(writer) = writer {
        writer.close()?;
    }
    Ok(())
}

/// Rows `first..first + n`.
fn make_batch(
    rng: &mut ChaCha8Rng,
    first: usize,
    n: usize,
    image_bytes: usize,
    vocabulary: &[String],
) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let turn_fields = Fields::from(vec![
        Field::new("from", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
    ]);
    let image_fields = Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ]);
    let mut blob = vec![0u8; image_bytes];
    let mut ids = StringBuilder::new();
    let mut blobs = BinaryBuilder::new();
    let mut paths = StringBuilder::new();
    let mut conversations = ListBuilder::new(StructBuilder::from_fields(turn_fields, n));
    for row in first..first + n {
        ids.append_value(format!("row-{row:09}"));
        rng.fill_bytes(&mut blob);
        blobs.append_value(&blob);
        paths.append_value(format!("images/{row:09}.png"));
        let turns = rng.random_range(1..=4) * 2;
        for t in 0..turns {
            let words = rng.random_range(4..60);
            let text: Vec<&str> = (0..words)
                .map(|_| {
                    // Zipf-like: squaring a uniform draw favours low ranks.
                    let u: f64 = rng.random();
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        clippy::cast_precision_loss,
                        reason = "a rank below the vocabulary size"
                    )]
                    let rank = ((u * u) * vocabulary.len() as f64) as usize;
                    vocabulary[rank.min(vocabulary.len() - 1)].as_str()
                })
                .collect();
            let turn = conversations.values();
            turn.field_builder::<StringBuilder>(0)
                .ok_or("from builder")?
                .append_value(if t % 2 == 0 { "human" } else { "gpt" });
            turn.field_builder::<StringBuilder>(1)
                .ok_or("value builder")?
                .append_value(text.join(" "));
            turn.append(true);
        }
        conversations.append(true);
    }
    let image = StructArray::new(
        image_fields,
        vec![
            Arc::new(blobs.finish()) as ArrayRef,
            Arc::new(paths.finish()),
        ],
        None,
    );
    let conversations = conversations.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("image", image.data_type().clone(), true),
        Field::new("conversations", conversations.data_type().clone(), true),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(ids.finish()),
            Arc::new(image),
            Arc::new(conversations),
        ],
    )?)
}
