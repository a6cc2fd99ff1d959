//! Identifier newtypes. Every id is a UUIDv7 (time-ordered), created here and
//! nowhere else; parsing accepts any UUID text so ids from older data load.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ParseError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| ParseError::new(format!("`{s}` is not a valid {} id", $what)))
            }
        }
    };
}

id_type!(/// An organization.
    OrgId, "organization");
id_type!(/// A user account.
    UserId, "user");
id_type!(/// A project inside an organization.
    ProjectId, "project");
id_type!(/// A tally API key used against the gateway.
    ApiKeyId, "API key");
id_type!(/// A login session or personal access token.
    TokenId, "token");
id_type!(/// One activity event (one gateway request).
    EventId, "event");
id_type!(/// An invitation to join an organization.
    InvitationId, "invitation");
id_type!(/// A spending budget of an organization.
    BudgetId, "budget");
id_type!(/// A webhook of an organization.
    WebhookId, "webhook");
id_type!(/// One payload sent (or to be sent) to one webhook.
    DeliveryId, "delivery");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_ordered() {
        let a = OrgId::new();
        let b = OrgId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn parse_round_trips_and_refuses_garbage() {
        let id = ProjectId::new();
        assert_eq!(id.to_string().parse::<ProjectId>(), Ok(id));
        assert!("not-an-id".parse::<ProjectId>().is_err());
        assert!("".parse::<UserId>().is_err());
    }
}
