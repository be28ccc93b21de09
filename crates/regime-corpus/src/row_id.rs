//! Stable row identity: `(shard index, row index)` packed into one `u64`.
//!
//! The shard index is the file's position in the sorted input list and the
//! row index counts rows within that file, so an id depends only on the
//! inputs, never on thread count or batch boundaries.

/// Bits reserved for the row index inside a file (≈ 1.1 × 10¹² rows).
pub const ROW_BITS: u32 = 40;

/// A packed `(shard, row)` identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RowId(u64);

impl RowId {
    /// Packs a shard index (below 2²⁴) and a row index (below 2⁴⁰).
    ///
    /// # Panics
    /// Never for real corpora; out-of-range parts are an internal invariant
    /// violation checked when the reader opens its inputs.
    #[must_use]
    pub fn new(shard: u32, row: u64) -> Self {
        debug_assert!(shard < (1 << (64 - ROW_BITS)), "shard index fits 24 bits");
        debug_assert!(row < (1 << ROW_BITS), "row index fits 40 bits");
        Self((u64::from(shard) << ROW_BITS) | row)
    }

    /// Rebuilds an id from its packed form.
    #[must_use]
    pub const fn from_u64(packed: u64) -> Self {
        Self(packed)
    }

    /// The packed form, as stored in provenance columns.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The file's position in the sorted input list.
    #[must_use]
    pub fn shard(self) -> u32 {
        u32::try_from(self.0 >> ROW_BITS).unwrap_or(u32::MAX)
    }

    /// The row's index within its file.
    #[must_use]
    pub const fn row(self) -> u64 {
        self.0 & ((1 << ROW_BITS) - 1)
    }
}

impl std::fmt::Display for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.shard(), self.row())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks() {
        let id = RowId::new(3, 1_234_567);
        assert_eq!(id.shard(), 3);
        assert_eq!(id.row(), 1_234_567);
        assert_eq!(id.as_u64(), (3 << 40) + 1_234_567);
        assert_eq!(RowId::new(0, 42).as_u64(), 42);
        assert_eq!(id.to_string(), "3:1234567");
    }

    #[test]
    fn orders_by_shard_then_row() {
        assert!(RowId::new(0, u64::from(u32::MAX)) < RowId::new(1, 0));
    }
}
