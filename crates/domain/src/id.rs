//! Typed identifiers. Every row Herald owns is keyed by a UUIDv7, so ids sort by creation
//! time (cheap index inserts, stable cursor pagination) and a `PostId` can never be passed
//! where a `DeliveryId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| InvalidId {
                    what: $what,
                    value: s.chars().take(64).collect(),
                })
            }
        }
    };
}

id_type!(
    /// A tenant: one producer organisation with its own keys, connections and posts.
    TenantId,
    "tenant id"
);
id_type!(
    /// An API key row (not the secret itself).
    ApiKeyId,
    "API key id"
);
id_type!(
    /// A connected platform account (or page, organization, channel) of a tenant.
    ConnectionId,
    "connection id"
);
id_type!(
    /// A post: one piece of content sent to one or more connections.
    PostId,
    "post id"
);
id_type!(
    /// One post on one connection: the unit the worker publishes.
    DeliveryId,
    "delivery id"
);
id_type!(
    /// A file stored in Herald's media store.
    MediaId,
    "media id"
);
id_type!(
    /// A pending OAuth authorization (the server-side half of the `state` parameter).
    OAuthStateId,
    "OAuth state id"
);

/// A string that is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{value}` is not a valid UUID")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings_and_sort_by_creation() {
        let first = DeliveryId::new();
        let second = DeliveryId::new();
        assert!(first < second, "UUIDv7 ids sort by creation time");
        let parsed: DeliveryId = first.to_string().parse().unwrap();
        assert_eq!(parsed, first);
    }

    #[test]
    fn a_bad_id_names_its_kind() {
        let err = "nope".parse::<PostId>().unwrap_err();
        assert_eq!(err.to_string(), "post id `nope` is not a valid UUID");
    }
}
