//! Who may read what: roles, the collections and domains a caller is restricted to, and
//! request-rate quotas. Enforced inside retrieval (see `FilterSet::restrict`), never by
//! filtering results afterwards.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an API key may do. Each role includes the ones before it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Search, answer, list collections and documents.
    Reader,
    /// A reader that may also upload and delete documents and create collections.
    Writer,
    /// A writer that may also manage keys, caches, configuration and analytics.
    Admin,
}

impl Role {
    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bad role, scope or rate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    /// Not reader, writer or admin.
    #[error("unknown role `{0}`: expected reader, writer or admin")]
    Role(String),
    /// A rate that is not `N/min`, `N/h` (comma-separated).
    #[error("invalid rate `{0}`: expected e.g. 60/min,1000/h (units: s, min, h)")]
    Rate(String),
    /// A collection or domain list with an empty name.
    #[error("empty name in the {0} list")]
    EmptyName(&'static str),
}

impl FromStr for Role {
    type Err = AccessError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "reader" => Ok(Role::Reader),
            "writer" => Ok(Role::Writer),
            "admin" => Ok(Role::Admin),
            other => Err(AccessError::Role(other.to_string())),
        }
    }
}

/// The collections and domains a caller may read from. `None` = all.
///
/// A domain restriction becomes a filter clause ANDed into both retrieval legs (BM25 and
/// vectors) and is part of every cache key, so a restricted caller can never be handed a
/// chunk, or a cached answer built from chunks, of another domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Access {
    /// Collections allowed (`None`: all).
    pub collections: Option<Vec<String>>,
    /// Domains allowed (`None`: all; chunks without a domain are then visible too).
    pub domains: Option<Vec<String>>,
}

impl Access {
    /// Whether everything `other` allows, `self` allows too: `other`'s collections and
    /// domains are each a subset of `self`'s (an unrestricted list contains any list; a
    /// restricted one never contains an unrestricted one). A scoped key may only create,
    /// list and revoke keys that this holds for.
    pub fn contains(&self, other: &Access) -> bool {
        fn subset(outer: &Option<Vec<String>>, inner: &Option<Vec<String>>) -> bool {
            match (outer, inner) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(o), Some(i)) => i.iter().all(|x| o.contains(x)),
            }
        }
        subset(&self.collections, &other.collections) && subset(&self.domains, &other.domains)
    }

    /// Everything.
    pub fn all() -> Self {
        Access::default()
    }

    /// Whether nothing is restricted.
    pub fn is_unrestricted(&self) -> bool {
        self.collections.is_none() && self.domains.is_none()
    }

    /// Whether `collection` may be read.
    pub fn allows_collection(&self, collection: &str) -> bool {
        self.collections
            .as_ref()
            .is_none_or(|c| c.iter().any(|x| x == collection))
    }

    /// Whether a document of `domain` may be read.
    pub fn allows_domain(&self, domain: Option<&str>) -> bool {
        match (&self.domains, domain) {
            (None, _) => true,
            (Some(allowed), Some(d)) => allowed.iter().any(|x| x == d),
            (Some(_), None) => false,
        }
    }

    /// A stable text of the restriction, for cache keys (`*` = unrestricted).
    pub fn fingerprint(&self) -> String {
        let list = |v: &Option<Vec<String>>| match v {
            None => "*".to_string(),
            Some(v) => {
                let mut v = v.clone();
                v.sort();
                v.dedup();
                v.join(",")
            }
        };
        format!("c={};d={}", list(&self.collections), list(&self.domains))
    }

    /// Parses a comma-separated list (`a,b`) as given on the command line.
    ///
    /// # Errors
    /// [`AccessError::EmptyName`] for `a,,b`.
    pub fn parse_list(what: &'static str, text: &str) -> Result<Vec<String>, AccessError> {
        text.split(',')
            .map(|s| {
                let s = s.trim();
                if s.is_empty() {
                    Err(AccessError::EmptyName(what))
                } else {
                    Ok(s.to_string())
                }
            })
            .collect()
    }
}

/// Request quotas: at most `per_minute` requests a minute and `per_hour` an hour, each
/// enforced by GCRA (a burst of the whole quota, then one request per period/quota).
///
/// Written `60/min,1000/h` in JSON and TOML.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    /// Requests per minute (`None`: no minute limit).
    pub per_minute: Option<u32>,
    /// Requests per hour (`None`: no hour limit).
    pub per_hour: Option<u32>,
}

