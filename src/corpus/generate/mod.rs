//! The generator: scenario -> static site tree, `truth.jsonl`, `posts.jsonl`, `manifest.json`.
//!
//! Determinism without a global sequence: every random choice comes from a ChaCha8 stream
//! seeded by `sha256(seed, host, purpose, index)`, so a unit (forum topic, timeline page, news
//! article) is a pure function of its coordinates. Units are generated in parallel (rayon) in
//! batches and their outputs consumed in unit order, so the tree, the JSONL files and the
//! manifest are byte-identical for the same scenario and seed, whatever the thread count.
//! Times come from the scenario's span, never from the clock.
//!
//! Streaming: only one batch of rendered units is in memory at a time; per host the generator
//! keeps small listing metadata (one entry per topic/article/timeline page, the last few posts
//! per account and per hashtag, the sitemap paths), and globally the (path, sha256) list for the
//! tree hash — O(files), a few dozen bytes each.
//!
//! Output: `OUT/sites/<host>/<path>` (a path ending in `/` is written as `index.html`),
//! `OUT/truth.jsonl` and `OUT/posts.jsonl` (one line per post, same order), `OUT/manifest.json`
//! (with the scenario's `start`, where the server's calendar trap opens) whose `tree_sha256` is the sha256 of the lines `<host>/<path>\t<hex sha256 of the file>\n`
//! for every file under `sites/`, sorted by path (byte order).
//!
//! Reposts: a cluster plan (drawn before generation) pairs a violating post on one host with a
//! violating slot on another; both texts come from the cluster's own stream, the copy gets small
//! edits, and truth gives both the cluster id.

pub mod text;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::text::{Body, Filler, LangData, Line, Piece, PieceKind};
use super::error::CorpusError;
use super::obfuscate;
use super::render;
use super::scenario::{NegKind, Scenario, Site, UiBank};
use crate::model::{
    Category, Label, Lang, Manifest, ManifestHost, Phenomenon, Post, PostId, SiteKind, Timestamp,
    TruthRecord,
};

/// Options of one `seed` run.
#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Number of posts (default: the scenario's `sizes.posts`).
    pub posts: Option<u64>,
    /// RNG seed (default: the scenario's `seed`).
    pub seed: Option<u64>,
    /// Overwrite a non-empty output directory.
    pub force: bool,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct SeedSummary {
    /// Output directory.
    pub out: PathBuf,
    /// Seed used.
    pub seed: u64,
    /// Posts written.
    pub posts: u64,
    /// Posts per label/category (`benign`, `incitement`, ...).
    pub by_category: BTreeMap<String, u64>,
    /// Posts per language.
    pub by_lang: BTreeMap<String, u64>,
    /// Posts per host.
    pub by_host: BTreeMap<String, u64>,
    /// Files written under `sites/`.
    pub files: u64,
    /// Bytes written under `sites/`.
    pub bytes: u64,
    /// Wall-clock seconds (measured, not part of the output).
    pub seconds: f64,
    /// Posts per second.
    pub posts_per_sec: f64,
    /// The manifest's tree hash.
    pub tree_sha256: String,
}

/// Generates a corpus (see the module docs).
pub fn seed(s: &Scenario, o: &SeedOptions) -> crate::Result<SeedSummary> {
    seed_with_progress(s, o, &|_, _| {})
}

/// [`seed`] with a progress callback `(posts done, posts total)`, called from one thread.
pub fn seed_with_progress(
    s: &Scenario,
    o: &SeedOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> crate::Result<SeedSummary> {
    // File creation is latency-bound (journal, directory locks), so more threads than cores.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
        * 4;
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(|| seed_inner(s, o, progress)),
        Err(_) => seed_inner(s, o, progress),
    }
}

