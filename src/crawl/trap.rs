//! Yield-based trap detection: a URL pattern (digits -> `N`, see `url::pattern`) whose pages
//! yield nothing is "barren" and its URLs stop being admitted.
//!
//! Content-agnostic, as production crawlers do it: per pattern the detector counts pages
//! *judged* (the sink reported how many posts it extracted from them), the posts, and the NEW
//! URLs its pages got admitted to the frontier under OTHER patterns ("useful" links). A pattern
//! is barren once it has judged evidence of at least `min_pages` pages, no post, and fewer than
//! one useful link per `min_pages` of its own pages (none at all before that: a stray
//! discovery, such as a month view first reached from a day page when requests complete out
//! of order, must not make a trap productive forever). A pattern whose pages LINK to a pattern
//! that yields posts (a board or section list linking to topics or articles, new to the
//! frontier or already known from a sitemap) is never barren: on a site whose sitemap is
//! partial or absent, those links are the only way to the posts. A paginated topic yields
//! posts, so it is never cut either.
//!
//! Evidence propagates along discovery: when a pattern Q turns barren, the links other
//! patterns contributed to Q stop counting as useful, and Q's evidence is lent to them. A
//! pattern whose every discovery went into barren patterns is itself barren once its own pages
//! plus the pages behind those discoveries reach `min_pages` (an endless month grid whose only
//! new links are its day pages dies together with the days). Evidence is not lent to a pattern
//! whose pages link (new URLs or not) to a pattern that yields posts (such a pattern is never
//! barren at all, see above). Patterns are keyed by the fingerprint of their pattern string, which
//! starts with the host, so state is per host.
//!
//! Timing: posts are counted by the sink, after the crawler fetched the page, so only pages
//! whose report arrived count as evidence; pages still in the pipeline never make a pattern
//! look emptier than it is. So that a fast crawl does not run past `min_pages` while the
//! verdict is in the pipeline, a yieldless pattern whose requested-but-unreported pages would
//! complete its evidence is held (`hold`): its URLs wait until the reports arrive. Without
//! reports (no `Crawler::yields` taken) nothing is judged and nothing is cut; reports that
//! stall for 2 s release every hold.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::time::{Duration, Instant};

use super::frontier::IdHasher;

type FpMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Default)]
struct PatStat {
    /// The pattern string (known once one of its pages was judged).
    pattern: Option<Box<str>>,
    /// Pages requested and not cancelled (in flight, or handed to the sink).
    fetched: u32,
    /// Pages whose post count was reported.
    judged: u32,
    /// Posts extracted from them.
    posts: u64,
    /// New out-of-pattern URLs its pages got admitted, into patterns not (yet) barren.
    useful: u64,
    /// Evidence lent by barren patterns it fed (their evidence).
    borrowed: u32,
    /// Patterns that contributed new URLs into this one.
    fed_by: Vec<u64>,
    /// Patterns this one contributed new URLs into.
    feeds: Vec<u64>,
    /// Other patterns its pages link to, new or not (kept while it has no post; at most
    /// `MAX_LINKED`, beyond that it counts as a hub).
    linked: Vec<u64>,
    /// Links to too many patterns to track: treated as linking to posts.
    hub: bool,
    barren: bool,
}

impl PatStat {
    fn evidence(&self) -> u32 {
        self.judged.saturating_add(self.borrowed)
    }
}

/// Per-pattern yield bookkeeping (owned by the crawl scheduler).
#[derive(Debug, Default)]
pub struct TrapDetector {
    min_pages: u32,
    pats: FpMap<PatStat>,
    /// (src, dst) -> new URLs contributed.
    edges: HashMap<(u64, u64), u64>,
    newly: Vec<(u64, String, u32)>,
    barren_count: usize,
    /// When the last report arrived (holding stops if reports stall).
    last_report: Option<Instant>,
}

/// Distinct linked patterns tracked per pattern.
const MAX_LINKED: usize = 64;

/// How long the detector holds URLs back for reports that do not come.
const REPORT_STALL: Duration = Duration::from_secs(2);

impl TrapDetector {
    /// A detector that declares a pattern barren after `min_pages` pages of evidence
    /// (0 = off: nothing is ever barren).
    pub fn new(min_pages: u32) -> TrapDetector {
        TrapDetector {
            min_pages,
            ..Default::default()
        }
    }

    /// Whether the detector can ever cut a pattern.
    pub fn enabled(&self) -> bool {
        self.min_pages > 0
    }

