//! Orchestration only: wires the stages into `scan` and `demo`, owns progress bars and summaries.
//! Nothing imports `app` except the binary. Like the binary, `app` reports with `anyhow`, adding
//! the file or URL to every error.
//!
//! May use: every stage.

pub mod demo;
pub mod progress;
pub mod scan;

use crate::model::Manifest;

/// Crawl seeds and scope from a seeded corpus's manifest: each host's entry points (never its
/// truth). Returns `(seed URLs, hosts)`.
pub fn seeds_from_manifest(m: &Manifest) -> (Vec<String>, Vec<String>) {
    let mut seeds = Vec::new();
    let mut hosts = Vec::new();
    for h in &m.hosts {
        hosts.push(h.host.clone());
        if h.entry_points.is_empty() {
            seeds.push(format!("http://{}/", h.host));
        }
        for ep in &h.entry_points {
            let sep = if ep.starts_with('/') { "" } else { "/" };
            seeds.push(format!("http://{}{sep}{ep}", h.host));
        }
    }
    (seeds, hosts)
}

/// Reads `DIR/manifest.json` (or the file itself when given a file).
pub fn read_manifest(path: &std::path::Path) -> anyhow::Result<Manifest> {
    use anyhow::Context;
    let path = if path.is_dir() {
        path.join("manifest.json")
    } else {
        path.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}