impl Rate {
    /// Whether there is no limit at all.
    pub fn is_unlimited(&self) -> bool {
        self.per_minute.is_none() && self.per_hour.is_none()
    }

    /// Whether this quota is no higher than `limit` in each window `limit` bounds (a
    /// missing window is unlimited, so it only fits under a missing window).
    pub fn within(&self, limit: &Rate) -> bool {
        fn fits(mine: Option<u32>, cap: Option<u32>) -> bool {
            match (mine, cap) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(m), Some(c)) => m <= c,
            }
        }
        fits(self.per_minute, limit.per_minute) && fits(self.per_hour, limit.per_hour)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(m) = self.per_minute {
            parts.push(format!("{m}/min"));
        }
        if let Some(h) = self.per_hour {
            parts.push(format!("{h}/h"));
        }
        if parts.is_empty() {
            f.write_str("unlimited")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

impl TryFrom<String> for Rate {
    type Error = AccessError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        r.to_string()
    }
}

impl FromStr for Rate {
    type Err = AccessError;
    /// `60/min`, `1000/h`, `60/min,1000/h`; `10/s` counts as 600/min. `unlimited` = none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AccessError::Rate(s.to_string());
        let mut rate = Rate::default();
        if s.trim() == "unlimited" {
            return Ok(rate);
        }
        for part in s.split(',') {
            let (n, unit) = part.trim().split_once('/').ok_or_else(bad)?;
            let n: u32 = n.trim().parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            match unit.trim() {
                "s" | "sec" | "second" => rate.per_minute = Some(n.saturating_mul(60)),
                "m" | "min" | "minute" => rate.per_minute = Some(n),
                "h" | "hour" => rate.per_hour = Some(n),
                _ => return Err(bad()),
            }
        }
        Ok(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_contain_only_narrower_scopes() {
        let list = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let all = Access::all();
        let kb_hr = Access {
            collections: list(&["kb"]),
            domains: list(&["hr"]),
        };
        assert!(all.contains(&kb_hr));
        assert!(kb_hr.contains(&kb_hr));
        assert!(
            !kb_hr.contains(&all),
            "a scoped key cannot make an unrestricted one"
        );
        assert!(!kb_hr.contains(&Access {
            collections: list(&["kb", "other"]),
            domains: list(&["hr"]),
        }));
        assert!(!kb_hr.contains(&Access {
            collections: list(&["kb"]),
            domains: None,
        }));
        let r = |m: Option<u32>, h: Option<u32>| Rate {
            per_minute: m,
            per_hour: h,
        };
        assert!(r(Some(10), Some(100)).within(&r(Some(60), Some(1000))));
        assert!(!r(Some(61), Some(100)).within(&r(Some(60), None)));
        assert!(!r(None, Some(100)).within(&r(Some(60), None)));
        assert!(r(None, None).within(&r(None, None)));
    }

    #[test]
    fn rates_parse_and_print() {
        let r: Rate = "60/min,1000/h".parse().unwrap();
        assert_eq!((r.per_minute, r.per_hour), (Some(60), Some(1000)));
        assert_eq!(r.to_string(), "60/min,1000/h");
        assert_eq!("2/s".parse::<Rate>().unwrap().per_minute, Some(120));
        assert!("unlimited".parse::<Rate>().unwrap().is_unlimited());
        for bad in ["60", "x/min", "0/min", "5/day", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn access_checks_collections_and_domains() {
        let a = Access {
            collections: Some(vec!["kb".into()]),
            domains: Some(vec!["hr".into()]),
        };
        assert!(a.allows_collection("kb") && !a.allows_collection("other"));
        assert!(a.allows_domain(Some("hr")));
        assert!(!a.allows_domain(Some("engineering")) && !a.allows_domain(None));
        assert!(Access::all().allows_domain(None));
        assert_eq!(a.fingerprint(), "c=kb;d=hr");
        assert_eq!(Access::all().fingerprint(), "c=*;d=*");
        assert!(Access::parse_list("domain", "hr,,legal").is_err());
        assert_eq!("writer".parse::<Role>().unwrap(), Role::Writer);
        assert!(Role::Reader < Role::Admin);
    }
}
