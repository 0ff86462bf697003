//! Decisions: validation, cluster expansion, four-eyes state, status updates that follow the log.
//!
//! The audit log is the source of truth. An item's review status is a pure function of the
//! records that name it ([`fold`]); the index only caches it. A decision is appended to the log
//! first, then the new statuses are written to the item store, then the log head's `applied`
//! mark moves on. A crash between the two leaves `applied` behind; [`Review::open`] replays the
//! records after it.
//!
//! Four-eyes: an item becomes `confirmed` (referable) only when two *different* reviewers' latest
//! decisions on it are `confirm`. One confirmation leaves it `pending` (for the second reviewer).
//! A `reject` or `escalate` next to a `confirm` is a disagreement: the item goes to `escalated`
//! and the record lists the contradicted decisions in `disagrees_with`. A supervisor's `override`
//! settles an item: a rejecting one always, a confirming one only when a reviewer other than the
//! supervisor confirmed it too (an override is never the second pair of eyes on its own; until
//! then it counts as the supervisor's confirmation). `referred` marks items that went out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::ReviewError;
use super::audit::{Action, AuditLog, AuditRecord, Draft, Outcome};
use super::store::{ItemFilter, ItemSource};
use crate::model::{Item, ReviewStatus, Timestamp};

/// A reviewer's latest say on an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Say {
    /// Who.
    pub reviewer: String,
    /// confirm / reject / escalate.
    pub action: Action,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time: Timestamp,
    /// Log sequence number.
    pub seq: u64,
}

/// What the log says about one item.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ItemState {
    /// Latest regular decision per reviewer (since the last override).
    pub latest: BTreeMap<String, Say>,
    /// The last override, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden: Option<(Outcome, Say)>,
    /// The last referral (`time`, bundle id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referred: Option<(String, Option<String>)>,
    /// Records naming the item (seq numbers).
    pub records: Vec<u64>,
}

impl ItemState {
    /// Reviewers whose latest decision is `confirm`, oldest confirmation first.
    pub fn confirmations(&self) -> Vec<&Say> {
        let mut v: Vec<&Say> = self
            .latest
            .values()
            .filter(|s| s.action == Action::Confirm)
            .collect();
        v.sort_by_key(|s| s.seq);
        v
    }

    /// Counts of (confirm, reject, escalate) among the reviewers' latest decisions. An override
    /// that does not settle the item (see [`ItemState::override_settles`]) counts as its author's
    /// confirmation.
    fn counts(&self) -> (usize, usize, usize) {
        let overrider = match &self.overridden {
            Some((Outcome::Confirm, say)) => Some(say.reviewer.as_str()),
            _ => None,
        };
        let (mut c, mut r, mut e) = (0, 0, 0);
        for (who, say) in &self.latest {
            if Some(who.as_str()) == overrider {
                continue;
            }
            match say.action {
                Action::Confirm => c += 1,
                Action::Reject => r += 1,
                Action::Escalate => e += 1,
                Action::Override | Action::Referred => {}
            }
        }
        (c + usize::from(overrider.is_some()), r, e)
    }

    /// Whether a confirming override settles the item under four-eyes: a reviewer *other than*
    /// the overrider must have confirmed it too, so that two different people stand behind every
    /// referral. A rejecting override always settles (nothing leaves).
    pub fn override_settles(&self) -> bool {
        match &self.overridden {
            Some((Outcome::Reject, _)) => true,
            Some((Outcome::Confirm, say)) => self
                .confirmations()
                .iter()
                .any(|s| s.reviewer != say.reviewer),
            None => false,
        }
    }

    /// The status the log implies (under four-eyes).
    pub fn status(&self) -> ReviewStatus {
        if self.referred.is_some() {
            return ReviewStatus::Referred;
        }
        match &self.overridden {
            Some((Outcome::Reject, _)) => return ReviewStatus::Rejected,
            Some((Outcome::Confirm, _)) if self.override_settles() => {
                return ReviewStatus::Confirmed;
            }
            _ => {}
        }
        let (c, r, e) = self.counts();
        if e > 0 || (c > 0 && r > 0) {
            ReviewStatus::Escalated
        } else if c >= 2 {
            ReviewStatus::Confirmed
        } else if r > 0 {
            ReviewStatus::Rejected
        } else {
            ReviewStatus::Pending
        }
    }

    /// Whether the item may go out. Four-eyes needs confirmations from two different people (a
    /// confirming override counts as its author's confirmation, never as a second pair of eyes
    /// on its own); single review needs one confirmation (or a confirming override) and no
    /// dissent. Referred items only with `again`.
    pub fn referable(&self, four_eyes: bool, again: bool) -> bool {
        if self.referred.is_some() && !again {
            return false;
        }
        match &self.overridden {
            Some((Outcome::Reject, _)) => return false,
            Some((Outcome::Confirm, _)) if !four_eyes || self.override_settles() => return true,
            _ => {}
        }
        let (c, r, e) = self.counts();
        if r > 0 || e > 0 {
            return false;
        }
        if four_eyes { c >= 2 } else { c >= 1 }
    }

