//! Chunks of source items, bounded by count and by bytes.
//!
//! The channel to the pipeline holds a fixed number of chunks, so what a chunk may hold is what bounds the
//! source's memory. A count alone does not: 512 rows of 10 MiB each are 5 GiB. So a chunk also closes once the
//! bytes its items were decoded from — replication messages, COPY data — reach a budget. Those bytes are what the
//! items hold: values are slices of the buffers they were read into, and a buffer lives as long as any slice of it.
//!
//! The count is checked per item and the bytes are one addition per message read, so bounding by bytes costs the
//! normal path nothing measurable. A chunk always takes at least one item, so a value larger than the whole
//! budget still flows, alone in its chunk.

use super::{ItemChunk, SourceItem};

/// At most this many items go into one chunk.
pub(crate) const CHUNK_ITEMS: usize = 512;

/// The chunk being filled, and the bytes its items were decoded from.
#[derive(Debug)]
pub(crate) struct ChunkBuilder {
    pub(crate) items: ItemChunk,
    bytes: usize,
    max_bytes: usize,
}

impl ChunkBuilder {
    /// A builder whose chunks close at [`CHUNK_ITEMS`] items or `max_bytes` bytes, whichever comes first.
    pub(crate) fn new(max_bytes: usize) -> Self {
        ChunkBuilder { items: Vec::with_capacity(CHUNK_ITEMS), bytes: 0, max_bytes }
    }

    pub(crate) fn push(&mut self, item: SourceItem) {
        self.items.push(item);
    }

    /// Counts bytes read for this chunk's items (a message, or a piece of COPY data).
    pub(crate) fn count_bytes(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Whether the chunk has reached either bound. An empty chunk is never full: it takes at least one item.
    pub(crate) fn is_full(&self) -> bool {
        !self.items.is_empty() && (self.items.len() >= CHUNK_ITEMS || self.bytes >= self.max_bytes)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The chunk so far; the builder starts a new one.
    pub(crate) fn take(&mut self) -> ItemChunk {
        self.bytes = 0;
        std::mem::replace(&mut self.items, Vec::with_capacity(CHUNK_ITEMS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::Lsn;

    fn item() -> SourceItem {
        SourceItem::Idle { lsn: Lsn(1) }
    }

    #[test]
    fn a_single_item_larger_than_the_byte_budget_still_makes_a_chunk() {
        let mut chunk = ChunkBuilder::new(1024);
        chunk.count_bytes(50 << 20);
        assert!(!chunk.is_full(), "an empty chunk must take its first item");
        chunk.push(item());
        assert!(chunk.is_full());
        assert_eq!(chunk.take().len(), 1);
    }

    #[test]
    fn the_byte_budget_closes_a_chunk_before_the_count_does() {
        let mut chunk = ChunkBuilder::new(1000);
        let mut pushed = 0;
        while !chunk.is_full() {
            chunk.count_bytes(300);
            chunk.push(item());
            pushed += 1;
        }
        assert_eq!(pushed, 4, "300 bytes each: the fourth item reaches 1000");
        assert_eq!(chunk.take().len(), 4);
        assert!(chunk.is_empty() && !chunk.is_full(), "a taken chunk starts from zero bytes");
        chunk.count_bytes(300);
        chunk.push(item());
        assert!(!chunk.is_full());
    }

    #[test]
    fn the_count_closes_a_chunk_of_small_items() {
        let mut chunk = ChunkBuilder::new(usize::MAX);
        for _ in 0..CHUNK_ITEMS - 1 {
            chunk.count_bytes(100);
            chunk.push(item());
            assert!(!chunk.is_full());
        }
        chunk.push(item());
        assert!(chunk.is_full());
        assert_eq!(chunk.take().len(), CHUNK_ITEMS);
    }
}
