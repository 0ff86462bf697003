//! The review queue: pending items, highest score first, near-duplicates under one head item.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ReviewError;
use super::decide::ItemState;
use super::store::{ItemFilter, ItemSource};
use crate::model::{Item, ReviewStatus};

/// One queue row: the head item of a near-duplicate group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueEntry {
    /// Head item id (highest score in its group).
    pub id: String,
    /// Its score.
    pub score: f32,
    /// Host.
    pub host: String,
    /// Permalink.
    pub url: String,
    /// Language code.
    pub lang: String,
    /// Categories of the verdict.
    pub categories: Vec<String>,
    /// Status.
    pub status: ReviewStatus,
    /// Near-duplicate cluster key ("" when none).
    pub cluster: String,
    /// Items in the group (head included).
    pub count: usize,
    /// Ids of the other members, by descending score.
    pub members: Vec<String>,
    /// Reviewers who already confirmed the head item.
    pub confirmed_by: Vec<String>,
    /// The first 160 characters of the text.
    pub excerpt: String,
}

/// Builds the queue. `statuses` default to pending; `hide_decided_by` drops items that reviewer
/// has already decided (so the second reviewer of a four-eyes pair sees only what is left).
pub fn build(
    source: &dyn ItemSource,
    states: &BTreeMap<String, ItemState>,
    filter: &ItemFilter,
    hide_decided_by: Option<&str>,
) -> Result<Vec<QueueEntry>, ReviewError> {
    let mut filter = filter.clone();
    if filter.status.is_empty() {
        filter.status = vec![ReviewStatus::Pending];
    }
    let mut groups: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for item in source.items(&filter)? {
        if let Some(r) = hide_decided_by
            && states
                .get(&item.id)
                .is_some_and(|s| s.latest.contains_key(r))
        {
            continue;
        }
        let key = if item.cluster.is_empty() {
            format!("\0{}", item.id)
        } else {
            item.cluster.clone()
        };
        groups.entry(key).or_default().push(item);
    }
    let mut out: Vec<QueueEntry> = groups
        .into_values()
        .map(|mut members| {
            members.sort_by(|a, b| {
                b.verdict
                    .score
                    .total_cmp(&a.verdict.score)
                    .then_with(|| a.id.cmp(&b.id))
            });
            let head = &members[0];
            let confirmed_by = states
                .get(&head.id)
                .map(|s| {
                    s.confirmations()
                        .iter()
                        .map(|c| c.reviewer.clone())
                        .collect()
                })
                .unwrap_or_default();
            QueueEntry {
                id: head.id.clone(),
                score: head.verdict.score,
                host: head.post.host.clone(),
                url: head.post.url.clone(),
                lang: head.verdict.lang.lang.code().to_string(),
                categories: head
                    .verdict
                    .categories
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect(),
                status: head.status,
                cluster: head.cluster.clone(),
                count: members.len(),
                members: members[1..].iter().map(|m| m.id.clone()).collect(),
                confirmed_by,
                excerpt: excerpt(&head.post.text, 160),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// The first `max` chars of `text` on one line, control characters dropped.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(max + 1)
        .collect();
    if s.chars().count() > max {
        s = s.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
    }
    s
}

/// Bidirectional-override and isolate characters (they can reorder a terminal line).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}
