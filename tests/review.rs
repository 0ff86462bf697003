//! Review, export, verify, delivery and referral scoring, against a small hand-made item store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::macros::datetime;
use trawl::corpus::serve::ServeConfig;
use trawl::model::{
    Category, FiredRule, Item, Lang, LangDecision, Match, Page, Post, PostId, ReviewStatus, RuleId,
    Span, Timestamp, Verdict,
};
use trawl::refer::{self, ExportOptions, Formats, Issuer, Kind};
use trawl::review::{self, Action, AuditLog, Decision, ItemSource, MemoryStore, Outcome, Review};
use trawl::util::sha256_hex;

use crate::util::{read, run_ok, tempdir, trawl};

fn page(url: &str, body: &str, at: Timestamp) -> Page {
    Page {
        url: url.into(),
        final_url: url.into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
        fetched_at: at,
        sha256: sha256_hex(body.as_bytes()),
        depth: 1,
    }
}

struct Spec {
    host: &'static str,
    post: &'static str,
    thread: &'static str,
    text: &'static str,
    cat: Category,
    lang: Lang,
    score: f32,
    cluster: &'static str,
}

const SPECS: [Spec; 5] = [
    Spec {
        host: "forum-a.test",
        post: "101",
        thread: "7",
        text: "Join the Iron Lantern cell now, brothers.",
        cat: Category::Solicitation,
        lang: Lang::En,
        score: 0.91,
        cluster: "c1",
    },
    Spec {
        host: "forum-a.test",
        post: "102",
        thread: "7",
        text: "j0in the Iron Lantern cell now brothers!",
        cat: Category::Solicitation,
        lang: Lang::En,
        score: 0.85,
        cluster: "c1",
    },
    Spec {
        host: "forum-a.test",
        post: "150",
        thread: "9",
        text: "The Iron Lantern will strike the fictional city.",
        cat: Category::Threat,
        lang: Lang::En,
        score: 0.77,
        cluster: "",
    },
    Spec {
        host: "social-b.test",
        post: "9001",
        thread: "9001",
        text: "Glory to the =martyrs= of the Iron Lantern",
        cat: Category::Glorification,
        lang: Lang::De,
        score: 0.66,
        cluster: "",
    },
    Spec {
        host: "social-b.test",
        post: "9002",
        thread: "9002",
        text: "Send coins to the Lantern fund",
        cat: Category::Financing,
        lang: Lang::En,
        score: 0.55,
        cluster: "",
    },
];

/// Items and pages: posts of one forum thread share a page.
fn fixture() -> (Vec<Item>, Vec<Page>) {
    let fetched = datetime!(2026-05-01 10:00 UTC);
    let page_url = |s: &Spec| {
        if s.host.starts_with("forum") {
            format!("http://{}/topic/{}/", s.host, s.thread)
        } else {
            format!("http://{}/@lantern/status/{}.html", s.host, s.post)
        }
    };
    let permalink = |s: &Spec| {
        if s.host.starts_with("forum") {
            format!("{}#p{}", page_url(s), s.post)
        } else {
            page_url(s)
        }
    };
    // Every post block holds its permalink and has the fragment as its id (CONTRACTS.md).
    let mut blocks: BTreeMap<String, String> = BTreeMap::new();
    for s in &SPECS {
        let path = url::Url::parse(&permalink(s)).unwrap();
        let href = format!(
            "{}{}",
            path.path(),
            path.fragment().map(|f| format!("#{f}")).unwrap_or_default()
        );
        blocks.entry(page_url(s)).or_default().push_str(&format!(
            "<div class=\"post\" id=\"p{}\"><a href=\"{href}\">#{}</a> {}</div>",
            s.post, s.post, s.text
        ));
    }
    let mut items = Vec::new();
    let mut pages: BTreeMap<String, Page> = BTreeMap::new();
    for s in &SPECS {
        let page_url = page_url(s);
        let p = pages.entry(page_url.clone()).or_insert_with(|| {
            page(
                &page_url,
                &format!("<html><body>{}</body></html>", blocks[&page_url]),
                fetched,
            )
        });
        let url = if s.host.starts_with("forum") {
            format!("{page_url}#p{}", s.post)
        } else {
            page_url.clone()
        };
        let word = s.text.split(' ').nth(1).unwrap_or("x");
        let start = s.text.find(word).unwrap_or(0);
        let post = Post {
            url,
            post_id: PostId(s.post.into()),
            host: s.host.into(),
            site_kind: None,
            thread: Some(s.thread.into()),
            title: None,
            author: Some("lantern".into()),
            author_url: None,
            published: Some(datetime!(2026-04-30 08:00 UTC)),
            lang_hint: None,
            text: s.text.into(),
            links: vec![],
        };
        let verdict = Verdict {
            post_id: post.post_id.clone(),
            url: post.url.clone(),
            flagged: true,
            score: s.score,
            categories: vec![s.cat],
            fired: vec![FiredRule {
                rule: RuleId(format!("{}.rule", s.cat)),
                category: s.cat,
                weight: s.score,
                matches: vec![Match {
                    span: Span {
                        start,
                        end: start + word.len(),
                    },
                    excerpt: word.into(),
                    lexicon: "cue".into(),
                    term: word.to_lowercase(),
                }],
            }],
            lang: LangDecision {
                lang: s.lang,
                confidence: 0.9,
                method: "whatlang".into(),
                script: None,
            },
        };
        items.push(Item {
            id: Item::make_id(s.host, &post.post_id),
            post,
            verdict,
            page_sha256: p.sha256.clone(),
            fetched_at: fetched,
            cluster: s.cluster.into(),
            status: ReviewStatus::Pending,
        });
    }
    (items, pages.into_values().collect())
}

fn memory() -> MemoryStore {
    let (items, pages) = fixture();
    let mut m = MemoryStore::default();
    for i in items {
        m.insert(i);
    }
    for p in pages {
        m.insert_page(p);
    }
    m
}

fn id(n: usize) -> String {
    let s = &SPECS[n];
    Item::make_id(s.host, &PostId(s.post.into()))
}

fn t(min: i64) -> Timestamp {
    datetime!(2026-05-02 09:00 UTC) + time::Duration::minutes(min)
}

fn dec(ids: &[String], action: Action, who: &str, min: i64) -> Decision {
    Decision {
        ids: ids.to_vec(),
        action,
        outcome: None,
        reviewer: who.into(),
        reason: format!("{who}: assessed against the scenario guide"),
        cluster: false,
        time: t(min),
    }
}

fn open_mem(dir: &Path, store: MemoryStore) -> Review<MemoryStore> {
    Review::open(store, AuditLog::open(dir).unwrap()).unwrap().0
}

fn opts(out: PathBuf, four_eyes: bool, again: bool) -> ExportOptions {
    ExportOptions {
        out,
        kind: Kind::Referral,
        formats: Formats::default(),
        again,
        four_eyes,
        issued_at: None,
        issuer: Issuer::default(),
        actor: "export-op".into(),
        recorded_at: t(500),
    }
}

fn status(r: &Review<MemoryStore>, n: usize) -> ReviewStatus {
    r.source().get(&id(n)).unwrap().unwrap().status
}

/// Confirms items 0..n by alice and bob.
fn confirm_all(r: &mut Review<MemoryStore>, ids: &[String]) {
    r.decide(dec(ids, Action::Confirm, "alice", 1)).unwrap();
    r.decide(dec(ids, Action::Confirm, "bob", 2)).unwrap();
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    refer::manifest::list_files(dir)
        .unwrap()
        .into_iter()
        .map(|f| {
            let b = std::fs::read(dir.join(&f)).unwrap();
            (f, b)
        })
        .collect()
}

/// A corpus server with the provider endpoint on loopback, in its own runtime (kept alive by
/// the caller): removals after `removal_delay_ms`, refusals at `refuse_rate` under `fault_seed`.
fn provider_server(
    root: &Path,
    removal_delay_ms: u64,
    refuse_rate: f64,
    fault_seed: u64,
) -> (tokio::runtime::Runtime, trawl::corpus::serve::RunningServer) {
    let mut cfg = ServeConfig::new(root);
    cfg.removal_delay_ms = removal_delay_ms;
    cfg.refuse_rate = refuse_rate;
    cfg.fault_seed = fault_seed;
    cfg.persist_provider_state = false;
    crate::util::start_server(cfg)
}

