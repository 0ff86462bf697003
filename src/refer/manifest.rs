//! Bundle manifests (the sha256 and size of every file) and verification from the files alone.
//!
//! `trawl export verify DIR` accepts an export directory (with `export.json`, every bundle it
//! lists is checked and its manifest hash compared) or a single bundle directory. For a bundle it
//! checks: every manifest path stays inside the bundle, every listed file exists with that size
//! and sha256, no file is unlisted, `bundle.json` parses against the schema with valid and unique
//! referral ids, each WARC parses back, its digests hold and match the referral's `evidence`, the
//! CSV has one row per referral and the STIX file is a STIX bundle.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ReferError;
use super::bundle::{Bundle, Kind, MAX_SOR_CHARS, SCHEMA, TCO_REASONS};
use crate::util::sha256_hex;

/// `schema` of a manifest.
pub const MANIFEST_SCHEMA: &str = "trawl.bundle-manifest";
/// `schema` of `export.json`.
pub const EXPORT_SCHEMA: &str = "trawl.referral-export";

/// One file in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Path relative to the bundle directory, `/`-separated.
    pub path: String,
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// `manifest.json` of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    /// [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// Bundle id (must equal `bundle.json`'s).
    pub bundle_id: String,
    /// `sha256`.
    pub algorithm: String,
    /// Every file but the manifest, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// One bundle listed in `export.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedBundle {
    /// Provider.
    pub host: String,
    /// Directory relative to the export.
    pub dir: String,
    /// Bundle id.
    pub bundle_id: String,
    /// Number of referrals.
    pub items: usize,
    /// sha256 of the bundle's `manifest.json`.
    pub manifest_sha256: String,
}

/// `export.json`: what one export wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportIndex {
    /// [`EXPORT_SCHEMA`].
    pub schema: String,
    /// Schema version.
    pub schema_version: String,
    /// Kind.
    pub kind: Kind,
    /// Issue time.
    pub issued_at: String,
    /// Four-eyes in force.
    pub four_eyes: bool,
    /// Bundles by host.
    pub bundles: Vec<ExportedBundle>,
}

/// A relative path that cannot leave its root: normal components only, `/`-separated.
pub fn safe_rel(rel: &str) -> Result<PathBuf, String> {
    if rel.is_empty() || rel.contains('\\') || rel.contains('\0') {
        return Err(format!("path {rel:?} is not a plain relative path"));
    }
    let p = Path::new(rel);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            _ => return Err(format!("path {rel:?} escapes its directory")),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("path {rel:?} is empty"));
    }
    Ok(out)
}

