//! Settling a publishing step of unknown outcome: pure decisions, no I/O.
//!
//! A step is *in doubt* when an earlier attempt sent it and never learned what happened (a
//! timeout, a dropped answer, a crash). [`after_lookup`] says what a lookup's answer means
//! for it, [`after_duplicate`] what a duplicate refusal of a later attempt means, and
//! [`may_probe`] whether an identical re-send may probe it where nothing can be looked up.
//! `publish.rs` carries the decisions out against the journal (see docs/exactly-once.md).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Platform;
use herald_platforms::{DuplicateOf, Lookup, refuses_recent_duplicates};
use herald_store::Step as JournalStep;
use serde_json::Value;

/// How a step of unknown outcome was settled, as the journal records it (`resolved_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResolvedBy {
    /// Found on the platform, or a complete search found nothing.
    Lookup,
    /// Not found could not be told; sent again identical, to be refused if it had landed.
    DuplicateProbe,
    /// The platform cannot be searched and the tenant's policy says publish again.
    PolicyRepublish,
    /// A later attempt was refused as a duplicate and the original was identified.
    DuplicateRefusal,
    /// A later attempt was refused as a duplicate; the platform names no post and none was
    /// found: published, id unknown.
    DuplicateRefusalWithoutId,
}

impl ResolvedBy {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            ResolvedBy::Lookup => "lookup",
            ResolvedBy::DuplicateProbe => "duplicate_probe",
            ResolvedBy::PolicyRepublish => "policy_republish",
            ResolvedBy::DuplicateRefusal => "duplicate_refusal",
            ResolvedBy::DuplicateRefusalWithoutId => "duplicate_refusal_without_id",
        }
    }
}

/// What to do with a step in doubt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// It was posted: the step is `done`, with the id when one is known.
    Posted {
        remote_id: Option<String>,
        url: Option<String>,
        by: ResolvedBy,
        /// Why the id is unknown, for the journal.
        note: Option<String>,
    },
    /// It was not posted, or an identical re-send will tell: the step is `failed` (still in
    /// doubt) and sent again.
    Send { by: ResolvedBy },
    /// Nothing can be told yet: the step stays `sending`, the delivery is rescheduled and
    /// looks again. Never sent again.
    LookAgain { reason: String },
    /// Nothing can ever be told: the tenant's unknown-outcome policy decides.
    Policy,
    /// The duplicate refusal names a post deleted since: a permanent failure, as a duplicate
    /// refusal with no doubt is.
    Refused { reason: String },
}

/// What a lookup's answer means for a step in doubt. `probe`: an identical re-send may
/// settle it where the lookup cannot ([`may_probe`]).
pub(crate) fn after_lookup(lookup: Lookup, probe: bool) -> Next {
    match lookup {
        Lookup::Found { remote_id, url } => Next::Posted {
            remote_id: Some(remote_id),
            url,
            by: ResolvedBy::Lookup,
            note: None,
        },
        Lookup::NotFound => Next::Send {
            by: ResolvedBy::Lookup,
        },
        Lookup::Inconclusive { reason } => Next::LookAgain { reason },
        Lookup::CannotKnow if probe => Next::Send {
            by: ResolvedBy::DuplicateProbe,
        },
        Lookup::CannotKnow => Next::Policy,
    }
}

/// What a duplicate refusal of an attempt after doubt means: the earlier attempt landed.
pub(crate) fn after_duplicate(original: DuplicateOf) -> Next {
    match original {
        DuplicateOf::Found { remote_id, url, .. } => Next::Posted {
            remote_id: Some(remote_id),
            url,
            by: ResolvedBy::DuplicateRefusal,
            note: None,
        },
        DuplicateOf::Unnamed { reason } => Next::Posted {
            remote_id: None,
            url: None,
            by: ResolvedBy::DuplicateRefusalWithoutId,
            note: Some(reason),
        },
        DuplicateOf::Deleted { remote_id } => Next::Refused {
            reason: format!(
                "refused as a duplicate of {remote_id}, which no longer exists; this post is not on the platform"
            ),
        },
    }
}