#[test]
fn four_eyes_needs_two_different_reviewers() {
    let d = tempdir();
    let mut r = open_mem(d.path(), memory());
    let ids = vec![id(2)];
    r.decide(dec(&ids, Action::Confirm, "alice", 1)).unwrap();
    assert_eq!(status(&r, 2), ReviewStatus::Pending);
    r.decide(dec(&ids, Action::Confirm, "alice", 2)).unwrap();
    assert_eq!(
        status(&r, 2),
        ReviewStatus::Pending,
        "the same reviewer twice is not four eyes"
    );
    assert!(r.referable(true, false).unwrap().is_empty());
    assert_eq!(
        r.referable(false, false).unwrap().len(),
        1,
        "single review accepts one confirmation"
    );
    r.decide(dec(&ids, Action::Confirm, "bob", 3)).unwrap();
    assert_eq!(status(&r, 2), ReviewStatus::Confirmed);
    let referable = r.referable(true, false).unwrap();
    assert_eq!(referable.len(), 1);
    let who: Vec<String> = referable[0]
        .1
        .deciders()
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    assert_eq!(who, vec!["alice", "bob"]);
}

#[test]
fn disagreement_escalates_and_override_settles() {
    let d = tempdir();
    let mut r = open_mem(d.path(), memory());
    let ids = vec![id(3)];
    let first = r.decide(dec(&ids, Action::Confirm, "alice", 1)).unwrap();
    let second = r.decide(dec(&ids, Action::Reject, "bob", 2)).unwrap();
    assert_eq!(second.record.disagrees_with, vec![first.record.seq]);
    assert_eq!(status(&r, 3), ReviewStatus::Escalated);
    assert!(r.referable(false, false).unwrap().is_empty());
    let mut o = dec(&ids, Action::Override, "carol", 3);
    o.outcome = Some(Outcome::Confirm);
    let ov = r.decide(o).unwrap();
    assert_eq!(ov.record.disagrees_with, vec![second.record.seq]);
    assert_eq!(status(&r, 3), ReviewStatus::Confirmed);
    assert_eq!(r.referable(true, false).unwrap().len(), 1);
    let h = r.history(&id(3)).unwrap();
    assert_eq!(
        h.iter().map(|x| x.action).collect::<Vec<_>>(),
        vec![Action::Confirm, Action::Reject, Action::Override]
    );
}

#[test]
fn an_override_alone_is_not_four_eyes() {
    let d = tempdir();
    let mut r = open_mem(d.path(), memory());
    let ids = vec![id(4)];
    // A reviewer overriding an untouched item, or their own single confirmation, is one person.
    let mut o = dec(&ids, Action::Override, "alice", 1);
    o.outcome = Some(Outcome::Confirm);
    r.decide(o).unwrap();
    assert_eq!(status(&r, 4), ReviewStatus::Pending);
    assert!(r.referable(true, false).unwrap().is_empty());
    assert_eq!(r.referable(false, false).unwrap().len(), 1, "single review");
    r.decide(dec(&ids, Action::Confirm, "alice", 2)).unwrap();
    let mut o = dec(&ids, Action::Override, "alice", 3);
    o.outcome = Some(Outcome::Confirm);
    r.decide(o).unwrap();
    assert_eq!(status(&r, 4), ReviewStatus::Pending);
    assert!(r.referable(true, false).unwrap().is_empty());
    // An override of a rejection still needs a confirmer other than the overrider.
    let ids5 = vec![id(2)];
    r.decide(dec(&ids5, Action::Reject, "bob", 4)).unwrap();
    let mut o5 = dec(&ids5, Action::Override, "carol", 5);
    o5.outcome = Some(Outcome::Confirm);
    r.decide(o5).unwrap();
    assert_eq!(status(&r, 2), ReviewStatus::Escalated);
    assert!(r.referable(true, false).unwrap().is_empty());
    // A second person confirming completes four-eyes; each person is listed once.
    r.decide(dec(&ids, Action::Confirm, "bob", 6)).unwrap();
    assert_eq!(status(&r, 4), ReviewStatus::Confirmed);
    let referable = r.referable(true, false).unwrap();
    assert_eq!(referable.len(), 1);
    let mut who: Vec<String> = referable[0]
        .1
        .deciders()
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    who.sort();
    assert_eq!(who, vec!["alice", "bob"]);
}

#[test]
fn decisions_need_reason_and_known_ids() {
    let d = tempdir();
    let mut r = open_mem(d.path(), memory());
    let mut bad = dec(&[id(0)], Action::Confirm, "alice", 1);
    bad.reason = "   ".into();
    assert!(r.decide(bad).is_err());
    assert!(
        r.decide(dec(&["nope".into()], Action::Confirm, "alice", 1))
            .is_err()
    );
    assert!(r.decide(dec(&[id(0)], Action::Confirm, "", 1)).is_err());
    assert_eq!(
        r.log().records().unwrap().len(),
        0,
        "refused decisions leave no record"
    );
}

#[test]
fn cluster_decision_covers_every_member() {
    let d = tempdir();
    let mut r = open_mem(d.path(), memory());
    let mut x = dec(&[id(1)], Action::Reject, "alice", 1);
    x.cluster = true;
    let out = r.decide(x).unwrap();
    let mut want = vec![id(0), id(1)];
    want.sort();
    assert_eq!(out.record.items, want);
    assert!(out.record.cluster);
    assert_eq!(status(&r, 0), ReviewStatus::Rejected);
    assert_eq!(status(&r, 1), ReviewStatus::Rejected);
    assert_eq!(status(&r, 2), ReviewStatus::Pending);
}

