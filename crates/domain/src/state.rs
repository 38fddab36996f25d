//! States of the things Herald moves along: deliveries, journal steps and connections.
//!
//! A delivery's state only changes through a guarded UPDATE whose WHERE clause names the
//! states it may leave (see `herald-store`), so the sets below are the single source of which
//! move is legal.

use crate::platform::InvalidChoice;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
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
                    _ => Err($crate::platform::InvalidChoice::new($what, s, concat!($($text, " "),+))),
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
            return Err(InvalidChoice::new("scope", list, "publish read admin"));
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
}