/// Whether an identical re-send may probe a step in doubt: text only (a re-upload would
/// change the media ids, so the platform would not see a duplicate), on a platform that
/// refuses a recent identical post, and first sent within `window` (well inside the
/// platform's own duplicate window).
pub(crate) fn may_probe(
    platform: Platform,
    text_only: bool,
    first_sent: DateTime<Utc>,
    now: DateTime<Utc>,
    window: Duration,
) -> bool {
    let recent = TimeDelta::from_std(window).is_ok_and(|w| now - first_sent <= w);
    text_only && refuses_recent_duplicates(platform) && recent
}

/// How an earlier attempt left a step this attempt is about to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prior {
    /// Never sent, or refused outright: no doubt.
    Clear,
    /// Sent with unknown outcome at `first_sent` and settled as "send again" (a complete
    /// lookup found nothing, or the policy said republish): a duplicate refusal now means it
    /// landed.
    Doubt { first_sent: DateTime<Utc> },
    /// Sent with unknown outcome at `first_sent`, to be probed by an identical re-send.
    Probe { first_sent: DateTime<Utc> },
}

impl Prior {
    /// Whether a duplicate refusal now means an earlier attempt landed.
    pub(crate) const fn in_doubt(self) -> bool {
        !matches!(self, Prior::Clear)
    }

    /// When the attempt of unknown outcome was sent.
    pub(crate) const fn first_sent(self) -> Option<DateTime<Utc>> {
        match self {
            Prior::Clear => None,
            Prior::Doubt { first_sent } | Prior::Probe { first_sent } => Some(first_sent),
        }
    }

    /// The journal's markers of this doubt, added to a step's detail so that every later
    /// attempt still knows (`doubt`, `probe`, and when the first attempt was sent).
    pub(crate) fn mark(self, mut detail: Value) -> Value {
        if let (Value::Object(map), Some(first_sent)) = (&mut detail, self.first_sent()) {
            map.insert("doubt".into(), Value::Bool(true));
            map.insert("first_sent".into(), Value::String(first_sent.to_rfc3339()));
            if matches!(self, Prior::Probe { .. }) {
                map.insert("probe".into(), Value::Bool(true));
            }
        }
        detail
    }
}

/// Reads the journal row an earlier attempt left for a step: how it was settled, and whether
/// doubt remains ([`Prior::mark`]; a settlement of an unknown outcome by the sweeper's lookup
/// leaves doubt too, its row's start being the first attempt's).
pub(crate) fn prior(row: Option<&JournalStep>) -> Prior {
    let Some((row, detail)) = row.and_then(|r| r.detail.as_ref().map(|d| (r, d))) else {
        return Prior::Clear;
    };
    let first_sent = first_sent(row);
    if detail.get("probe").and_then(Value::as_bool) == Some(true) {
        return Prior::Probe { first_sent };
    }
    let doubt = detail.get("doubt").and_then(Value::as_bool) == Some(true)
        || detail.get("resolved_by").is_some();
    if doubt {
        Prior::Doubt { first_sent }
    } else {
        Prior::Clear
    }
}

/// When the first attempt of unknown outcome of a step was sent: the earliest of its row's
/// start and the `first_sent` its markers carry (a probe's own send is recent, but a
/// duplicate refusal must fall within the platform's window of the first attempt).
pub(crate) fn first_sent(row: &JournalStep) -> DateTime<Utc> {
    row.detail
        .as_ref()
        .and_then(|d| d.get("first_sent"))
        .and_then(Value::as_str)
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map_or(row.started_at, |t| {
            t.with_timezone(&Utc).min(row.started_at)
        })
}

#[cfg(test)]
mod tests {
    use herald_domain::{DeliveryId, StepState};
    use serde_json::json;

    use super::*;

    fn failed(detail: serde_json::Value, started_at: DateTime<Utc>) -> JournalStep {
        JournalStep {
            delivery_id: DeliveryId::new(),
            step: "publish".into(),
            state: StepState::Failed,
            remote_id: None,
            detail: Some(detail),
            started_at,
            finished_at: None,
        }
    }

