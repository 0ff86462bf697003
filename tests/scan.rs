//! `trawl scan` end to end against a real `trawl serve` child process: the index gets flagged
//! posts, a SIGKILLed scan resumed with `--resume` ends with exactly the same item set as an
//! uninterrupted one, and a re-scan adds nothing.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use trawl::index::{EvidenceStore, Filter, IndexStore};

use crate::util::{run_ok, tempdir, trawl};

/// A `trawl serve` child process, killed on drop.
struct ServeChild {
    child: Child,
    addr: String,
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(corpus: &Path) -> ServeChild {
    let mut child = trawl()
        .arg("serve")
        .arg(corpus)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn trawl serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
        .to_string();
    ServeChild { child, addr }
}

fn seed(out: &Path, posts: u32) {
    run_ok(
        trawl()
            .args(["seed", "--out"])
            .arg(out)
            .args(["--posts", &posts.to_string()]),
    );
}

fn scan_args(corpus: &Path, addr: &str, index: &Path) -> Vec<String> {
    vec![
        "scan".into(),
        "--seeds-from".into(),
        corpus.join("manifest.json").display().to_string(),
        "--resolve".into(),
        format!("*.test={addr}"),
        "--index".into(),
        index.display().to_string(),
        "--delay-ms".into(),
        "0".into(),
        "--per-host".into(),
        "4".into(),
        "--json".into(),
    ]
}

/// The item ids of an index; every item's captured page must be in the evidence store, with the
/// post's permalink on that page's host and the body hashing to the recorded sha256.
fn item_ids(index: &Path) -> (Vec<String>, BTreeSet<String>) {
    let store = IndexStore::open_or_create(index).expect("open index");
    let evidence = EvidenceStore::open(store.evidence_dir()).expect("open evidence");
    let ids: Vec<String> = store
        .items(&Filter::default())
        .expect("items")
        .map(|i| {
            let item = i.expect("item");
            let page = evidence
                .get(&item.page_sha256)
                .expect("read evidence")
                .unwrap_or_else(|| panic!("no evidence for {}", item.id));
            assert_eq!(page.sha256, item.page_sha256);
            let host = page.url.split('/').nth(2).unwrap_or_default();
            assert_eq!(host, item.post.host, "{}", item.id);
            item.id
        })
        .collect();
    let set = ids.iter().cloned().collect();
    (ids, set)
}

#[test]
fn scan_flags_posts_resumes_after_sigkill_and_rescans_idempotently() {
    let dir = tempdir();
    let corpus = dir.path().join("corpus");
    seed(&corpus, 2500);
    let server = serve(&corpus);

    // Uninterrupted reference scan.
    let full = dir.path().join("full");
    let out = run_ok(trawl().args(scan_args(&corpus, &server.addr, &full)));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("scan --json");
    assert!(
        summary["flagged"].as_u64().unwrap_or(0) > 0,
        "nothing flagged: {summary}"
    );
    let (ids, reference) = item_ids(&full);
    assert_eq!(
        ids.len(),
        reference.len(),
        "duplicate ids in the reference index"
    );
    assert!(!reference.is_empty());

    // Same scan, killed (SIGKILL) twice at different points, then resumed to the end.
    let killed = dir.path().join("killed");
    let journal = killed.join("crawl.journal.jsonl");
    for (round, min_lines) in [(0, 1usize), (1, 3)] {
        let mut args = scan_args(&corpus, &server.addr, &killed);
        args.extend(["--commit-pages".into(), "40".into()]);
        if round > 0 {
            args.push("--resume".into());
        }
        let mut child = trawl()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = std::fs::read_to_string(&journal)
                .map(|s| s.lines().count())
                .unwrap_or(0);
            if lines >= min_lines * 40 || Instant::now() > deadline {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
    }
    let mut args = scan_args(&corpus, &server.addr, &killed);
    args.push("--resume".into());
    run_ok(trawl().args(&args));
    let (ids, resumed) = item_ids(&killed);
    assert_eq!(
        ids.len(),
        resumed.len(),
        "an item was indexed twice after resume"
    );
    assert_eq!(
        resumed, reference,
        "resumed scan differs from the uninterrupted one"
    );

    // Re-scan of unchanged sites: nothing new, nothing updated.
    let out = run_ok(trawl().args(scan_args(&corpus, &server.addr, &full)));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("scan --json");
    assert_eq!(again["added"], 0, "re-scan added items: {again}");
    assert_eq!(again["updated"], 0, "re-scan updated items: {again}");
    assert_eq!(again["unchanged"], summary["flagged"], "{again}");
    let (_, after) = item_ids(&full);
    assert_eq!(after, reference);
}
