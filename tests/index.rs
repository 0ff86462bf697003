//! Index, search and eval: synthetic items through the library and the real `trawl` binary.

use std::io::Write;

use trawl::eval::{EvalOptions, evaluate_index};
use trawl::index::{
    Filter, IndexError, IndexStore, SearchRequest, SeenRecord, SeenWriter, SortBy, Upsert,
};
use trawl::model::{
    Category, FiredRule, Item, Label, Lang, LangDecision, Match, Phenomenon, Post, PostId,
    ReviewStatus, RuleId, Span, TruthRecord, Verdict,
};

use crate::util::{tempdir, trawl};

struct Spec<'a> {
    host: &'a str,
    id: &'a str,
    text: &'a str,
    lang: Lang,
    score: f32,
    cats: &'a [Category],
    rule: &'a str,
    day: u8,
}

fn spec<'a>(host: &'a str, id: &'a str, text: &'a str) -> Spec<'a> {
    Spec {
        host,
        id,
        text,
        lang: Lang::En,
        score: 0.8,
        cats: &[Category::Solicitation],
        rule: "en.join",
        day: 1,
    }
}

fn item(s: &Spec) -> Item {
    let post_id = PostId(s.id.to_string());
    let first_word_end = s.text.find(' ').unwrap_or(s.text.len());
    let ts = time::macros::datetime!(2026-03-01 12:00 UTC) + time::Duration::days(i64::from(s.day));
    Item {
        id: Item::make_id(s.host, &post_id),
        post: Post {
            url: format!("http://{}/topic/1/#p{}", s.host, s.id),
            post_id: post_id.clone(),
            host: s.host.to_string(),
            site_kind: Some(trawl::model::SiteKind::Forum),
            thread: Some("1".into()),
            title: None,
            author: Some("someone".into()),
            author_url: None,
            published: Some(ts),
            lang_hint: None,
            text: s.text.to_string(),
            links: vec![],
        },
        verdict: Verdict {
            post_id,
            url: format!("http://{}/topic/1/#p{}", s.host, s.id),
            flagged: true,
            score: s.score,
            categories: s.cats.to_vec(),
            fired: vec![FiredRule {
                rule: RuleId(s.rule.to_string()),
                category: s.cats.first().copied().unwrap_or(Category::Propaganda),
                weight: s.score,
                matches: vec![Match {
                    span: Span {
                        start: 0,
                        end: first_word_end,
                    },
                    excerpt: s.text[..first_word_end].to_string(),
                    lexicon: "cue".into(),
                    term: "x".into(),
                }],
            }],
            lang: LangDecision {
                lang: s.lang,
                confidence: 0.9,
                method: "letters".into(),
                script: None,
            },
        },
        page_sha256: "ab".repeat(32),
        fetched_at: ts,
        cluster: String::new(),
        status: ReviewStatus::Pending,
    }
}

fn build(dir: &std::path::Path, specs: &[Spec]) -> IndexStore {
    let store = IndexStore::open_or_create(dir).unwrap();
    let mut w = store.writer().unwrap();
    for s in specs {
        w.add(&item(s)).unwrap();
    }
    w.finish().unwrap();
    store
}

fn corpus() -> Vec<Spec<'static>> {
    vec![
        Spec {
            score: 0.95,
            day: 3,
            ..spec(
                "forum1.test",
                "1",
                "Join the Crimson Lantern march on Friday, brothers",
            )
        },
        Spec {
            score: 0.60,
            day: 5,
            ..spec(
                "forum1.test",
                "2",
                "The march is cancelled; join the picnic instead",
            )
        },
        Spec {
            score: 0.70,
            day: 1,
            cats: &[Category::Financing],
            rule: "en.donate",
            ..spec(
                "social1.test",
                "3",
                "Send money to the Crimson Lantern <fund> & share",
            )
        },
        Spec {
            lang: Lang::Ru,
            score: 0.85,
            day: 2,
            cats: &[Category::Incitement],
            rule: "ru.incite",
            ..spec(
                "forum2.test",
                "4",
                "Вставайте на марш, братья Багрового Фонаря",
            )
        },
    ]
}

