//! Near-duplicate cluster keys: MinHash signatures over normalised word shingles, LSH bands to
//! find candidates, and a table that gives reposts with small edits the cluster key of the first
//! post they resemble.
//!
//! Why MinHash and not SimHash: measured on this analyser, a 64-bit SimHash of a six-word post
//! moves 16 bits when one word changes or an `RT @handle:` prefix is added, while unrelated posts
//! are 20-37 bits apart, so no Hamming threshold separates short reposts from different texts.
//! MinHash estimates the Jaccard similarity of the shingle sets directly, which stays high
//! (0.5-0.7) for such edits and near 0 for unrelated posts, whatever the length.
//!
//! Features are the rule engine's normalised tokens (so `j0in` and `join` agree) as unigrams and
//! word bigrams. The signature is [`SIG_LEN`] minima of independent 64-bit hashes (kept as u32).
//! LSH: [`BANDS`] bands of [`ROWS`] values each; two posts are candidates when a band is equal
//! (probability `1 - (1 - J^2)^8`: 0.96 at J = 0.57, 0.05 at J = 0.08). A candidate is a
//! near-duplicate when at least [`MIN_EQUAL`] of the 16 values agree (estimated J >= 0.44). A new
//! item joins the cluster of its best match, else founds one keyed by a hash of its signature.
//! Scans of a band bucket stop after [`BUCKET_SCAN`] most recent entries, so a bucket of a
//! shingle shared by many posts cannot make inserts quadratic. The table is rebuilt from the
//! index's fast fields when a writer opens, so it persists with commits.

use std::collections::HashMap;

use crate::classify::text::analyze;
use crate::model::Lang;

/// Number of MinHash values in a signature.
pub const SIG_LEN: usize = 16;
/// LSH rows per band.
pub const ROWS: usize = 2;
/// LSH bands.
pub const BANDS: usize = SIG_LEN / ROWS;
/// Equal signature values needed for a near-duplicate (7 of 16: Jaccard >= ~0.44).
pub const MIN_EQUAL: usize = 7;
/// Most recent entries scanned per band bucket.
pub const BUCKET_SCAN: usize = 256;

/// A MinHash signature.
pub type Signature = [u32; SIG_LEN];

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: good avalanche, so each seed gives an independent-looking hash.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// The signature of `text` analysed as `lang`.
pub fn signature(text: &str, lang: Lang) -> Signature {
    let tokens: Vec<String> = analyze(text, lang).into_iter().map(|t| t.text).collect();
    signature_tokens(&tokens)
}

/// The signature of analysed tokens.
pub fn signature_of(tokens: &[crate::classify::text::Token]) -> Signature {
    let texts: Vec<String> = tokens.iter().map(|t| t.text.clone()).collect();
    signature_tokens(&texts)
}

/// The signature of already normalised tokens (unigram and bigram shingles). Empty input gives
/// an all-`u32::MAX` signature, which matches nothing but itself.
pub fn signature_tokens(tokens: &[String]) -> Signature {
    let mut features: Vec<u64> = tokens.iter().map(|t| hash_str(t)).collect();
    features.extend(
        tokens
            .windows(2)
            .map(|w| mix(hash_str(&w[0]) ^ hash_str(&w[1]).rotate_left(23))),
    );
    features.sort_unstable();
    features.dedup();
    let mut sig = [u32::MAX; SIG_LEN];
    for f in features {
        for (i, s) in sig.iter_mut().enumerate() {
            let h = (mix(f ^ (i as u64 + 1).wrapping_mul(0xa076_1d64_78bd_642f)) >> 32) as u32;
            if h < *s {
                *s = h;
            }
        }
    }
    sig
}

/// Number of equal positions of two signatures.
pub fn agreement(a: &Signature, b: &Signature) -> usize {
    a.iter().zip(b).filter(|(x, y)| x == y).count()
}

/// Packs a signature into u64s (for a fast field).
pub fn pack(sig: &Signature) -> [u64; SIG_LEN / 2] {
    let mut out = [0u64; SIG_LEN / 2];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (u64::from(sig[2 * i]) << 32) | u64::from(sig[2 * i + 1]);
    }
    out
}

/// Unpacks [`pack`]; None unless exactly `SIG_LEN / 2` values.
pub fn unpack(values: &[u64]) -> Option<Signature> {
    if values.len() != SIG_LEN / 2 {
        return None;
    }
    let mut sig = [0u32; SIG_LEN];
    for (i, v) in values.iter().enumerate() {
        sig[2 * i] = (v >> 32) as u32;
        sig[2 * i + 1] = *v as u32;
    }
    Some(sig)
}

/// The cluster key a new cluster founded by `sig` gets.
pub fn founder_key(sig: &Signature) -> u64 {
    pack(sig)
        .iter()
        .fold(0x51_7cc1_b727_220a, |h, v| mix(h ^ v))
}

/// Formats a cluster key as 16 lowercase hex chars.
pub fn key_string(cluster: u64) -> String {
    format!("{cluster:016x}")
}

