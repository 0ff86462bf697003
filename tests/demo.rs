//! `trawl demo` end to end: seed, serve in-process, scan, evaluate — one command, real loopback.

use crate::util::{run_ok, tempdir, trawl};

#[test]
fn demo_runs_the_whole_loop_and_reaches_every_allowed_post() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let out = run_ok(
        trawl()
            .arg("demo")
            .arg("--data")
            .arg(&data)
            .args(["--posts", "1500", "--json"]),
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("demo --json");
    assert_eq!(s["seed"]["posts"], 1500, "{}", s["seed"]);
    let cov = &s["eval"]["coverage"];
    assert!(cov["reachable"].as_u64().unwrap() > 1000, "{cov}");
    assert_eq!(
        cov["reached"], cov["reachable"],
        "the crawl missed allowed posts: {cov}"
    );
    assert_eq!(
        cov["disallowed_reached"], 0,
        "robots.txt was not obeyed: {cov}"
    );
    let overall = &s["eval"]["overall"];
    let p = overall["precision"].as_f64().expect("precision");
    let r = overall["recall"].as_f64().expect("recall");
    // Regression floors well below the measured quality (see README), not targets.
    assert!(p >= 0.90 && r >= 0.85, "quality regressed: {overall}");
    assert!(data.join("index").join("meta.json").exists());

    // A second run re-uses the directory it made; a foreign non-empty directory is refused.
    run_ok(
        trawl()
            .arg("demo")
            .arg("--data")
            .arg(&data)
            .args(["--posts", "300", "--json"]),
    );
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let out = trawl()
        .arg("demo")
        .arg("--data")
        .arg(&foreign)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not made by `trawl demo`"));
    assert!(foreign.join("keep.txt").exists());
}