fn seed_inner(
    s: &Scenario,
    o: &SeedOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> crate::Result<SeedSummary> {
    let t0 = std::time::Instant::now();
    prepare_out(&o.out, o.force)?;
    let seed = o.seed.unwrap_or(s.file.seed);
    let total = o.posts.unwrap_or(s.file.sizes.posts);
    let world = World::new(s, seed, total);
    let sites_dir = o.out.join("sites");
    let truth_path = o.out.join("truth.jsonl");
    let posts_path = o.out.join("posts.jsonl");
    let mut truth = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&truth_path).map_err(|e| CorpusError::io(&truth_path, e))?,
    );
    let mut posts_w = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&posts_path).map_err(|e| CorpusError::io(&posts_path, e))?,
    );
    let mut tree: Vec<(String, [u8; 32])> = Vec::new();
    let bytes = AtomicU64::new(0);
    let dirs = DirCache::default();
    let mut summary = SeedSummary {
        out: o.out.clone(),
        seed,
        posts: 0,
        by_category: BTreeMap::new(),
        by_lang: BTreeMap::new(),
        by_host: BTreeMap::new(),
        files: 0,
        bytes: 0,
        seconds: 0.0,
        posts_per_sec: 0.0,
        tree_sha256: String::new(),
    };
    for c in Category::ALL {
        summary.by_category.insert(c.to_string(), 0);
    }
    summary.by_category.insert("benign".into(), 0);
    let mut manifest_hosts = Vec::new();
    let mut done = 0u64;
    for h in &world.hosts {
        let host_dir = sites_dir.join(&h.site.host);
        let mut state = HostState::new(h);
        let mut host_files = 0u64;
        const BATCH: usize = 64;
        for batch_start in (0..h.units.len()).step_by(BATCH) {
            let end = (batch_start + BATCH).min(h.units.len());
            let outs: Vec<UnitOut> = (batch_start..end)
                .into_par_iter()
                .map(|u| {
                    let out = gen_unit(&world, h, u);
                    write_files(&host_dir, &out.files, &bytes, &dirs).map(|()| out)
                })
                .collect::<Result<_, CorpusError>>()?;
            for out in outs {
                for f in &out.files {
                    tree.push((
                        format!("{}/{}", h.site.host, f.path.trim_start_matches('/')),
                        f.sha,
                    ));
                }
                host_files += out.files.len() as u64;
                truth
                    .write_all(out.truth.as_bytes())
                    .map_err(|e| CorpusError::io(&truth_path, e))?;
                posts_w
                    .write_all(out.posts.as_bytes())
                    .map_err(|e| CorpusError::io(&posts_path, e))?;
                for (k, v) in &out.counts {
                    *summary.by_category.entry(k.clone()).or_default() += v;
                }
                for (k, v) in &out.lang_counts {
                    *summary.by_lang.entry(k.code().to_string()).or_default() += v;
                }
                done += out.n_posts;
                *summary.by_host.entry(h.site.host.clone()).or_default() += out.n_posts;
                state.absorb(out);
            }
            progress(done, total);
        }
        // Listing pages, profiles, robots.txt, sitemap.
        let mut files = Vec::new();
        match h.site.kind {
            SiteKind::Forum => render::forum::host_pages(h, &state, &mut files),
            SiteKind::Social => render::social::host_pages(h, &state, &mut files),
            SiteKind::News => render::news::host_pages(h, &state, &mut files),
        }
        files.push(robots(h));
        files.extend(sitemaps(h, &state));
        let files: Vec<FileOut> = files
            .into_iter()
            .map(|(p, html)| FileOut::new(p, html))
            .collect();
        write_files(&host_dir, &files, &bytes, &dirs)?;
        for f in &files {
            tree.push((
                format!("{}/{}", h.site.host, f.path.trim_start_matches('/')),
                f.sha,
            ));
        }
        host_files += files.len() as u64;
        manifest_hosts.push(ManifestHost {
            host: h.site.host.clone(),
            kind: h.site.kind,
            charset: h.site.charset.to_string(),
            entry_points: vec!["/".into(), "/sitemap.xml".into()],
            langs: h.site.langs.iter().map(|l| l.0).collect(),
            files: host_files,
            posts: h.n_posts,
        });
        summary.files += host_files;
    }
    truth.flush().map_err(|e| CorpusError::io(&truth_path, e))?;
    posts_w
        .flush()
        .map_err(|e| CorpusError::io(&posts_path, e))?;
    tree.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut th = Sha256::new();
    for (p, sha) in &tree {
        th.update(p.as_bytes());
        th.update(b"\t");
        th.update(hex::encode(sha).as_bytes());
        th.update(b"\n");
    }
    let tree_sha256 = hex::encode(th.finalize());
    let mut counts = summary.by_category.clone();
    counts.retain(|_, v| *v > 0);
    let manifest = Manifest {
        format: 1,
        scenario: s.file.name.clone(),
        scenario_sha256: s.sha256.clone(),
        seed,
        posts: done,
        counts,
        hosts: manifest_hosts,
        tree_sha256: tree_sha256.clone(),
        start: Some(s.start),
    };
    let mpath = o.out.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| CorpusError::Json {
        path: mpath.clone(),
        source: e,
    })?;
    std::fs::write(&mpath, json).map_err(|e| CorpusError::io(&mpath, e))?;
    summary.posts = done;
    summary.bytes = bytes.load(Ordering::Relaxed);
    summary.seconds = t0.elapsed().as_secs_f64();
    summary.posts_per_sec = done as f64 / summary.seconds.max(1e-9);
    summary.tree_sha256 = tree_sha256;
    Ok(summary)
}

/// Refuses a non-empty `out` unless `force`; with `force` removes what a previous run wrote.
fn prepare_out(out: &Path, force: bool) -> Result<(), CorpusError> {
    if crate::util::has_entries(out).map_err(|e| CorpusError::io(out, e))? {
        if !force {
            return Err(CorpusError::OutNotEmpty {
                path: out.to_path_buf(),
            });
        }
        let sites = out.join("sites");
        if sites.exists() {
            std::fs::remove_dir_all(&sites).map_err(|e| CorpusError::io(&sites, e))?;
        }
        for f in ["truth.jsonl", "posts.jsonl", "manifest.json"] {
            let p = out.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| CorpusError::io(&p, e))?;
            }
        }
    }
    std::fs::create_dir_all(out.join("sites")).map_err(|e| CorpusError::io(out, e))
}

/// A rendered file: path on its host (starting with `/`, `index.html` for directories).
pub(crate) struct FileOut {
    pub path: String,
    pub bytes: Vec<u8>,
    pub sha: [u8; 32],
}

impl FileOut {
    pub(crate) fn new(path: String, bytes: Vec<u8>) -> FileOut {
        let path = if path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path
        };
        let sha = Sha256::digest(&bytes).into();
        FileOut { path, bytes, sha }
    }
}

/// Directories already created (saves a stat per file).
#[derive(Default)]
struct DirCache(std::sync::Mutex<std::collections::HashSet<PathBuf>>);

impl DirCache {
    fn ensure(&self, dir: &Path) -> Result<(), CorpusError> {
        let known = self.0.lock().map(|s| s.contains(dir)).unwrap_or(false);
        if !known {
            std::fs::create_dir_all(dir).map_err(|e| CorpusError::io(dir, e))?;
            if let Ok(mut s) = self.0.lock() {
                s.insert(dir.to_path_buf());
            }
        }
        Ok(())
    }
}