    /// The decisions that made the item referable: (reviewer, time) of confirmations or the
    /// confirming override.
    pub fn deciders(&self) -> Vec<(String, Timestamp)> {
        let mut v: Vec<(String, Timestamp)> = self
            .confirmations()
            .iter()
            .map(|s| (s.reviewer.clone(), s.time))
            .collect();
        if let Some((Outcome::Confirm, say)) = &self.overridden {
            // One entry per person: the override replaces its author's own confirmation.
            v.retain(|(who, _)| *who != say.reviewer);
            v.push((say.reviewer.clone(), say.time));
        }
        v
    }
}

/// Folds the log into per-item states.
pub fn fold(records: &[AuditRecord]) -> BTreeMap<String, ItemState> {
    let mut states: BTreeMap<String, ItemState> = BTreeMap::new();
    for rec in records {
        for id in &rec.items {
            let st = states.entry(id.clone()).or_default();
            st.records.push(rec.seq);
            let say = Say {
                reviewer: rec.reviewer.clone(),
                action: rec.action,
                time: rec.time,
                seq: rec.seq,
            };
            match rec.action {
                Action::Confirm | Action::Reject | Action::Escalate => {
                    st.latest.insert(rec.reviewer.clone(), say);
                }
                Action::Override => {
                    let outcome = rec.outcome.unwrap_or(Outcome::Reject);
                    st.overridden = Some((outcome, say));
                    if outcome == Outcome::Reject {
                        st.referred = None;
                    }
                }
                Action::Referred => {
                    st.referred = Some((crate::model::rfc3339(rec.time), rec.bundle.clone()));
                }
            }
        }
    }
    states
}

/// A decision as a reviewer asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Item ids.
    pub ids: Vec<String>,
    /// confirm / reject / escalate, or override with `outcome`.
    pub action: Action,
    /// For overrides.
    pub outcome: Option<Outcome>,
    /// Reviewer name.
    pub reviewer: String,
    /// Reason (required).
    pub reason: String,
    /// Apply to the whole near-duplicate cluster of each id.
    pub cluster: bool,
    /// Decision time.
    pub time: Timestamp,
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decided {
    /// The record as appended.
    pub record: AuditRecord,
    /// New status per item.
    pub statuses: BTreeMap<String, ReviewStatus>,
}

/// Review over an item store and an audit log.
pub struct Review<S: ItemSource> {
    source: S,
    log: AuditLog,
}

impl<S: ItemSource> Review<S> {
    /// Opens the review, repairing statuses the item store missed after a crash. Returns the
    /// review and the number of records replayed.
    pub fn open(source: S, log: AuditLog) -> Result<(Self, u64), ReviewError> {
        let mut r = Review { source, log };
        let replayed = r.repair()?;
        Ok((r, replayed))
    }

    /// The item store.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The item store, mutably.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The audit log.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Consumes the review, giving the store back.
    pub fn into_source(self) -> S {
        self.source
    }

    /// Replays records whose status effect did not reach the store. Returns how many.
    pub fn repair(&mut self) -> Result<u64, ReviewError> {
        let _lock = self.log.lock()?;
        self.log.repair_torn_tail()?;
        let records = self.log.records()?;
        let mut head = self.log.head()?;
        let last = records.last().map(|r| r.seq).unwrap_or(0);
        if head.applied >= last && head.seq == last {
            return Ok(0);
        }
        let from = head.applied.min(last);
        let ids: BTreeSet<String> = records
            .iter()
            .filter(|r| r.seq > from)
            .flat_map(|r| r.items.iter().cloned())
            .collect();
        let states = fold(&records);
        self.apply(&states, &ids)?;
        head.seq = last;
        head.hash = records.last().map(|r| r.hash.clone()).unwrap_or_default();
        head.applied = last;
        self.log.write_head(&head)?;
        if last > from {
            tracing::warn!(
                "review: replayed {} audit record(s) whose status update was missing",
                last - from
            );
        }
        Ok(last - from)
    }

    fn apply(
        &mut self,
        states: &BTreeMap<String, ItemState>,
        ids: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, ReviewStatus>, ReviewError> {
        let mut by_status: BTreeMap<ReviewStatus, Vec<String>> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for id in ids {
            let status = states
                .get(id)
                .map(ItemState::status)
                .unwrap_or(ReviewStatus::Pending);
            by_status.entry(status).or_default().push(id.clone());
            out.insert(id.clone(), status);
        }
        for (status, ids) in by_status {
            self.source.set_status(&ids, status)?;
        }
        Ok(out)
    }

    /// Per-item states from the whole log.
    pub fn states(&self) -> Result<BTreeMap<String, ItemState>, ReviewError> {
        Ok(fold(&self.log.records()?))
    }

    /// Every record naming `id`, oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<AuditRecord>, ReviewError> {
        Ok(self
            .log
            .records()?
            .into_iter()
            .filter(|r| r.items.iter().any(|i| i == id))
            .collect())
    }

