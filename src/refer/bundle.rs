//! The referral bundle format (schema `trawl.referral-bundle` 1.0) and how a referral is built
//! from a confirmed item: legal reasons, statement of reasons, DSA statement-of-reasons fields.
//!
//! The field list and its mapping to Annex I of Regulation (EU) 2021/784 and to the DSA
//! Transparency Database are documented in `docs/referral-format.md`. Readers are tolerant of
//! unknown fields (newer minor versions add fields) and strict on the required ones.

use serde::{Deserialize, Serialize};

use super::ReferError;
use crate::model::{Category, Item, Lang, Page, Timestamp, rfc3339};
use crate::review::ItemState;

/// `schema` of a bundle.
pub const SCHEMA: &str = "trawl.referral-bundle";
/// `schema_version` written by this build (major.minor; readers accept any 1.x).
pub const SCHEMA_VERSION: &str = "1.0";
/// Longest statement of reasons, in characters (the DSA `illegal_content_explanation` limit).
pub const MAX_SOR_CHARS: usize = 2000;
/// The five terrorist-content categories of Art. 2(7)(a)-(e) Regulation (EU) 2021/784.
pub const TCO_REASONS: [&str; 5] = [
    "incites",
    "solicits_commission",
    "solicits_participation",
    "provides_instruction",
    "threatens",
];
/// The EU Member States (ISO 3166-1 alpha-2), the territorial scope of a removal order.
pub const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Referral (voluntary, against the terms of service) or removal order (Art. 3, one hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A referral to the provider's terms of service.
    Referral,
    /// A removal order with the one-hour deadline.
    RemovalOrder,
}

impl Kind {
    /// `referral` / `removal_order`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Referral => "referral",
            Kind::RemovalOrder => "removal_order",
        }
    }
    /// Prefix of referral ids of this kind.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Referral => "ref",
            Kind::RemovalOrder => "ro",
        }
    }
}

/// The Art. 2(7) letters for a scenario category. The mapping (documented in
/// `docs/referral-format.md`): incitement and glorification and branded propaganda advocate the
/// commission of offences (a: incites; glorification is named in (a) itself); financing asks to
/// contribute to offences (b: solicits_commission); recruitment (c: solicits_participation);
/// instruction (d: provides_instruction); threats (e: threatens).
pub fn tco_reasons(category: Category) -> &'static [&'static str] {
    match category {
        Category::Incitement | Category::Glorification | Category::Propaganda => &["incites"],
        Category::Financing => &["solicits_commission"],
        Category::Solicitation => &["solicits_participation"],
        Category::Instruction => &["provides_instruction"],
        Category::Threat => &["threatens"],
    }
}

fn tco_letter(reason: &str) -> &'static str {
    match reason {
        "incites" => "a",
        "solicits_commission" => "b",
        "solicits_participation" => "c",
        "provides_instruction" => "d",
        _ => "e",
    }
}

/// Who issues the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    /// Name of the issuing authority or exercise cell.
    pub name: String,
    /// `competent_authority`, `iru`, `exercise_cell`, `trusted_flagger`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Issuing Member State (ISO code), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_state: Option<String>,
    /// Contact e-mail or URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

impl Default for Issuer {
    fn default() -> Self {
        Issuer {
            name: "trawl exercise cell".into(),
            kind: "exercise_cell".into(),
            member_state: None,
            contact: None,
        }
    }
}

/// The hosting provider a bundle goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Addressee {
    /// The provider (= the host in the exercise).
    pub hosting_provider: String,
    /// Where bundles are delivered.
    pub contact_point: String,
}

/// Where in the page the content sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locator {
    /// The site's post id.
    pub post_id: String,
    /// Thread / topic id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// The URL fragment (block id) of the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// The page holding the post (URL without fragment).
    pub page_url: String,
}

/// A matched span (byte offsets in the post text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedSpan {
    /// Rule id.
    pub rule: String,
    /// Start byte.
    pub start: usize,
    /// End byte.
    pub end: usize,
    /// The matched text.
    pub excerpt: String,
}