fn req(q: &str) -> SearchRequest {
    SearchRequest {
        query: q.to_string(),
        ..SearchRequest::default()
    }
}

fn ids(res: &trawl::index::SearchResults) -> Vec<String> {
    res.hits
        .iter()
        .map(|h| h.item.post.post_id.0.clone())
        .collect()
}

#[test]
fn search_terms_filters_sort_snippets_and_facets() {
    let dir = tempdir();
    let store = build(dir.path(), &corpus());
    assert_eq!(store.len(), 4);

    // Two terms, ANDed, sorted by score.
    let res = store.search(&req("march join")).unwrap();
    assert_eq!(res.total, 2);
    assert_eq!(ids(&res), ["1", "2"]);
    let snip = &res.hits[0].snippet;
    let marked = snip.marked("[", "]");
    assert!(
        marked.contains("[Join]") && marked.contains("[march]"),
        "{marked}"
    );

    // Filters.
    let mut r = req("march");
    r.filter.hosts = vec!["forum1.test".into()];
    r.filter.min_score = Some(0.9);
    assert_eq!(ids(&store.search(&r).unwrap()), ["1"]);
    let mut r = req("");
    r.filter.langs = vec![Lang::Ru];
    assert_eq!(ids(&store.search(&r).unwrap()), ["4"]);
    let mut r = req("*");
    r.filter.categories = vec![Category::Financing, Category::Incitement];
    r.filter.rules = vec!["en.donate".into()];
    assert_eq!(ids(&store.search(&r).unwrap()), ["3"]);
    let mut r = req("");
    r.filter.since = Some(time::macros::datetime!(2026-03-03 00:00 UTC));
    r.filter.until = Some(time::macros::datetime!(2026-03-05 00:00 UTC));
    assert_eq!(ids(&store.search(&r).unwrap()), ["1", "4"]);
    r.filter.since = Some(time::macros::datetime!(2026-03-04 00:00 UTC));
    assert_eq!(ids(&store.search(&r).unwrap()), ["1"]);

    // Sort by publication time, newest first; paging.
    let mut r = req("");
    r.sort = SortBy::Published;
    assert_eq!(ids(&store.search(&r).unwrap()), ["2", "1", "4", "3"]);
    r.offset = 1;
    r.limit = 2;
    let page = store.search(&r).unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(ids(&page), ["1", "4"]);

    // Cyrillic term, phrase query, exclusion.
    assert_eq!(ids(&store.search(&req("марш")).unwrap()), ["4"]);
    assert_eq!(
        ids(&store.search(&req("\"crimson lantern march\"")).unwrap()),
        ["1"]
    );
    assert_eq!(ids(&store.search(&req("march -picnic")).unwrap()), ["1"]);

    // HTML snippet escapes the text around the highlight.
    let res = store.search(&req("fund")).unwrap();
    assert_eq!(
        res.hits[0].snippet.to_html(),
        "Send money to the Crimson Lantern &lt;<b>fund</b>&gt; &amp; share"
    );

    // Facets over all matches.
    let mut r = req("");
    r.facets = true;
    r.limit = 0;
    let res = store.search(&r).unwrap();
    assert!(res.hits.is_empty());
    let f = res.facets.unwrap();
    let get =
        |l: &[trawl::index::FacetCount], k: &str| l.iter().find(|c| c.value == k).map(|c| c.count);
    assert_eq!(get(&f.host, "forum1.test"), Some(2));
    assert_eq!(get(&f.lang, "ru"), Some(1));
    assert_eq!(get(&f.category, "solicitation"), Some(2));
    assert_eq!(get(&f.rule, "en.donate"), Some(1));
    assert_eq!(get(&f.status, "pending"), Some(4));

    // Round trip of the stored item.
    let orig = item(&corpus()[2]);
    let got = store.get(&orig.id).unwrap().unwrap();
    assert_eq!(got.post, orig.post);
    assert_eq!(got.verdict, orig.verdict);
    assert_eq!(got.cluster.len(), 16);
    assert!(store.get("nope").unwrap().is_none());
}