#[test]
fn queue_groups_near_duplicates_under_the_best_item() {
    let d = tempdir();
    let r = open_mem(d.path(), memory());
    let q =
        review::queue::build(r.source(), &r.states().unwrap(), &Default::default(), None).unwrap();
    assert_eq!(q.len(), 4);
    assert_eq!(q[0].id, id(0));
    assert_eq!(q[0].count, 2);
    assert_eq!(q[0].members, vec![id(1)]);
    let scores: Vec<f32> = q.iter().map(|e| e.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    let f = review::ItemFilter {
        host: Some("social-b.test".into()),
        min_score: Some(0.6),
        ..Default::default()
    };
    let q = review::queue::build(r.source(), &r.states().unwrap(), &f, None).unwrap();
    assert_eq!(
        q.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        vec![id(3)]
    );
}

#[test]
fn crash_between_log_and_index_is_repaired_at_next_start() {
    let d = tempdir();
    let mut store = memory();
    store.fail_status_updates = true;
    let mut r = open_mem(d.path(), store);
    r.decide(dec(&[id(2)], Action::Confirm, "alice", 1))
        .unwrap_err();
    r.decide(dec(&[id(2)], Action::Reject, "bob", 2))
        .unwrap_err();
    assert_eq!(
        status(&r, 2),
        ReviewStatus::Pending,
        "the index missed both updates"
    );
    assert_eq!(r.log().records().unwrap().len(), 2, "but the log has them");
    let mut store = r.into_source();
    store.fail_status_updates = false;
    let (r, replayed) = Review::open(store, AuditLog::open(d.path()).unwrap()).unwrap();
    assert_eq!(replayed, 2);
    assert_eq!(status(&r, 2), ReviewStatus::Escalated);
    let (_, again) = Review::open(r.into_source(), AuditLog::open(d.path()).unwrap()).unwrap();
    assert_eq!(again, 0, "repair is idempotent");
}

fn exported(d: &Path) -> (Review<MemoryStore>, MemoryStore) {
    let store = memory();
    let evidence = store.clone();
    let mut r = open_mem(&d.join("log"), store);
    confirm_all(&mut r, &[id(0), id(2), id(3)]);
    (r, evidence)
}

#[test]
fn export_is_deterministic_and_marks_items_referred() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let s1 = refer::export(&mut r, &ev, &opts(d.path().join("out1"), true, false)).unwrap();
    assert_eq!(s1.bundles.len(), 2);
    assert_eq!(
        s1.issued_at.as_deref(),
        Some("2026-05-02T09:02:00Z"),
        "issued = latest decision"
    );
    assert_eq!(status(&r, 0), ReviewStatus::Referred);
    assert_eq!(status(&r, 1), ReviewStatus::Pending);
    let s2 = refer::export(&mut r, &ev, &opts(d.path().join("out2"), true, false)).unwrap();
    assert!(
        s2.bundles.is_empty(),
        "referred items are not exported again"
    );
    assert!(!d.path().join("out2").exists());
    let s3 = refer::export(&mut r, &ev, &opts(d.path().join("out3"), true, true)).unwrap();
    assert_eq!(s3.referred, s1.referred);
    assert_eq!(
        tree(&d.path().join("out1")),
        tree(&d.path().join("out3")),
        "same decisions, same bytes"
    );
    // Referral records: every required field.
    let b: refer::Bundle =
        serde_json::from_str(&read(&d.path().join("out1/forum-a.test/bundle.json"))).unwrap();
    assert_eq!(b.items.len(), 2);
    for it in &b.items {
        assert!(refer::ids::is_valid_referral_id(&it.referral_id));
        assert_eq!(it.automated_detection, "yes");
        assert_eq!(it.automated_decision, "partially");
        assert_eq!(it.review.reviewers.len(), 2);
        assert!(it.statement_of_reasons.chars().count() <= 2000);
        assert!(it.statement_of_reasons.contains("Art. 2(7)"));
        assert_eq!(
            it.content_locator.thread.as_deref(),
            Some(if it.content_locator.post_id == "101" {
                "7"
            } else {
                "9"
            })
        );
        assert_eq!(
            it.dsa.category,
            "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
        );
        assert!(it.deadline_at.is_none());
    }
    let sol = b
        .items
        .iter()
        .find(|i| i.scenario_category == "solicitation")
        .unwrap();
    assert_eq!(sol.tco_reasons, vec!["solicits_participation"]);
    assert!(refer::verify(&d.path().join("out1")).unwrap().ok);
}

#[test]
fn removal_orders_carry_the_one_hour_deadline() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let mut o = opts(d.path().join("out"), true, false);
    o.kind = Kind::RemovalOrder;
    o.issued_at = Some(datetime!(2026-05-03 12:00 UTC));
    refer::export(&mut r, &ev, &o).unwrap();
    let b: refer::Bundle =
        serde_json::from_str(&read(&d.path().join("out/social-b.test/bundle.json"))).unwrap();
    assert_eq!(b.items[0].issued_at, "2026-05-03T12:00:00Z");
    assert_eq!(
        b.items[0].deadline_at.as_deref(),
        Some("2026-05-03T13:00:00Z")
    );
    assert!(b.items[0].referral_id.starts_with("ro-"));
    assert_eq!(
        b.items[0].tco_reasons,
        vec!["incites"],
        "glorification maps to incites"
    );
    assert!(refer::verify(&d.path().join("out")).unwrap().ok);
}

#[test]
fn verify_detects_a_flipped_byte_in_any_file() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let out = d.path().join("out");
    refer::export(&mut r, &ev, &opts(out.clone(), true, false)).unwrap();
    let files = tree(&out);
    assert!(files.keys().any(|f| f.ends_with(".warc")) && files.contains_key("export.json"));
    for (f, bytes) in &files {
        for pos in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 2] {
            let mut b = bytes.clone();
            b[pos] ^= 0x01;
            std::fs::write(out.join(f), &b).unwrap();
            let v = refer::verify(&out).unwrap();
            assert!(!v.ok, "flip at {f}:{pos} went unnoticed");
            std::fs::write(out.join(f), bytes).unwrap();
        }
    }
    assert!(refer::verify(&out).unwrap().ok);
    // An extra file is noticed too.
    std::fs::write(out.join("forum-a.test/evidence/extra.warc"), b"x").unwrap();
    assert!(!refer::verify(&out).unwrap().ok);
}

#[test]
fn interrupted_export_leaves_nothing_behind() {
    let d = tempdir();
    let (mut r, mut ev) = exported(d.path());
    // The second bundle (social-b.test) fails: its evidence is gone.
    let sha = r.source().get(&id(3)).unwrap().unwrap().page_sha256;
    ev.pages.remove(&sha);
    let out = d.path().join("out");
    let err = refer::export(&mut r, &ev, &opts(out.clone(), true, false)).unwrap_err();
    assert!(err.to_string().contains(&id(3)), "{err}");
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".trawl-export"))
        .collect();
    assert!(leftovers.is_empty());
    assert_eq!(
        status(&r, 0),
        ReviewStatus::Confirmed,
        "nothing marked referred"
    );
}

#[test]
fn non_empty_targets_and_escaping_paths_are_refused() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let out = d.path().join("busy");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"x").unwrap();
    let e = refer::export(&mut r, &ev, &opts(out.clone(), true, false)).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    assert_eq!(read(&out.join("keep.txt")), "x");
    assert!(refer::export::join_inside(d.path(), "../escape").is_err());
    assert!(refer::export::join_inside(d.path(), "/etc/passwd").is_err());
    // A host name that would climb out of --out.
    let mut store = memory();
    let mut evil = store.items.get(&id(2)).unwrap().clone();
    evil.post.host = "../../evil".into();
    evil.id = "evil1".into();
    store.insert(evil);
    let mut r2 = open_mem(&d.path().join("log2"), store.clone());
    confirm_all(&mut r2, &["evil1".into()]);
    let e = refer::export(&mut r2, &store, &opts(d.path().join("o2"), true, false)).unwrap_err();
    assert!(e.to_string().contains("evil"), "{e}");
    assert!(!d.path().join("evil").exists() && !d.path().join("o2").exists());
    // A manifest entry pointing outside the bundle is a problem, not a read.
    let good = d.path().join("good");
    refer::export(&mut r, &ev, &opts(good.clone(), true, false)).unwrap();
    let m = good.join("forum-a.test/manifest.json");
    let text = read(&m).replacen(
        "\"path\": \"bundle.json\"",
        "\"path\": \"../../../etc/passwd\"",
        1,
    );
    std::fs::write(&m, text).unwrap();
    let v = refer::verify(&good.join("forum-a.test")).unwrap();
    assert!(
        v.bundles[0].problems.iter().any(|p| p.contains("escapes")),
        "{:?}",
        v.bundles[0].problems
    );
}

#[test]
fn warc_record_parses_back_to_the_captured_page() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let out = d.path().join("out");
    refer::export(&mut r, &ev, &opts(out.clone(), true, false)).unwrap();
    let b: refer::Bundle =
        serde_json::from_str(&read(&out.join("forum-a.test/bundle.json"))).unwrap();
    for it in &b.items {
        let bytes = std::fs::read(out.join("forum-a.test").join(&it.evidence.warc_file)).unwrap();
        let recs = refer::warc::parse(&bytes).unwrap();
        assert_eq!(recs.len(), 1);
        let c = refer::warc::check_response(&recs[0]).unwrap();
        assert_eq!(c.payload_sha256, it.evidence.sha256);
        let http = refer::warc::parse_http(&recs[0].block).unwrap();
        let page = ev.pages.get(&it.evidence.sha256).unwrap();
        assert_eq!(http.body, page.body);
        assert_eq!(recs[0].header("WARC-Target-URI"), Some(page.url.as_str()));
        assert_eq!(recs[0].header("WARC-Date"), Some("2026-05-01T10:00:00Z"));
    }
}

fn validator() -> Option<Vec<String>> {
    let ok = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if ok("stix2_validator", &["--help"]) {
        return Some(vec!["stix2_validator".into()]);
    }
    if ok("python3", &["-c", "import stix2validator"]) {
        return Some(vec!["python3".into(), "-m".into(), "stix2validator".into()]);
    }
    None
}

