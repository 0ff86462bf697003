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

/// The first `max` chars of `text` on one line: control, bidi-control and invisible characters
/// dropped (zero-width space, word joiner, BOM, soft hyphen; ZWNJ/ZWJ too, except between two
/// letters of a script that joins, where they are spelling, as in Persian, or inside an emoji
/// sequence), so an evidence excerpt reads as the text a person sees.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut s = String::new();
    let mut n = 0;
    let mut prev: Option<char> = None;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        if n > max {
            break;
        }
        let keep = match c {
            '\u{200C}' | '\u{200D}' => {
                prev.is_some_and(joins) && it.peek().copied().is_some_and(joins)
            }
            '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' => false,
            c => c.is_whitespace() || (!c.is_control() && !is_bidi_control(c)),
        };
        if keep {
            s.push(if c.is_whitespace() { ' ' } else { c });
            n += 1;
        }
        prev = Some(c);
    }
    if s.chars().count() > max {
        s = s.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
    }
    s
}

/// Letters of scripts where ZWNJ/ZWJ shape the spelling (Arabic, Syriac, Thaana, NKo, the
/// Indic scripts), and emoji (ZWJ sequences).
fn joins(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{08FF}' | '\u{0900}'..='\u{0DFF}' | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFC}' | '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}')
}

/// Bidirectional-override and isolate characters (they can reorder a terminal line).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpts_drop_invisible_obfuscation_but_keep_persian_spelling() {
        assert_eq!(excerpt("Varek\u{200c} Tolgu\u{200c}n", 50), "Varek Tolgun");
        assert_eq!(
            excerpt("jo\u{200b}in\u{00ad} us\u{feff}\u{202e}!", 50),
            "join us!"
        );
        // ZWNJ between two Persian letters is spelling: kept.
        assert_eq!(excerpt("می\u{200c}شود", 50), "می\u{200c}شود");
        assert_eq!(excerpt("a\nb\tc", 50), "a b c");
        assert_eq!(excerpt("abcdef", 4), "abc…");
        assert_eq!(excerpt("a\u{200b}b\u{200b}c\u{200b}d", 3), "ab…");
        assert_eq!(excerpt("a\u{200b}b\u{200b}c", 3), "abc");
    }
}