fn write_files(
    dir: &Path,
    files: &[FileOut],
    bytes: &AtomicU64,
    dirs: &DirCache,
) -> Result<(), CorpusError> {
    for f in files {
        let p = dir.join(f.path.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            dirs.ensure(parent)?;
        }
        std::fs::write(&p, &f.bytes).map_err(|e| CorpusError::io(&p, e))?;
        bytes.fetch_add(f.bytes.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// A ChaCha8 stream for `(seed, host, purpose, index)`.
pub(crate) fn rng_for(seed: u64, host: &str, purpose: &str, index: u64) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(host.as_bytes());
    h.update([0]);
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(index.to_le_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}

/// An account on a host.
#[derive(Debug, Clone)]
pub struct Account {
    /// ASCII handle (unique on the host).
    pub handle: String,
    /// Display name in the account's script.
    pub display: String,
    /// Language the account writes in.
    pub lang: Lang,
    /// Its pages are disallowed by robots.txt (social sites only).
    pub protected: bool,
}

/// A board (forum) or section (news).
#[derive(Debug, Clone)]
pub struct Group {
    /// Display name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Disallowed by robots.txt.
    pub disallowed: bool,
}

/// A unit of generation: a forum topic, a social timeline page, or a news article with its
/// comments. Holds posts `start .. start + len` of its host.
#[derive(Debug, Clone)]
pub struct Unit {
    /// First post index on the host.
    pub start: u64,
    /// Number of posts.
    pub len: u32,
    /// Board / section index.
    pub group: u16,
}

/// Per-host plan, shared read-only by the unit workers.
pub struct HostCtx<'a> {
    /// The site.
    pub site: &'a Site,
    /// Index among the scenario's sites.
    pub ix: usize,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// Account handles (parallel to `accounts`).
    pub handles: Vec<String>,
    /// Accounts per language.
    pub by_lang: BTreeMap<Lang, Vec<usize>>,
    /// Boards / sections.
    pub groups: Vec<Group>,
    /// Posts on this host.
    pub n_posts: u64,
    /// Units in order.
    pub units: Vec<Unit>,
    /// Site chrome: the `[ui]` of the main language's bank (English where it has none).
    pub ui: UiBank,
}

impl HostCtx<'_> {
    /// The profile page of an account.
    pub fn profile_path(&self, a: usize) -> String {
        let handle = self.handles.get(a).map(String::as_str).unwrap_or("user");
        match self.site.kind {
            SiteKind::Forum => {
                format!("{}/{}/", render::forum::member_base(self.site.style), a + 1)
            }
            SiteKind::Social => render::social::profile_path(self.site.style, handle),
            SiteKind::News => render::news::reader_path(self.site.style, handle),
        }
    }
}

/// The decided content class of a post.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Everyday chatter.
    Chatter,
    /// A hard negative.
    Neg(NegKind),
    /// Violating.
    Viol(Category),
}

#[derive(Debug, Clone, Copy)]
struct ClusterSlot {
    id: u64,
    copy: bool,
    lang: Lang,
    cat: Category,
}

/// The whole plan.
pub struct World<'a> {
    s: &'a Scenario,
    seed: u64,
    langs: BTreeMap<Lang, LangData>,
    /// Hosts.
    pub hosts: Vec<HostCtx<'a>>,
    clusters: BTreeMap<(usize, u64), ClusterSlot>,
}

/// Largest-remainder apportionment of `total` by `weights`.
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut rest = total - out.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.partial_cmp(&fa)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for i in order.into_iter().cycle() {
        if rest == 0 {
            break;
        }
        out[i] += 1;
        rest -= 1;
    }
    out
}