#[test]
fn malformed_queries_are_positioned_errors() {
    let dir = tempdir();
    let store = build(dir.path(), &corpus());
    let cases = [
        ("march AND (join", Some(16)),
        ("nosuchfield:x", Some(1)),
        ("join  bogus:x", Some(7)),
        ("\"unclosed", None),
        ("join^", Some(5)),
        ("join score:abc", Some(6)),
        ("-join", Some(1)),
        ("ж)", Some(2)),
    ];
    for (q, col) in cases {
        match store.search(&req(q)) {
            Err(IndexError::Query {
                column, message, ..
            }) => {
                if let Some(c) = col {
                    assert_eq!(column, c, "{q}: {message}");
                }
                assert!(
                    column >= 1 && column <= q.chars().count() + 1,
                    "{q}: {column}"
                );
            }
            other => panic!("{q}: expected a query error, got {other:?}"),
        }
    }
    let mut r = req("x");
    r.limit = 1_000_000;
    assert!(matches!(
        store.search(&r),
        Err(IndexError::InvalidRequest(_))
    ));

    let out = trawl()
        .args(["search", "march AND (", "--index"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("query error at column"), "{err}");
}

#[test]
fn upsert_is_idempotent_and_keeps_review_status() {
    let dir = tempdir();
    let store = build(dir.path(), &corpus());
    let first = item(&corpus()[0]);
    store
        .set_status(std::slice::from_ref(&first.id), ReviewStatus::Confirmed)
        .unwrap();

    let mut w = store.writer().unwrap();
    for s in corpus() {
        assert_eq!(w.add(&item(&s)).unwrap(), Upsert::Unchanged);
    }
    let mut changed = item(&corpus()[0]);
    changed.verdict.score = 0.99;
    assert_eq!(w.add(&changed).unwrap(), Upsert::Updated);
    assert_eq!(w.add(&changed).unwrap(), Upsert::Unchanged);
    w.finish().unwrap();

    assert_eq!(store.len(), 4);
    let got = store.get(&first.id).unwrap().unwrap();
    assert_eq!(got.verdict.score, 0.99);
    assert_eq!(
        got.status,
        ReviewStatus::Confirmed,
        "a re-scan must not reset a decision"
    );
    assert_eq!(store.search(&req("march join")).unwrap().total, 2);
}

#[test]
fn set_status_reindexes_and_filters() {
    let dir = tempdir();
    let store = build(dir.path(), &corpus());
    let ids: Vec<String> = corpus()[..2].iter().map(|s| item(s).id).collect();
    let n = store
        .set_status(
            &[ids.clone(), vec!["missing".into()]].concat(),
            ReviewStatus::Rejected,
        )
        .unwrap();
    assert_eq!(n, 2);
    let f = Filter {
        statuses: vec![ReviewStatus::Rejected],
        ..Filter::default()
    };
    assert_eq!(store.count(&f).unwrap(), 2);
    let rejected: Vec<Item> = store.items(&f).unwrap().map(Result::unwrap).collect();
    assert!(rejected.iter().all(|i| i.status == ReviewStatus::Rejected));
    let pending = Filter {
        statuses: vec![ReviewStatus::Pending],
        ..Filter::default()
    };
    assert_eq!(store.count(&pending).unwrap(), 2);
    // Still searchable by text after re-indexing.
    assert_eq!(store.search(&req("picnic")).unwrap().total, 1);
    assert_eq!(store.items(&Filter::default()).unwrap().count(), 4);
}

#[test]
fn uncommitted_items_are_gone_after_a_crash() {
    let dir = tempdir();
    {
        let store = IndexStore::open_or_create(dir.path()).unwrap();
        let mut w = store.writer().unwrap();
        for s in &corpus()[..2] {
            w.add(&item(s)).unwrap();
        }
        w.commit().unwrap();
        for s in &corpus()[2..] {
            w.add(&item(s)).unwrap();
        }
        // Simulated crash: no commit, no destructor.
        std::mem::forget(w);
    }
    let store = IndexStore::open_or_create(dir.path()).unwrap();
    assert_eq!(store.len(), 2);
    let ids: Vec<String> = store
        .items(&Filter::default())
        .unwrap()
        .map(|i| i.unwrap().post.post_id.0)
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"1".to_string()) && ids.contains(&"2".to_string()));
    assert!(store.get(&item(&corpus()[2]).id).unwrap().is_none());
}

