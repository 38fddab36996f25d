//! States of the things Herald moves along: deliveries, journal steps and connections.
//!
//! A delivery's state only changes through a guarded UPDATE whose WHERE clause names the
//! states it may leave (see `herald-store`), so the sets below are the single source of which
//! move is legal.

use crate::platform::InvalidChoice;

/// String literals joined by `", "` at compile time: the choices an error message lists.
macro_rules! comma_list {
    ($first:literal $(, $rest:literal)* $(,)?) => {
        concat!($first $(, ", ", $rest)*)
    };
}

pub(crate) use comma_list;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(::utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::platform::InvalidChoice;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::platform::InvalidChoice::new($what, s, $crate::state::comma_list!($($text),+))),
                }
            }
        }
    };
}

pub(crate) use string_enum;

string_enum!(
    /// Where one delivery (a post on one connection) stands.
    DeliveryState, "delivery state" {
        Scheduled => "scheduled",
        Queued => "queued",
        Running => "running",
        Retrying => "retrying",
        RateLimited => "rate_limited",
        Published => "published",
        Failed => "failed",
        Dead => "dead",
        Unknown => "unknown",
        Cancelled => "cancelled",
    }
);

impl DeliveryState {
    /// States a worker may claim a delivery from once its `run_at` has come.
    pub const CLAIMABLE: &'static [DeliveryState] = &[
        DeliveryState::Scheduled,
        DeliveryState::Queued,
        DeliveryState::Retrying,
        DeliveryState::RateLimited,
    ];

    /// States that have not started and can still be cancelled.
    pub const CANCELLABLE: &'static [DeliveryState] = &[
        DeliveryState::Scheduled,
        DeliveryState::Queued,
        DeliveryState::Retrying,
        DeliveryState::RateLimited,
    ];

    /// States an operator may send back to the queue.
    pub const RETRYABLE_BY_OPERATOR: &'static [DeliveryState] =
        &[DeliveryState::Failed, DeliveryState::Dead];

    /// No worker will touch the delivery again without an operator.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Published
                | DeliveryState::Failed
                | DeliveryState::Dead
                | DeliveryState::Cancelled
                | DeliveryState::Unknown
        )
    }

    pub fn is_claimable(self) -> bool {
        Self::CLAIMABLE.contains(&self)
    }
}

string_enum!(
    /// Where a post stands, derived from its deliveries' states (a post stores none of its
    /// own): see [`PostState::of`].
    PostState, "post state" {
        Scheduled => "scheduled",
        Queued => "queued",
        InProgress => "in_progress",
        Published => "published",
        PartiallyPublished => "partially_published",
        Failed => "failed",
        Unknown => "unknown",
        Cancelled => "cancelled",
    }
);

impl PostState {
    /// The state of a post whose deliveries are in `states`. While any delivery is still
    /// moving the post is `scheduled` (all scheduled), `queued` (all waiting) or
    /// `in_progress`; once all are final it is `published` (all), `partially_published`
    /// (some), `cancelled` (all cancelled, or no delivery at all), `unknown` (an outcome an
    /// operator must resolve) or `failed`.
    pub fn of(states: impl IntoIterator<Item = DeliveryState>) -> Self {
        use DeliveryState as S;
        let states: Vec<S> = states.into_iter().collect();
        if states.is_empty() {
            return PostState::Cancelled;
        }
        if states.iter().any(|s| !s.is_final()) {
            return if states.iter().all(|s| *s == S::Scheduled) {
                PostState::Scheduled
            } else if states.iter().all(|s| matches!(s, S::Scheduled | S::Queued)) {
                PostState::Queued
            } else {
                PostState::InProgress
            };
        }
        let published = states.iter().filter(|s| **s == S::Published).count();
        if published == states.len() {
            PostState::Published
        } else if published > 0 {
            PostState::PartiallyPublished
        } else if states.iter().all(|s| *s == S::Cancelled) {
            PostState::Cancelled
        } else if states.contains(&S::Unknown) {
            PostState::Unknown
        } else {
            PostState::Failed
        }
    }
}

