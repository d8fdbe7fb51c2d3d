//! Key rotation policies: lifetime actions (Rotate / Notify) triggered a duration after a
//! version's creation or before its expiry, and the expiry given to rotated versions.
//!
//! Durations are ISO 8601 (`P90D`, `P1Y`, `P2M`, `P1W`, `PT12H`); years count as 365 days and
//! months as 30, as Key Vault does.

use serde::{Deserialize, Serialize};

use crate::clock::DAY;
use crate::Error;

/// An ISO 8601 duration, kept as written (for echoing) with its length in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoDuration {
    text: String,
    seconds: i64,
}

impl IsoDuration {
    /// Parses an ISO 8601 duration; anything else (or zero) is a `BadParameter`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let parsed = iso8601::duration(text.trim()).map_err(|_| {
            Error::bad(format!("'{text}' is not an ISO 8601 duration such as P90D"))
        })?;
        let seconds = match parsed {
            iso8601::Duration::Weeks(w) => i64::from(w) * 7 * DAY,
            iso8601::Duration::YMDHMS {
                year,
                month,
                day,
                hour,
                minute,
                second,
                millisecond: _,
            } => {
                i64::from(year) * 365 * DAY
                    + i64::from(month) * 30 * DAY
                    + i64::from(day) * DAY
                    + i64::from(hour) * 3600
                    + i64::from(minute) * 60
                    + i64::from(second)
            }
        };
        if seconds <= 0 {
            return Err(Error::bad(format!(
                "The duration '{text}' must be longer than zero"
            )));
        }
        Ok(Self {
            text: text.trim().to_owned(),
            seconds,
        })
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length in seconds.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }
}

/// What a lifetime action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationAction {
    /// Create a new key version.
    Rotate,
    /// Emit `KeyNearExpiry`.
    Notify,
}

impl RotationAction {
    /// Parses `Rotate` / `Notify` (any case, as Key Vault accepts).
    pub fn parse(value: &str) -> Result<Self, Error> {
        if value.eq_ignore_ascii_case("rotate") {
            Ok(Self::Rotate)
        } else if value.eq_ignore_ascii_case("notify") {
            Ok(Self::Notify)
        } else {
            Err(Error::bad(format!(
                "Unknown lifetime action type '{value}': use Rotate or Notify"
            )))
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotate => "Rotate",
            Self::Notify => "Notify",
        }
    }
}

/// When a lifetime action fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationTrigger {
    /// This long after the current version was created.
    AfterCreate(IsoDuration),
    /// This long before the current version's `exp`.
    BeforeExpiry(IsoDuration),
}

/// One lifetime action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifetimeAction {
    /// When.
    pub trigger: RotationTrigger,
    /// What.
    pub action: RotationAction,
}

/// A key's rotation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Lifetime actions (at most one Rotate and one Notify).
    pub lifetime_actions: Vec<LifetimeAction>,
    /// `exp` given to versions the policy creates, relative to their creation.
    pub expiry_time: Option<IsoDuration>,
    /// Unix seconds; `None` for the default policy of a key that never had one set.
    pub created: Option<i64>,
    /// Unix seconds.
    pub updated: Option<i64>,
}

const MIN_TRIGGER: i64 = 7 * DAY;
const MIN_EXPIRY: i64 = 28 * DAY;

impl RotationPolicy {
    /// Key Vault's default: notify 30 days before expiry.
    pub fn default_policy() -> Self {
        Self {
            lifetime_actions: vec![LifetimeAction {
                trigger: RotationTrigger::BeforeExpiry(IsoDuration {
                    text: "P30D".into(),
                    seconds: 30 * DAY,
                }),
                action: RotationAction::Notify,
            }],
            expiry_time: None,
            created: None,
            updated: None,
        }
    }