#[test]
fn reposts_with_small_edits_share_a_cluster() {
    let original = "Brothers of the Crimson Lantern Front, the hour has come: gather at the old \
                    bridge in Velmora on Friday night and bring everyone you trust";
    let texts = [
        original.to_string(),
        format!("RT @lantern_news: {original}"),
        original.replace("Friday", "Saturday"),
        format!("{original} #CrimsonLantern"),
        "Quarterly results of the Velmora football club were better than expected, the \
         chairman thanked the supporters and announced a new stadium"
            .to_string(),
    ];
    let specs: Vec<Spec> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Spec {
            id: ["a", "b", "c", "d", "e"][i],
            text: t.as_str(),
            ..spec("forum1.test", "x", "")
        })
        .collect();
    let dir = tempdir();
    let store = build(dir.path(), &specs);
    let cluster = |s: &Spec| store.get(&item(s).id).unwrap().unwrap().cluster;
    let c0 = cluster(&specs[0]);
    for s in &specs[1..4] {
        assert_eq!(cluster(s), c0, "repost {:?}", s.text);
    }
    assert_ne!(cluster(&specs[4]), c0);
    // Reopening rebuilds the table: a later repost still joins the cluster.
    let late = format!("{original}!!!");
    let late_spec = Spec {
        id: "f",
        text: &late,
        ..spec("forum1.test", "x", "")
    };
    let mut w = store.writer().unwrap();
    w.add(&item(&late_spec)).unwrap();
    w.finish().unwrap();
    assert_eq!(cluster(&late_spec), c0);
    let mut r = req("");
    r.filter.clusters = vec![c0];
    assert_eq!(store.search(&r).unwrap().total, 5);
}

fn truth(
    host: &str,
    id: &str,
    label: Label,
    cat: Option<Category>,
    ph: &[Phenomenon],
    disallowed: bool,
) -> TruthRecord {
    TruthRecord {
        url: format!("http://{host}/topic/1/#p{id}"),
        post_id: PostId(id.into()),
        host: host.into(),
        site_kind: trawl::model::SiteKind::Forum,
        thread: None,
        author: "a".into(),
        lang: Lang::En,
        label,
        category: cat,
        phenomena: ph.to_vec(),
        cluster: None,
        published: time::macros::datetime!(2026-03-01 00:00 UTC),
        robots_disallowed: disallowed,
    }
}