    /// Whether a pattern fingerprint is barren.
    pub fn is_barren(&self, pat: u64) -> bool {
        self.barren_count > 0 && self.pats.get(&pat).is_some_and(|s| s.barren)
    }

    /// Number of barren patterns.
    pub fn barren_count(&self) -> usize {
        self.barren_count
    }

    /// A page of pattern `pat` was requested: its report is pending until `judge` (or
    /// `cancelled` if it never reaches the sink).
    pub fn dispatched(&mut self, pat: u64) {
        if self.enabled() {
            let s = self.pats.entry(pat).or_default();
            s.fetched = s.fetched.saturating_add(1);
        }
    }

    /// A page counted by `dispatched` will not reach the sink (failed, redirected elsewhere,
    /// not modified, or retried later: a retry is dispatched again).
    pub fn cancelled(&mut self, pat: u64) {
        if let Some(s) = self.pats.get_mut(&pat) {
            s.fetched = s.fetched.saturating_sub(1);
        }
    }

    /// Whether a URL of pattern `pat` should wait before it is requested: the pattern has
    /// yielded nothing so far and either the pages whose reports are still pending would
    /// already complete its evidence, or every pattern it discovered URLs in is in that state
    /// (an endless month grid waits while its day pages are judged). Holding keeps a fast crawl
    /// from overshooting `min_pages` by the depth of the extraction pipeline. Released when a
    /// report arrives (a post, a useful link, or the verdict barren) or when reports stall for
    /// 2 s.
    pub fn hold(&self, pat: u64, now: Instant) -> bool {
        if !self.enabled() || self.last_report.is_none_or(|t| now - t > REPORT_STALL) {
            return false;
        }
        let Some(s) = self.pats.get(&pat) else {
            return false;
        };
        if s.barren || s.posts > 0 {
            return false;
        }
        if self.awaiting_verdict(s) {
            return true;
        }
        let mut live = s
            .feeds
            .iter()
            .filter_map(|t| self.pats.get(t))
            .filter(|t| !t.barren)
            .peekable();
        live.peek().is_some() && live.all(|t| self.awaiting_verdict(t))
    }

    /// The pattern would be barren if its pending reports came back empty.
    fn awaiting_verdict(&self, s: &PatStat) -> bool {
        let pending = s.fetched.saturating_sub(s.judged);
        !s.barren
            && s.posts == 0
            && pending > 0
            && !self.stat_links_to_posts(s)
            && self.quiet(
                s.evidence().saturating_add(pending),
                s.judged.saturating_add(pending),
                s.useful,
            )
    }

    /// A pattern with `evidence` pages of evidence, `own` of them its own pages, which found
    /// `useful` new out-of-pattern URLs, is quiet: at least `min_pages` of evidence, and no
    /// useful URL or fewer than one per `min_pages` of its OWN pages (a stray discovery, such
    /// as a month view first reached from a day page, does not make a trap productive; lent
    /// evidence never outweighs a real discovery).
    fn quiet(&self, evidence: u32, own: u32, useful: u64) -> bool {
        evidence >= self.min_pages
            && (useful == 0 || useful.saturating_mul(u64::from(self.min_pages)) < u64::from(own))
    }

    /// A page of pattern `pattern` (fingerprint `pat`) yielded `posts` posts.
    pub fn judge(&mut self, pat: u64, pattern: &str, posts: u64) {
        if !self.enabled() {
            return;
        }
        self.last_report = Some(Instant::now());
        let s = self.pats.entry(pat).or_default();
        if s.pattern.is_none() {
            s.pattern = Some(pattern.into());
        }
        s.judged = s.judged.saturating_add(1);
        s.posts = s.posts.saturating_add(posts);
        self.evaluate(pat);
    }

    /// A page of pattern `src` got a URL of pattern `dst` newly admitted to the frontier.
    pub fn contribute(&mut self, src: u64, dst: u64) {
        if !self.enabled() || src == dst || self.is_barren(dst) {
            return;
        }
        let n = self.edges.entry((src, dst)).or_insert(0);
        *n += 1;
        if *n == 1 {
            self.pats.entry(dst).or_default().fed_by.push(src);
            self.pats.entry(src).or_default().feeds.push(dst);
        }
        self.pats.entry(src).or_default().useful += 1;
    }

    /// Whether the links of a page of pattern `src` are still wanted by `linked` (its pattern
    /// has no post yet and is not known to link to posts).
    pub fn wants_links(&self, src: u64) -> bool {
        self.enabled()
            && self
                .pats
                .get(&src)
                .is_none_or(|s| s.posts == 0 && !s.barren && !s.hub)
    }