/// What the pipeline detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Classifier score.
    pub score: f32,
    /// Fired rules.
    pub rule_ids: Vec<String>,
    /// Pack terms that matched.
    pub matched_terms: Vec<String>,
    /// Matched spans.
    pub spans: Vec<MatchedSpan>,
    /// How the language was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang_method: Option<String>,
}

/// One reviewer decision behind the referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewerDecision {
    /// Reviewer.
    pub reviewer: String,
    /// Decision time (RFC 3339).
    pub decided_at: String,
}

/// Human review behind the referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewInfo {
    /// Whether two different reviewers were required.
    pub four_eyes: bool,
    /// Decisions, oldest first.
    pub reviewers: Vec<ReviewerDecision>,
}

/// The captured evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// WARC file, relative to the bundle directory.
    pub warc_file: String,
    /// `WARC-Record-ID` of the response record.
    pub warc_record_id: String,
    /// sha256 of the WARC file.
    pub warc_sha256: String,
    /// sha256 of the captured HTTP body (= `WARC-Payload-Digest`).
    pub sha256: String,
    /// Capture time (RFC 3339, = `WARC-Date`).
    pub captured_at: String,
    /// The fetched URL (= `WARC-Target-URI`).
    pub target_uri: String,
    /// HTTP status of the capture.
    pub http_status: u16,
}

/// The DSA Transparency Database statement-of-reasons view of the referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DsaStatement {
    /// = referral_id.
    pub puid: String,
    /// `DECISION_GROUND_ILLEGAL_CONTENT` (orders) / `DECISION_GROUND_INCOMPATIBLE_CONTENT`.
    pub decision_ground: String,
    /// Legal ground (illegal content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_legal_ground: Option<String>,
    /// Explanation (illegal content), <= 2000 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_explanation: Option<String>,
    /// Contractual ground (referrals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_ground: Option<String>,
    /// Explanation (referrals), <= 2000 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_explanation: Option<String>,
    /// `STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY`.
    pub category: String,
    /// `[KEYWORD_TERRORIST_CONTENT]`.
    pub category_specification: Vec<String>,
    /// Facts and circumstances.
    pub decision_facts: String,
    /// `[CONTENT_TYPE_TEXT]`.
    pub content_type: Vec<String>,
    /// Upper-case ISO 639-1, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// YYYY-MM-DD of publication, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_date: Option<String>,
    /// YYYY-MM-DD of issue.
    pub application_date: String,
    /// `Yes`.
    pub automated_detection: String,
    /// `AUTOMATED_DECISION_PARTIALLY`.
    pub automated_decision: String,
    /// `SOURCE_TYPE_OTHER_NOTIFICATION` (orders) / `SOURCE_TRUSTED_FLAGGER` (referrals).
    pub source_type: String,
    /// Requested visibility decision.
    pub decision_visibility: Vec<String>,
    /// ISO country codes.
    pub territorial_scope: Vec<String>,
}

/// One referral record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    /// Stable unique id, `^[a-zA-Z0-9_-]+$` (= DSA `puid`).
    pub referral_id: String,
    /// Kind.
    pub kind: Kind,
    /// Issue time (RFC 3339 UTC).
    pub issued_at: String,
    /// issued_at + 1 h, for removal orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<String>,
    /// trawl's item id.
    pub item_id: String,
    /// Hosting provider.
    pub host: String,
    /// Permalink of the content.
    pub content_url: String,
    /// Where in the page.
    pub content_locator: Locator,
    /// `["text"]`.
    pub content_type: Vec<String>,
    /// ISO 639-1 (or `und`).
    pub content_language: String,
    /// Publication time (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_posted_at: Option<String>,
    /// The scenario category the referral is for (the primary category of the verdict).
    pub scenario_category: String,
    /// All categories of the verdict.
    pub categories: Vec<String>,
    /// Art. 2(7) categories, subset of [`TCO_REASONS`].
    pub tco_reasons: Vec<String>,
    /// Legal basis in words.
    pub legal_basis: String,
    /// Generated statement of reasons (<= 2000 chars).
    pub statement_of_reasons: String,
    /// What the provider is asked to do.
    pub requested_action: String,
    /// `yes` / `no`.
    pub automated_detection: String,
    /// `partially` (a human confirmed).
    pub automated_decision: String,
    /// What fired.
    pub detection: Detection,
    /// Who decided.
    pub review: ReviewInfo,
    /// Near-duplicate cluster key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// DSA statement-of-reasons fields.
    pub dsa: DsaStatement,
    /// Captured evidence.
    pub evidence: Evidence,
}

