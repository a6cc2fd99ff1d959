//! Plans and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// What an organization pays for. Member analytics need `Enterprise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub const fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }
}

/// A member's role in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Developer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
        }
    }

    /// Owners and admins manage the organization: members, projects, every key.
    pub const fn is_manager(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

macro_rules! text_enum {
    ($ty:ty, $what:literal, [$($variant:expr),+]) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                [$($variant),+]
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let names: Vec<&str> = [$($variant.as_str()),+].to_vec();
                        ParseError::new(format!("`{s}` is not a {}; expected one of: {}", $what, names.join(", ")))
                    })
            }
        }
    };
}

text_enum!(Plan, "plan", [Plan::Free, Plan::Pro, Plan::Enterprise]);
text_enum!(Role, "role", [Role::Owner, Role::Admin, Role::Developer]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for plan in [Plan::Free, Plan::Pro, Plan::Enterprise] {
            assert_eq!(plan.to_string().parse::<Plan>(), Ok(plan));
        }
        for role in [Role::Owner, Role::Admin, Role::Developer] {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert!("Owner".parse::<Role>().is_err());
        assert!("gold".parse::<Plan>().unwrap_err().0.contains("free, pro, enterprise"));
    }
}