#[test]
fn eval_gives_exact_precision_and_recall() {
    use Category::*;
    use Label::*;
    let dir = tempdir();
    let idx = dir.path().join("index");
    // Index: posts 1, 2 (violating: TP), 5 (benign: FP), 9 (not in truth: FP).
    let specs = vec![
        Spec {
            cats: &[Solicitation, Propaganda],
            ..spec("h.test", "1", "join us now")
        },
        Spec {
            cats: &[Incitement],
            ..spec("h.test", "2", "rise up now")
        },
        spec("h.test", "5", "news report about a join rally"),
        spec("h.test", "9", "join join join"),
    ];
    build(&idx, &specs);
    let truth_recs = vec![
        truth(
            "h.test",
            "1",
            Violating,
            Some(Solicitation),
            &[Phenomenon::Leet],
            false,
        ),
        truth("h.test", "2", Violating, Some(Solicitation), &[], false), // detected, wrong category
        truth(
            "h.test",
            "3",
            Violating,
            Some(Threat),
            &[Phenomenon::Leet],
            false,
        ), // seen, below threshold
        truth("h.test", "4", Violating, Some(Threat), &[], false),       // not reached
        truth("h.test", "5", Benign, None, &[Phenomenon::NegNews], false), // false alarm
        truth("h.test", "6", Benign, None, &[Phenomenon::NegNews], false), // true negative
        truth("h.test", "7", Violating, Some(Threat), &[], true), // robots-disallowed: excluded
    ];
    let truth_path = dir.path().join("truth.jsonl");
    let mut f = std::fs::File::create(&truth_path).unwrap();
    for t in &truth_recs {
        writeln!(f, "{}", serde_json::to_string(t).unwrap()).unwrap();
    }
    drop(f);
    let mut seen = SeenWriter::open(idx.join("seen.jsonl")).unwrap();
    for (id, score, flagged) in [
        ("1", 0.8, true),
        ("2", 0.8, true),
        ("3", 0.3, false),
        ("5", 0.8, true),
        ("6", 0.0, false),
    ] {
        seen.write(&SeenRecord {
            host: "h.test".into(),
            post_id: id.into(),
            url: String::new(),
            lang: Lang::En,
            score,
            flagged,
            fired: if score > 0.0 {
                vec![RuleId("en.partial".into())]
            } else {
                vec![]
            },
            categories: vec![],
        })
        .unwrap();
    }
    seen.flush().unwrap();
    drop(seen);

    let report = evaluate_index(&EvalOptions {
        truth: truth_path.clone(),
        index: idx.clone(),
        seen: None,
        top: 10,
    })
    .unwrap();
    let o = report.overall;
    assert_eq!((o.tp, o.fp, o.fn_, o.tn), (2, 2, 2, 1));
    assert_eq!(o.precision, Some(0.5));
    assert_eq!(o.recall, Some(0.5));
    assert_eq!(o.f1, Some(0.5));
    assert_eq!(report.recall_including_disallowed, Some(2.0 / 5.0));
    assert_eq!(report.totals.unmatched_items, 1);
    let c = report.coverage;
    assert_eq!(
        (c.reached, c.reachable, c.disallowed, c.disallowed_reached),
        (5, 6, 1, 0)
    );
    // Per category: solicitation has 2 truth posts, only post 1 is predicted solicitation;
    // posts 5 and 9 are predicted solicitation but are not: FP.
    let sol = report
        .by_category
        .iter()
        .find(|r| r.key == "solicitation")
        .unwrap();
    assert_eq!((sol.scores.tp, sol.scores.fp, sol.scores.fn_), (1, 2, 1));
    let inc = report
        .by_category
        .iter()
        .find(|r| r.key == "incitement")
        .unwrap();
    assert_eq!((inc.scores.tp, inc.scores.fp), (0, 1));
    // Per phenomenon: leet recall 1/2, precision undefined; neg_news false-alarm rate 1/2.
    let leet = report
        .by_phenomenon
        .iter()
        .find(|r| r.phenomenon == Phenomenon::Leet)
        .unwrap();
    assert_eq!(
        (leet.scores.recall, leet.scores.precision),
        (Some(0.5), None)
    );
    let neg = report
        .by_phenomenon
        .iter()
        .find(|r| r.phenomenon == Phenomenon::NegNews)
        .unwrap();
    assert_eq!((neg.false_alarm_rate, neg.scores.recall), (Some(0.5), None));
    // Misses: 4 not reached, 3 below threshold with its partial rule.
    assert_eq!(report.misses.len(), 2);
    assert_eq!(report.misses[0].post_id, "4");
    assert_eq!(report.misses[1].post_id, "3");
    assert_eq!(report.misses[1].score, Some(0.3));
    assert_eq!(report.misses[1].fired, ["en.partial"]);
    // False alarms carry their rules and excerpts.
    assert_eq!(report.false_alarms.len(), 2);
    let fa5 = report
        .false_alarms
        .iter()
        .find(|a| a.post_id == "5")
        .unwrap();
    assert!(fa5.in_truth && fa5.phenomena == [Phenomenon::NegNews]);
    assert_eq!(fa5.fired[0].excerpts, ["news"]);

    // The CLI: markdown by default, JSON with the same numbers.
    let out = trawl()
        .args(["eval", "--truth"])
        .arg(&truth_path)
        .arg("--index")
        .arg(&idx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| all | 6 | 2 | 2 | 2 | 50.0% | 50.0% | 50.0% |"),
        "{md}"
    );
    let out = trawl()
        .args(["eval", "--json", "--truth"])
        .arg(&truth_path)
        .arg("--index")
        .arg(&idx)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["overall"]["precision"], 0.5);
    assert_eq!(v["overall"]["fn"], 2);

    // A bad truth line names file:line and exits 2.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&truth_path)
        .unwrap()
        .write_all(b"{oops\n")
        .unwrap();
    let out = trawl()
        .args(["eval", "--truth"])
        .arg(&truth_path)
        .arg("--index")
        .arg(&idx)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truth.jsonl:8:"), "{err}");
}

