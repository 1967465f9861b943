//! The simulator's event queue: a 4-ary min-heap keyed by a `u64`.
//!
//! `std::collections::BinaryHeap` was the largest single cost of a simulated event (about a
//! fifth of the cycles of `berth bench simulate` in `perf record`): with ~10,000 pending items a
//! pop walks 13 levels of a binary tree, and every level is a likely cache miss. Four children
//! per node halve the depth, and the keys are kept apart from the 32-byte items, so the four
//! children's keys sit in one cache line. This costs a few more comparisons than a binary heap
//! but fewer cache misses, which is what the time goes to (docs/performance.md, "Simulation").
//!
//! Keys are unique (time and sequence number), so items come out in the same order as from any
//! correct heap. (The simulator keeps 20 bits of the sequence number: two pending items could
//! share a key only if due in the same millisecond and scheduled exactly 2^20 pushes apart.)

use serde::{Deserialize, Deserializer, Serialize};

/// What the queue orders by (smallest first).
pub(super) trait Keyed: Copy {
    fn key(&self) -> u64;
}

const ARITY: usize = 4;

/// A min-heap of items; serialised as a plain list.
///
/// Keys live in their own array, parallel to the items: sifting reads only keys (the four
/// children's keys share one cache line) and moves an item only when it moves.
#[derive(Debug, Clone)]
pub(super) struct Queue<T> {
    keys: Vec<u64>,
    items: Vec<T>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue { keys: Vec::new(), items: Vec::new() }
    }
}

impl<T: Serialize> Serialize for Queue<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter())
    }
}

impl<'de, T: Keyed + Deserialize<'de>> Deserialize<'de> for Queue<T> {
    /// Any order is accepted: sorted by key, a list is a valid heap.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut items = Vec::<T>::deserialize(d)?;
        items.sort_by_key(|i| i.key());
        let keys = items.iter().map(|i| i.key()).collect();
        Ok(Queue { keys, items })
    }
}

impl<T: Keyed> Queue<T> {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The smallest key.
    pub fn peek_key(&self) -> Option<u64> {
        self.keys.first().copied()
    }

    /// The item with the smallest key.
    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    pub fn push(&mut self, item: T) {
        let key = item.key();
        let mut i = self.keys.len();
        self.keys.push(key);
        self.items.push(item);
        // Sift up, moving parents down into the hole.
        while i > 0 {
            let p = (i - 1) / ARITY;
            if self.keys[p] <= key {
                break;
            }
            self.keys[i] = self.keys[p];
            self.items[i] = self.items[p];
            i = p;
        }
        self.keys[i] = key;
        self.items[i] = item;
    }

    /// Takes out the item with the smallest key.
    pub fn pop(&mut self) -> Option<T> {
        let key = self.keys.pop()?;
        let last = self.items.pop().expect("parallel arrays");
        let n = self.keys.len();
        if n == 0 {
            return Some(last);
        }
        let top = self.items[0];
        // Sift `last` down from the root, moving the smallest child up into the hole.
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let (m, mk) = if first + ARITY <= n {
                // A full node (nearly every one): a fixed four-way minimum over one slice,
                // without per-child bounds checks or a loop. Ties keep the leftmost child.
                let k: &[u64; ARITY] =
                    self.keys[first..first + ARITY].try_into().expect("four keys");
                let (a, ka) = if k[1] < k[0] { (1, k[1]) } else { (0, k[0]) };
                let (b, kb) = if k[3] < k[2] { (3, k[3]) } else { (2, k[2]) };
                if kb < ka {
                    (first + b, kb)
                } else {
                    (first + a, ka)
                }
            } else {
                let mut m = first;
                let mut mk = self.keys[first];
                for c in first + 1..n {
                    if self.keys[c] < mk {
                        m = c;
                        mk = self.keys[c];
                    }
                }
                (m, mk)
            };
            if key <= mk {
                break;
            }
            self.keys[i] = mk;
            self.items[i] = self.items[m];
            i = m;
        }
        self.keys[i] = key;
        self.items[i] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for u64 {
        fn key(&self) -> u64 {
            *self
        }
    }

    #[test]
    fn pops_in_key_order_against_a_binary_heap() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut q: Queue<u64> = Queue::default();
        let mut reference = BinaryHeap::new();
        let mut x: u64 = 12345;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 40
        };
        // Interleave pushes and pops, as the simulator does, with unique keys.
        let mut seq = 0u64;
        for round in 0..2000 {
            for _ in 0..(round % 7) {
                seq += 1;
                let k = (next() << 20) | seq;
                q.push(k);
                reference.push(Reverse(k));
            }
            for _ in 0..(round % 5) {
                assert_eq!(q.pop(), reference.pop().map(|r| r.0));
                assert_eq!(q.len(), reference.len());
            }
        }
        while let Some(Reverse(k)) = reference.pop() {
            assert_eq!(q.pop(), Some(k));
        }
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek_key(), None);
    }

    #[test]
    fn serde_round_trip_keeps_the_order() {
        let mut q: Queue<u64> = Queue::default();
        for k in [5u64, 1, 9, 3, 7, 2, 8] {
            q.push(k);
        }
        let json = serde_json::to_string(&q).unwrap();
        let mut back: Queue<u64> = serde_json::from_str(&json).unwrap();
        let mut out = Vec::new();
        while let Some(k) = back.pop() {
            out.push(k);
        }
        assert_eq!(out, vec![1, 2, 3, 5, 7, 8, 9]);
    }
}
