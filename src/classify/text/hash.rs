//! A small, fast hasher for the per-worker caches and word tables on the hot path (stem cache,
//! transliteration-key cache, whole-token pattern tables): the FxHash scheme (rotate, xor,
//! multiply per 8 bytes), as rustc uses for its own tables.
//!
//! Measured (callgrind, `trawl classify --threads 1`): std's SipHash was ~3% of all classify
//! instructions for word lookups of a few bytes each. Not collision-resistant against chosen
//! keys: the maps using it are bounded per worker, so a hostile post can only make its own
//! lookups slower, never unbounded.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0xf135_7aea_2e62_a9c5;

/// FxHash-style hasher.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(26) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut b = bytes;
        while let Some((c, rest)) = b.split_first_chunk::<8>() {
            self.add(u64::from_le_bytes(*c));
            b = rest;
        }
        if let Some((c, rest)) = b.split_first_chunk::<4>() {
            self.add(u64::from(u32::from_le_bytes(*c)));
            b = rest;
        }
        let mut tail = 0u64;
        for (i, &x) in b.iter().enumerate() {
            tail |= u64::from(x) << (8 * i);
        }
        // The tail length is part of the word, so "a\0" and "a" differ.
        self.add(tail | ((b.len() as u64) << 56));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
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
        // The multiply leaves the low bits weak; hashbrown indexes with the low bits.
        self.hash.rotate_left(20)
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn distinct_short_keys_hash_apart() {
        let b = BuildHasherDefault::<FxHasher>::default();
        let mut seen = std::collections::HashSet::new();
        for w in [
            "",
            "a",
            "a\0",
            "ab",
            "ba",
            "abcd",
            "abcde",
            "abcdefgh",
            "abcdefghi",
            "фонарь",
        ] {
            assert!(seen.insert(b.hash_one(w)), "{w:?}");
        }
    }

    #[test]
    fn map_round_trips() {
        let mut m: FxHashMap<Box<str>, u32> = FxHashMap::default();
        for (i, w) in ["join", "lantern", "фонарь", "灯"].iter().enumerate() {
            m.insert((*w).into(), i as u32);
        }
        assert_eq!(m.get("фонарь"), Some(&2));
        assert_eq!(m.get("fonar"), None);
    }
}
