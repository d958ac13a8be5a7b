//! The null sink against the conformance suite. It keeps nothing by design, so no reader can check order, repeats,
//! cancellation or size: those cases are skipped. What it must still do is acknowledge an empty batch and close.

use super::NullSink;
use crate::conformance::{suite, Destination, Seen};

struct Nowhere;

impl Destination for Nowhere {
    type Sink = NullSink;

    async fn open(&mut self) -> NullSink {
        NullSink
    }

    async fn read(&mut self) -> Vec<Seen> {
        Vec::new()
    }
}

suite!(Nowhere; an_empty_batch_is_acknowledged, close_after_writes_succeeds, health_is_ok_while_the_destination_is_reachable);
