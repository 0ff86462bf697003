//! `trawl export`: confirmed items -> one bundle per hosting provider, atomically.
//!
//! The whole export is written into a temporary directory beside `--out` and renamed into place
//! at the end, so an interrupted or failed export leaves nothing behind. The output must not
//! exist or be an empty directory; every path written is checked to stay inside it. The content
//! depends only on the decisions: the issue time is the latest decision time of the exported
//! items (or `--issued-at`), ids derive from item ids, items and bundles are sorted. After the
//! rename the items are recorded as `referred` in the audit log (not exported again unless
//! `again`). A crash between the rename and that record leaves the items referable: the next
//! export repeats them (a duplicate referral) rather than losing them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ReferError;
use super::bundle::{
    Addressee, Bundle, Issuer, Kind, ReferralInput, SCHEMA, SCHEMA_VERSION, build_referral,
    check_host,
};
use super::manifest::{EXPORT_SCHEMA, ExportIndex, ExportedBundle, safe_rel, write_manifest};
use crate::model::{Timestamp, rfc3339};
use crate::review::{EvidenceSource, ItemSource, Review};

/// Which extra formats to write (`bundle.json` is always written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    /// `referrals.csv`.
    pub csv: bool,
    /// `stix.json`.
    pub stix: bool,
}

impl Default for Formats {
    fn default() -> Self {
        Formats {
            csv: true,
            stix: true,
        }
    }
}

impl Formats {
    /// Parses `json,csv,stix` (any subset; `json` is implied).
    pub fn parse(list: &str) -> Result<Formats, ReferError> {
        let mut f = Formats {
            csv: false,
            stix: false,
        };
        for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part {
                "json" => {}
                "csv" => f.csv = true,
                "stix" => f.stix = true,
                other => {
                    return Err(ReferError::Config(format!(
                        "unknown format {other:?} (expected json, csv, stix)"
                    )));
                }
            }
        }
        Ok(f)
    }
}

/// Options of one export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Output directory (must not exist or be empty).
    pub out: PathBuf,
    /// Referral or removal order.
    pub kind: Kind,
    /// Extra formats.
    pub formats: Formats,
    /// Export items already referred too.
    pub again: bool,
    /// Require two different confirming reviewers.
    pub four_eyes: bool,
    /// Issue time; default: the latest decision time of the exported items.
    pub issued_at: Option<Timestamp>,
    /// Issuer.
    pub issuer: Issuer,
    /// Who is recorded in the audit log as having referred the items.
    pub actor: String,
    /// When the `referred` record is written (wall clock in the CLI).
    pub recorded_at: Timestamp,
}

/// One written bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleSummary {
    /// Provider.
    pub host: String,
    /// Directory.
    pub dir: PathBuf,
    /// Bundle id.
    pub bundle_id: String,
    /// Referrals in it.
    pub items: usize,
    /// sha256 of its manifest (give it to the recipient out of band).
    pub manifest_sha256: String,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportSummary {
    /// Output directory (not created when nothing was referable).
    pub out: PathBuf,
    /// Issue time.
    pub issued_at: Option<String>,
    /// Bundles written.
    pub bundles: Vec<BundleSummary>,
    /// Item ids marked referred.
    pub referred: Vec<String>,
}

