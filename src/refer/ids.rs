//! Deterministic identifiers: RFC 4122 UUIDs (v5 over SHA-1, and v4-format derived from
//! sha256) and the referral id.
//!
//! STIX 2.1 wants UUIDv5 for cyber-observable ids (namespace
//! `00abedb4-aa42-466c-9c01-fed23315a9b7` over the canonical JSON of the id-contributing
//! properties) so two producers name the same URL alike; that needs SHA-1, which is small enough
//! to carry here rather than adding a crate. Domain objects and WARC record ids use v4-format
//! UUIDs whose random bits come from a sha256 of stable inputs: the same decisions give the same
//! bytes.

use sha2::{Digest, Sha256};

/// SHA-1 (FIPS 180-4). Only for UUIDv5; never for integrity.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn format_uuid(b: &[u8]) -> String {
    let h = hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hexs: String = s.chars().filter(|c| *c != '-').collect();
    let v = hex::decode(hexs).ok()?;
    v.try_into().ok()
}

/// UUIDv5 (RFC 4122 section 4.3) of `name` in `namespace` (a UUID string).
pub fn uuid_v5(namespace: &str, name: &[u8]) -> String {
    let ns = parse_uuid(namespace).unwrap_or([0; 16]);
    let mut data = ns.to_vec();
    data.extend_from_slice(name);
    let mut b = sha1(&data);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// A version-4-format UUID whose 122 free bits come from sha256 of `parts` (joined by NUL).
pub fn uuid_v4_from(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(p.as_bytes());
    }
    let mut b: [u8; 32] = h.finalize().into();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// STIX 2.1 namespace for deterministic cyber-observable ids.
pub const STIX_SCO_NAMESPACE: &str = "00abedb4-aa42-466c-9c01-fed23315a9b7";

/// Whether `s` is a valid DSA PUID / referral id: `^[a-zA-Z0-9_-]+$`, at most 500 chars.
pub fn is_valid_referral_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 500
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(sha1(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(
            hex::encode(sha1(&long)),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    #[test]
    fn uuid5_matches_rfc_example() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        assert_eq!(
            uuid_v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", b"python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn v4_format_bits_and_stability() {
        let a = uuid_v4_from(&["x", "y"]);
        assert_eq!(a, uuid_v4_from(&["x", "y"]));
        assert_ne!(a, uuid_v4_from(&["xy"]));
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn referral_id_regex() {
        assert!(is_valid_referral_id("ref-0a1B_2"));
        assert!(!is_valid_referral_id("ref.1"));
        assert!(!is_valid_referral_id(""));
        assert!(!is_valid_referral_id("../x"));
    }
}