    #[test]
    fn an_inconclusive_lookup_looks_again_and_never_sends() {
        let next = after_lookup(
            Lookup::Inconclusive {
                reason: "20 pages".into(),
            },
            true,
        );
        assert_eq!(
            next,
            Next::LookAgain {
                reason: "20 pages".into()
            }
        );
    }

    #[test]
    fn only_a_complete_search_sends_again() {
        assert_eq!(
            after_lookup(Lookup::NotFound, false),
            Next::Send {
                by: ResolvedBy::Lookup
            }
        );
        assert!(matches!(
            after_lookup(
                Lookup::Found {
                    remote_id: "1".into(),
                    url: None
                },
                true
            ),
            Next::Posted { remote_id: Some(id), by: ResolvedBy::Lookup, .. } if id == "1"
        ));
    }

    #[test]
    fn a_platform_that_cannot_tell_is_probed_only_when_allowed() {
        assert_eq!(
            after_lookup(Lookup::CannotKnow, true),
            Next::Send {
                by: ResolvedBy::DuplicateProbe
            }
        );
        assert_eq!(after_lookup(Lookup::CannotKnow, false), Next::Policy);
    }

    #[test]
    fn a_duplicate_refusal_after_doubt_is_published() {
        assert_eq!(
            after_duplicate(DuplicateOf::Found {
                remote_id: "urn:li:share:7".into(),
                url: Some("u".into()),
                read_back: true,
            }),
            Next::Posted {
                remote_id: Some("urn:li:share:7".into()),
                url: Some("u".into()),
                by: ResolvedBy::DuplicateRefusal,
                note: None,
            }
        );
        assert!(matches!(
            after_duplicate(DuplicateOf::Unnamed {
                reason: "X names none".into()
            }),
            Next::Posted {
                remote_id: None,
                by: ResolvedBy::DuplicateRefusalWithoutId,
                note: Some(_),
                ..
            }
        ));
        assert!(matches!(
            after_duplicate(DuplicateOf::Deleted {
                remote_id: "urn:li:share:1".into()
            }),
            Next::Refused { .. }
        ));
    }

    #[test]
    fn only_recent_text_posts_on_platforms_that_refuse_duplicates_are_probed() {
        let now = Utc::now();
        let window = Duration::from_secs(600);
        let recent = now - TimeDelta::minutes(2);
        assert!(may_probe(Platform::Linkedin, true, recent, now, window));
        assert!(may_probe(Platform::Twitter, true, recent, now, window));
        assert!(may_probe(Platform::Facebook, true, recent, now, window));
        // A re-upload changes the media ids: no duplicate to be refused.
        assert!(!may_probe(Platform::Linkedin, false, recent, now, window));
        // Too old: the platform may no longer see it as a duplicate.
        let old = now - TimeDelta::minutes(30);
        assert!(!may_probe(Platform::Twitter, true, old, now, window));
        // No duplicate check at all.
        assert!(!may_probe(Platform::Telegram, true, recent, now, window));
        assert!(!may_probe(Platform::Instagram, true, recent, now, window));
    }

    #[test]
    fn the_journal_remembers_doubt() {
        let at = Utc::now();
        assert_eq!(prior(None), Prior::Clear);
        assert_eq!(
            prior(Some(&failed(json!({"error": "refused"}), at))),
            Prior::Clear
        );
        assert_eq!(
            prior(Some(&failed(
                json!({"resolved_by": "sweeper_lookup", "found": false}),
                at
            ))),
            Prior::Doubt { first_sent: at }
        );
        let earlier = at - chrono::TimeDelta::minutes(3);
        let probe = Prior::Probe {
            first_sent: earlier,
        };
        assert_eq!(prior(Some(&failed(probe.mark(json!({})), at))), probe);
        // A refusal after doubt keeps the doubt, and its first attempt, for the next one.
        let doubt = Prior::Doubt {
            first_sent: earlier,
        };
        let refused = doubt.mark(json!({"error": "503"}));
        assert_eq!(prior(Some(&failed(refused, at))), doubt);
    }
}