fn weighted<R: Rng>(weights: &[f64], rng: &mut R) -> usize {
    let sum: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * sum;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

fn handle_for<R: Rng>(given: &str, family: &str, i: usize, rng: &mut R) -> String {
    let ascii = |s: &str| -> String {
        use unicode_normalization::UnicodeNormalization;
        obfuscate::translit(s)
            .nfkd()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .take(12)
            .collect()
    };
    let (g, f) = (ascii(given), ascii(family));
    let base = match (g.is_empty(), f.is_empty()) {
        (false, false) => match rng.next_u64() % 3 {
            0 => format!("{g}_{f}"),
            1 => format!("{g}{}", &f[..1]),
            _ => format!("{}{f}", &g[..1]),
        },
        _ => {
            const SYL: [&str; 16] = [
                "ka", "ri", "to", "na", "mi", "lo", "sa", "de", "vu", "ne", "ra", "ko", "li", "ta",
                "zo", "ye",
            ];
            (0..3)
                .map(|_| SYL[(rng.next_u64() % 16) as usize])
                .collect()
        }
    };
    format!("{base}{}", i + 1)
}

impl<'a> World<'a> {
    /// Plans a run: languages, hosts, accounts, units, repost clusters.
    pub fn new(s: &'a Scenario, seed: u64, total: u64) -> World<'a> {
        let langs: BTreeMap<Lang, LangData> =
            s.banks.keys().map(|&l| (l, LangData::new(s, l))).collect();
        let shares: Vec<f64> = s.sites.iter().map(|x| x.share).collect();
        let counts = apportion(total, &shares);
        let mut hosts = Vec::new();
        for (ix, site) in s.sites.iter().enumerate() {
            let mut rng = rng_for(seed, &site.host, "layout", 0);
            let weights: Vec<f64> = site.langs.iter().map(|l| l.1).collect();
            let mut accounts = Vec::new();
            let n_acc = s.file.sizes.accounts_per_site as usize;
            for i in 0..n_acc {
                // Every language of the site gets at least one account.
                let li = if i < site.langs.len() {
                    i
                } else {
                    weighted(&weights, &mut rng)
                };
                let lang = site.langs[li].0;
                let ld = &langs[&lang];
                let given = text::pick(&ld.given, &mut rng).cloned().unwrap_or_default();
                let family = text::pick(&ld.family, &mut rng)
                    .cloned()
                    .unwrap_or_default();
                let handle = handle_for(&given, &family, i, &mut rng);
                let protected =
                    site.kind == SiteKind::Social && n_acc >= 10 && rng.random_bool(0.05);
                accounts.push(Account {
                    handle,
                    display: format!("{given} {family}"),
                    lang,
                    protected,
                });
            }
            let mut by_lang: BTreeMap<Lang, Vec<usize>> = BTreeMap::new();
            for (i, a) in accounts.iter().enumerate() {
                by_lang.entry(a.lang).or_default().push(i);
            }
            let ui = s
                .banks
                .get(&site.main_lang)
                .map(|b| b.ui.clone())
                .unwrap_or_default();
            let groups = match site.kind {
                SiteKind::Forum => render::forum::boards(s, site, &ui),
                SiteKind::Social => vec![Group {
                    name: "public".into(),
                    slug: "public".into(),
                    disallowed: false,
                }],
                SiteKind::News => render::news::sections(&ui),
            };
            let n_posts = counts[ix];
            let units = plan_units(s, site, n_posts, groups.len(), &mut rng);
            let handles = accounts.iter().map(|a| a.handle.clone()).collect();
            hosts.push(HostCtx {
                site,
                ix,
                accounts,
                handles,
                by_lang,
                groups,
                n_posts,
                units,
                ui,
            });
        }
        let mut w = World {
            s,
            seed,
            langs,
            hosts,
            clusters: BTreeMap::new(),
        };
        w.plan_clusters(total);
        w
    }

    /// The content class and language of post `idx` on host `h` (before cluster overrides).
    fn decide(&self, h: &HostCtx, idx: u64) -> (Kind, Lang) {
        let mut rng = rng_for(self.seed, &h.site.host, "decide", idx);
        let weights: Vec<f64> = h.site.langs.iter().map(|l| l.1).collect();
        let lang = h.site.langs[weighted(&weights, &mut rng)].0;
        let x: f64 = rng.random();
        let mut acc = 0.0;
        for (c, r) in self.s.file.violating.pairs() {
            acc += r;
            if x < acc {
                return (Kind::Viol(c), lang);
            }
        }
        for (k, r) in self.s.file.hard_negatives.pairs() {
            acc += r;
            if x < acc {
                return (Kind::Neg(k), lang);
            }
        }
        (Kind::Chatter, lang)
    }

    fn plan_clusters(&mut self, total: u64) {
        if self.hosts.len() < 2 {
            return;
        }
        let viol: f64 = self.s.file.violating.pairs().iter().map(|p| p.1).sum();
        let n = (self.s.file.obfuscation.repost * viol * total as f64).round() as u64;
        let mut rng = rng_for(self.seed, "", "clusters", 0);
        let weights: Vec<f64> = self.hosts.iter().map(|h| h.n_posts as f64).collect();
        let mut clusters = BTreeMap::new();
        for id in 0..n {
            // The original: a random violating slot.
            let mut orig = None;
            for _ in 0..200 {
                let hi = weighted(&weights, &mut rng);
                let h = &self.hosts[hi];
                if h.n_posts == 0 {
                    continue;
                }
                let idx = rng.next_u64() % h.n_posts;
                if clusters.contains_key(&(hi, idx)) {
                    continue;
                }
                // Only languages written on at least one other host can be reposted.
                if let (Kind::Viol(c), lang) = self.decide(h, idx)
                    && self.hosts.iter().enumerate().any(|(j, o)| {
                        j != hi && o.n_posts > 0 && o.site.langs.iter().any(|l| l.0 == lang)
                    })
                {
                    orig = Some((hi, idx, c, lang));
                    break;
                }
            }
            let Some((hi, idx, cat, lang)) = orig else {
                continue;
            };
            // The copy: a violating slot on another host, preferring hosts with the language.
            let mut cands: Vec<usize> = (0..self.hosts.len())
                .filter(|&j| j != hi && self.hosts[j].n_posts > 0)
                .filter(|&j| self.hosts[j].site.langs.iter().any(|l| l.0 == lang))
                .collect();
            if cands.is_empty() {
                cands = (0..self.hosts.len())
                    .filter(|&j| j != hi && self.hosts[j].n_posts > 0)
                    .collect();
            }
            let Some(&hj) = text::pick(&cands, &mut rng) else {
                continue;
            };
            let mut copy = None;
            for _ in 0..200 {
                let jdx = rng.next_u64() % self.hosts[hj].n_posts;
                if clusters.contains_key(&(hj, jdx)) {
                    continue;
                }
                if let (Kind::Viol(_), _) = self.decide(&self.hosts[hj], jdx) {
                    copy = Some(jdx);
                    break;
                }
            }
            let Some(jdx) = copy else { continue };
            clusters.insert(
                (hi, idx),
                ClusterSlot {
                    id,
                    copy: false,
                    lang,
                    cat,
                },
            );
            clusters.insert(
                (hj, jdx),
                ClusterSlot {
                    id,
                    copy: true,
                    lang,
                    cat,
                },
            );
        }
        self.clusters = clusters;
    }
}

fn plan_units<R: Rng>(s: &Scenario, site: &Site, n: u64, groups: usize, rng: &mut R) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut start = 0u64;
    let (lo, hi) = match s.file.sizes.posts_per_thread.as_slice() {
        [a, b] => (*a.max(&1), *b.max(a).max(&1)),
        _ => (3, 40),
    };
    let mean_comments =
        ((1.0 - s.file.sizes.articles_share) / s.file.sizes.articles_share).max(0.0);
    while start < n {
        let (len, group) = match site.kind {
            SiteKind::Forum => {
                let len = rng.random_range(lo..=hi);
                // The last board is the robots-disallowed archive; it gets fewer topics.
                let g = if groups > 1 && rng.random_bool(0.08) {
                    groups - 1
                } else {
                    (rng.next_u64() % (groups.max(2) - 1) as u64) as usize
                };
                (len, g)
            }
            SiteKind::Social => (render::social::page_size(site.style), 0),
            SiteKind::News => {
                let max = (2.0 * mean_comments).round() as u32;
                let len = 1 + rng.random_range(0..=max);
                let g = if groups > 1 && rng.random_bool(0.08) {
                    groups - 1
                } else {
                    (rng.next_u64() % (groups.max(2) - 1) as u64) as usize
                };
                (len, g)
            }
        };
        let len = (len as u64).min(n - start) as u32;
        units.push(Unit {
            start,
            len,
            group: group.min(groups.saturating_sub(1)) as u16,
        });
        start += len as u64;
    }
    units
}

/// One generated post, before rendering.
#[derive(Debug, Clone)]
pub struct GenPost {
    /// Post index on the host.
    pub idx: u64,
    /// Site id of the post.
    pub id: String,
    /// Path of the page that holds it (its permalink page).
    pub page: String,
    /// `id` attribute of its block.
    pub anchor: String,
    /// Absolute permalink.
    pub url: String,
    /// Thread id.
    pub thread: String,
    /// Thread/article title.
    pub title: Option<String>,
    /// Author (account index).
    pub author: usize,
    /// Publication time (whole minutes).
    pub published: Timestamp,
    /// Language.
    pub lang: Lang,
    /// Body.
    pub body: Body,
    /// Content class.
    pub kind: Kind,
    /// Phenomena.
    pub phenomena: Vec<Phenomenon>,
    /// Repost cluster.
    pub cluster: Option<String>,
    /// On a robots-disallowed page.
    pub disallowed: bool,
    /// Index (within the unit) of the post this one replies to.
    pub reply_to: Option<usize>,
}

impl GenPost {
    /// Hashtags in the body.
    pub fn tags(&self) -> Vec<String> {
        self.body
            .lines
            .iter()
            .flatten()
            .filter(|p| p.kind == PieceKind::Tag)
            .map(|p| p.text.clone())
            .collect()
    }
}

/// Output of one unit.
pub(crate) struct UnitOut {
    files: Vec<FileOut>,
    truth: String,
    posts: String,
    counts: BTreeMap<String, u64>,
    lang_counts: BTreeMap<Lang, u64>,
    n_posts: u64,
    meta: UnitMeta,
    refs: Vec<PostRef>,
}

/// What listing pages need to know about a unit.
#[derive(Debug, Clone)]
pub struct UnitMeta {
    /// Title (topic / article), or empty.
    pub title: String,
    /// Path of its first page.
    pub path: String,
    /// Board / section.
    pub group: u16,
    /// Posts in it.
    pub posts: u32,
    /// First post's author and time.
    pub first: (usize, Timestamp),
    /// Last post's author and time.
    pub last: (usize, Timestamp),
    /// Language of the first post.
    pub lang: Lang,
    /// On a disallowed page.
    pub disallowed: bool,
}

/// What profile and tag pages need to know about a post.
#[derive(Debug, Clone)]
pub struct PostRef {
    /// Author.
    pub author: usize,
    /// Permalink path (with fragment where the post has one).
    pub path: String,
    /// Time.
    pub published: Timestamp,
    /// Hashtags.
    pub tags: Vec<String>,
    /// On a disallowed page.
    pub disallowed: bool,
}

/// Listing state of one host, accumulated in unit order.
pub struct HostState {
    /// One entry per unit.
    pub units: Vec<UnitMeta>,
    /// Per account: post count and the most recent posts.
    pub profiles: Vec<(u64, VecDeque<PostRef>)>,
    /// Per hashtag page path: the tag as first seen, count and the most recent posts.
    pub tags: BTreeMap<String, (String, u64, VecDeque<PostRef>)>,
    /// Paths for the sitemap (content pages that robots.txt allows).
    pub sitemap: Vec<String>,
    disallow: Vec<String>,
}

/// How many recent posts profile and tag pages list.
pub const RECENT: usize = 30;

impl HostState {
    fn disallowed(&self, path: &str) -> bool {
        self.disallow.iter().any(|d| path.starts_with(d.as_str()))
    }

    fn new(h: &HostCtx) -> HostState {
        HostState {
            disallow: disallow_prefixes(h),
            units: Vec::with_capacity(h.units.len()),
            profiles: vec![(0, VecDeque::new()); h.accounts.len()],
            tags: BTreeMap::new(),
            sitemap: Vec::new(),
        }
    }

    fn absorb(&mut self, out: UnitOut) {
        for r in out.refs {
            for t in &r.tags {
                // Keyed by page path: tags differing only in case share a page.
                let e = self
                    .tags
                    .entry(render::tag_path(t))
                    .or_insert_with(|| (t.clone(), 0, VecDeque::new()));
                if r.disallowed {
                    continue;
                }
                e.1 += 1;
                if e.2.len() == RECENT {
                    e.2.pop_front();
                }
                e.2.push_back(r.clone());
            }
            if let Some(p) = self.profiles.get_mut(r.author) {
                p.0 += 1;
                if p.1.len() == RECENT {
                    p.1.pop_front();
                }
                p.1.push_back(r);
            }
        }
        for f in &out.files {
            if f.path.ends_with(".html") && !self.disallowed(&f.path) {
                self.sitemap
                    .push(f.path.trim_end_matches("index.html").to_string());
            }
        }
        self.units.push(out.meta);
    }
}

/// Round a time down to the minute.
fn minute(t: Timestamp) -> Timestamp {
    t.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

/// Times for the posts of a unit: the unit's start inside the span, then increasing gaps.
fn unit_times<R: Rng>(w: &World, h: &HostCtx, u: usize, n: usize, rng: &mut R) -> Vec<Timestamp> {
    let start = w.s.start;
    let span = (w.s.end - w.s.start).whole_minutes().max(1);
    let frac = match h.site.kind {
        // Timeline pages are chronological.
        SiteKind::Social => (u as f64 + rng.random::<f64>() * 0.5) / h.units.len().max(1) as f64,
        _ => rng.random::<f64>() * 0.9,
    };
    let mut m = (frac * span as f64) as i64;
    let gap_max = match h.site.kind {
        SiteKind::Social => (span / (h.n_posts.max(1) as i64)).clamp(1, 30),
        _ => 240,
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        m = m.min(span);
        out.push(minute(start + time::Duration::minutes(m)));
        m += rng.random_range(1..=gap_max);
    }
    out
}

fn gen_unit(w: &World, h: &HostCtx, u: usize) -> UnitOut {
    let unit = &h.units[u];
    let mut rng = rng_for(w.seed, &h.site.host, "unit", u as u64);
    let times = unit_times(w, h, u, unit.len as usize, &mut rng);
    let mut posts: Vec<GenPost> = Vec::with_capacity(unit.len as usize);
    let mut thread_lang = None;
    let all: Vec<usize> = (0..h.accounts.len()).collect();
    for (k, &published) in times.iter().enumerate() {
        let idx = unit.start + k as u64;
        let mut prng = rng_for(w.seed, &h.site.host, "post", idx);
        let (mut kind, mut lang) = w.decide(h, idx);
        // Forum topics and article comments mostly stay in the thread's language.
        if h.site.kind != SiteKind::Social {
            if let Some(tl) = thread_lang
                && prng.random_bool(0.8)
            {
                lang = tl;
            }
            thread_lang.get_or_insert(lang);
        }
        let slot = w.clusters.get(&(h.ix, idx)).copied();
        if let Some(c) = slot {
            kind = Kind::Viol(c.cat);
            lang = c.lang;
        }
        let authors: &[usize] = h
            .by_lang
            .get(&lang)
            .filter(|v| !v.is_empty())
            .map(Vec::as_slice)
            .unwrap_or(&all);
        let author = if h.site.kind == SiteKind::News && k == 0 {
            // Articles are written by the first few (staff) accounts.
            authors[(prng.next_u64() % authors.len().min(6) as u64) as usize]
        } else {
            *text::pick(authors, &mut prng).unwrap_or(&0)
        };
        let (body, phenomena) = compose(w, h, idx, kind, lang, slot, &all, &mut prng);
        // Articles get report paragraphs, unless the post is deliberately short or long.
        let body = if h.site.kind == SiteKind::News
            && k == 0
            && !phenomena
                .iter()
                .any(|p| matches!(p, Phenomenon::Short | Phenomenon::Long))
        {
            article_body(w, h, lang, body, &all, &mut prng)
        } else {
            body
        };
        let reply_to = if k > 0 && prng.random_bool(0.3) {
            Some((prng.next_u64() % k as u64) as usize)
        } else {
            None
        };
        posts.push(GenPost {
            idx,
            id: String::new(),
            page: String::new(),
            anchor: String::new(),
            url: String::new(),
            thread: String::new(),
            title: None,
            author,
            published,
            lang,
            body,
            kind,
            phenomena,
            cluster: slot.map(|c| format!("c{:05}", c.id)),
            disallowed: false,
            reply_to,
        });
    }
    let mut pages = Vec::new();
    let meta = match h.site.kind {
        SiteKind::Forum => render::forum::unit(h, u, &mut posts, &mut pages),
        SiteKind::Social => render::social::unit(h, u, &mut posts, &mut pages),
        SiteKind::News => render::news::unit(h, u, &mut posts, &mut pages),
    };
    let mut out = UnitOut {
        files: pages.into_iter().map(|(p, b)| FileOut::new(p, b)).collect(),
        truth: String::new(),
        posts: String::new(),
        counts: BTreeMap::new(),
        lang_counts: BTreeMap::new(),
        n_posts: posts.len() as u64,
        meta,
        refs: Vec::with_capacity(posts.len()),
    };
    for p in &posts {
        let (label, category) = match p.kind {
            Kind::Viol(c) => (Label::Violating, Some(c)),
            _ => (Label::Benign, None),
        };
        *out.counts
            .entry(
                category
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "benign".into()),
            )
            .or_default() += 1;
        *out.lang_counts.entry(p.lang).or_default() += 1;
        let author = h.handles[p.author].clone();
        let truth = TruthRecord {
            url: p.url.clone(),
            post_id: PostId(p.id.clone()),
            host: h.site.host.clone(),
            site_kind: h.site.kind,
            thread: Some(p.thread.clone()),
            author: author.clone(),
            lang: p.lang,
            label,
            category,
            phenomena: p.phenomena.clone(),
            cluster: p.cluster.clone(),
            published: p.published,
            robots_disallowed: p.disallowed,
        };
        let mut scratch = String::new();
        let links = render::body_html(&mut scratch, &p.body, h, h.site.kind == SiteKind::Social);
        let post = Post {
            url: p.url.clone(),
            post_id: PostId(p.id.clone()),
            host: h.site.host.clone(),
            site_kind: Some(h.site.kind),
            thread: Some(p.thread.clone()),
            title: p.title.clone(),
            author: Some(author),
            author_url: Some(render::abs(&h.site.host, &h.profile_path(p.author))),
            published: Some(p.published),
            lang_hint: Some(p.lang),
            text: p.body.text(),
            links,
        };
        // Serialising these plain structs cannot fail.
        out.truth
            .push_str(&serde_json::to_string(&truth).unwrap_or_default());
        out.truth.push('\n');
        out.posts
            .push_str(&serde_json::to_string(&post).unwrap_or_default());
        out.posts.push('\n');
        out.refs.push(PostRef {
            author: p.author,
            path: p
                .url
                .trim_start_matches("http://")
                .trim_start_matches(h.site.host.as_str())
                .to_string(),
            published: p.published,
            tags: p.tags(),
            disallowed: p.disallowed,
        });
    }
    out
}

/// Upper bound on the extra chatter paragraphs of a long post (a bank of very short lines).
const LONG_MAX_LINES: usize = 400;

fn line_chars(l: &Line) -> usize {
    l.iter().map(|p| p.text.chars().count()).sum()
}

/// Composes the body of one post; returns it with its phenomena.
#[allow(clippy::too_many_arguments)]
fn compose(
    w: &World,
    h: &HostCtx,
    idx: u64,
    kind: Kind,
    lang: Lang,
    slot: Option<ClusterSlot>,
    accounts: &[usize],
    rng: &mut ChaCha8Rng,
) -> (Body, Vec<Phenomenon>) {
    let ld = &w.langs[&lang];
    let f = Filler {
        ld,
        accounts,
        handles: &h.handles,
    };
    let mut ph = Vec::new();
    let mut body = Body {
        ent_style: (rng.next_u64() % 3) as u8,
        ..Body::default()
    };
    match kind {
        Kind::Chatter => {
            let n = 1 + (rng.next_u64() % 3) as usize;
            body.lines = (0..n).map(|_| f.chatter(rng)).collect();
        }
        Kind::Neg(k) => {
            let mut lines = vec![f.negative(k, rng)];
            if rng.random_bool(0.4) {
                lines.push(f.chatter(rng));
            }
            if rng.random_bool(0.5) {
                lines.reverse();
            }
            body.lines = lines;
            ph.push(match k {
                NegKind::News => Phenomenon::NegNews,
                NegKind::Condemnation => Phenomenon::NegCondemnation,
                NegKind::Negation => Phenomenon::NegNegation,
                NegKind::Quoting => Phenomenon::NegQuoting,
                NegKind::OtherSense => Phenomenon::NegOtherSense,
                NegKind::Lookalike => Phenomenon::NegLookalike,
            });
        }
        Kind::Viol(cat) => {
            // Cluster members draw the signal from the cluster's stream: same text on both hosts.
            let mut crng;
            let vr: &mut ChaCha8Rng = match slot {
                Some(c) => {
                    crng = rng_for(w.seed, "", "cluster", c.id);
                    &mut crng
                }
                None => rng,
            };
            let (mut lines, mut phen) = violating_lines(w, h, ld, cat, accounts, vr);
            body.ent_style = (vr.next_u64() % 3) as u8;
            let short = phen.contains(&Phenomenon::Short);
            let long = phen.contains(&Phenomenon::Long);
            let mut crng2;
            let r: &mut ChaCha8Rng = match slot {
                Some(c) if c.copy => {
                    crng2 = rng_for(w.seed, &h.site.host, "repost", c.id);
                    &mut crng2
                }
                Some(c) => {
                    crng2 = rng_for(w.seed, "", "cluster-orig", c.id);
                    &mut crng2
                }
                None => rng,
            };
            if long {
                let n = 8 + (r.next_u64() % 7) as usize;
                let mut all: Vec<Line> = (0..n).map(|_| f.chatter(r)).collect();
                let at = 2 + (r.next_u64() % (n as u64 - 3)) as usize;
                let k = lines.len();
                for (i, l) in lines.drain(..).enumerate() {
                    all.insert(at + i, l);
                }
                // More chatter from the post's own "long" stream (the draws above, and so every
                // later draw of the post, stay as they were) until the post is a long read;
                // split around the signal so that it ends up in the middle, the first
                // paragraph (the topic title) kept first.
                let mut lr = rng_for(w.seed, &h.site.host, "long", idx);
                let min = text::long_min_chars(ld.script);
                let target = min + (lr.next_u64() % (min as u64 / 2 + 1)) as usize;
                let mut chars: usize = all.iter().map(|l| line_chars(l) + 2).sum();
                let mut extra: Vec<Line> = Vec::new();
                while chars < target + 2 && extra.len() < LONG_MAX_LINES {
                    let l = f.chatter(&mut lr);
                    chars += line_chars(&l) + 2;
                    extra.push(l);
                }
                let total = all.len() + extra.len();
                let before = (total / 2).saturating_sub(at + k / 2).min(extra.len());
                let after = extra.split_off(before);
                all.splice(1..1, extra);
                all.extend(after);
                lines = all;
            } else if !short && r.random_bool(0.35) {
                let c = f.chatter(r);
                if r.random_bool(0.5) {
                    lines.insert(0, c);
                } else {
                    lines.push(c);
                }
            }
            if let Some(c) = slot
                && c.copy
            {
                repost_edit(&mut lines, &f, r);
                phen.push(Phenomenon::Repost);
            }
            phen.sort();
            phen.dedup();
            body.lines = lines;
            ph = phen;
        }
    }
    (body, ph)
}

/// The violating lines with their phenomena (code-mix, short, long, obfuscations, inflection).
fn violating_lines(
    w: &World,
    h: &HostCtx,
    ld: &LangData,
    cat: Category,
    accounts: &[usize],
    rng: &mut ChaCha8Rng,
) -> (Vec<Line>, Vec<Phenomenon>) {
    let o = &w.s.file.obfuscation;
    let f = Filler {
        ld,
        accounts,
        handles: &h.handles,
    };
    let short = rng.random_bool(o.short.clamp(0.0, 1.0));
    let long = !short && rng.random_bool(o.long.clamp(0.0, 1.0));
    let code_mix = !short && rng.random_bool(o.code_mix.clamp(0.0, 1.0));
    let hashtag = rng.random_bool(o.hashtag.clamp(0.0, 1.0));
    let mut ph = Vec::new();
    let mut lines = if short {
        ph.push(Phenomenon::Short);
        if matches!(cat, Category::Propaganda | Category::Glorification) {
            vec![f.tag_and_slogan(rng)]
        } else {
            vec![f.violating(cat, true, rng)]
        }
    } else {
        vec![f.violating(cat, false, rng)]
    };
    if long {
        ph.push(Phenomenon::Long);
    }
    // Inflection is a property of the cue words as written (before obfuscation).
    if text::inflected(&lines, ld.lang) {
        ph.push(Phenomenon::Inflection);
    }
    ph.extend(text::obfuscate(&mut lines, ld, o, rng));
    if hashtag && !lines.iter().flatten().any(|p| p.kind == PieceKind::Tag) {
        if let Some(l) = lines.last_mut() {
            l.push(Piece {
                text: " ".into(),
                kind: PieceKind::Plain,
                ents: vec![],
            });
            l.push(f.hashtag(rng));
        }
    }
    if lines.iter().flatten().any(|p| p.kind == PieceKind::Tag) {
        ph.push(Phenomenon::Hashtag);
    }
    if code_mix {
        // A line in a second language of the site, or English.
        let others: Vec<Lang> = h
            .site
            .langs
            .iter()
            .map(|l| l.0)
            .chain(std::iter::once(Lang::En))
            .filter(|l| *l != ld.lang && w.langs.contains_key(l))
            .collect();
        if let Some(l2) = text::pick(&others, rng) {
            let f2 = Filler {
                ld: &w.langs[l2],
                accounts,
                handles: &h.handles,
            };
            let line = if rng.random_bool(0.5) {
                f2.violating(cat, false, rng)
            } else {
                f2.chatter(rng)
            };
            lines.push(line);
            ph.push(Phenomenon::CodeMix);
        }
    }
    (lines, ph)
}

/// Small edits of a repost: an exclamation, an extra hashtag, or an `RT ` prefix.
fn repost_edit(lines: &mut [Line], f: &Filler, rng: &mut ChaCha8Rng) {
    match rng.next_u64() % 3 {
        0 => {
            if let Some(l) = lines.last_mut() {
                l.push(Piece {
                    text: "!!".into(),
                    kind: PieceKind::Plain,
                    ents: vec![],
                });
            }
        }
        1 => {
            if let Some(l) = lines.last_mut() {
                l.push(Piece {
                    text: " ".into(),
                    kind: PieceKind::Plain,
                    ents: vec![],
                });
                l.push(f.hashtag(rng));
            }
        }
        _ => {
            if let Some(l) = lines.first_mut() {
                l.insert(
                    0,
                    Piece {
                        text: "RT ".into(),
                        kind: PieceKind::Plain,
                        ents: vec![],
                    },
                );
            }
        }
    }
}

/// A news article: the post's lines inside a few paragraphs of report-style chatter.
fn article_body(
    w: &World,
    h: &HostCtx,
    lang: Lang,
    mut body: Body,
    accounts: &[usize],
    rng: &mut ChaCha8Rng,
) -> Body {
    let f = Filler {
        ld: &w.langs[&lang],
        accounts,
        handles: &h.handles,
    };
    let extra = 2 + (rng.next_u64() % 3) as usize;
    for _ in 0..extra {
        let l = f.chatter(rng);
        // Mentions make no sense in an article.
        if l.iter().any(|p| matches!(p.kind, PieceKind::Mention(_))) {
            continue;
        }
        body.lines.push(l);
    }
    body
}

/// Path prefixes robots.txt disallows on a host (each holds posts).
pub fn disallow_prefixes(h: &HostCtx) -> Vec<String> {
    match h.site.kind {
        SiteKind::Forum => vec![render::forum::ARCHIVE.to_string(), "/search/".into()],
        SiteKind::News => vec![render::news::ARCHIVE.to_string()],
        SiteKind::Social => h
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.protected)
            .map(|(i, _)| h.profile_path(i))
            .chain(std::iter::once("/api/".to_string()))
            .collect(),
    }
}