    /// Checks Key Vault's rules.
    pub fn validate(&self) -> Result<(), Error> {
        if self.lifetime_actions.len() > 2 {
            return Err(Error::bad(
                "A rotation policy has at most two lifetime actions (one Rotate, one Notify)",
            ));
        }
        for action in [RotationAction::Rotate, RotationAction::Notify] {
            if self
                .lifetime_actions
                .iter()
                .filter(|a| a.action == action)
                .count()
                > 1
            {
                return Err(Error::bad(format!(
                    "A rotation policy has at most one {} action",
                    action.as_str()
                )));
            }
        }
        if let Some(expiry) = &self.expiry_time {
            if expiry.seconds < MIN_EXPIRY {
                return Err(Error::bad(format!(
                    "expiryTime '{}' is too short: it must be at least 28 days (P28D)",
                    expiry.text
                )));
            }
        }
        for action in &self.lifetime_actions {
            let (duration, before_expiry) = match &action.trigger {
                RotationTrigger::AfterCreate(d) => (d, false),
                RotationTrigger::BeforeExpiry(d) => (d, true),
            };
            if action.action == RotationAction::Notify && !before_expiry {
                return Err(Error::bad(
                    "A Notify action can only be triggered by timeBeforeExpiry",
                ));
            }
            if duration.seconds < MIN_TRIGGER {
                return Err(Error::bad(format!(
                    "The trigger duration '{}' is too short: it must be at least 7 days (P7D)",
                    duration.text
                )));
            }
            if let Some(expiry) = &self.expiry_time {
                if duration.seconds > expiry.seconds - MIN_TRIGGER {
                    return Err(Error::bad(format!(
                        "The trigger duration '{}' must be at least 7 days shorter than expiryTime '{}'",
                        duration.text, expiry.text
                    )));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn to_json(&self) -> String {
        let stored = Stored {
            lifetime_actions: self
                .lifetime_actions
                .iter()
                .map(|a| {
                    let (after, before) = match &a.trigger {
                        RotationTrigger::AfterCreate(d) => (Some(d.text.clone()), None),
                        RotationTrigger::BeforeExpiry(d) => (None, Some(d.text.clone())),
                    };
                    StoredAction {
                        after_create: after,
                        before_expiry: before,
                        action: a.action,
                    }
                })
                .collect(),
            expiry_time: self.expiry_time.as_ref().map(|d| d.text.clone()),
        };
        serde_json::to_string(&stored).unwrap_or_else(|_| "{}".to_owned())
    }

    pub(crate) fn from_json(
        json: &str,
        created: Option<i64>,
        updated: Option<i64>,
    ) -> Result<Self, Error> {
        let stored: Stored = serde_json::from_str(json).map_err(Error::other)?;
        let lifetime_actions = stored
            .lifetime_actions
            .into_iter()
            .map(|a| {
                let trigger = match (a.after_create, a.before_expiry) {
                    (Some(d), _) => RotationTrigger::AfterCreate(IsoDuration::parse(&d)?),
                    (None, Some(d)) => RotationTrigger::BeforeExpiry(IsoDuration::parse(&d)?),
                    (None, None) => {
                        return Err(Error::bad("stored lifetime action has no trigger"))
                    }
                };
                Ok(LifetimeAction {
                    trigger,
                    action: a.action,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            lifetime_actions,
            expiry_time: stored
                .expiry_time
                .as_deref()
                .map(IsoDuration::parse)
                .transpose()?,
            created,
            updated,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    lifetime_actions: Vec<StoredAction>,
    expiry_time: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredAction {
    after_create: Option<String>,
    before_expiry: Option<String>,
    action: RotationAction,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(
        actions: &[(&str, bool, RotationAction)],
        expiry: Option<&str>,
    ) -> Result<RotationPolicy, Error> {
        let lifetime_actions = actions
            .iter()
            .map(|(d, after, action)| {
                let d = IsoDuration::parse(d)?;
                Ok(LifetimeAction {
                    trigger: if *after {
                        RotationTrigger::AfterCreate(d)
                    } else {
                        RotationTrigger::BeforeExpiry(d)
                    },
                    action: *action,
                })
            })
            .collect::<Result<_, Error>>()?;
        let policy = RotationPolicy {
            lifetime_actions,
            expiry_time: expiry.map(IsoDuration::parse).transpose()?,
            created: None,
            updated: None,
        };
        policy.validate()?;
        Ok(policy)
    }

    #[test]
    fn durations() {
        assert_eq!(IsoDuration::parse("P90D").unwrap().seconds(), 90 * DAY);
        assert_eq!(IsoDuration::parse("P1Y").unwrap().seconds(), 365 * DAY);
        assert_eq!(IsoDuration::parse("P2M").unwrap().seconds(), 60 * DAY);
        assert_eq!(IsoDuration::parse("P2W").unwrap().seconds(), 14 * DAY);
        assert_eq!(
            IsoDuration::parse("P1DT12H").unwrap().seconds(),
            DAY + 12 * 3600
        );
        for bad in ["90D", "P", "P0D", "", "forever", "P-1D"] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_rules() {
        use RotationAction::{Notify, Rotate};
        assert!(policy(
            &[("P90D", true, Rotate), ("P30D", false, Notify)],
            Some("P1Y")
        )
        .is_ok());
        assert!(policy(&[], None).is_ok());
        assert!(policy(&[("P7D", true, Rotate)], None).is_ok());
        // Shorter than 7 days.
        assert!(policy(&[("P6D", true, Rotate)], None).is_err());
        assert!(policy(&[("P6D", false, Notify)], None).is_err());
        // Expiry shorter than 28 days.
        assert!(policy(&[], Some("P27D")).is_err());
        assert!(policy(&[], Some("P28D")).is_ok());
        // Notify only before expiry.
        assert!(policy(&[("P30D", true, Notify)], None).is_err());
        // Duplicate actions.
        assert!(policy(&[("P30D", true, Rotate), ("P40D", true, Rotate)], None).is_err());
        // Trigger must leave 7 days before expiry.
        assert!(policy(&[("P25D", true, Rotate)], Some("P28D")).is_err());
        assert!(policy(&[("P21D", true, Rotate)], Some("P28D")).is_ok());
    }

    #[test]
    fn json_round_trip() {
        let p = policy(
            &[
                ("P90D", true, RotationAction::Rotate),
                ("P30D", false, RotationAction::Notify),
            ],
            Some("P1Y"),
        )
        .unwrap();
        let back = RotationPolicy::from_json(&p.to_json(), None, None).unwrap();
        assert_eq!(back, p);
    }
}
