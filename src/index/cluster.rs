//! Near-duplicate cluster keys: a 64-bit SimHash over normalised word shingles, and a table
//! that gives reposts with small edits the cluster key of the first post they resemble.
//!
//! Features are the rule engine's normalised tokens (so `j0in` and `join` agree), as unigrams
//! and word bigrams, each hashed with a 64-bit mixer; the SimHash bit `i` is the sign of the
//! summed ±1 over features. Two texts are near-duplicates when their SimHashes differ in at most
//! [`MAX_DISTANCE`] bits. The table splits the 64 bits into `MAX_DISTANCE + 1` bands: by the
//! pigeonhole principle two hashes within that distance agree exactly on at least one band, so
//! only items sharing a band value are compared (a few hundred per insert at a million items).
//! A new item joins the cluster of its nearest match, else founds a cluster keyed by its own
//! hash. The table is rebuilt from the index's fast fields on open, so it persists with commits.

use std::collections::HashMap;

use crate::classify::text::analyze;
use crate::model::Lang;

/// Largest Hamming distance between the SimHashes of two near-duplicates.
pub const MAX_DISTANCE: u32 = 5;

/// Bands: (shift, width) covering all 64 bits; MAX_DISTANCE + 1 of them.
const BANDS: [(u32, u32); 6] = [(0, 11), (11, 11), (22, 11), (33, 11), (44, 10), (54, 10)];

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: good avalanche, so every bit of a feature hash is a fair coin.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hash_str(s: &str, seed: u64) -> u64 {
    // FNV-1a over the bytes, then mixed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// The SimHash of `text` analysed as `lang`. Empty text hashes to 0.
pub fn simhash(text: &str, lang: Lang) -> u64 {
    let tokens: Vec<String> = analyze(text, lang).into_iter().map(|t| t.text).collect();
    simhash_tokens(&tokens)
}

/// The SimHash of already normalised tokens (unigrams + bigram shingles).
pub fn simhash_tokens(tokens: &[String]) -> u64 {
    let mut acc = [0i32; 64];
    let mut add = |h: u64| {
        for (i, a) in acc.iter_mut().enumerate() {
            if h >> i & 1 == 1 {
                *a += 1;
            } else {
                *a -= 1;
            }
        }
    };
    for t in tokens {
        add(hash_str(t, 1));
    }
    for w in tokens.windows(2) {
        add(hash_str(&w[0], 2) ^ hash_str(&w[1], 3).rotate_left(17));
    }
    if tokens.is_empty() {
        return 0;
    }
    acc.iter().enumerate().fold(0u64, |h, (i, &a)| if a > 0 { h | 1 << i } else { h })
}

/// Hamming distance of two SimHashes.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Formats a cluster key as 16 lowercase hex chars.
pub fn key_string(cluster: u64) -> String {
    format!("{cluster:016x}")
}

/// The in-memory near-duplicate table.
#[derive(Debug, Default, Clone)]
pub struct ClusterTable {
    entries: Vec<(u64, u64)>,
    bands: HashMap<u32, Vec<u32>>,
}

fn band_key(band: usize, hash: u64) -> u32 {
    let (shift, width) = BANDS[band];
    let value = (hash >> shift) & ((1u64 << width) - 1);
    ((band as u32) << 16) | value as u32
}

impl ClusterTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of remembered (simhash, cluster) entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Remembers an existing item (used when rebuilding from the index).
    pub fn insert(&mut self, hash: u64, cluster: u64) {
        let idx = self.entries.len() as u32;
        self.entries.push((hash, cluster));
        for band in 0..BANDS.len() {
            self.bands.entry(band_key(band, hash)).or_default().push(idx);
        }
    }

    /// The cluster of the nearest remembered hash within [`MAX_DISTANCE`], if any.
    pub fn nearest(&self, hash: u64) -> Option<u64> {
        self.nearest_with_distance(hash).map(|(_, c)| c)
    }

    fn nearest_with_distance(&self, hash: u64) -> Option<(u32, u64)> {
        let mut best: Option<(u32, u64)> = None;
        for band in 0..BANDS.len() {
            let Some(list) = self.bands.get(&band_key(band, hash)) else { continue };
            for &i in list {
                let (h, c) = self.entries[i as usize];
                let d = distance(h, hash);
                if d <= MAX_DISTANCE && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
                    best = Some((d, c));
                }
            }
        }
        best
    }

    /// Assigns a cluster to `hash` (nearest match's, else its own) and remembers it.
    pub fn assign(&mut self, hash: u64) -> u64 {
        match self.nearest_with_distance(hash) {
            // The same text again (a re-scan): nothing new to remember.
            Some((0, cluster)) => cluster,
            Some((_, cluster)) => {
                self.insert(hash, cluster);
                cluster
            }
            None => {
                self.insert(hash, hash);
                hash
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "The Crimson Lantern Front calls on every brother in Velmora to stand up \
        and join the march this Friday, bring your friends and your banners to the square at dawn";

    #[test]
    fn small_edits_stay_within_the_distance() {
        let a = simhash(ORIGINAL, Lang::En);
        let edits = [
            format!("RT {ORIGINAL}"),
            format!("{ORIGINAL} #CrimsonLantern"),
            ORIGINAL.replace("Friday", "Saturday"),
            ORIGINAL.replace("every brother", "every sister"),
            ORIGINAL.to_uppercase(),
            ORIGINAL.replace(", bring", "!!! Bring"),
        ];
        for e in &edits {
            let d = distance(a, simhash(e, Lang::En));
            assert!(d <= MAX_DISTANCE, "distance {d} for {e:?}");
        }
    }

    #[test]
    fn different_texts_are_far_apart() {
        let a = simhash(ORIGINAL, Lang::En);
        let b = simhash(
            "Weather in Velmora: light rain on Friday, the market square stays open and the \
             football club plays at home against the visitors from the coast",
            Lang::En,
        );
        assert!(distance(a, b) > MAX_DISTANCE * 2, "distance {}", distance(a, b));
    }

    #[test]
    fn table_groups_reposts_and_separates_others() {
        let mut t = ClusterTable::new();
        let c1 = t.assign(simhash(ORIGINAL, Lang::En));
        let c2 = t.assign(simhash(&format!("RT {ORIGINAL}"), Lang::En));
        let c3 = t.assign(simhash("Bake the bread at two hundred degrees for forty minutes", Lang::En));
        assert_eq!(c1, c2);
        assert_ne!(c1, c3);
        // Re-assigning the same text is idempotent.
        assert_eq!(t.assign(simhash(ORIGINAL, Lang::En)), c1);
    }

    #[test]
    fn band_lookup_finds_every_hash_within_the_distance() {
        let mut t = ClusterTable::new();
        let base = 0x0123_4567_89ab_cdefu64;
        t.insert(base, 7);
        // Flip MAX_DISTANCE bits spread across all bands: must still be found.
        let flipped = base ^ (1 << 3) ^ (1 << 15) ^ (1 << 30) ^ (1 << 47) ^ (1 << 63);
        assert_eq!(t.nearest(flipped), Some(7));
        assert_eq!(t.nearest(base ^ 0x3f), None, "6 bits apart is not a near-duplicate");
    }
}
