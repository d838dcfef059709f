//! Server-generated 64-bit ids, ordered by creation time: 41 bits of milliseconds since
//! 2024-01-01, 10 bits of node id, 12 bits of sequence within the millisecond. Ordered ids make
//! indexes append-only and let two nodes generate ids without talking to each other.

use std::sync::Mutex;

use crate::clock::now_ms;

const EPOCH_MS: i64 = 1_704_067_200_000;
const NODE_BITS: u32 = 10;
const SEQ_BITS: u32 = 12;
const MAX_SEQ: i64 = (1 << SEQ_BITS) - 1;

#[derive(Debug)]
pub struct IdGenerator {
    node: i64,
    /// (millisecond, sequence) of the last id handed out.
    last: Mutex<(i64, i64)>,
}

impl IdGenerator {
    /// `node` is reduced to its low 10 bits.
    pub fn new(node: u16) -> IdGenerator {
        IdGenerator { node: i64::from(node) & ((1 << NODE_BITS) - 1), last: Mutex::new((0, 0)) }
    }

    /// The next id, as whichever id type the caller needs (or a plain `i64`).
    pub fn next<T: From<i64>>(&self) -> T {
        T::from(self.next_raw())
    }

    fn next_raw(&self) -> i64 {
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Never go back, even if the wall clock does: ids must stay unique and increasing.
        let mut ms = (now_ms() - EPOCH_MS).max(last.0);
        let seq = if ms == last.0 { last.1 + 1 } else { 0 };
        let seq = if seq > MAX_SEQ {
            ms += 1; // borrow the next millisecond rather than wait for it
            0
        } else {
            seq
        };
        *last = (ms, seq);
        (ms << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_never_repeat() {
        let ids = IdGenerator::new(3);
        let mut previous = 0;
        for _ in 0..20_000 {
            let id: i64 = ids.next();
            assert!(id > previous);
            assert_eq!((id >> SEQ_BITS) & 0x3ff, 3);
            previous = id;
        }
    }

    #[test]
    fn nodes_with_different_ids_never_generate_the_same_id() {
        let (a, b) = (IdGenerator::new(1), IdGenerator::new(2));
        let from_a: std::collections::HashSet<i64> = (0..5000).map(|_| a.next()).collect();
        assert!(
            (0..5000).map(|_| b.next::<i64>()).all(|id| !from_a.contains(&id)),
            "same millisecond, other node bits"
        );
    }
}