/// All files under `dir` as sorted `/`-separated relative paths (symlinks are refused).
pub fn list_files(dir: &Path) -> Result<Vec<String>, ReferError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ReferError> {
        let rd = std::fs::read_dir(dir).map_err(|e| ReferError::io(dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| ReferError::io(dir, e))?;
            let path = entry.path();
            let ft = entry.file_type().map_err(|e| ReferError::io(&path, e))?;
            if ft.is_symlink() {
                return Err(ReferError::Target {
                    path,
                    message: "symbolic links are not allowed in a bundle".into(),
                });
            }
            if ft.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Writes `manifest.json` over every other file in `dir`; returns the manifest's sha256.
pub fn write_manifest(dir: &Path, bundle_id: &str) -> Result<String, ReferError> {
    let mut files = Vec::new();
    for rel in list_files(dir)? {
        if rel == "manifest.json" {
            continue;
        }
        let path = dir.join(safe_rel(&rel).map_err(|m| ReferError::Target {
            path: dir.join(&rel),
            message: m,
        })?);
        let bytes = std::fs::read(&path).map_err(|e| ReferError::io(&path, e))?;
        files.push(ManifestFile {
            path: rel,
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        });
    }
    let m = BundleManifest {
        schema: MANIFEST_SCHEMA.into(),
        bundle_id: bundle_id.into(),
        algorithm: "sha256".into(),
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&m).unwrap_or_default();
    bytes.push(b'\n');
    let path = dir.join("manifest.json");
    std::fs::write(&path, &bytes).map_err(|e| ReferError::io(&path, e))?;
    Ok(sha256_hex(&bytes))
}

/// The outcome of checking one bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BundleCheck {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Bundle id (when readable).
    pub bundle_id: Option<String>,
    /// Files checked.
    pub files: usize,
    /// Referrals checked.
    pub items: usize,
    /// sha256 of `manifest.json`.
    pub manifest_sha256: Option<String>,
    /// Problems, each naming the file.
    pub problems: Vec<String>,
}

/// The outcome of `export verify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyOutcome {
    /// What was checked.
    pub path: PathBuf,
    /// No problems anywhere.
    pub ok: bool,
    /// Export-level problems.
    pub problems: Vec<String>,
    /// Per-bundle results.
    pub bundles: Vec<BundleCheck>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

/// Checks one bundle directory from its files alone.
pub fn verify_bundle(dir: &Path) -> BundleCheck {
    let mut c = BundleCheck {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    let mpath = dir.join("manifest.json");
    let manifest_bytes = match std::fs::read(&mpath) {
        Ok(b) => b,
        Err(e) => {
            c.problems.push(format!("{}: {e}", mpath.display()));
            return c;
        }
    };
    c.manifest_sha256 = Some(sha256_hex(&manifest_bytes));
    let manifest: BundleManifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            c.problems.push(format!(
                "{}:{}:{}: {e}",
                mpath.display(),
                e.line(),
                e.column()
            ));
            return c;
        }
    };
    if manifest.schema != MANIFEST_SCHEMA || manifest.algorithm != "sha256" {
        c.problems.push(format!(
            "{}: unknown schema {:?} / algorithm {:?}",
            mpath.display(),
            manifest.schema,
            manifest.algorithm
        ));
    }
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        let rel = match safe_rel(&f.path) {
            Ok(r) => r,
            Err(m) => {
                c.problems.push(format!("{}: {m}", mpath.display()));
                continue;
            }
        };
        if !listed.insert(f.path.clone()) || f.path == "manifest.json" {
            c.problems
                .push(format!("{}: {} listed twice", mpath.display(), f.path));
        }
        let path = dir.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(md) if md.file_type().is_file() => {}
            Ok(_) => {
                c.problems
                    .push(format!("{}: not a regular file", path.display()));
                continue;
            }
            Err(e) => {
                c.problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                c.files += 1;
                if bytes.len() as u64 != f.bytes {
                    c.problems.push(format!(
                        "{}: {} bytes, manifest says {}",
                        path.display(),
                        bytes.len(),
                        f.bytes
                    ));
                }
                let h = sha256_hex(&bytes);
                if h != f.sha256 {
                    c.problems.push(format!(
                        "{}: sha256 {h}, manifest says {}",
                        path.display(),
                        f.sha256
                    ));
                }
            }
            Err(e) => c.problems.push(format!("{}: {e}", path.display())),
        }
    }
    match list_files(dir) {
        Ok(all) => {
            for f in all {
                if f != "manifest.json" && !listed.contains(&f) {
                    c.problems.push(format!(
                        "{}: file not listed in the manifest",
                        dir.join(&f).display()
                    ));
                }
            }
        }
        Err(e) => c.problems.push(e.to_string()),
    }
    let bpath = dir.join("bundle.json");
    if !listed.contains("bundle.json") {
        c.problems.push(format!(
            "{}: bundle.json is not in the manifest",
            mpath.display()
        ));
    }
    let bundle: Bundle = match read_json(&bpath) {
        Ok(b) => b,
        Err(m) => {
            c.problems.push(m);
            return c;
        }
    };
    c.bundle_id = Some(bundle.bundle_id.clone());
    if bundle.bundle_id != manifest.bundle_id {
        c.problems.push(format!(
            "{}: bundle_id {:?} but the manifest names {:?}",
            bpath.display(),
            bundle.bundle_id,
            manifest.bundle_id
        ));
    }
    check_bundle(dir, &bpath, &bundle, &listed, &mut c);
    c
}

