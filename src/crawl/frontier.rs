//! The frontier: per-host FIFO queues of compact entries, a set of 64-bit URL fingerprints for
//! de-duplication, and trap guards (depth, per-pattern caps, path length).
//!
//! Memory: an entry is the URL's path+query as `Box<str>` (the origin is stored once per host)
//! plus 8 bytes; the seen set stores 8 bytes per URL. One million queued URLs of ~40-byte paths
//! stay well under 150 MB (measured by the ignored test `crawl::frontier_million_rss`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::url::{fingerprint, pattern};

/// Hasher for already-mixed 64-bit fingerprints (identity).
#[derive(Default)]
pub struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
type FpSet = HashSet<u64, BuildHasherDefault<IdHasher>>;
type FpMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// What a frontier entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An HTML page (handed to the sink).
    Page,
    /// A sitemap or sitemap index (read by the crawler).
    Sitemap,
}

/// Validators for a conditional GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// `If-None-Match`.
    pub etag: Option<String>,
    /// `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// One queued URL (path+query; the host's origin is kept by the host queue).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path and query.
    pub path: Box<str>,
    /// Depth from the nearest seed.
    pub depth: u32,
    /// Attempts so far.
    pub attempt: u16,
    /// Page or sitemap.
    pub kind: EntryKind,
    /// Conditional-GET validators (re-crawl only).
    pub validators: Option<Box<Validators>>,
}

/// Why a URL was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Already seen.
    Seen,
    /// Deeper than `max_depth`.
    Depth,
    /// Its pattern reached `max_per_pattern`.
    Pattern,
    /// Too many path segments or too long.
    Shape,
    /// Its pattern was found barren (see `crawl::trap`).
    Barren,
}

/// Per-host queue.
#[derive(Debug)]
pub struct HostQueue {
    /// `scheme://host[:port]`.
    pub origin: Box<str>,
    /// Lowercase host.
    pub host: Box<str>,
    /// Waiting entries.
    pub queue: VecDeque<Entry>,
}

/// The frontier.
#[derive(Debug, Default)]
pub struct Frontier {
    seen: FpSet,
    patterns: FpMap<(u32, u32)>,
    barren: FpSet,
    /// Host queues, indexed by host id.
    pub hosts: Vec<HostQueue>,
    host_ids: HashMap<Box<str>, usize>,
    queued: usize,
    max_depth: u32,
    max_per_pattern: u64,
    max_segments: usize,
    pattern_span: u32,
}

/// Splits a normalised URL into (origin, host, path+query).
pub fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let path_start = rest.find('/').map(|p| scheme_end + p).unwrap_or(url.len());
    let origin = &url[..path_start];
    let host = super::url::host_of(url)?;
    let path = if path_start == url.len() {
        "/"
    } else {
        &url[path_start..]
    };
    Some((origin, host, path))
}

impl Frontier {
    /// An empty frontier with trap limits.
    pub fn new(max_depth: u32, max_per_pattern: u64, max_segments: usize) -> Frontier {
        Frontier {
            max_depth,
            max_per_pattern,
            max_segments,
            pattern_span: u32::MAX,
            ..Default::default()
        }
    }

    /// Sets the pattern depth span: a page URL is refused when its depth exceeds the smallest
    /// depth its pattern was first admitted at by more than `span` (an endless calendar or
    /// pagination chain keeps producing the same pattern one level deeper each hop).
    pub fn with_pattern_span(mut self, span: u32) -> Frontier {
        self.pattern_span = span;
        self
    }

    /// URLs waiting.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// URLs seen (queued, in flight or done).
    pub fn seen(&self) -> usize {
        self.seen.len()
    }

    /// Marks a URL as seen without queueing it (done in a previous run).
    pub fn mark_seen(&mut self, url: &str) -> bool {
        self.seen.insert(fingerprint(url))
    }

    /// Accounts a URL done in a previous run (resume): marks it seen and counts it against its
    /// pattern's cap and depth span as `push` did when it was first admitted, so a resumed
    /// crawl admits no more trap URLs than an uninterrupted one. `false` if already seen.
    pub fn mark_done(&mut self, url: &str, depth: u32) -> bool {
        if !self.seen.insert(fingerprint(url)) {
            return false;
        }
        let (count, min_depth) = self
            .patterns
            .entry(fingerprint(&pattern(url)))
            .or_insert((0, depth));
        *count = count.saturating_add(1);
        *min_depth = (*min_depth).min(depth);
        true
    }

