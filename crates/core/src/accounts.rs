//! Plans, roles and how long a project keeps captured bodies.

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

/// How many days a project keeps the request and response bodies it
/// captures: 1 to 90.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RetentionDays(u8);

impl RetentionDays {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 90;
    /// What a project keeps until an owner or admin says otherwise.
    pub const DEFAULT: Self = Self(7);

    pub fn new(days: i64) -> Result<Self, ParseError> {
        u8::try_from(days)
            .ok()
            .filter(|d| (Self::MIN..=Self::MAX).contains(d))
            .map(Self)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "{days} is not a retention; expected {} to {} days",
                    Self::MIN,
                    Self::MAX
                ))
            })
    }

    pub const fn days(self) -> u8 {
        self.0
    }
}

impl Default for RetentionDays {
    fn default() -> Self {
        Self::DEFAULT
    }
}

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

    #[test]
    fn retention_is_one_to_ninety_days() {
        for days in [1, 7, 90] {
            assert_eq!(RetentionDays::new(days).map(RetentionDays::days), Ok(days as u8));
        }
        for days in [0, 91, -1, 256, i64::MAX] {
            assert!(RetentionDays::new(days).is_err(), "{days}");
        }
    }
}