    /// Expands ids to their clusters (when asked), checking every id exists. Sorted, unique.
    pub fn expand(&self, ids: &[String], cluster: bool) -> Result<Vec<String>, ReviewError> {
        let mut out = BTreeSet::new();
        for id in ids {
            let item = self
                .source
                .get(id)?
                .ok_or_else(|| ReviewError::UnknownItem(id.clone()))?;
            out.insert(item.id.clone());
            if cluster && !item.cluster.is_empty() {
                let filter = ItemFilter {
                    cluster: Some(item.cluster.clone()),
                    ..Default::default()
                };
                for m in self.source.items(&filter)? {
                    out.insert(m.id);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Records a decision and updates the statuses.
    pub fn decide(&mut self, d: Decision) -> Result<Decided, ReviewError> {
        let reviewer = d.reviewer.trim().to_string();
        if reviewer.is_empty() || reviewer.chars().any(char::is_control) {
            return Err(ReviewError::Refused("a reviewer name is required".into()));
        }
        if d.reason.trim().is_empty() {
            return Err(ReviewError::Refused(
                "a reason is required (--reason TEXT)".into(),
            ));
        }
        if d.ids.is_empty() {
            return Err(ReviewError::Refused("no item ids given".into()));
        }
        match (d.action, d.outcome) {
            (Action::Referred, _) => {
                return Err(ReviewError::Refused(
                    "`referred` is recorded by the export".into(),
                ));
            }
            (Action::Override, None) => {
                return Err(ReviewError::Refused(
                    "an override needs an outcome (confirm or reject)".into(),
                ));
            }
            _ => {}
        }
        let ids = self.expand(&d.ids, d.cluster)?;
        let _lock = self.log.lock()?;
        let records = self.log.records()?;
        let states = fold(&records);
        let mut disagrees: BTreeSet<u64> = BTreeSet::new();
        for id in &ids {
            let Some(st) = states.get(id) else { continue };
            for say in st.latest.values() {
                if say.reviewer == reviewer {
                    continue;
                }
                let contradicts = match d.action {
                    Action::Override => match d.outcome {
                        Some(Outcome::Confirm) => say.action != Action::Confirm,
                        _ => say.action == Action::Confirm,
                    },
                    Action::Escalate => say.action == Action::Confirm,
                    a => a != say.action,
                };
                if contradicts {
                    disagrees.insert(say.seq);
                }
            }
        }
        let record = self.log.append(Draft {
            time: d.time,
            reviewer,
            action: d.action,
            items: ids.clone(),
            reason: d.reason.trim().to_string(),
            cluster: d.cluster,
            outcome: if d.action == Action::Override {
                d.outcome
            } else {
                None
            },
            disagrees_with: disagrees.into_iter().collect(),
            bundle: None,
        })?;
        let statuses = self.settle(&ids)?;
        Ok(Decided { record, statuses })
    }

    /// Records that `ids` went out in `bundle` and marks them referred.
    pub fn mark_referred(
        &mut self,
        ids: &[String],
        actor: &str,
        bundle: &str,
        time: Timestamp,
    ) -> Result<AuditRecord, ReviewError> {
        if ids.is_empty() {
            return Err(ReviewError::Refused("no items to mark referred".into()));
        }
        let _lock = self.log.lock()?;
        let record = self.log.append(Draft {
            time,
            reviewer: actor.to_string(),
            action: Action::Referred,
            items: ids.to_vec(),
            reason: format!("exported in referral bundle(s) {bundle}"),
            cluster: false,
            outcome: None,
            disagrees_with: vec![],
            bundle: Some(bundle.to_string()),
        })?;
        self.settle(ids)?;
        Ok(record)
    }

    /// Writes the statuses the log implies for `ids`, then moves the head's `applied` mark.
    fn settle(&mut self, ids: &[String]) -> Result<BTreeMap<String, ReviewStatus>, ReviewError> {
        let records = self.log.records()?;
        let states = fold(&records);
        let set: BTreeSet<String> = ids.iter().cloned().collect();
        let statuses = self.apply(&states, &set)?;
        let mut head = self.log.head()?;
        head.applied = head.seq;
        self.log.write_head(&head)?;
        Ok(statuses)
    }

    /// Items referable under the given rules, with their states, sorted by id.
    pub fn referable(
        &self,
        four_eyes: bool,
        again: bool,
    ) -> Result<Vec<(Item, ItemState)>, ReviewError> {
        let states = self.states()?;
        let mut out = Vec::new();
        for (id, st) in states {
            if !st.referable(four_eyes, again) {
                continue;
            }
            match self.source.get(&id)? {
                Some(item) => out.push((item, st)),
                None => {
                    tracing::warn!("review: item {id} is in the audit log but not in the index")
                }
            }
        }
        Ok(out)
    }
}