fn robots(h: &HostCtx) -> (String, Vec<u8>) {
    let mut s = String::from("User-agent: *\n");
    for d in disallow_prefixes(h) {
        s.push_str(&format!("Disallow: {d}\n"));
    }
    s.push_str(&format!("\nSitemap: http://{}/sitemap.xml\n", h.site.host));
    ("/robots.txt".into(), s.into_bytes())
}

fn sitemaps(h: &HostCtx, st: &HostState) -> Vec<(String, Vec<u8>)> {
    const PER: usize = 40_000;
    let url = |p: &str| {
        format!(
            "  <url><loc>{}</loc></url>\n",
            render::esc(&render::abs(&h.site.host, p))
        )
    };
    let mut listed: Vec<&str> = vec!["/"];
    listed.extend(st.sitemap.iter().map(String::as_str));
    let mut out = Vec::new();
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    if listed.len() <= PER {
        let mut s =
            format!("{head}<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for p in &listed {
            s.push_str(&url(p));
        }
        s.push_str("</urlset>\n");
        out.push(("/sitemap.xml".into(), s.into_bytes()));
    } else {
        let mut idx =
            format!("{head}<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for (i, chunk) in listed.chunks(PER).enumerate() {
            let name = format!("/sitemap-{}.xml", i + 1);
            idx.push_str(&format!(
                "  <sitemap><loc>{}</loc></sitemap>\n",
                render::abs(&h.site.host, &name)
            ));
            let mut s =
                format!("{head}<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
            for p in chunk {
                s.push_str(&url(p));
            }
            s.push_str("</urlset>\n");
            out.push((name, s.into_bytes()));
        }
        idx.push_str("</sitemapindex>\n");
        out.push(("/sitemap.xml".into(), idx.into_bytes()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(0, &[1.0]), vec![0]);
        assert_eq!(apportion(7, &[0.5, 0.25, 0.25]).iter().sum::<u64>(), 7);
    }

    #[test]
    fn long_posts_bury_the_signal_in_the_middle_of_a_long_read() {
        let mut s = Scenario::default_scenario().unwrap();
        let o = &mut s.file.obfuscation;
        (o.long, o.short, o.code_mix) = (1.0, 0.0, 0.0);
        let w = World::new(&s, 7, 5000);
        let mut langs = std::collections::BTreeSet::new();
        for h in &w.hosts {
            let all: Vec<usize> = (0..h.accounts.len()).collect();
            for &(lang, _) in &h.site.langs {
                langs.insert(lang);
                for i in 0..4 {
                    let mut rng = rng_for(7, &h.site.host, "long-test", i);
                    let cat = Category::ALL[i as usize % Category::ALL.len()];
                    let (body, ph) = compose(&w, h, i, Kind::Viol(cat), lang, None, &all, &mut rng);
                    assert!(ph.contains(&Phenomenon::Long), "{ph:?}");
                    let text = body.text();
                    let min = text::long_min_chars(w.langs[&lang].script);
                    assert!(text.chars().count() >= min, "{lang}: {text}");
                    // The violating lines are the ones with signal pieces (chatter has none).
                    let sig: Vec<usize> = body
                        .lines
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| {
                            l.iter()
                                .any(|p| matches!(p.kind, PieceKind::Signal | PieceKind::Tag))
                        })
                        .map(|(i, _)| i)
                        .collect();
                    let n = body.lines.len();
                    assert!(!sig.is_empty(), "{lang}: no signal in {text}");
                    assert!(
                        sig[0] * 3 >= n && (sig[sig.len() - 1] + 1) * 3 <= n * 2,
                        "{lang}: signal lines {sig:?} of {n} are not in the middle third"
                    );
                }
            }
        }
        assert_eq!(langs.len(), 12);
    }

    #[test]
    fn rng_streams_differ_by_coordinates() {
        let a = rng_for(1, "a.test", "unit", 0).next_u64();
        assert_eq!(a, rng_for(1, "a.test", "unit", 0).next_u64());
        assert_ne!(a, rng_for(1, "a.test", "unit", 1).next_u64());
        assert_ne!(a, rng_for(2, "a.test", "unit", 0).next_u64());
    }
}