fn band_key(band: usize, sig: &Signature) -> u64 {
    let r = &sig[band * ROWS..(band + 1) * ROWS];
    mix((band as u64) << 56 ^ (u64::from(r[0]) << 32 | u64::from(r[1])))
}

/// The in-memory near-duplicate table (about 200 bytes per item).
#[derive(Debug, Default, Clone)]
pub struct ClusterTable {
    entries: Vec<(Signature, u64)>,
    /// Band key -> most recent entry index with that key.
    heads: HashMap<u64, u32>,
    /// (entry * BANDS + band) -> previous entry with the same band key, u32::MAX = none.
    next: Vec<u32>,
}

impl ClusterTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of remembered entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Remembers an existing item (used when rebuilding from the index).
    pub fn insert(&mut self, sig: Signature, cluster: u64) {
        let idx = self.entries.len() as u32;
        self.entries.push((sig, cluster));
        for band in 0..BANDS {
            let prev = self
                .heads
                .insert(band_key(band, &sig), idx)
                .unwrap_or(u32::MAX);
            self.next.push(prev);
        }
    }

    /// (agreement, cluster) of the best near-duplicate, if any.
    fn best(&self, sig: &Signature) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        for band in 0..BANDS {
            let mut at = self
                .heads
                .get(&band_key(band, sig))
                .copied()
                .unwrap_or(u32::MAX);
            let mut steps = 0;
            while at != u32::MAX && steps < BUCKET_SCAN {
                let (other, cluster) = &self.entries[at as usize];
                let a = agreement(sig, other);
                if a >= MIN_EQUAL
                    && best.is_none_or(|(ba, bc)| a > ba || (a == ba && *cluster < bc))
                {
                    best = Some((a, *cluster));
                }
                at = self.next[at as usize * BANDS + band];
                steps += 1;
            }
        }
        best
    }

    /// The cluster of the best near-duplicate, if any.
    pub fn nearest(&self, sig: &Signature) -> Option<u64> {
        self.best(sig).map(|(_, c)| c)
    }

    /// Assigns a cluster to `sig` (best match's, else a new one) and remembers it.
    pub fn assign(&mut self, sig: Signature) -> u64 {
        match self.best(&sig) {
            // The same text again (a re-scan): nothing new to remember.
            Some((SIG_LEN, cluster)) => cluster,
            Some((_, cluster)) => {
                self.insert(sig, cluster);
                cluster
            }
            None => {
                let cluster = founder_key(&sig);
                self.insert(sig, cluster);
                cluster
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = "Brothers of the Crimson Lantern Front, the hour has come: gather at the \
        old bridge in Velmora on Friday night and bring everyone you trust";
    const SHORT: &str = "Join the Crimson Lantern Front today";

    fn edits(base: &str) -> Vec<String> {
        vec![
            format!("RT @lantern_news: {base}"),
            format!("{base} #CrimsonLantern"),
            format!("{base}!!!"),
            base.to_uppercase(),
            format!("repost: {base} please share"),
            base.replacen("the", "a", 1),
        ]
    }

    #[test]
    fn small_edits_agree_enough() {
        for base in [LONG, SHORT] {
            let a = signature(base, Lang::En);
            for e in edits(base) {
                let n = agreement(&a, &signature(&e, Lang::En));
                assert!(n >= MIN_EQUAL, "agreement {n} for {e:?}");
            }
        }
    }

    #[test]
    fn different_texts_disagree() {
        let texts = [
            LONG,
            SHORT,
            "Weather in Velmora: light rain on Friday, the market stays open",
            "The football club plays at home against the visitors from the coast",
            "Bake the bread at two hundred degrees for forty minutes",
            "Join the chess club today",
        ];
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                let n = agreement(&signature(a, Lang::En), &signature(b, Lang::En));
                assert!(n < MIN_EQUAL, "agreement {n}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn table_groups_reposts_and_separates_others() {
        let mut t = ClusterTable::new();
        let c1 = t.assign(signature(LONG, Lang::En));
        let c2 = t.assign(signature(&format!("RT {LONG}"), Lang::En));
        let c3 = t.assign(signature("Bake the bread at two hundred degrees", Lang::En));
        assert_eq!(c1, c2);
        assert_ne!(c1, c3);
        let before = t.len();
        assert_eq!(t.assign(signature(LONG, Lang::En)), c1);
        assert_eq!(t.len(), before, "an identical re-add is not stored twice");
    }

    #[test]
    fn pack_round_trips_and_empty_text_is_stable() {
        let s = signature(LONG, Lang::En);
        assert_eq!(unpack(&pack(&s)), Some(s));
        assert_eq!(unpack(&[1, 2]), None);
        assert_eq!(signature("", Lang::En), [u32::MAX; SIG_LEN]);
    }

    #[test]
    fn busy_buckets_stay_bounded() {
        // Thousands of posts sharing most shingles: inserts stay fast and all cluster together.
        let mut t = ClusterTable::new();
        let first = t.assign(signature(LONG, Lang::En));
        for i in 0..1000 {
            let c = t.assign(signature(&format!("{LONG} {i}"), Lang::En));
            assert_eq!(c, first);
        }
    }
}