    /// A page of pattern `src` links to a URL of pattern `dst` (seen before or not).
    pub fn linked(&mut self, src: u64, dst: u64) {
        if !self.enabled() || src == dst {
            return;
        }
        let s = self.pats.entry(src).or_default();
        if s.hub || s.linked.contains(&dst) {
            return;
        }
        if s.linked.len() >= MAX_LINKED {
            s.hub = true;
            s.linked = Vec::new();
        } else {
            s.linked.push(dst);
        }
    }

    /// Whether a pattern's pages link to a pattern that yielded posts (a list page, not a
    /// trap): it is then only judged on its own pages, never on evidence lent by the barren
    /// patterns it fed.
    fn links_to_posts(&self, pat: u64) -> bool {
        self.pats
            .get(&pat)
            .is_some_and(|s| self.stat_links_to_posts(s))
    }

    /// Patterns that turned barren since the last call: `(fingerprint, pattern, evidence)`.
    pub fn take_newly_barren(&mut self) -> Vec<(u64, String, u32)> {
        std::mem::take(&mut self.newly)
    }

    fn qualifies(&self, s: &PatStat) -> bool {
        !s.barren
            && s.judged > 0
            && s.posts == 0
            && !self.stat_links_to_posts(s)
            && self.quiet(s.evidence(), s.judged, s.useful)
    }

    /// [`TrapDetector::links_to_posts`] for a stat in hand.
    fn stat_links_to_posts(&self, s: &PatStat) -> bool {
        s.hub
            || s.linked
                .iter()
                .any(|t| self.pats.get(t).is_some_and(|x| x.posts > 0))
    }

    fn evaluate(&mut self, pat: u64) {
        let mut work = vec![pat];
        while let Some(p) = work.pop() {
            if !self.qualifies_ref(p) {
                continue;
            }
            let Some(s) = self.pats.get_mut(&p) else {
                continue;
            };
            s.barren = true;
            let evidence = s.evidence();
            let fed_by = std::mem::take(&mut s.fed_by);
            let name = s.pattern.as_deref().unwrap_or("?").to_string();
            self.barren_count += 1;
            self.newly.push((p, name, evidence));
            for src in fed_by {
                let n = self.edges.remove(&(src, p)).unwrap_or(0);
                let lend = !self.links_to_posts(src);
                if let Some(f) = self.pats.get_mut(&src) {
                    f.useful = f.useful.saturating_sub(n);
                    if lend {
                        f.borrowed = f.borrowed.saturating_add(evidence);
                    }
                    work.push(src);
                }
            }
        }
    }

