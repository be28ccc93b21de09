//! A census of text fields per role: how many fields, samples and characters
//! each role has. This is what `regime inspect` shows to confirm a field map
//! before any stage runs; real statistics live in `regime-stats`.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::field_map::{FieldMap, Role};
use crate::reader::CorpusBatch;
use crate::sample::BatchText;

/// Counts for one role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoleCount {
    /// Non-null fields with this role.
    pub fields: u64,
    /// Rows with at least one such field.
    pub samples: u64,
    /// Characters (Unicode scalar values) in those fields.
    pub chars: u64,
}

/// Counts fields, samples and characters per role over a whole corpus,
/// calling `progress` with the rows seen so far.
///
/// # Errors
/// Read errors, and column errors from the field map.
pub fn role_census(
    batches: impl IntoIterator<Item = Result<CorpusBatch>>,
    map: &FieldMap,
    progress: &mut dyn FnMut(u64),
) -> Result<BTreeMap<Role, RoleCount>> {
    let mut counts: BTreeMap<Role, RoleCount> = BTreeMap::new();
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        let text = BatchText::try_new(map, &batch.batch)?;
        let mut fields = Vec::new();
        for row in 0..text.num_rows() {
            text.fields_into(row, &mut fields);
            let mut seen: Vec<Role> = Vec::new();
            for field in &fields {
                let count = counts.entry(field.role).or_default();
                count.fields += 1;
                count.chars += field.text.chars().count() as u64;
                if !seen.contains(&field.role) {
                    seen.push(field.role);
                    count.samples += 1;
                }
            }
        }
        rows += batch.num_rows() as u64;
        progress(rows);
    }
    Ok(counts)
}