#[test]
fn stix_export_passes_the_oasis_validator() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let out = d.path().join("out");
    refer::export(&mut r, &ev, &opts(out.clone(), true, false)).unwrap();
    let stix: serde_json::Value =
        serde_json::from_str(&read(&out.join("forum-a.test/stix.json"))).unwrap();
    let objs = stix["objects"].as_array().unwrap();
    let url = objs.iter().find(|o| o["type"] == "url").unwrap();
    let id = url["id"].as_str().unwrap();
    assert_eq!(&id[19..20], "5", "url ids are UUIDv5: {id}");
    assert_eq!(id, refer::stix::url_id(url["value"].as_str().unwrap()));
    let Some(cmd) = validator() else {
        eprintln!(
            "SKIPPED stix validation: stix2-validator not installed (pip install stix2-validator)"
        );
        return;
    };
    for host in ["forum-a.test", "social-b.test"] {
        let f = out.join(host).join("stix.json");
        let o = std::process::Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(["--version", "2.1", "--strict"])
            .arg(&f)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.status.success() && !text.contains("[X]"),
            "stix2_validator rejected {}:\n{text}",
            f.display()
        );
    }
}

fn write_truth(path: &Path) {
    let rec = |host: &str,
               post: &str,
               label: &str,
               cat: Option<&str>,
               lang: &str,
               cluster: Option<&str>| {
        let url = format!("http://{host}/p/{post}.html");
        let mut v = serde_json::json!({
            "url": url, "post_id": post, "host": host, "site_kind": "forum", "author": "a",
            "lang": lang, "label": label, "published": "2026-04-30T08:00:00Z",
        });
        if let Some(c) = cat {
            v["category"] = c.into();
        }
        if let Some(c) = cluster {
            v["cluster"] = c.into();
        }
        serde_json::to_string(&v).unwrap()
    };
    let lines = [
        rec(
            "a.test",
            "1",
            "violating",
            Some("incitement"),
            "en",
            Some("k1"),
        ),
        rec(
            "a.test",
            "2",
            "violating",
            Some("incitement"),
            "en",
            Some("k1"),
        ),
        rec("a.test", "3", "violating", Some("threat"), "ru", None),
        rec("b.test", "4", "violating", Some("threat"), "en", None),
        rec("b.test", "5", "benign", None, "en", None),
        rec("b.test", "6", "violating", Some("financing"), "en", None),
    ];
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn referral_scoring_on_a_hand_made_truth() {
    let d = tempdir();
    let truth = d.path().join("truth.jsonl");
    write_truth(&truth);
    let bundles = d.path().join("team");
    std::fs::create_dir_all(bundles.join("x")).unwrap();
    // Both reposts of cluster k1 (counted once), the threat by post id, a benign post, a URL
    // not in the truth; unknown fields are ignored.
    let bundle = serde_json::json!({
        "issued_at": "2026-04-30T20:00:00Z",
        "team": "blue",
        "items": [
            {"referral_id": "r1", "content_url": "http://a.test/p/1.html", "scenario_category": "incitement", "extra": [1]},
            {"referral_id": "r2", "content_url": "http://a.test/p/2.html", "scenario_category": "incitement"},
            {"referral_id": "r3", "content_url": "http://a.test/elsewhere#x", "content_locator": {"post_id": "3"}, "scenario_category": "incitement", "issued_at": "2026-04-30T10:00:00Z"},
            {"referral_id": "r4", "content_url": "http://b.test/p/5.html", "scenario_category": "threat"},
            {"referral_id": "r5", "content_url": "http://c.test/nowhere", "scenario_category": "threat", "content_language": "EN"}
        ]
    });
    std::fs::write(
        bundles.join("x/bundle.json"),
        serde_json::to_string_pretty(&bundle).unwrap(),
    )
    .unwrap();
    let s = trawl::eval::referrals::score(&truth, &bundles).unwrap();
    assert_eq!(
        (s.referrals, s.matched, s.unmatched, s.duplicate_referrals),
        (5, 4, 1, 1)
    );
    // Units: k1, a/3 found; b/4, b/6 missed; b/5 benign and c.test unknown are false positives.
    assert_eq!((s.overall.tp, s.overall.fp, s.overall.fn_), (2, 2, 2));
    assert!((s.overall.precision - 0.5).abs() < 1e-9 && (s.overall.recall - 0.5).abs() < 1e-9);
    let th = &s.by_category["threat"];
    assert_eq!(
        (th.tp, th.fp, th.fn_),
        (1, 2, 1),
        "threat: a/3 found, b/4 missed, 2 wrong claims"
    );
    let inc = &s.by_category["incitement"];
    assert_eq!((inc.tp, inc.fp, inc.fn_), (1, 0, 0));
    assert_eq!(s.by_host["b.test"].tp, 0);
    assert_eq!(s.by_lang["ru"].tp, 1);
    assert_eq!(s.category_agreement, Some(2.0 / 3.0));
    assert_eq!(s.time_to_referral.count, 2);
    assert_eq!(s.time_to_referral.max_hours, Some(12.0));
    assert_eq!(s.time_to_referral.median_hours, Some(12.0));
    let md = trawl::eval::referrals::render_markdown(&s);
    assert!(md.contains("| threat | 1 | 2 | 1 |"), "{md}");
    assert!(trawl::eval::referrals::render_json(&s).contains("\"fn\": 2"));
}

#[test]
fn referral_scoring_is_strict_on_required_fields() {
    let d = tempdir();
    let truth = d.path().join("truth.jsonl");
    write_truth(&truth);
    for (body, want) in [
        (
            r#"{"items":[{"referral_id":"ok"}]}"#,
            "items[0].content_url: missing",
        ),
        (
            r#"{"items":[{"referral_id":"bad id","content_url":"http://a.test/"}]}"#,
            "items[0].referral_id",
        ),
        (
            r#"{"items":[{"referral_id":"a","content_url":"http://a.test/"},{"referral_id":"a","content_url":"http://a.test/"}]}"#,
            "items[1].referral_id",
        ),
        (r#"{"things":[]}"#, "items: missing"),
        (
            r#"{"items":[{"referral_id":"a","content_url":"http://a.test/","scenario_category":"gossip"}]}"#,
            "items[0].scenario_category",
        ),
    ] {
        let dir = d.path().join(format!("b{}", sha256_hex(body.as_bytes())));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("team.bundle.json");
        std::fs::write(&f, body).unwrap();
        let e = trawl::eval::referrals::score(&truth, &dir)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&f.display().to_string()) && e.contains(want),
            "{e}"
        );
    }
}

#[test]
fn our_own_export_scores_against_truth() {
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let out = d.path().join("out");
    refer::export(&mut r, &ev, &opts(out.clone(), true, false)).unwrap();
    let (items, _) = fixture();
    let mut lines = Vec::new();
    for (it, s) in items.iter().zip(&SPECS) {
        lines.push(serde_json::to_string(&serde_json::json!({
            "url": it.post.url, "post_id": s.post, "host": s.host, "site_kind": "forum", "author": "a",
            "lang": s.lang.code(), "label": "violating", "category": s.cat.as_str(),
            "cluster": if s.cluster.is_empty() { serde_json::Value::Null } else { s.cluster.into() },
            "published": "2026-04-30T08:00:00Z",
        })).unwrap());
    }
    let truth = d.path().join("truth.jsonl");
    std::fs::write(&truth, lines.join("\n")).unwrap();
    let s = trawl::eval::referrals::score(&truth, &out).unwrap();
    // Referred: cluster c1 (via 101), 150, 9001. Missed: 9002. Cluster c1 counts once.
    assert_eq!((s.overall.tp, s.overall.fp, s.overall.fn_), (3, 0, 1));
    assert_eq!(s.category_agreement, Some(1.0));
}

// ---- the CLI, end to end on a JSONL store ----