    fn qualifies_ref(&self, pat: u64) -> bool {
        self.pats.get(&pat).is_some_and(|s| self.qualifies(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 1;
    const MONTH: u64 = 2;
    const BOARD: u64 = 3;
    const TOPIC: u64 = 4;
    const INDEX: u64 = 5;

    /// Pages with no post and no new link elsewhere: barren exactly at K judged pages.
    #[test]
    fn barren_after_k_empty_pages() {
        let mut d = TrapDetector::new(5);
        for i in 0..4 {
            d.judge(DAY, "h/cal/N/", 0);
            assert!(!d.is_barren(DAY), "not before K ({i})");
        }
        d.judge(DAY, "h/cal/N/", 0);
        assert!(d.is_barren(DAY));
        assert_eq!(
            d.take_newly_barren(),
            vec![(DAY, "h/cal/N/".to_string(), 5)]
        );
        assert!(d.take_newly_barren().is_empty(), "reported once");
        d.judge(DAY, "h/cal/N/", 0);
        assert!(d.take_newly_barren().is_empty());
        assert_eq!(d.barren_count(), 1);
    }

    /// Board pages yield no post but discover topics (another pattern): never barren; topics
    /// (paginated or not) yield posts: never barren.
    #[test]
    fn boards_and_topics_are_never_cut() {
        let mut d = TrapDetector::new(3);
        for _ in 0..100 {
            d.contribute(BOARD, TOPIC);
            d.contribute(BOARD, BOARD);
            d.judge(BOARD, "h/board/N/", 0);
            d.judge(TOPIC, "h/topic/N/page-N.html", 4);
        }
        // Later board pages find nothing new: the early discoveries still count.
        for _ in 0..100 {
            d.judge(BOARD, "h/board/N/", 0);
        }
        assert!(!d.is_barren(BOARD));
        assert!(!d.is_barren(TOPIC));
        assert_eq!(d.barren_count(), 0);
    }

    /// One stray discovery delays the verdict by one page per `min_pages`, not forever; a
    /// steady discoverer is never quiet.
    #[test]
    fn a_stray_discovery_does_not_make_a_trap_productive() {
        let mut d = TrapDetector::new(10);
        d.contribute(DAY, MONTH);
        for _ in 0..10 {
            d.judge(DAY, "h/d/N/", 0);
        }
        assert!(!d.is_barren(DAY), "1 new link in 10 pages");
        d.judge(DAY, "h/d/N/", 0);
        assert!(d.is_barren(DAY), "1 new link in 11 pages");
        for _ in 0..1000 {
            d.contribute(BOARD, TOPIC);
            d.judge(BOARD, "h/b/N/", 0);
        }
        assert!(!d.is_barren(BOARD));
    }

    /// A post anywhere in the pattern keeps it alive.
    #[test]
    fn one_post_keeps_a_pattern() {
        let mut d = TrapDetector::new(3);
        d.judge(TOPIC, "h/t/N/", 1);
        for _ in 0..50 {
            d.judge(TOPIC, "h/t/N/", 0);
        }
        assert!(!d.is_barren(TOPIC));
    }

    /// The calendar shape: /calendar/ feeds months and days, months feed days, days feed
    /// days. Days die at K; months (whose only discoveries were days) and the calendar root die
    /// with them; the board index (which also found productive boards) lives.
    #[test]
    fn discoveries_into_barren_patterns_stop_counting() {
        const CAL: u64 = 6;
        let mut d = TrapDetector::new(10);
        d.contribute(INDEX, CAL);
        d.contribute(INDEX, BOARD);
        d.judge(INDEX, "h/", 0);
        d.contribute(BOARD, TOPIC);
        d.judge(BOARD, "h/board/N/", 0);
        d.judge(TOPIC, "h/topic/N/", 3);
        for _ in 0..2 {
            d.contribute(CAL, MONTH);
        }
        for _ in 0..30 {
            d.contribute(CAL, DAY);
        }
        d.judge(CAL, "h/calendar/", 0);
        for _ in 0..2 {
            for _ in 0..31 {
                d.contribute(MONTH, DAY);
            }
            d.judge(MONTH, "h/calendar/N/N/", 0);
        }
        assert!(!d.is_barren(MONTH), "months found new days");
        for _ in 0..9 {
            d.judge(DAY, "h/calendar/N/N/N/", 0);
        }
        assert_eq!(d.barren_count(), 0);
        d.judge(DAY, "h/calendar/N/N/N/", 0);
        assert!(d.is_barren(DAY));
        assert!(
            d.is_barren(MONTH),
            "2 month pages + 10 day pages of evidence"
        );
        assert!(d.is_barren(CAL));
        assert!(!d.is_barren(INDEX), "the index also found boards");
        assert!(!d.is_barren(BOARD));
        let names: Vec<String> = d.take_newly_barren().into_iter().map(|x| x.1).collect();
        assert_eq!(
            names,
            ["h/calendar/N/N/N/", "h/calendar/N/N/", "h/calendar/"],
            "{names:?}"
        );
        // Admissions into a barren pattern are not discoveries.
        d.contribute(INDEX, DAY);
        assert!(!d.edges.contains_key(&(INDEX, DAY)));
    }

    /// A list page that links to posts (already known) and discovered only barren profiles
    /// is not cut on the profiles' evidence; a pattern that links to no post is.
    #[test]
    fn no_lent_evidence_for_pages_linking_to_posts() {
        const MEMBER: u64 = 8;
        let mut d = TrapDetector::new(5);
        d.judge(TOPIC, "h/topic/N/", 3);
        assert!(d.wants_links(BOARD));
        d.linked(BOARD, TOPIC);
        d.linked(BOARD, MEMBER);
        d.contribute(BOARD, MEMBER);
        d.judge(BOARD, "h/board/N/", 0);
        d.contribute(MONTH, MEMBER);
        d.linked(MONTH, MEMBER);
        d.judge(MONTH, "h/m/N/", 0);
        for _ in 0..5 {
            d.judge(MEMBER, "h/member/N/", 0);
        }
        assert!(d.is_barren(MEMBER));
        assert!(
            !d.is_barren(BOARD),
            "links to topics: own pages only (1 < 5)"
        );
        assert!(d.is_barren(MONTH), "links to nothing that yields posts");
        for _ in 0..40 {
            d.judge(BOARD, "h/board/N/", 0);
        }
        assert!(
            !d.is_barren(BOARD),
            "a list page linking to posts is never cut, even when the sitemap already gave \
             every topic it links to (a site without a sitemap reaches topics only through it)"
        );
        // Too many linked patterns to track counts as linking to posts.
        for t in 100..100 + MAX_LINKED as u64 + 1 {
            d.linked(INDEX, t);
        }
        assert!(d.links_to_posts(INDEX));
        assert!(!d.wants_links(INDEX));
        assert!(!d.wants_links(TOPIC), "has posts");
    }

    /// A pattern with unjudged pages only is never barren, however much evidence it borrows;
    /// and an un-judged feeder waits for its own first report.
    #[test]
    fn evidence_needs_a_judged_page() {
        let mut d = TrapDetector::new(3);
        d.contribute(MONTH, DAY);
        for _ in 0..3 {
            d.judge(DAY, "h/d/N/", 0);
        }
        assert!(d.is_barren(DAY));
        assert!(!d.is_barren(MONTH), "no month page judged yet");
        d.judge(MONTH, "h/m/N/", 0);
        assert!(d.is_barren(MONTH));
    }

    /// Pages awaiting their report that would complete the evidence hold the pattern back;
    /// a post or a useful link releases it, and so does the barren verdict (then the URLs are
    /// dropped instead).
    #[test]
    fn pending_reports_hold_a_candidate_pattern() {
        let now = Instant::now();
        let mut d = TrapDetector::new(3);
        d.judge(TOPIC, "h/t/N/", 0);
        d.dispatched(DAY);
        d.dispatched(DAY);
        assert!(!d.hold(DAY, now), "1 pending < 3");
        d.dispatched(DAY);
        assert!(
            d.hold(DAY, Instant::now()),
            "3 pending would complete the evidence"
        );
        d.judge(DAY, "h/d/N/", 0);
        d.judge(DAY, "h/d/N/", 0);
        assert!(d.hold(DAY, Instant::now()));
        d.judge(DAY, "h/d/N/", 0);
        assert!(d.is_barren(DAY));
        assert!(!d.hold(DAY, Instant::now()), "barren: dropped, not held");
        // A post releases; a useful link releases.
        for _ in 0..5 {
            d.dispatched(TOPIC);
        }
        assert!(d.hold(TOPIC, Instant::now()));
        d.judge(TOPIC, "h/t/N/", 2);
        assert!(!d.hold(TOPIC, Instant::now()));
        for _ in 0..5 {
            d.dispatched(BOARD);
        }
        d.judge(MONTH, "h/m/N/", 0);
        assert!(d.hold(BOARD, Instant::now()));
        d.contribute(BOARD, TOPIC);
        assert!(
            d.hold(BOARD, Instant::now()),
            "1 new link in 5 pages, K = 3: still quiet"
        );
        d.contribute(BOARD, TOPIC);
        assert!(!d.hold(BOARD, Instant::now()), "2 in 5: not quiet");
        // A pattern whose discoveries all await their verdict waits with them.
        const CAL: u64 = 6;
        d.contribute(CAL, BOARD);
        assert!(!d.hold(CAL, Instant::now()), "boards found topics");
        const NEXT: u64 = 7;
        for _ in 0..3 {
            d.dispatched(NEXT);
        }
        d.contribute(MONTH, NEXT);
        assert!(
            d.hold(MONTH, Instant::now()),
            "its only discovery awaits a verdict"
        );
        d.judge(NEXT, "h/n/N/", 1);
        assert!(!d.hold(MONTH, Instant::now()));
        // Reports that stall stop the hold.
        for _ in 0..5 {
            d.dispatched(INDEX);
        }
        assert!(d.hold(INDEX, Instant::now()));
        assert!(!d.hold(INDEX, Instant::now() + REPORT_STALL * 2));
        // Requests that never reach the sink stop being pending.
        for _ in 0..5 {
            d.cancelled(INDEX);
        }
        assert!(!d.hold(INDEX, Instant::now()));
    }

    /// K = 0 turns the detector off.
    #[test]
    fn zero_is_off() {
        let mut d = TrapDetector::new(0);
        for _ in 0..1000 {
            d.judge(DAY, "h/d/N/", 0);
        }
        assert!(!d.is_barren(DAY));
        assert!(!d.enabled());
    }
}