/// A bundle for one hosting provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`SCHEMA`].
    pub schema: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// Stable id of the bundle.
    pub bundle_id: String,
    /// Kind of every item.
    pub kind: Kind,
    /// The provider.
    pub host: String,
    /// Issue time.
    pub issued_at: String,
    /// Deadline (removal orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<String>,
    /// Issuer.
    pub issuer: Issuer,
    /// Addressee.
    pub addressee: Addressee,
    /// Whether four-eyes applied.
    pub four_eyes: bool,
    /// The referrals, by referral_id.
    pub items: Vec<Referral>,
}

/// The stable referral id of an item for a kind.
pub fn referral_id(kind: Kind, item_id: &str) -> String {
    if super::ids::is_valid_referral_id(item_id) && item_id.len() <= 64 {
        format!("{}-{item_id}", kind.id_prefix())
    } else {
        format!(
            "{}-{}",
            kind.id_prefix(),
            &crate::util::sha256_hex(item_id.as_bytes())[..24]
        )
    }
}

/// Checks a host name is safe as a directory name and a URL host.
pub fn check_host(host: &str) -> Result<(), String> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !host.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!("host {host:?} is not a lowercase DNS name"))
    }
}

/// Text made safe for a one-line statement: control and bidi characters dropped.
pub fn clean_text(s: &str, max_chars: usize) -> String {
    crate::review::queue::excerpt(s, max_chars)
}

/// Cuts `s` to at most `max` chars, ending with `…` when cut.
fn cap_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn date_part(t: &str) -> String {
    t.get(..10).unwrap_or(t).to_string()
}

/// Builds the statement of reasons from the item and its review (<= [`MAX_SOR_CHARS`] chars).
pub fn statement_of_reasons(
    item: &Item,
    kind: Kind,
    category: Category,
    reviewers: &[ReviewerDecision],
) -> String {
    let post = &item.post;
    let reasons = tco_reasons(category);
    let letters: Vec<&str> = reasons.iter().map(|r| tco_letter(r)).collect();
    let mut head = format!(
        "{}: post {} on {}",
        if kind == Kind::RemovalOrder {
            "Removal order"
        } else {
            "Referral"
        },
        clean_text(&post.post_id.0, 80),
        post.host
    );
    if let Some(t) = &post.thread {
        head.push_str(&format!(" (thread {})", clean_text(t, 80)));
    }
    if let Some(p) = post.published {
        head.push_str(&format!(", published {}", rfc3339(p)));
    }
    let lang = item.verdict.lang.lang;
    if lang != Lang::Und {
        head.push_str(&format!(", written in {}", lang.name()));
    }
    head.push_str(&format!(
        ". Assessed as terrorist content within Art. 2(7)({}) of Regulation (EU) 2021/784 ({}); \
         scenario category: {}.",
        letters.join(", "),
        reasons.join(", ").replace('_', " "),
        category
    ));
    let tail = if reviewers.is_empty() {
        String::new()
    } else {
        let who: Vec<String> = reviewers
            .iter()
            .map(|r| format!("{} at {}", clean_text(&r.reviewer, 60), r.decided_at))
            .collect();
        format!(" Confirmed by human review: {}.", who.join("; "))
    };
    let mut rules = format!(
        " Automated detection (score {:.2}) fired {} rule(s):",
        item.verdict.score,
        item.verdict.fired.len()
    );
    let budget = MAX_SOR_CHARS.saturating_sub(head.chars().count() + tail.chars().count() + 24);
    let mut shown = 0;
    for fired in &item.verdict.fired {
        let mut excerpts: Vec<String> = Vec::new();
        for m in fired.matches.iter().take(3) {
            let e = clean_text(&m.excerpt, 80);
            if !e.is_empty() && !excerpts.contains(&e) {
                excerpts.push(format!("\"{e}\""));
            }
        }
        let part = format!(
            " {} [{}, weight {:.2}] matched {};",
            clean_text(&fired.rule.0, 80),
            fired.category,
            fired.weight,
            if excerpts.is_empty() {
                "no excerpt".to_string()
            } else {
                excerpts.join(", ")
            }
        );
        if rules.chars().count() + part.chars().count() > budget {
            break;
        }
        rules.push_str(&part);
        shown += 1;
    }
    if shown < item.verdict.fired.len() {
        rules.push_str(&format!(" (+{} more)", item.verdict.fired.len() - shown));
    }
    if rules.ends_with(';') {
        rules.pop();
        rules.push('.');
    }
    cap_chars(&format!("{head}{rules}{tail}"), MAX_SOR_CHARS)
}