string_enum!(
    /// What happens to a publish whose outcome is unknown and cannot be looked up
    /// (Telegram): the deployment's default, or a tenant's own choice.
    UnknownOutcomePolicy, "unknown-outcome policy" {
        // The delivery becomes `unknown` for an operator to resolve (never posted twice).
        Unknown => "unknown",
        // Publish again, accepting a possible duplicate.
        Republish => "republish",
    }
);

string_enum!(
    /// A journal row: a platform side effect about to happen (`sending`), that happened
    /// (`done`, with the remote id it produced), or that the platform refused (`failed`).
    StepState, "step state" {
        Sending => "sending",
        Done => "done",
        Failed => "failed",
    }
);

string_enum!(
    /// Whether a connection can be published to.
    ConnectionStatus, "connection status" {
        Active => "active",
        NeedsReconnect => "needs_reconnect",
        Disabled => "disabled",
    }
);

string_enum!(
    /// What an API key may do.
    Scope, "scope" {
        Publish => "publish",
        Read => "read",
        Admin => "admin",
    }
);

impl Scope {
    /// Parses a comma-separated list such as `publish,read`. Empty entries are ignored;
    /// an empty list is an error.
    pub fn parse_list(list: &str) -> Result<Vec<Scope>, InvalidChoice> {
        let mut scopes = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope: Scope = part.parse()?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(InvalidChoice::new("scope", list, "publish, read, admin"));
        }
        Ok(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_name() {
        for state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse::<DeliveryState>().unwrap(), *state);
            let json = serde_json::to_string(state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }

    #[test]
    fn a_posts_state_is_derived_from_its_deliveries() {
        use DeliveryState as S;
        let of = |states: &[S]| PostState::of(states.iter().copied());
        assert_eq!(of(&[S::Scheduled, S::Scheduled]), PostState::Scheduled);
        assert_eq!(of(&[S::Scheduled, S::Queued]), PostState::Queued);
        assert_eq!(of(&[S::Queued, S::Running]), PostState::InProgress);
        assert_eq!(of(&[S::Published, S::RateLimited]), PostState::InProgress);
        assert_eq!(of(&[S::Published, S::Published]), PostState::Published);
        assert_eq!(
            of(&[S::Published, S::Failed]),
            PostState::PartiallyPublished
        );
        assert_eq!(of(&[S::Cancelled, S::Cancelled]), PostState::Cancelled);
        assert_eq!(of(&[]), PostState::Cancelled);
        assert_eq!(of(&[S::Failed, S::Unknown]), PostState::Unknown);
        assert_eq!(of(&[S::Failed, S::Dead, S::Cancelled]), PostState::Failed);
        assert_eq!(
            serde_json::to_string(&PostState::PartiallyPublished).unwrap(),
            "\"partially_published\""
        );
    }

    #[test]
    fn claimable_states_are_not_final() {
        for state in DeliveryState::CLAIMABLE {
            assert!(!state.is_final(), "{state}");
        }
    }

    #[test]
    fn scope_lists_parse_and_reject_unknown_names() {
        assert_eq!(
            Scope::parse_list("publish, read,publish").unwrap(),
            vec![Scope::Publish, Scope::Read]
        );
        let err = Scope::parse_list("publish,write").unwrap_err().to_string();
        assert!(err.contains("write"), "{err}");
        assert!(Scope::parse_list(" , ").is_err());
    }

    #[test]
    fn an_unknown_choice_lists_the_choices_comma_separated() {
        let err = "sent".parse::<PostState>().unwrap_err().to_string();
        assert!(
            err.ends_with(
                "expected one of scheduled, queued, in_progress, published, \
                 partially_published, failed, unknown, cancelled"
            ),
            "{err}"
        );
    }
}