    /// Whether a URL was seen.
    pub fn is_seen(&self, url: &str) -> bool {
        self.seen.contains(&fingerprint(url))
    }

    /// The host id for a host, creating its queue.
    pub fn host_id(&mut self, origin: &str, host: &str) -> usize {
        if let Some(&id) = self.host_ids.get(origin) {
            return id;
        }
        let id = self.hosts.len();
        self.hosts.push(HostQueue {
            origin: origin.into(),
            host: host.into(),
            queue: VecDeque::new(),
        });
        self.host_ids.insert(origin.into(), id);
        id
    }

    /// Refuses every further URL of a pattern (by `fingerprint(&pattern(url))`): `push` answers
    /// `Reject::Barren`, and `is_barren` tells the scheduler to drop queued ones.
    pub fn mark_barren(&mut self, pattern_fp: u64) {
        self.barren.insert(pattern_fp);
    }

    /// Whether a URL's pattern was marked barren.
    pub fn is_barren(&self, url: &str) -> bool {
        !self.barren.is_empty() && self.barren.contains(&fingerprint(&pattern(url)))
    }

    /// Admits a normalised URL. Returns the host id it was queued under.
    pub fn push(
        &mut self,
        url: &str,
        depth: u32,
        kind: EntryKind,
        validators: Option<Validators>,
    ) -> Result<usize, Reject> {
        self.push_pattern(url, depth, kind, validators).map(|x| x.0)
    }

    /// `push`, also returning the fingerprint of the URL's pattern.
    pub fn push_pattern(
        &mut self,
        url: &str,
        depth: u32,
        kind: EntryKind,
        validators: Option<Validators>,
    ) -> Result<(usize, u64), Reject> {
        let (origin, host, path) = split_url(url).ok_or(Reject::Shape)?;
        if kind == EntryKind::Page && depth > self.max_depth {
            return Err(Reject::Depth);
        }
        if url.len() > 2048 || path.split('/').count() > self.max_segments + 1 {
            return Err(Reject::Shape);
        }
        let fp = fingerprint(url);
        if self.seen.contains(&fp) {
            return Err(Reject::Seen);
        }
        let pat = fingerprint(&pattern(url));
        if self.barren.contains(&pat) {
            return Err(Reject::Barren);
        }
        let (count, min_depth) = self.patterns.entry(pat).or_insert((0, depth));
        if u64::from(*count) >= self.max_per_pattern {
            return Err(Reject::Pattern);
        }
        if kind == EntryKind::Page && depth > min_depth.saturating_add(self.pattern_span) {
            return Err(Reject::Pattern);
        }
        *min_depth = (*min_depth).min(depth);
        *count += 1;
        self.seen.insert(fp);
        let id = self.host_id(origin, host);
        self.hosts[id].queue.push_back(Entry {
            path: path.into(),
            depth,
            attempt: 0,
            kind,
            validators: validators.map(Box::new),
        });
        self.queued += 1;
        Ok((id, pat))
    }

    /// Puts an entry back at the front of its host queue (retry).
    pub fn requeue_front(&mut self, host: usize, e: Entry) {
        self.hosts[host].queue.push_front(e);
        self.queued += 1;
    }

    /// Takes the next entry of a host.
    pub fn pop(&mut self, host: usize) -> Option<Entry> {
        let e = self.hosts.get_mut(host)?.queue.pop_front()?;
        self.queued -= 1;
        Some(e)
    }

