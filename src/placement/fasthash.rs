//! A small, fast, deterministic hasher for the placer's hot maps.
//!
//! The placer looks up a task's group (a short string) and touches per-host maps on every
//! placement and release. The standard library's SipHash (with random keys) costs about as much
//! as the rest of a placement; this is the multiply-rotate hash rustc uses (FxHash), which is
//! plenty for keys that are not attacker-controlled. No placer decision depends on a map's
//! iteration order (iterations only sum counts or update every entry), so the hasher changes
//! speed, never results.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` with [`FxHasher`].
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash: for each word, `h = (h.rotate_left(5) ^ word) * SEED`.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_maps_work() {
        let mut m: FastMap<String, u32> = FastMap::default();
        m.insert("family:web".into(), 1);
        m.insert("family:web2".into(), 2);
        m.insert("service:web".into(), 3);
        assert_eq!(m.get("family:web"), Some(&1));
        assert_eq!(m.get("family:web2"), Some(&2));
        assert_eq!(m.get("service:web"), Some(&3));
        assert_eq!(m.get("family:we"), None);
        let h = |s: &str| {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(h("abcdefghij"), h("abcdefghij"));
        assert_ne!(h("abcdefghij"), h("abcdefghik"));
    }
}