fn cli_store(dir: &Path) {
    let (items, pages) = fixture();
    review::JsonlStore::create(dir, &items, &pages).unwrap();
}

/// `trawl review queue | head -1`: a reader that goes away ends the command quietly (exit 0,
/// no panic), as it does for every command that prints.
#[test]
fn a_closed_pipe_ends_the_queue_quietly() {
    let d = tempdir();
    let idx = d.path().join("idx");
    cli_store(&idx);
    let mut child = trawl()
        .args(["review", "queue", "--index"])
        .arg(&idx)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the first line is written
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn cli_two_reviewers_then_export_and_verify() {
    let d = tempdir();
    let idx = d.path().join("idx");
    cli_store(&idx);
    let q = run_ok(
        trawl()
            .args(["review", "queue", "--json", "--index"])
            .arg(&idx),
    );
    let rows: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert_eq!(rows[0]["count"], 2);
    let head = rows[0]["id"].as_str().unwrap().to_string();
    for who in ["alice", "bob"] {
        run_ok(
            trawl()
                .args([
                    "review",
                    "decide",
                    &head,
                    "--confirm",
                    "--cluster",
                    "--reviewer",
                    who,
                    "--reason",
                    "recruitment call",
                ])
                .arg("--index")
                .arg(&idx),
        );
    }
    // bob's queue hides what he decided; alice's second confirmation is not needed.
    let q = run_ok(
        trawl()
            .args(["review", "queue", "--json", "--reviewer", "bob", "--index"])
            .arg(&idx),
    );
    let rows: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != head.as_str())
    );
    let no_reason = trawl()
        .args([
            "review",
            "decide",
            &id(2),
            "--confirm",
            "--reviewer",
            "x",
            "--reason",
            "",
        ])
        .arg("--index")
        .arg(&idx)
        .output()
        .unwrap();
    assert_eq!(no_reason.status.code(), Some(2));
    let h = run_ok(
        trawl()
            .args(["review", "history", &id(1), "--index"])
            .arg(&idx),
    );
    let h = String::from_utf8_lossy(&h.stdout);
    assert!(
        h.contains("alice") && h.contains("bob") && h.contains("[cluster]"),
        "{h}"
    );
    let out = d.path().join("bundles");
    run_ok(
        trawl()
            .args(["export", "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(&out),
    );
    let v = run_ok(trawl().args(["export", "verify"]).arg(&out));
    assert!(String::from_utf8_lossy(&v.stdout).contains("verified"));
    let b: refer::Bundle =
        serde_json::from_str(&read(&out.join("forum-a.test/bundle.json"))).unwrap();
    assert_eq!(b.items.len(), 2, "the whole cluster went out");
    let s = run_ok(
        trawl()
            .args(["review", "history", &id(0), "--json", "--index"])
            .arg(&idx),
    );
    let s: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(s["status"], "referred");
    // Nothing left to export; a non-empty target is refused.
    let again = run_ok(
        trawl()
            .args(["export", "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(d.path().join("b2")),
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to export"));
    let busy = trawl()
        .args(["export", "--again", "--index"])
        .arg(&idx)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("not empty"));
    // Tamper with a WARC: verify exits 1 and names the file.
    let warc = refer::manifest::list_files(&out.join("forum-a.test"))
        .unwrap()
        .into_iter()
        .find(|f| f.ends_with(".warc"))
        .unwrap();
    let p = out.join("forum-a.test").join(&warc);
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len() - 10;
    bytes[n] ^= 0x20;
    std::fs::write(&p, bytes).unwrap();
    let v = trawl()
        .args(["export", "verify"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains(&warc));
}

#[test]
fn cli_verify_log_names_the_first_broken_line() {
    let d = tempdir();
    let idx = d.path().join("idx");
    cli_store(&idx);
    for (n, who) in [(2, "alice"), (3, "bob"), (4, "carol")] {
        run_ok(
            trawl()
                .args([
                    "review",
                    "decide",
                    &id(n),
                    "--reject",
                    "--reviewer",
                    who,
                    "--reason",
                    "benign",
                ])
                .arg("--index")
                .arg(&idx),
        );
    }
    run_ok(trawl().args(["review", "verify-log", "--index"]).arg(&idx));
    let log = idx.join("review/audit.jsonl");
    let text = read(&log);
    std::fs::write(&log, text.replacen("\"bob\"", "\"eve\"", 1)).unwrap();
    let o = trawl()
        .args(["review", "verify-log", "--index"])
        .arg(&idx)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("audit.jsonl:2:"), "{s}");
    // Decisions refuse to build on a broken chain.
    let o = trawl()
        .args([
            "review",
            "decide",
            &id(0),
            "--confirm",
            "--reviewer",
            "x",
            "--reason",
            "y",
            "--index",
        ])
        .arg(&idx)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

// ---- delivery and removal tracking against a stand-in provider on loopback ----

mod provider {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::routing::{get, post};

    #[derive(Default)]
    pub struct Shared {
        pub removed: BTreeSet<String>,
        pub bodies: Vec<(String, Vec<u8>)>,
    }

    pub type S = Arc<Mutex<Shared>>;

    async fn accept(State(s): State<S>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let v: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return (StatusCode::BAD_REQUEST, "{}".into()),
        };
        let mut g = s.lock().unwrap();
        let mut accepted = 0;
        for it in v["items"].as_array().into_iter().flatten() {
            let url = it["content_url"].as_str().unwrap_or("");
            // The provider takes down whole pages.
            g.removed
                .insert(url.split('#').next().unwrap_or("").to_string());
            accepted += 1;
        }
        g.bodies.push((host.clone(), body.to_vec()));
        let r = serde_json::json!({"receipt_id": format!("rcpt-{}", g.bodies.len()), "received_at": "2026-05-02T10:00:00Z", "host": host, "accepted": accepted, "rejected": 0});
        (StatusCode::ACCEPTED, r.to_string())
    }

    async fn receipt(Path(id): Path<String>) -> String {
        serde_json::json!({"receipt_id": id, "items": []}).to_string()
    }

    /// The fixture page at the URL (200, with its post blocks), or 410 once referred.
    async fn page(
        State(s): State<S>,
        headers: HeaderMap,
        uri: Uri,
    ) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let url = format!("http://{host}{}", uri.path());
        let ct = [("content-type", "text/html; charset=utf-8")];
        if s.lock().unwrap().removed.contains(&url) {
            return (StatusCode::GONE, ct, vec![]);
        }
        match super::fixture().1.into_iter().find(|p| p.url == url) {
            Some(p) => (StatusCode::OK, ct, p.body),
            None => (StatusCode::NOT_FOUND, ct, vec![]),
        }
    }

    pub fn app(s: S) -> Router {
        Router::new()
            .route("/.well-known/trawl/referrals", post(accept))
            .route("/.well-known/trawl/referrals/{id}", get(receipt))
            .fallback(page)
            .with_state(s)
    }
}

#[test]
fn send_and_status_against_a_provider() {
    let d = tempdir();
    let idx = d.path().join("idx");
    cli_store(&idx);
    for who in ["alice", "bob"] {
        run_ok(
            trawl()
                .args([
                    "review",
                    "decide",
                    &id(2),
                    &id(3),
                    "--confirm",
                    "--reviewer",
                    who,
                    "--reason",
                    "violating",
                ])
                .arg("--index")
                .arg(&idx),
        );
    }
    let out = d.path().join("bundles");
    run_ok(
        trawl()
            .args([
                "export",
                "--kind",
                "removal-order",
                "--issued-at",
                "2026-05-02T09:30:00Z",
                "--index",
            ])
            .arg(&idx)
            .arg("--out")
            .arg(&out),
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let shared = provider::S::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = provider::app(shared.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Before delivery everything is online and (deadline long past) overdue.
    let st = run_ok(
        trawl()
            .args([
                "refer",
                "status",
                "--json",
                "--to",
                &format!("http://{addr}"),
            ])
            .arg(&out),
    );
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["overall"]["offline"], 0);
    assert_eq!(st["overdue"].as_array().unwrap().len(), 2);

    let s = run_ok(
        trawl()
            .args([
                "refer",
                "send",
                "--json",
                "--resolve",
                &format!("*.test={addr}"),
            ])
            .arg(&out),
    );
    let ds: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(ds.as_array().unwrap().len(), 2);
    assert!(
        ds.as_array()
            .unwrap()
            .iter()
            .all(|d| d["http_status"] == 202 && d["accepted"] == 1)
    );
    {
        let g = shared.lock().unwrap();
        let hosts: Vec<&str> = g.bodies.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(
            hosts,
            vec!["forum-a.test", "social-b.test"],
            "Host header names the provider"
        );
        assert_eq!(
            g.bodies[0].1,
            std::fs::read(out.join("forum-a.test/bundle.json")).unwrap(),
            "exact bundle bytes"
        );
    }
    let again = run_ok(
        trawl()
            .args(["refer", "send", "--to", &format!("http://{addr}")])
            .arg(&out),
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to send"));

    let st = run_ok(
        trawl()
            .args([
                "refer",
                "status",
                "--json",
                "--to",
                &format!("http://{addr}"),
            ])
            .arg(&out),
    );
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["overall"]["offline"], 2);
    assert_eq!(st["overall"]["rate"], 1.0);
    assert_eq!(st["by_host"]["forum-a.test"]["offline"], 1);
    assert_eq!(st["by_category"]["threat"]["rate"], 1.0);
    assert_eq!(st["overdue"].as_array().unwrap().len(), 0);
    assert_eq!(st["time_to_removal"]["count"], 2);
    // The bundles are untouched by delivery bookkeeping.
    run_ok(trawl().args(["export", "verify"]).arg(&out));
    // Not on loopback: refused before any traffic.
    let bad = trawl()
        .args(["refer", "send", "--again", "--to", "http://10.1.2.3:80"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("loopback"));
}

// ---- the real tantivy index and evidence store ----

fn index_store(dir: &Path) {
    let (items, pages) = fixture();
    let store = trawl::index::IndexStore::open_or_create(dir).unwrap();
    let ev = trawl::index::EvidenceStore::open(store.evidence_dir()).unwrap();
    for p in &pages {
        assert_eq!(ev.put(p).unwrap(), p.sha256);
    }
    let mut w = store.writer().unwrap();
    for i in &items {
        w.add(i).unwrap();
    }
    w.commit().unwrap();
}

#[test]
fn cli_workflow_on_the_tantivy_index() {
    let d = tempdir();
    let idx = d.path().join("index");
    index_store(&idx);
    let q = run_ok(
        trawl()
            .args(["review", "queue", "--json", "--lang", "en", "--index"])
            .arg(&idx),
    );
    let rows: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![id(0).as_str(), id(2).as_str(), id(4).as_str()],
        "German item filtered, cluster grouped"
    );
    for who in ["alice", "bob"] {
        run_ok(
            trawl()
                .args([
                    "review",
                    "decide",
                    &id(0),
                    &id(3),
                    "--confirm",
                    "--cluster",
                    "--reviewer",
                    who,
                    "--reason",
                    "violating",
                ])
                .arg("--index")
                .arg(&idx),
        );
    }
    let store = trawl::index::IndexStore::open_or_create(&idx).unwrap();
    assert_eq!(
        store.get(&id(1)).unwrap().unwrap().status,
        ReviewStatus::Confirmed
    );
    drop(store);
    let out = d.path().join("out");
    run_ok(
        trawl()
            .args(["export", "--format", "json", "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(&out),
    );
    run_ok(trawl().args(["export", "verify"]).arg(&out));
    assert!(
        !out.join("forum-a.test/stix.json").exists(),
        "--format json only"
    );
    let store = trawl::index::IndexStore::open_or_create(&idx).unwrap();
    assert_eq!(
        store.get(&id(3)).unwrap().unwrap().status,
        ReviewStatus::Referred
    );
    assert_eq!(
        store.get(&id(2)).unwrap().unwrap().status,
        ReviewStatus::Pending
    );
}

// ---- end to end with the real corpus server's provider endpoint ----

fn corpus_root(root: &Path) {
    use trawl::model::{Manifest, ManifestHost, SiteKind};
    let host = |name: &str, kind| ManifestHost {
        host: name.into(),
        kind,
        charset: "utf-8".into(),
        entry_points: vec!["/".into()],
        langs: vec![],
        files: 0,
        posts: 0,
    };
    let manifest = Manifest {
        format: 1,
        scenario: "review-e2e".into(),
        scenario_sha256: String::new(),
        seed: 1,
        posts: 5,
        counts: BTreeMap::new(),
        hosts: vec![
            host("forum-a.test", SiteKind::Forum),
            host("social-b.test", SiteKind::Social),
        ],
        tree_sha256: String::new(),
        start: None,
    };
    std::fs::write(
        root.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let (_, pages) = fixture();
    for p in pages {
        let u = url::Url::parse(&p.url).unwrap();
        let mut rel = u.path().trim_start_matches('/').to_string();
        if rel.ends_with('/') || rel.is_empty() {
            rel.push_str("index.html");
        }
        let f = root.join("sites").join(u.host_str().unwrap()).join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, &p.body).unwrap();
    }
}

#[test]
fn end_to_end_with_the_corpus_server_provider() {
    let d = tempdir();
    let root = d.path().join("corpus");
    std::fs::create_dir_all(&root).unwrap();
    corpus_root(&root);
    let idx = d.path().join("idx");
    cli_store(&idx);
    for who in ["alice", "bob"] {
        run_ok(
            trawl()
                .args([
                    "review",
                    "decide",
                    &id(0),
                    &id(2),
                    &id(3),
                    "--confirm",
                    "--cluster",
                    "--reviewer",
                    who,
                    "--reason",
                    "violating",
                ])
                .arg("--index")
                .arg(&idx),
        );
    }
    let out = d.path().join("bundles");
    run_ok(
        trawl()
            .args(["export", "--kind", "removal-order", "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(&out),
    );
    run_ok(trawl().args(["export", "verify"]).arg(&out));

    let (rt, server) = provider_server(&root, 300, 0.0, 0);
    let addr = server.local_addr();
    let resolve = format!("*.test={addr}");

    let s = run_ok(
        trawl()
            .args(["refer", "send", "--json", "--resolve", &resolve])
            .arg(&out),
    );
    let ds: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    let ds = ds.as_array().unwrap();
    assert_eq!(ds.len(), 2);
    for dl in ds {
        assert_eq!(dl["http_status"], 202, "{dl}");
        assert_eq!(dl["rejected"], 0, "{dl}");
        assert!(dl["receipt_id"].as_str().unwrap().starts_with("rcpt-"));
    }
    assert_eq!(
        ds[0]["accepted"], 3,
        "forum bundle: the cluster pair and the threat"
    );
    // Poll until the provider's removal delay has passed.
    let mut st = serde_json::Value::Null;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let o = trawl()
            .args(["refer", "status", "--json", "--resolve", &resolve])
            .arg(&out)
            .output()
            .unwrap();
        st = serde_json::from_slice(&o.stdout).unwrap();
        if st["overall"]["offline"] == 4 {
            break;
        }
    }
    assert_eq!(st["overall"]["total"], 4, "{st}");
    assert_eq!(st["overall"]["offline"], 4, "{st}");
    assert_eq!(st["by_host"]["social-b.test"]["rate"], 1.0);
    assert!(
        st["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["http_status"] == 410 && i["provider_status"] == "removed"),
        "{st}"
    );
    assert_eq!(st["time_to_removal"]["count"], 4);
    assert_eq!(st["overdue"].as_array().unwrap().len(), 0);
    rt.block_on(server.shutdown());
}

#[test]
fn a_refused_post_stays_online_when_its_neighbour_is_removed() {
    use trawl::corpus::serve::faults::uniform_for;
    let d = tempdir();
    let root = d.path().join("corpus");
    std::fs::create_dir_all(&root).unwrap();
    corpus_root(&root);
    let idx = d.path().join("idx");
    cli_store(&idx);
    // Posts 101 and 102 share the page /topic/7/ (one near-duplicate cluster).
    for who in ["alice", "bob"] {
        run_ok(
            trawl()
                .args([
                    "review",
                    "decide",
                    &id(0),
                    "--confirm",
                    "--cluster",
                    "--reviewer",
                    who,
                    "--reason",
                    "violating",
                ])
                .arg("--index")
                .arg(&idx),
        );
    }
    let out = d.path().join("bundles");
    run_ok(
        trawl()
            .args(["export", "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(&out),
    );
    let bundle: serde_json::Value =
        serde_json::from_str(&read(&out.join("forum-a.test/bundle.json"))).unwrap();
    let rid = |post: &str| -> String {
        let items = bundle["items"].as_array().unwrap();
        let it = items
            .iter()
            .find(|i| {
                i["content_url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("#p{post}"))
            })
            .unwrap_or_else(|| panic!("p{post} in {bundle}"));
        it["referral_id"].as_str().unwrap().to_string()
    };
    let (refused, removed) = (rid("101"), rid("102"));
    assert_eq!(bundle["items"].as_array().unwrap().len(), 2);
    // A fault seed under which the provider refuses post 101 and removes post 102.
    let refused_under =
        |seed: u64, id: &str| uniform_for(seed, &format!("refuse\0forum-a.test\0{id}")) < 0.5;
    let seed = (0..1000u64)
        .find(|s| refused_under(*s, &refused) && !refused_under(*s, &removed))
        .unwrap();

    let (rt, server) = provider_server(&root, 300, 0.5, seed);
    let addr = server.local_addr();
    let resolve = format!("*.test={addr}");
    let s = run_ok(
        trawl()
            .args(["refer", "send", "--json", "--resolve", &resolve])
            .arg(&out),
    );
    let ds: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(ds[0]["accepted"], 2, "{ds}");

    let mut st = serde_json::Value::Null;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let o = trawl()
            .args(["refer", "status", "--json", "--resolve", &resolve])
            .arg(&out)
            .output()
            .unwrap();
        st = serde_json::from_slice(&o.stdout).unwrap();
        let decided = st["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["provider_status"] != "pending");
        if decided && st["overall"]["offline"] == 1 {
            break;
        }
    }
    assert_eq!(st["overall"]["total"], 2, "{st}");
    assert_eq!(st["overall"]["offline"], 1, "{st}");
    assert_eq!(st["by_host"]["forum-a.test"]["rate"], 0.5, "{st}");
    assert_eq!(st["by_category"]["solicitation"]["offline"], 1, "{st}");
    let item = |id: &str| {
        st["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["referral_id"] == id)
            .cloned()
            .unwrap()
    };
    let (a, b) = (item(&refused), item(&removed));
    assert_eq!(
        (
            &a["provider_status"],
            &a["observed"],
            &a["http_status"],
            &a["offline"]
        ),
        (
            &"refused".into(),
            &"online".into(),
            &200.into(),
            &false.into()
        ),
        "{a}"
    );
    assert_eq!(
        (
            &b["provider_status"],
            &b["observed"],
            &b["http_status"],
            &b["offline"]
        ),
        (
            &"removed".into(),
            &"post_removed".into(),
            &200.into(),
            &true.into()
        ),
        "{b}"
    );
    assert_eq!(st["time_to_removal"]["count"], 1, "{st}");
    // The Markdown report shows both the provider's word and the observation per item.
    let md = run_ok(
        trawl()
            .args(["refer", "status", "--resolve", &resolve])
            .arg(&out),
    );
    let md = String::from_utf8_lossy(&md.stdout).into_owned();
    let row = |id: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {id} |")))
            .unwrap_or_else(|| panic!("{id} row in\n{md}"))
            .to_string()
    };
    assert!(row(&refused).contains("| refused | online | 200 |"), "{md}");
    assert!(
        row(&removed).contains("| removed | post removed | 200 |"),
        "{md}"
    );

    // The page itself: still up, the refused post in it, the removed one a tombstone.
    let page = rt.block_on(async {
        let c = reqwest::Client::builder()
            .no_proxy()
            .resolve("forum-a.test", addr)
            .build()
            .unwrap();
        let r = c.get("http://forum-a.test/topic/7/").send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    assert!(page.contains("id=\"p101\""), "{page}");
    assert!(page.contains(SPECS[0].text), "{page}");
    assert!(!page.contains("id=\"p102\""), "{page}");
    assert!(!page.contains(SPECS[1].text), "{page}");
    assert!(page.contains("[removed by provider]"), "{page}");
    rt.block_on(server.shutdown());
}

/// The JSON Schema in docs/referral-format.md, between its markers.
fn documented_schema() -> serde_json::Value {
    let doc = read(&crate::util::repo().join("docs/referral-format.md"));
    let start = doc
        .find("<!-- schema:begin -->")
        .expect("schema:begin marker");
    let end = doc.find("<!-- schema:end -->").expect("schema:end marker");
    let block = &doc[start..end];
    let json = &block[block.find("```json").unwrap() + 7..block.rfind("```").unwrap()];
    serde_json::from_str(json).expect("the documented schema is valid JSON")
}

#[test]
fn bundles_match_the_documented_json_schema() {
    let schema = documented_schema();
    let req: Vec<&str> = schema["$defs"]["referral"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let d = tempdir();
    let (mut r, ev) = exported(d.path());
    let mut o = opts(d.path().join("out"), true, false);
    o.kind = Kind::RemovalOrder;
    refer::export(&mut r, &ev, &o).unwrap();
    let bundle: serde_json::Value =
        serde_json::from_str(&read(&d.path().join("out/forum-a.test/bundle.json"))).unwrap();
    for f in &req {
        assert!(
            bundle["items"][0].get(*f).is_some(),
            "documented required field {f} missing"
        );
    }
    let have_py = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have_py {
        eprintln!("SKIPPED JSON Schema validation: python3 with jsonschema not installed");
        return;
    }
    let schema_path = d.path().join("schema.json");
    std::fs::write(&schema_path, serde_json::to_vec(&schema).unwrap()).unwrap();
    let check = |doc: &serde_json::Value| -> (bool, String) {
        let p = d.path().join("doc.json");
        std::fs::write(&p, serde_json::to_vec(doc).unwrap()).unwrap();
        let script = "import json,sys,jsonschema\ns=json.load(open(sys.argv[1]));d=json.load(open(sys.argv[2]))\njsonschema.validate(d,s,format_checker=jsonschema.FormatChecker())";
        let o = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&schema_path)
            .arg(&p)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (ok, err) = check(&bundle);
    assert!(
        ok,
        "bundle.json does not match the documented schema:\n{err}"
    );
    let mut bad = bundle.clone();
    bad["items"][0]["referral_id"] = "not valid!".into();
    assert!(!check(&bad).0, "the schema check accepts anything");
    let mut bad = bundle.clone();
    bad["items"][0]
        .as_object_mut()
        .unwrap()
        .remove("deadline_at");
    assert!(!check(&bad).0, "removal orders need a deadline");
}

/// Measurement (ignored by default): `cargo test --release --test integration review::measure -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_review_export_verify() {
    use std::time::Instant;
    let d = tempdir();
    let (items0, pages0) = fixture();
    let n_hosts = 20;
    let per_host = 250;
    let mut store = MemoryStore::default();
    for h in 0..n_hosts {
        for k in 0..per_host {
            let mut it = items0[k % items0.len()].clone();
            let host = format!("host{h}.test");
            let body = format!(
                "<html><div id=\"p{k}\">{}</div> {h}/{k}</html>",
                it.post.text
            );
            let p = page(&format!("http://{host}/topic/{k}/"), &body, it.fetched_at);
            it.post.host = host.clone();
            it.post.post_id = PostId(format!("{k}"));
            it.post.url = format!("http://{host}/topic/{k}/#p{k}");
            it.id = Item::make_id(&host, &it.post.post_id);
            it.page_sha256 = p.sha256.clone();
            it.cluster = String::new();
            store.insert(it);
            store.insert_page(p);
        }
    }
    drop(pages0);
    let total = store.items.len();
    let ids: Vec<String> = store.items.keys().cloned().collect();
    let ev = store.clone();
    let mut r = open_mem(&d.path().join("log"), store);
    let t0 = Instant::now();
    let mut decisions = 0;
    for chunk in ids.chunks(10) {
        r.decide(dec(chunk, Action::Confirm, "alice", 1)).unwrap();
        r.decide(dec(chunk, Action::Confirm, "bob", 2)).unwrap();
        decisions += 2;
    }
    let t_decide = t0.elapsed();
    let t1 = Instant::now();
    let s = refer::export(&mut r, &ev, &opts(d.path().join("out"), true, false)).unwrap();
    let t_export = t1.elapsed();
    let t2 = Instant::now();
    let v = refer::verify(&d.path().join("out")).unwrap();
    let t_verify = t2.elapsed();
    assert!(v.ok);
    let t3 = Instant::now();
    assert!(r.log().verify().unwrap().ok);
    let t_log = t3.elapsed();
    println!(
        "items {total}, hosts {n_hosts}: {decisions} decisions in {:.2?} ({:.2} ms each, log grows to {} records); export {} bundles in {:.2?}; verify in {:.2?}; verify-log in {:.2?}",
        t_decide,
        t_decide.as_secs_f64() * 1000.0 / decisions as f64,
        decisions + 1,
        s.bundles.len(),
        t_export,
        t_verify,
        t_log
    );
}

// ---- the loop on a real seeded corpus: seed, serve, capture, review, export, send, status, score ----

/// Items are built from the corpus's own posts.jsonl + truth (a perfect "classifier" standing in
/// for scan, which this branch does not have): every violating post plus a few benign ones.
#[test]
fn loop_on_a_seeded_corpus() {
    use trawl::corpus::{Scenario, SeedOptions};
    use trawl::model::{Label, TruthRecord};
    let d = tempdir();
    let corpus = d.path().join("corpus");
    let scenario = Scenario::load(&crate::util::repo().join("tests/data/scenario.toml")).unwrap();
    trawl::corpus::seed(
        &scenario,
        &SeedOptions {
            out: corpus.clone(),
            posts: Some(120),
            seed: Some(11),
            force: false,
        },
    )
    .unwrap();
    let truth: Vec<TruthRecord> = read(&corpus.join("truth.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let posts: Vec<Post> = read(&corpus.join("posts.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_key: BTreeMap<(String, String), &TruthRecord> = truth
        .iter()
        .map(|t| ((t.host.clone(), t.post_id.0.clone()), t))
        .collect();

    let (rt, server) = provider_server(&corpus, 200, 0.0, 0);
    let addr = server.local_addr();

    // Capture the pages of the chosen posts (real HTTP responses) and index the items.
    let idx = d.path().join("index");
    let store = trawl::index::IndexStore::open_or_create(&idx).unwrap();
    let ev = trawl::index::EvidenceStore::open(store.evidence_dir()).unwrap();
    let mut w = store.writer().unwrap();
    let mut captured: BTreeMap<String, Page> = BTreeMap::new();
    let (mut violating, mut benign) = (Vec::new(), Vec::new());
    for p in &posts {
        let t = by_key[&(p.host.clone(), p.post_id.0.clone())];
        let chosen = match t.label {
            Label::Violating => true,
            Label::Benign => benign.len() < 5,
        };
        if !chosen {
            continue;
        }
        let page_url = p.url.split('#').next().unwrap().to_string();
        if !captured.contains_key(&page_url) {
            let c = reqwest::Client::builder()
                .no_proxy()
                .resolve(&p.host, addr)
                .build()
                .unwrap();
            let (status, headers, body) = rt.block_on(async {
                let r = c.get(&page_url).send().await.unwrap();
                let status = r.status().as_u16();
                let headers: Vec<(String, String)> = r
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                (status, headers, r.bytes().await.unwrap().to_vec())
            });
            assert_eq!(status, 200, "{page_url}");
            let page = Page {
                url: page_url.clone(),
                final_url: page_url.clone(),
                status,
                headers,
                sha256: sha256_hex(&body),
                body,
                fetched_at: datetime!(2026-05-01 10:00 UTC),
                depth: 1,
            };
            ev.put(&page).unwrap();
            captured.insert(page_url.clone(), page);
        }
        let cat = t.category.unwrap_or(Category::Propaganda);
        let item = Item {
            id: Item::make_id(&p.host, &p.post_id),
            post: p.clone(),
            verdict: Verdict {
                post_id: p.post_id.clone(),
                url: p.url.clone(),
                flagged: true,
                score: 0.8,
                categories: vec![cat],
                fired: vec![FiredRule {
                    rule: RuleId(format!("truth.{cat}")),
                    category: cat,
                    weight: 0.8,
                    matches: vec![],
                }],
                lang: LangDecision {
                    lang: t.lang,
                    confidence: 1.0,
                    method: "hint".into(),
                    script: None,
                },
            },
            page_sha256: captured[&page_url].sha256.clone(),
            fetched_at: datetime!(2026-05-01 10:00 UTC),
            cluster: String::new(),
            status: ReviewStatus::Pending,
        };
        w.add(&item).unwrap();
        match t.label {
            Label::Violating => violating.push(item.id.clone()),
            Label::Benign => benign.push(item.id.clone()),
        }
    }
    w.commit().unwrap();
    drop(w);
    drop(store);
    assert!(
        violating.len() >= 10,
        "scenario too small: {} violating posts",
        violating.len()
    );

    // Two reviewers: confirm the violating ones, reject the benign ones.
    for who in ["alice", "bob"] {
        let mut args = vec!["review".to_string(), "decide".into()];
        args.extend(violating.iter().cloned());
        args.extend(
            [
                "--confirm",
                "--reviewer",
                who,
                "--reason",
                "violates the scenario guide",
            ]
            .map(String::from),
        );
        run_ok(trawl().args(&args).arg("--index").arg(&idx));
    }
    let mut args = vec!["review".to_string(), "decide".into()];
    args.extend(benign.iter().cloned());
    args.extend(
        [
            "--reject",
            "--reviewer",
            "alice",
            "--reason",
            "news report, not violating",
        ]
        .map(String::from),
    );
    run_ok(trawl().args(&args).arg("--index").arg(&idx));
    run_ok(trawl().args(["review", "verify-log", "--index"]).arg(&idx));

    let out = d.path().join("bundles");
    run_ok(
        trawl()
            .args(["export", "--kind", "removal-order", "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(&out),
    );
    run_ok(trawl().args(["export", "verify"]).arg(&out));
    run_ok(
        trawl()
            .args(["refer", "send", "--resolve", &format!("*.test={addr}")])
            .arg(&out),
    );

    // The provider takes the pages down after its delay.
    let mut st = serde_json::Value::Null;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let o = trawl()
            .args([
                "refer",
                "status",
                "--json",
                "--resolve",
                &format!("*.test={addr}"),
            ])
            .arg(&out)
            .output()
            .unwrap();
        st = serde_json::from_slice(&o.stdout).unwrap();
        if st["overall"]["offline"] == st["overall"]["total"] {
            break;
        }
    }
    assert_eq!(st["overall"]["total"], violating.len(), "{st}");
    assert_eq!(st["overall"]["rate"], 1.0, "{st}");

    // Staff score the bundles: every violating cluster found, nothing benign referred.
    let s = trawl::eval::referrals::score(&corpus.join("truth.jsonl"), &out).unwrap();
    assert_eq!(s.referrals, violating.len());
    assert_eq!(
        s.matched,
        violating.len(),
        "every exported URL is a truth URL"
    );
    assert_eq!(s.overall.fp, 0);
    assert_eq!(
        s.overall.fn_,
        0,
        "{}",
        trawl::eval::referrals::render_markdown(&s)
    );
    assert_eq!(s.category_agreement, Some(1.0));
    rt.block_on(server.shutdown());
}