fn check_bundle(
    dir: &Path,
    bpath: &Path,
    bundle: &Bundle,
    listed: &BTreeSet<String>,
    c: &mut BundleCheck,
) {
    let b = bpath.display();
    if bundle.schema != SCHEMA || !bundle.schema_version.starts_with("1.") {
        c.problems.push(format!(
            "{b}: schema {:?} {:?} (expected {SCHEMA} 1.x)",
            bundle.schema, bundle.schema_version
        ));
    }
    if let Err(m) = super::bundle::check_host(&bundle.host) {
        c.problems.push(format!("{b}: {m}"));
    }
    let issued = crate::model::parse_rfc3339(&bundle.issued_at);
    if issued.is_none() {
        c.problems.push(format!(
            "{b}: issued_at {:?} is not RFC 3339",
            bundle.issued_at
        ));
    }
    let mut ids = BTreeSet::new();
    for (i, r) in bundle.items.iter().enumerate() {
        let at = format!("{b}: items[{i}]");
        c.items += 1;
        if !super::ids::is_valid_referral_id(&r.referral_id) {
            c.problems.push(format!(
                "{at}.referral_id {:?} does not match ^[a-zA-Z0-9_-]+$",
                r.referral_id
            ));
        }
        if !ids.insert(r.referral_id.clone()) {
            c.problems.push(format!(
                "{at}.referral_id {:?} is not unique",
                r.referral_id
            ));
        }
        if r.kind != bundle.kind || r.host != bundle.host || r.issued_at != bundle.issued_at {
            c.problems.push(format!(
                "{at}: kind/host/issued_at differ from the bundle's"
            ));
        }
        match url::Url::parse(&r.content_url) {
            Ok(u) if u.host_str() == Some(bundle.host.as_str()) => {}
            _ => c.problems.push(format!(
                "{at}.content_url {:?} is not a URL on {}",
                r.content_url, bundle.host
            )),
        }
        if r.kind == Kind::RemovalOrder {
            let want = issued.map(|t| crate::model::rfc3339(t + time::Duration::hours(1)));
            if r.deadline_at.is_none() || r.deadline_at != want {
                c.problems.push(format!(
                    "{at}.deadline_at {:?} is not issued_at + 1 h",
                    r.deadline_at
                ));
            }
        }
        if r.tco_reasons.is_empty()
            || r.tco_reasons
                .iter()
                .any(|t| !TCO_REASONS.contains(&t.as_str()))
        {
            c.problems.push(format!(
                "{at}.tco_reasons {:?} not a non-empty subset of {TCO_REASONS:?}",
                r.tco_reasons
            ));
        }
        if r.statement_of_reasons.trim().is_empty()
            || r.statement_of_reasons.chars().count() > MAX_SOR_CHARS
        {
            c.problems.push(format!(
                "{at}.statement_of_reasons is empty or longer than {MAX_SOR_CHARS} chars"
            ));
        }
        let ev = &r.evidence;
        if !listed.contains(&ev.warc_file) {
            c.problems.push(format!(
                "{at}.evidence.warc_file {:?} is not in the manifest",
                ev.warc_file
            ));
            continue;
        }
        let Ok(rel) = safe_rel(&ev.warc_file) else {
            continue;
        };
        let wpath = dir.join(rel);
        let Ok(bytes) = std::fs::read(&wpath) else {
            continue;
        };
        let w = wpath.display();
        if sha256_hex(&bytes) != ev.warc_sha256 {
            c.problems.push(format!(
                "{w}: sha256 differs from {at}.evidence.warc_sha256"
            ));
        }
        let recs = match super::warc::parse(&bytes) {
            Ok(r) => r,
            Err(m) => {
                c.problems.push(format!("{w}: {m}"));
                continue;
            }
        };
        let Some(rec) = recs
            .iter()
            .find(|r| r.header("WARC-Record-ID") == Some(ev.warc_record_id.as_str()))
        else {
            c.problems
                .push(format!("{w}: no record {}", ev.warc_record_id));
            continue;
        };
        match super::warc::check_response(rec) {
            Ok(chk) => {
                if chk.payload_sha256 != ev.sha256 {
                    c.problems.push(format!(
                        "{w}: payload sha256 {} but {at}.evidence.sha256 is {}",
                        chk.payload_sha256, ev.sha256
                    ));
                }
                if chk.date != ev.captured_at
                    || chk.target_uri != ev.target_uri
                    || chk.status != ev.http_status
                {
                    c.problems.push(format!(
                        "{w}: WARC-Date/Target-URI/status differ from {at}.evidence"
                    ));
                }
            }
            Err(m) => c.problems.push(format!("{w}: {m}")),
        }
    }
    if listed.contains("referrals.csv") {
        let p = dir.join("referrals.csv");
        match std::fs::read_to_string(&p)
            .map_err(|e| e.to_string())
            .and_then(|t| super::csv::parse(&t))
        {
            Ok(rows) => {
                if rows.len() != bundle.items.len() + 1
                    || rows.first().map(|r| r.len()) != Some(super::csv::COLUMNS.len())
                {
                    c.problems.push(format!(
                        "{}: {} rows, expected a header and {} referrals",
                        p.display(),
                        rows.len(),
                        bundle.items.len()
                    ));
                }
            }
            Err(m) => c.problems.push(format!("{}: {m}", p.display())),
        }
    }
    if listed.contains("stix.json") {
        let p = dir.join("stix.json");
        match read_json::<serde_json::Value>(&p) {
            Ok(v) if v.get("type").and_then(|t| t.as_str()) == Some("bundle") => {}
            Ok(_) => c
                .problems
                .push(format!("{}: not a STIX bundle", p.display())),
            Err(m) => c.problems.push(m),
        }
    }
}

