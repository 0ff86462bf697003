//! STIX 2.1 export: one bundle per provider with an `identity` (the issuer), a `report` and one
//! `url` observable per referral.
//!
//! Ids: the `url` observables use the deterministic UUIDv5 STIX prescribes for cyber-observables
//! (namespace `00abedb4-…`, name = canonical JSON of `{"value": url}`); the identity, report and
//! bundle use version-4-format UUIDs derived from stable inputs (see [`super::ids`]), so the
//! same decisions give the same file. Referral ids travel as `external_references`.

use serde_json::{Value, json};

use super::bundle::Bundle;
use super::ids::{STIX_SCO_NAMESPACE, uuid_v4_from, uuid_v5};

/// The STIX id of a `url` observable.
pub fn url_id(url: &str) -> String {
    let name = serde_json::to_string(&json!({ "value": url })).unwrap_or_default();
    format!("url--{}", uuid_v5(STIX_SCO_NAMESPACE, name.as_bytes()))
}

/// STIX timestamps: RFC 3339 UTC with millisecond precision.
fn stix_time(rfc3339: &str) -> String {
    match crate::model::parse_rfc3339(rfc3339) {
        Some(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            )
        }
        None => rfc3339.to_string(),
    }
}

/// Builds the STIX bundle for a referral bundle.
pub fn render(bundle: &Bundle) -> Value {
    let t = stix_time(&bundle.issued_at);
    let identity_id = format!(
        "identity--{}",
        uuid_v4_from(&["identity", &bundle.issuer.name])
    );
    let identity = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": t,
        "modified": t,
        "name": bundle.issuer.name,
        "identity_class": "organization",
    });
    let mut objects = vec![identity];
    let mut refs: Vec<String> = Vec::new();
    let mut ext: Vec<Value> = Vec::new();
    for r in &bundle.items {
        let id = url_id(&r.content_url);
        if !refs.contains(&id) {
            refs.push(id.clone());
            objects.push(
                json!({ "type": "url", "spec_version": "2.1", "id": id, "value": r.content_url }),
            );
        }
        ext.push(json!({
            "source_name": "trawl-referral",
            "external_id": r.referral_id,
            "url": r.content_url,
            "hashes": { "SHA-256": r.evidence.sha256 },
            "description": format!("{} ({}): {}", r.scenario_category, r.tco_reasons.join(", "), r.content_language),
        }));
    }
    let mut labels: Vec<String> = bundle
        .items
        .iter()
        .map(|r| r.scenario_category.clone())
        .collect();
    labels.sort();
    labels.dedup();
    let report_id = format!("report--{}", uuid_v4_from(&["report", &bundle.bundle_id]));
    objects.push(json!({
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created": t,
        "modified": t,
        "created_by_ref": identity_id,
        "name": format!("{} {} for {}", bundle.kind.as_str().replace('_', " "), bundle.bundle_id, bundle.host),
        "description": format!(
            "{} referral(s) of terrorist content to the hosting provider {}. Evidence and statements \
             of reasons are in the trawl referral bundle {}.",
            bundle.items.len(), bundle.host, bundle.bundle_id
        ),
        "report_types": ["threat-report"],
        "published": t,
        "labels": labels,
        "object_refs": refs,
        "external_references": ext,
    }));
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid_v4_from(&["stix-bundle", &bundle.bundle_id])),
        "objects": objects,
    })
}