/// The primary scenario category of an item: the verdict's first category, else the fired rule
/// with the highest weight.
pub fn primary_category(item: &Item) -> Option<Category> {
    item.verdict.categories.first().copied().or_else(|| {
        item.verdict
            .fired
            .iter()
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
            .map(|f| f.category)
    })
}

/// Everything needed to build one referral.
pub struct ReferralInput<'a> {
    /// The item.
    pub item: &'a Item,
    /// Its review state.
    pub state: &'a ItemState,
    /// The captured page (checked against `item.page_sha256`).
    pub page: &'a Page,
    /// Kind.
    pub kind: Kind,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Four-eyes in force.
    pub four_eyes: bool,
}

/// Builds the referral record and its WARC file bytes.
pub fn build_referral(input: &ReferralInput<'_>) -> Result<(Referral, Vec<u8>), ReferError> {
    let item = input.item;
    let post = &item.post;
    let err = |message: String| ReferError::Item {
        item: item.id.clone(),
        message,
    };
    check_host(&post.host).map_err(err)?;
    let category =
        primary_category(item).ok_or_else(|| err("the verdict names no category".into()))?;
    let rid = referral_id(input.kind, &item.id);
    let issued = rfc3339(input.issued_at);
    let deadline = (input.kind == Kind::RemovalOrder)
        .then(|| rfc3339(input.issued_at + time::Duration::hours(1)));
    let reviewers: Vec<ReviewerDecision> = input
        .state
        .deciders()
        .into_iter()
        .map(|(reviewer, t)| ReviewerDecision {
            reviewer,
            decided_at: rfc3339(t),
        })
        .collect();
    let sor = statement_of_reasons(item, input.kind, category, &reviewers);
    let reasons: Vec<String> = tco_reasons(category)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (page_url, anchor) = match post.url.split_once('#') {
        Some((u, a)) => (u.to_string(), Some(a.to_string())),
        None => (post.url.clone(), None),
    };
    let lang = item.verdict.lang.lang;
    let mut spans = Vec::new();
    let mut terms: Vec<String> = Vec::new();
    for f in &item.verdict.fired {
        for m in &f.matches {
            spans.push(MatchedSpan {
                rule: f.rule.0.clone(),
                start: m.span.start,
                end: m.span.end,
                excerpt: m.excerpt.clone(),
            });
            if !terms.contains(&m.term) {
                terms.push(m.term.clone());
            }
        }
    }
    let record_id = format!(
        "<urn:uuid:{}>",
        super::ids::uuid_v4_from(&["warc", &rid, &input.page.sha256])
    );
    let warc = super::warc::response_record(input.page, &record_id);
    let warc_file = format!("evidence/{rid}.warc");
    let order = input.kind == Kind::RemovalOrder;
    let legal_basis = if order {
        "Regulation (EU) 2021/784 Art. 3 (removal order) for terrorist content within Art. 2(7)"
            .to_string()
    } else {
        "Terms of service of the hosting provider (terrorist content; referral under Art. 5 and \
         recital 40 of Regulation (EU) 2021/784)"
            .to_string()
    };
    let facts = format!(
        "Detected automatically by rule packs (score {:.2}; rules: {}); confirmed by {} reviewer(s); \
         evidence captured {} (sha256 {}).",
        item.verdict.score,
        item.verdict
            .fired
            .iter()
            .map(|f| clean_text(&f.rule.0, 60))
            .collect::<Vec<_>>()
            .join(", "),
        reviewers.len(),
        rfc3339(input.page.fetched_at),
        input.page.sha256
    );
    let dsa = DsaStatement {
        puid: rid.clone(),
        decision_ground: if order {
            "DECISION_GROUND_ILLEGAL_CONTENT"
        } else {
            "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        }
        .into(),
        illegal_content_legal_ground: order
            .then(|| "Regulation (EU) 2021/784, Art. 2(7) and Art. 3".to_string()),
        illegal_content_explanation: order.then(|| sor.clone()),
        incompatible_content_ground: (!order)
            .then(|| "Terms of service: terrorist content".to_string()),
        incompatible_content_explanation: (!order).then(|| sor.clone()),
        category: "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY".into(),
        category_specification: vec!["KEYWORD_TERRORIST_CONTENT".into()],
        decision_facts: cap_chars(&facts, 5000),
        content_type: vec!["CONTENT_TYPE_TEXT".into()],
        content_language: (lang != Lang::Und).then(|| lang.code().to_ascii_uppercase()),
        content_date: post.published.map(|p| date_part(&rfc3339(p))),
        application_date: date_part(&issued),
        automated_detection: "Yes".into(),
        automated_decision: "AUTOMATED_DECISION_PARTIALLY".into(),
        source_type: if order {
            "SOURCE_TYPE_OTHER_NOTIFICATION"
        } else {
            "SOURCE_TRUSTED_FLAGGER"
        }
        .into(),
        decision_visibility: vec!["DECISION_VISIBILITY_CONTENT_REMOVED".into()],
        territorial_scope: EU_MEMBER_STATES.iter().map(|s| s.to_string()).collect(),
    };
    let referral = Referral {
        referral_id: rid,
        kind: input.kind,
        issued_at: issued,
        deadline_at: deadline,
        item_id: item.id.clone(),
        host: post.host.clone(),
        content_url: post.url.clone(),
        content_locator: Locator {
            post_id: post.post_id.0.clone(),
            thread: post.thread.clone(),
            anchor,
            page_url,
        },
        content_type: vec!["text".into()],
        content_language: lang.code().to_string(),
        content_posted_at: post.published.map(rfc3339),
        scenario_category: category.as_str().to_string(),
        categories: item
            .verdict
            .categories
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        tco_reasons: reasons,
        legal_basis,
        statement_of_reasons: sor,
        requested_action: if order {
            "remove_or_disable_access_in_all_member_states_within_one_hour".into()
        } else {
            "assess_against_terms_of_service_and_remove".into()
        },
        automated_detection: "yes".into(),
        automated_decision: "partially".into(),
        detection: Detection {
            score: item.verdict.score,
            rule_ids: item
                .verdict
                .fired
                .iter()
                .map(|f| f.rule.0.clone())
                .collect(),
            matched_terms: terms,
            spans,
            lang_method: Some(item.verdict.lang.method.clone()),
        },
        review: ReviewInfo {
            four_eyes: input.four_eyes,
            reviewers,
        },
        cluster: (!item.cluster.is_empty()).then(|| item.cluster.clone()),
        dsa,
        evidence: Evidence {
            warc_file,
            warc_record_id: record_id,
            warc_sha256: crate::util::sha256_hex(&warc),
            sha256: input.page.sha256.clone(),
            captured_at: rfc3339(input.page.fetched_at),
            target_uri: if input.page.final_url.is_empty() {
                input.page.url.clone()
            } else {
                input.page.final_url.clone()
            },
            http_status: input.page.status,
        },
    };
    Ok((referral, warc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        FiredRule, LangDecision, Match, Post, PostId, ReviewStatus, RuleId, Span, Verdict,
    };

    fn hostile_item(rules: usize) -> Item {
        let excerpt = "x\u{202E}evil\u{0007}\r\nline ".repeat(40);
        let fired = (0..rules)
            .map(|i| FiredRule {
                rule: RuleId(format!("rule-{i}\u{202E}")),
                category: Category::Threat,
                weight: 0.5,
                matches: vec![Match {
                    span: Span { start: 0, end: 4 },
                    excerpt: excerpt.clone(),
                    lexicon: "l".into(),
                    term: "t".into(),
                }],
            })
            .collect();
        let post = Post {
            url: "http://a.test/p/1#p1".into(),
            post_id: PostId("1\n2".into()),
            host: "a.test".into(),
            site_kind: None,
            thread: Some("t".repeat(500)),
            title: None,
            author: None,
            author_url: None,
            published: None,
            lang_hint: None,
            text: excerpt.clone(),
            links: vec![],
        };
        Item {
            id: "abc".into(),
            verdict: Verdict {
                post_id: post.post_id.clone(),
                url: post.url.clone(),
                flagged: true,
                score: 0.9,
                categories: vec![Category::Threat],
                fired,
                lang: LangDecision {
                    lang: Lang::Ru,
                    confidence: 1.0,
                    method: "letters".into(),
                    script: None,
                },
            },
            post,
            page_sha256: String::new(),
            fetched_at: time::macros::datetime!(2026-01-01 00:00 UTC),
            cluster: String::new(),
            status: ReviewStatus::Confirmed,
        }
    }

    #[test]
    fn statement_of_reasons_is_bounded_and_clean() {
        for rules in [0, 1, 3, 200] {
            let item = hostile_item(rules);
            let who = vec![ReviewerDecision {
                reviewer: "al\u{202E}ice".into(),
                decided_at: "2026-01-01T00:00:00Z".into(),
            }];
            let s = statement_of_reasons(&item, Kind::RemovalOrder, Category::Threat, &who);
            assert!(
                s.chars().count() <= MAX_SOR_CHARS,
                "{rules} rules: {} chars",
                s.chars().count()
            );
            assert!(
                !s.chars()
                    .any(|c| c.is_control() || crate::review::queue::is_bidi_control(c)),
                "{s:?}"
            );
            assert!(s.contains("Art. 2(7)(e)") && s.contains("threatens"));
            assert!(
                s.contains("Confirmed by human review"),
                "reviews are never cut off"
            );
            if rules == 200 {
                assert!(s.contains("more)"), "{s}");
            }
        }
    }

    #[test]
    fn every_category_maps_into_the_five_reasons() {
        for c in Category::ALL {
            let r = tco_reasons(c);
            assert!(
                !r.is_empty() && r.iter().all(|x| TCO_REASONS.contains(x)),
                "{c}"
            );
        }
    }

    #[test]
    fn referral_ids_are_valid_and_distinct_per_kind() {
        for id in ["0123abcd", "weird id/../x", &"z".repeat(300)] {
            let a = referral_id(Kind::Referral, id);
            let b = referral_id(Kind::RemovalOrder, id);
            assert!(
                crate::refer::ids::is_valid_referral_id(&a)
                    && crate::refer::ids::is_valid_referral_id(&b)
            );
            assert_ne!(a, b);
            assert_eq!(a, referral_id(Kind::Referral, id));
        }
        assert!(
            check_host("../x").is_err()
                && check_host("A.test").is_err()
                && check_host("a.test").is_ok()
        );
    }
}