/// Refuses an output that exists as a file or a non-empty directory.
pub fn check_out(out: &Path) -> Result<(), ReferError> {
    match std::fs::symlink_metadata(out) {
        Ok(md) if md.is_dir() => {
            if crate::util::has_entries(out).map_err(|e| ReferError::io(out, e))? {
                return Err(ReferError::Target {
                    path: out.to_path_buf(),
                    message:
                        "output directory is not empty (refusing to overwrite; choose a new --out)"
                            .into(),
                });
            }
            Ok(())
        }
        Ok(_) => Err(ReferError::Target {
            path: out.to_path_buf(),
            message: "output exists and is not a directory".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReferError::io(out, e)),
    }
}

/// Joins a relative path under `root`, refusing anything that would leave it.
pub fn join_inside(root: &Path, rel: &str) -> Result<PathBuf, ReferError> {
    let r = safe_rel(rel).map_err(|m| ReferError::Target {
        path: root.join(rel),
        message: format!("{m} (outside --out)"),
    })?;
    Ok(root.join(r))
}

fn write(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), ReferError> {
    let path = join_inside(root, rel)?;
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| ReferError::io(p, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| ReferError::io(&path, e))
}

fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// Runs an export.
pub fn export<S: ItemSource>(
    review: &mut Review<S>,
    evidence: &dyn EvidenceSource,
    opts: &ExportOptions,
) -> Result<ExportSummary, ReferError> {
    check_out(&opts.out)?;
    let referable = review.referable(opts.four_eyes, opts.again)?;
    let mut summary = ExportSummary {
        out: opts.out.clone(),
        issued_at: None,
        bundles: vec![],
        referred: vec![],
    };
    if referable.is_empty() {
        return Ok(summary);
    }
    let issued_at = match opts.issued_at {
        Some(t) => t,
        None => referable
            .iter()
            .flat_map(|(_, st)| st.deciders().into_iter().map(|(_, t)| t))
            .max()
            .ok_or_else(|| {
                ReferError::Config("no decision times to derive the issue time from".into())
            })?,
    };
    let issued = rfc3339(issued_at);
    let mut by_host: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (item, st) in &referable {
        check_host(&item.post.host).map_err(|m| ReferError::Item {
            item: item.id.clone(),
            message: m,
        })?;
        by_host
            .entry(item.post.host.clone())
            .or_default()
            .push((item, st));
    }
    let parent = match opts.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ReferError::io(&parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".trawl-export-")
        .tempdir_in(&parent)
        .map_err(|e| ReferError::io(&parent, e))?;
    let root = tmp.path();
    let mut index = ExportIndex {
        schema: EXPORT_SCHEMA.into(),
        schema_version: SCHEMA_VERSION.into(),
        kind: opts.kind,
        issued_at: issued.clone(),
        four_eyes: opts.four_eyes,
        bundles: vec![],
    };
    let mut referred = Vec::new();
    for (host, items) in &by_host {
        let mut referrals = Vec::new();
        for (item, st) in items {
            let page = evidence
                .page(&item.page_sha256)?
                .ok_or_else(|| ReferError::Evidence {
                    item: item.id.clone(),
                    sha256: item.page_sha256.clone(),
                    message: "captured page not in the evidence store".into(),
                })?;
            let actual = crate::util::sha256_hex(&page.body);
            if actual != item.page_sha256 {
                return Err(ReferError::Evidence {
                    item: item.id.clone(),
                    sha256: item.page_sha256.clone(),
                    message: format!("stored page body hashes to {actual}"),
                });
            }
            let (referral, warc) = build_referral(&ReferralInput {
                item,
                state: st,
                page: &page,
                kind: opts.kind,
                issued_at,
                four_eyes: opts.four_eyes,
            })?;
            write(
                root,
                &format!("{host}/{}", referral.evidence.warc_file),
                &warc,
            )?;
            referred.push(item.id.clone());
            referrals.push(referral);
        }
        referrals.sort_by(|a, b| a.referral_id.cmp(&b.referral_id));
        let ids: Vec<&str> = referrals.iter().map(|r| r.referral_id.as_str()).collect();
        let digest = crate::util::sha256_hex(
            format!(
                "{}\0{host}\0{issued}\0{}",
                opts.kind.as_str(),
                ids.join("\0")
            )
            .as_bytes(),
        );
        let bundle_id = format!(
            "{}-{}-{}",
            opts.kind.id_prefix(),
            host.replace('.', "_"),
            &digest[..16]
        );
        let bundle = Bundle {
            schema: SCHEMA.into(),
            schema_version: SCHEMA_VERSION.into(),
            bundle_id: bundle_id.clone(),
            kind: opts.kind,
            host: host.clone(),
            issued_at: issued.clone(),
            deadline_at: (opts.kind == Kind::RemovalOrder)
                .then(|| rfc3339(issued_at + time::Duration::hours(1))),
            issuer: opts.issuer.clone(),
            addressee: Addressee {
                hosting_provider: host.clone(),
                contact_point: format!("http://{host}/.well-known/trawl/referrals"),
            },
            four_eyes: opts.four_eyes,
            items: referrals,
        };
        write(root, &format!("{host}/bundle.json"), &pretty(&bundle))?;
        if opts.formats.csv {
            write(
                root,
                &format!("{host}/referrals.csv"),
                super::csv::render(&bundle).as_bytes(),
            )?;
        }
        if opts.formats.stix {
            write(
                root,
                &format!("{host}/stix.json"),
                &pretty(&super::stix::render(&bundle)),
            )?;
        }
        let manifest_sha256 = write_manifest(&join_inside(root, host)?, &bundle_id)?;
        index.bundles.push(ExportedBundle {
            host: host.clone(),
            dir: host.clone(),
            bundle_id: bundle_id.clone(),
            items: bundle.items.len(),
            manifest_sha256: manifest_sha256.clone(),
        });
        summary.bundles.push(BundleSummary {
            host: host.clone(),
            dir: opts.out.join(host),
            bundle_id,
            items: bundle.items.len(),
            manifest_sha256,
        });
    }
    write(root, "export.json", &pretty(&index))?;
    // Re-check right before publishing (someone may have created it meanwhile).
    check_out(&opts.out)?;
    if opts.out.is_dir() {
        std::fs::remove_dir(&opts.out).map_err(|e| ReferError::io(&opts.out, e))?;
    }
    let kept = tmp.keep();
    if let Err(e) = std::fs::rename(&kept, &opts.out) {
        let _ = std::fs::remove_dir_all(&kept);
        return Err(ReferError::io(&opts.out, e));
    }
    referred.sort();
    let bundle_ids: Vec<&str> = summary
        .bundles
        .iter()
        .map(|b| b.bundle_id.as_str())
        .collect();
    review.mark_referred(
        &referred,
        &opts.actor,
        &bundle_ids.join(","),
        opts.recorded_at,
    )?;
    summary.issued_at = Some(issued);
    summary.referred = referred;
    Ok(summary)
}
