//! Zero-initialised `u32` arrays for the count tables, backed by
//! transparent huge pages when large.
//!
//! Why: an n-gram table of hundreds of MiB is probed at random, so with
//! 4 KiB pages nearly every probe also misses the TLB, and every page is
//! faulted in twice (a read maps the shared zero page, the first write
//! copies it). Linux hands out 2 MiB pages to an anonymous mapping advised
//! with `MADV_HUGEPAGE` even when the system default is `madvise` (the
//! usual setting): on ShareGPT that took a third off the CPU time of
//! `regime profile`. Small arrays stay on the heap, and where mapping or
//! advising fails the array is still correct, only slower.

use memmap2::MmapMut;

/// Arrays of at least this many bytes are mapped (one huge page).
const MAPPED_MIN_BYTES: usize = 2 << 20;

/// A fixed-length, zero-initialised array of `u32`.
#[derive(Debug)]
pub(crate) enum Cells {
    /// A small array.
    Heap(Vec<u32>),
    /// An anonymous mapping advised for huge pages; its length is a
    /// multiple of 4 bytes.
    Mapped(MmapMut),
}

impl Cells {
    /// `len` zeros.
    pub(crate) fn zeroed(len: usize) -> Self {
        let bytes = len.saturating_mul(4);
        if bytes >= MAPPED_MIN_BYTES
            && let Ok(map) = MmapMut::map_anon(bytes)
        {
            #[cfg(target_os = "linux")]
            {
                // Only a hint: without huge pages the table is slower, not wrong.
                let _ = map.advise(memmap2::Advice::HugePage);
            }
            return Self::Mapped(map);
        }
        Self::Heap(vec![0; len])
    }

    /// The cells.
    pub(crate) fn as_slice(&self) -> &[u32] {
        match self {
            Self::Heap(v) => v,
            // A mapping is page-aligned and sized in whole cells.
            Self::Mapped(m) => bytemuck::cast_slice(m),
        }
    }

    /// The cells, mutably.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u32] {
        match self {
            Self::Heap(v) => v,
            Self::Mapped(m) => bytemuck::cast_slice_mut(m),
        }
    }

    /// Number of cells.
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }
}

impl Default for Cells {
    fn default() -> Self {
        Self::Heap(Vec::new())
    }
}

impl Clone for Cells {
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.len());
        copy.as_mut_slice().copy_from_slice(self.as_slice());
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_mapped_arrays_start_zeroed_and_clone() {
        for len in [0, 5, MAPPED_MIN_BYTES / 4 + 3] {
            let mut c = Cells::zeroed(len);
            assert_eq!(c.len(), len);
            assert!(c.as_slice().iter().all(|&x| x == 0));
            if len > 0 {
                c.as_mut_slice()[len - 1] = 7;
            }
            let d = c.clone();
            assert_eq!(d.as_slice(), c.as_slice());
        }
        assert!(matches!(
            Cells::zeroed(MAPPED_MIN_BYTES / 4),
            Cells::Mapped(_)
        ));
        assert!(matches!(Cells::zeroed(16), Cells::Heap(_)));
    }
}