/// Verifies an export directory (with `export.json`) or a single bundle directory.
pub fn verify(path: &Path) -> Result<VerifyOutcome, ReferError> {
    let mut out = VerifyOutcome {
        path: path.to_path_buf(),
        ..Default::default()
    };
    if !path.is_dir() {
        return Err(ReferError::Target {
            path: path.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let index_path = path.join("export.json");
    if index_path.is_file() {
        match read_json::<ExportIndex>(&index_path) {
            Ok(index) => {
                if index.schema != EXPORT_SCHEMA {
                    out.problems.push(format!(
                        "{}: schema {:?}",
                        index_path.display(),
                        index.schema
                    ));
                }
                for (i, b) in index.bundles.iter().enumerate() {
                    let at = format!("{}: bundles[{i}]", index_path.display());
                    let rel = match safe_rel(&b.dir) {
                        Ok(r) if r.components().count() == 1 => r,
                        _ => {
                            out.problems
                                .push(format!("{at}.dir {:?} is not a directory name", b.dir));
                            continue;
                        }
                    };
                    let check = verify_bundle(&path.join(rel));
                    if check.manifest_sha256.as_deref() != Some(b.manifest_sha256.as_str()) {
                        out.problems.push(format!(
                            "{at}: manifest sha256 differs from the one recorded at export"
                        ));
                    }
                    if check.bundle_id.as_deref() != Some(b.bundle_id.as_str())
                        || check.items != b.items
                    {
                        out.problems.push(format!(
                            "{at}: bundle id or item count differs from the bundle"
                        ));
                    }
                    if let Ok(bundle) = read_json::<Bundle>(&path.join(&b.dir).join("bundle.json"))
                        && (bundle.host != b.host
                            || bundle.kind != index.kind
                            || bundle.issued_at != index.issued_at
                            || bundle.four_eyes != index.four_eyes)
                    {
                        out.problems.push(format!(
                            "{at}: host/kind/issued_at/four_eyes differ from the bundle"
                        ));
                    }
                    out.bundles.push(check);
                }
            }
            Err(m) => out.problems.push(m),
        }
    } else if path.join("manifest.json").is_file() {
        out.bundles.push(verify_bundle(path));
    } else {
        return Err(ReferError::Target {
            path: path.to_path_buf(),
            message: "neither an export (export.json) nor a bundle (manifest.json)".into(),
        });
    }
    out.ok = out.problems.is_empty() && out.bundles.iter().all(|b| b.problems.is_empty());
    Ok(out)
}
