//! Fault decisions: a deterministic RNG keyed by (seed, request number, fault kind), and a
//! per-host requests-per-second limiter.
//!
//! Each request takes a number from one atomic counter; every fault draws its own independent
//! uniform value from `splitmix64(seed, n, salt)`. With requests sent one at a time the same seed
//! gives the same faults on the same requests; with concurrent requests the *rates* still hold.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Independent draws for the different faults (salts).
#[derive(Debug, Clone, Copy)]
pub enum Draw {
    /// Answer 500/503?
    Error,
    /// Which of 500 and 503?
    ErrorKind,
    /// Cut the body short?
    Truncate,
    /// Where to cut.
    TruncateAt,
}

/// The fault RNG: stateless per draw, so decisions never depend on thread timing.
#[derive(Debug)]
pub struct FaultRng {
    seed: u64,
    counter: AtomicU64,
}

impl FaultRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }

    /// The next request number.
    pub fn next_request(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A uniform value in `[0, 1)` for request `n` and fault `draw`.
    pub fn uniform(&self, n: u64, draw: Draw) -> f64 {
        let salt = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(draw as u64 + 1);
        let x = mix(self.seed ^ mix(n.wrapping_add(salt)));
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A uniform value in `[0, 1)` from a seed and a string key (stable across runs and platforms).
pub fn uniform_for(seed: u64, key: &str) -> f64 {
    let mut h = mix(seed ^ 0xD1B5_4A32_D192_ED03);
    for chunk in key.as_bytes().chunks(8) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(buf));
    }
    h = mix(h ^ key.len() as u64);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fixed one-second windows per host: at most `limit` requests per host per window.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    start: Instant,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per host per second.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            start: Instant::now(),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `None` if the request may proceed, else the seconds to put in `Retry-After`.
    pub fn check(&self, host: &str) -> Option<u64> {
        let elapsed = self.start.elapsed();
        let window = elapsed.as_secs();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(host.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 < self.limit {
            entry.1 += 1;
            None
        } else {
            // The window ends within the second; HTTP wants whole seconds, so at least 1.
            Some(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_deterministic_and_spread() {
        let a = FaultRng::new(7);
        let b = FaultRng::new(7);
        let c = FaultRng::new(8);
        let xs: Vec<f64> = (0..1000).map(|n| a.uniform(n, Draw::Error)).collect();
        let ys: Vec<f64> = (0..1000).map(|n| b.uniform(n, Draw::Error)).collect();
        let zs: Vec<f64> = (0..1000).map(|n| c.uniform(n, Draw::Error)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let below = xs.iter().filter(|x| **x < 0.25).count();
        assert!((180..320).contains(&below), "{below}");
        let t: Vec<f64> = (0..1000).map(|n| a.uniform(n, Draw::Truncate)).collect();
        assert_ne!(xs, t);
    }

    #[test]
    fn limiter_caps_per_host() {
        let l = RateLimiter::new(3);
        let ok = (0..10).filter(|_| l.check("a.test").is_none()).count();
        // Unless the test straddles a window boundary, exactly 3 pass.
        assert!((3..=6).contains(&ok), "{ok}");
        assert!(l.check("b.test").is_none());
    }
}