    /// The full URL of an entry of `host`.
    pub fn url_of(&self, host: usize, e: &Entry) -> String {
        let mut s = String::with_capacity(self.hosts[host].origin.len() + e.path.len());
        s.push_str(&self.hosts[host].origin);
        s.push_str(&e.path);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crawl stopped after some trap pages and resumed (done pages replayed with `mark_done`,
    /// their links pushed again) admits exactly the trap URLs an uninterrupted crawl admits.
    #[test]
    fn pattern_cap_and_span_hold_across_a_resume() {
        let cal = |m: u32| format!("http://a.test/cal/{m}/");
        // Uninterrupted: cap 4 of pattern /cal/N/.
        let mut full = Frontier::new(100, 4, 16);
        let admitted: Vec<u32> = (1..=10)
            .filter(|&m| full.push(&cal(m), 1, EntryKind::Page, None).is_ok())
            .collect();
        assert_eq!(admitted, [1, 2, 3, 4]);
        // First run fetched /cal/1/ and /cal/2/ (journaled), then was killed; resume replays
        // them and re-pushes every link of the done pages.
        let mut resumed = Frontier::new(100, 4, 16);
        assert!(resumed.mark_done(&cal(1), 1));
        assert!(resumed.mark_done(&cal(2), 1));
        assert!(!resumed.mark_done(&cal(2), 1));
        let again: Vec<u32> = (1..=10)
            .filter(|&m| resumed.push(&cal(m), 1, EntryKind::Page, None).is_ok())
            .collect();
        assert_eq!(again, [3, 4], "cap counts the pages done before the resume");
        // The depth span: a chain /p/N/ seen first at depth 1 stops at depth 1 + span.
        let mut chain = Frontier::new(100, 100, 16).with_pattern_span(2);
        assert!(chain.mark_done("http://a.test/p/1/", 1));
        assert!(chain.mark_done("http://a.test/p/2/", 2));
        assert!(
            chain
                .push("http://a.test/p/3/", 3, EntryKind::Page, None)
                .is_ok()
        );
        assert_eq!(
            chain.push("http://a.test/p/4/", 4, EntryKind::Page, None),
            Err(Reject::Pattern),
            "span counts from the depth of the pages done before the resume"
        );
    }

    #[test]
    fn dedup_depth_and_pattern_caps() {
        let mut f = Frontier::new(3, 2, 16);
        assert!(f.push("http://a.test/", 0, EntryKind::Page, None).is_ok());
        assert_eq!(
            f.push("http://a.test/", 1, EntryKind::Page, None),
            Err(Reject::Seen)
        );
        assert_eq!(
            f.push("http://a.test/x", 4, EntryKind::Page, None),
            Err(Reject::Depth)
        );
        assert!(
            f.push("http://a.test/cal/2031/01/", 1, EntryKind::Page, None)
                .is_ok()
        );
        assert!(
            f.push("http://a.test/cal/2031/02/", 1, EntryKind::Page, None)
                .is_ok()
        );
        assert_eq!(
            f.push("http://a.test/cal/2031/03/", 1, EntryKind::Page, None),
            Err(Reject::Pattern)
        );
        assert_eq!(f.queued(), 3);
        let mut g = Frontier::new(100, 100, 16).with_pattern_span(2);
        for m in 1..=3 {
            assert!(
                g.push(&format!("http://a.test/cal/{m}/"), m, EntryKind::Page, None)
                    .is_ok()
            );
        }
        assert_eq!(
            g.push("http://a.test/cal/4/", 4, EntryKind::Page, None),
            Err(Reject::Pattern)
        );
        assert!(
            g.push("http://a.test/cal/5/", 2, EntryKind::Page, None)
                .is_ok()
        );
        let e = f.pop(0).unwrap();
        assert_eq!(f.url_of(0, &e), "http://a.test/");
        // A barren pattern admits nothing more; its queued URLs are recognised.
        let mut b = Frontier::new(100, 100, 16);
        let (_, pat) = b
            .push_pattern("http://a.test/day/1/", 1, EntryKind::Page, None)
            .unwrap();
        assert!(!b.is_barren("http://a.test/day/1/"));
        b.mark_barren(pat);
        assert!(b.is_barren("http://a.test/day/1/"));
        assert!(!b.is_barren("http://b.test/day/1/"), "per host");
        assert_eq!(
            b.push("http://a.test/day/2/", 1, EntryKind::Page, None),
            Err(Reject::Barren)
        );
        assert!(
            b.push("http://b.test/day/2/", 1, EntryKind::Page, None)
                .is_ok()
        );
        assert_eq!(
            split_url("http://a.test:8/x?y"),
            Some(("http://a.test:8", "a.test", "/x?y"))
        );
    }
}