#[test]
fn cli_search_json_and_text() {
    let dir = tempdir();
    build(dir.path(), &corpus());
    let out = trawl()
        .args([
            "search",
            "fund OR march",
            "--json",
            "--facets",
            "--host",
            "social1.test,forum1.test",
            "--index",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 3);
    assert_eq!(
        v["hits"][0]["score"].as_f64().map(|s| (s * 100.0).round()),
        Some(95.0)
    );
    let html = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "social1.test")
        .unwrap()["snippet"]["html"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(html.contains("&lt;<b>fund</b>&gt; &amp;"), "{html}");
    assert!(v["facets"]["host"].as_array().unwrap().len() == 2);

    let out = trawl()
        .args(["search", "march", "--lang", "en", "--index"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("2 items match"), "{text}");
    assert!(text.contains("[[march]]"), "{text}");

    let out = trawl()
        .args(["search", "x", "--status", "bogus", "--index"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = trawl()
        .args(["search", "x", "--index"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no trawl index"));
}

#[test]
fn query_terms_stem_and_normalise_like_the_rules() {
    let dir = tempdir();
    let store = build(
        dir.path(),
        &[
            spec("forum1.test", "1", "They were marching to the square"),
            spec("forum1.test", "2", "J0IN the fr0nt today"),
            Spec {
                lang: Lang::Ru,
                ..spec("forum2.test", "3", "Присоединяйтесь к маршам фронта")
            },
        ],
    );
    // An inflected query term finds the other inflection through the English stem field.
    let res = store.search(&req("marches")).unwrap();
    assert_eq!(ids(&res), ["1"]);
    assert!(res.hits[0].snippet.marked("[", "]").contains("[marching]"));
    // Leet in the post is undone by the shared normaliser; the snippet marks what was written.
    let res = store.search(&req("join")).unwrap();
    assert_eq!(ids(&res), ["2"]);
    assert!(
        res.hits[0].snippet.marked("[", "]").contains("[J0IN]"),
        "{:?}",
        res.hits[0].snippet
    );
    // Russian inflection.
    assert_eq!(ids(&store.search(&req("марш")).unwrap()), ["3"]);
}

/// Real near-duplicates: the corpus generator's repost clusters (a violating message and a copy
/// with small edits on another host, each wrapped in its own chatter) must share our cluster key.
/// Different truth clusters may share a key only when textually near-duplicate: the phrase banks
/// are templates, so two independent posts can be the same sentence with another town.
#[test]
fn generated_reposts_share_a_cluster() {
    use std::collections::{HashMap, HashSet};
    use trawl::corpus::generate::{SeedOptions, seed};
    use trawl::corpus::scenario::Scenario;

    let dir = tempdir();
    let out = dir.path().join("corpus");
    let scenario = Scenario::default_scenario().unwrap();
    seed(
        &scenario,
        &SeedOptions {
            out: out.clone(),
            posts: Some(3000),
            seed: Some(11),
            force: false,
        },
    )
    .unwrap();
    let posts: HashMap<(String, String), Post> = crate::util::read(&out.join("posts.jsonl"))
        .lines()
        .map(|l| serde_json::from_str::<Post>(l).unwrap())
        .map(|p| ((p.host.clone(), p.post_id.0.clone()), p))
        .collect();
    let truth: Vec<TruthRecord> = crate::util::read(&out.join("truth.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let idx = dir.path().join("index");
    let store = IndexStore::open_or_create(&idx).unwrap();
    let mut w = store.writer().unwrap();
    // Stand-in for the rules' evidence: every occurrence of a target organisation's name, short
    // name, slogan or hashtag (from the scenario) is a match span. The writer keys clusters on the
    // paragraphs holding matches.
    let mut markers: Vec<String> = Vec::new();
    for org in scenario
        .file
        .organisations
        .iter()
        .filter(|o| o.role == trawl::corpus::scenario::Role::Target)
    {
        markers.extend(org.short.iter().cloned());
        for list in [&org.names, &org.slogans, &org.hashtags] {
            markers.extend(list.values().flat_map(|l| l.0.iter().cloned()));
        }
    }
    markers.retain(|m| m.chars().count() >= 3);
    let mut ours: HashMap<String, String> = HashMap::new(); // item id -> truth cluster
    for t in truth.iter().filter(|t| t.label == Label::Violating) {
        let post = posts[&(t.host.clone(), t.post_id.0.clone())].clone();
        let mut it = item(&spec(&t.host, &t.post_id.0, "x"));
        it.verdict.lang.lang = t.lang;
        let template = it.verdict.fired[0].matches[0].clone();
        it.verdict.fired[0].matches = markers
            .iter()
            .flat_map(|m| {
                post.text
                    .match_indices(m.as_str())
                    .map(|(at, _)| (at, m.len()))
                    .collect::<Vec<_>>()
            })
            .map(|(start, len)| Match {
                span: Span {
                    start,
                    end: start + len,
                },
                ..template.clone()
            })
            .collect();
        it.post = post;
        w.add(&it).unwrap();
        ours.insert(
            it.id.clone(),
            t.cluster
                .clone()
                .unwrap_or_else(|| format!("solo:{}", it.id)),
        );
    }
    w.finish().unwrap();
    let mut by_truth: HashMap<String, HashSet<String>> = HashMap::new();
    let mut by_ours: HashMap<String, HashSet<String>> = HashMap::new();
    let mut members: HashMap<String, Vec<HashSet<String>>> = HashMap::new();
    for it in store.items(&Filter::default()).unwrap().map(Result::unwrap) {
        // Word set of the paragraphs holding matches (all text when none).
        let spans: Vec<usize> = it.verdict.fired[0]
            .matches
            .iter()
            .map(|m| m.span.start)
            .collect();
        let mut at = 0;
        let mut words: HashSet<String> = HashSet::new();
        for para in it.post.text.split("\n\n") {
            let range = at..at + para.len();
            at += para.len() + 2;
            if spans.is_empty() || spans.iter().any(|s| range.contains(s)) {
                words.extend(
                    trawl::classify::text::analyze(para, it.verdict.lang.lang)
                        .into_iter()
                        .map(|t| t.text),
                );
            }
        }
        members.entry(it.cluster.clone()).or_default().push(words);
        let tc = ours[&it.id].clone();
        by_truth
            .entry(tc.clone())
            .or_default()
            .insert(it.cluster.clone());
        by_ours.entry(it.cluster).or_default().insert(tc);
    }
    let multi: Vec<_> = by_truth
        .iter()
        .filter(|(k, _)| !k.starts_with("solo:"))
        .collect();
    let together = multi.iter().filter(|(_, keys)| keys.len() == 1).count();
    let merged = by_ours.values().filter(|t| t.len() > 1).count();
    // Clusters that mix truth clusters hold templated near-duplicates (one sentence of the
    // phrase bank with another town or name), never unrelated texts (Jaccard ~0.05): every member
    // shares at least a quarter of its analysed tokens with another member (the 16-value MinHash
    // estimate has a standard error of ~0.12 around its 0.44 threshold).
    let jaccard = |a: &HashSet<String>, b: &HashSet<String>| {
        a.intersection(b).count() as f64 / a.union(b).count().max(1) as f64
    };
    for (key, ms) in members.iter().filter(|(_, m)| m.len() > 1) {
        for (i, a) in ms.iter().enumerate() {
            let best = ms
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, b)| jaccard(a, b))
                .fold(0.0, f64::max);
            assert!(
                best >= 0.25,
                "cluster {key}: a member shares only {best:.2} of its words: {a:?}"
            );
        }
    }
    eprintln!(
        "repost clusters: {} in truth, {} kept together; {} of our clusters mix truth clusters",
        multi.len(),
        together,
        merged
    );
    assert!(multi.len() >= 5, "the corpus should have repost clusters");
    assert!(
        together * 10 >= multi.len() * 9,
        "{together} of {} repost clusters kept together",
        multi.len()
    );
}

/// End to end without the crawler: seed a corpus, classify every extracted post with the shipped
/// packs, index the flagged ones with a seen log, evaluate. The counts must add up exactly.
#[test]
fn eval_of_a_classified_seeded_corpus_adds_up() {
    use trawl::corpus::generate::{SeedOptions, seed};
    use trawl::corpus::scenario::Scenario;

    let dir = tempdir();
    let out = dir.path().join("corpus");
    let scenario = Scenario::default_scenario().unwrap();
    seed(
        &scenario,
        &SeedOptions {
            out: out.clone(),
            posts: Some(1500),
            seed: Some(5),
            force: false,
        },
    )
    .unwrap();
    let truth: Vec<TruthRecord> = crate::util::read(&out.join("truth.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let disallowed: std::collections::HashSet<(String, String)> = truth
        .iter()
        .filter(|t| t.robots_disallowed)
        .map(|t| (t.host.clone(), t.post_id.0.clone()))
        .collect();
    let classifier = trawl::classify::Classifier::default_packs().unwrap();
    let mut scratch = classifier.new_scratch();
    let idx = dir.path().join("index");
    let store = IndexStore::open_or_create(&idx).unwrap();
    let mut w = store.writer().unwrap();
    let mut seen = SeenWriter::open(store.seen_path()).unwrap();
    let mut flagged = 0u64;
    for line in crate::util::read(&out.join("posts.jsonl")).lines() {
        let post: Post = serde_json::from_str(line).unwrap();
        // A polite crawler never sees robots-disallowed pages.
        if disallowed.contains(&(post.host.clone(), post.post_id.0.clone())) {
            continue;
        }
        let verdict = classifier.classify(&post, &mut scratch);
        seen.write(&SeenRecord::new(&post, &verdict)).unwrap();
        if verdict.flagged {
            flagged += 1;
            let mut it = item(&spec(&post.host, &post.post_id.0, "x"));
            it.post = post;
            it.verdict = verdict;
            w.add(&it).unwrap();
        }
    }
    seen.flush().unwrap();
    w.finish().unwrap();

    let truth_path = out.join("truth.jsonl");
    let r = evaluate_index(&EvalOptions {
        truth: truth_path,
        index: idx,
        seen: None,
        top: 5,
    })
    .unwrap();
    let violating = truth
        .iter()
        .filter(|t| t.label == Label::Violating && !t.robots_disallowed)
        .count() as u64;
    let benign = truth
        .iter()
        .filter(|t| t.label == Label::Benign && !t.robots_disallowed)
        .count() as u64;
    let o = r.overall;
    assert_eq!(o.tp + o.fn_, violating);
    assert_eq!(o.fp + o.tn, benign + r.totals.unmatched_items);
    assert_eq!(o.tp + o.fp, flagged);
    assert_eq!(
        r.totals.unmatched_items, 0,
        "posts.jsonl ids match the truth"
    );
    assert_eq!(r.coverage.reached, r.coverage.reachable);
    assert_eq!(r.coverage.disallowed_reached, 0);
    assert_eq!(r.miss_counts.get("not_reached"), None);
    let by_lang_tp: u64 = r.by_lang.iter().map(|b| b.scores.tp).sum();
    let by_host_fp: u64 = r.by_host.iter().map(|b| b.scores.fp).sum();
    assert_eq!((by_lang_tp, by_host_fp), (o.tp, o.fp));
    // The shipped packs on their own scenario: far better than chance.
    assert!(
        o.precision.unwrap() > 0.5 && o.recall.unwrap() > 0.5,
        "{o:?}"
    );
    assert!(
        r.misses
            .iter()
            .all(|m| m.reason == trawl::eval::metrics::MissReason::BelowThreshold)
    );
    assert!(r.false_alarms.iter().all(|a| !a.fired.is_empty()));
    let md = trawl::eval::report::markdown(&r);
    for section in [
        "## Overall",
        "## Crawl coverage",
        "## By language",
        "## By category",
        "## By phenomenon",
        "## By host",
        "## Misses",
        "## False alarms",
    ] {
        assert!(md.contains(section), "missing {section}");
    }
    eprintln!("{md}");
}
