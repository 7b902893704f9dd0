//! One syntax for every duration setting: `500ms`, `30s`, `2m`, `2h`, `30d` (humantime's),
//! written back the same way. A bare number (in a file, a variable or a flag) is read in the
//! unit of the `*_ms` / `*_secs` / `*_days` setting it replaced, so older `lore.toml` files
//! and scripts keep working (those names are serde aliases of the new ones).
//!
//! Use as `#[serde(with = "lore_core::duration::secs")]` (or `millis`, `days`).

use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

struct DurationVisitor {
    /// How long a bare number's unit is.
    unit: Duration,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a duration such as \"500ms\", \"30s\", \"2h\" or \"30d\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        // A bare number (`LORE_REQUEST_TIMEOUT=120`) is read in the older setting's unit.
        if let Ok(n) = v.trim().parse::<u64>() {
            return self.visit_u64(n);
        }
        humantime::parse_duration(v.trim()).map_err(|e| {
            E::custom(format!(
                "invalid duration `{v}`: {e} (e.g. 500ms, 30s, 2h, 30d)"
            ))
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        u32::try_from(v)
            .ok()
            .and_then(|n| self.unit.checked_mul(n))
            .ok_or_else(|| E::custom(format!("duration {v} is too long")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        let v = u64::try_from(v).map_err(|_| E::custom("a duration cannot be negative"))?;
        self.visit_u64(v)
    }
}

macro_rules! unit {
    ($name:ident, $unit:expr, $doc:literal) => {
        #[doc = $doc]
        pub mod $name {
            use super::*;

            /// Writes `30s`, `2h`, ...
            ///
            /// # Errors
            /// The serializer's.
            pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
                super::serialize(d, s)
            }

            /// Reads a humantime string, or a bare number in this module's unit.
            ///
            /// # Errors
            /// A message naming the bad value.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
                d.deserialize_any(DurationVisitor { unit: $unit })
            }
        }
    };
}

unit!(
    millis,
    Duration::from_millis(1),
    "A bare number is milliseconds."
);
unit!(secs, Duration::from_secs(1), "A bare number is seconds.");
unit!(days, Duration::from_secs(86_400), "A bare number is days.");

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct S {
        #[serde(with = "secs", alias = "ttl_secs")]
        ttl: Duration,
        #[serde(with = "millis")]
        timeout: Duration,
    }

    #[test]
    fn strings_and_legacy_numbers_read_and_strings_are_written() {
        let s: S = serde_json::from_str(r#"{"ttl": "2h", "timeout": "250ms"}"#).unwrap();
        assert_eq!(s.ttl, Duration::from_secs(7200));
        assert_eq!(s.timeout, Duration::from_millis(250));
        let legacy: S = serde_json::from_str(r#"{"ttl_secs": 60, "timeout": 250}"#).unwrap();
        assert_eq!(legacy.ttl, Duration::from_secs(60));
        assert_eq!(legacy.timeout, Duration::from_millis(250));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"ttl":"2h","timeout":"250ms"}"#
        );
        let bare: S = serde_json::from_str(r#"{"ttl": "120", "timeout": "5"}"#).unwrap();
        assert_eq!(bare.ttl, Duration::from_secs(120));
        assert_eq!(bare.timeout, Duration::from_millis(5));
        let bad = serde_json::from_str::<S>(r#"{"ttl": "soon", "timeout": 1}"#).unwrap_err();
        assert!(bad.to_string().contains("soon"), "{bad}");
        assert!(serde_json::from_str::<S>(r#"{"ttl": -1, "timeout": 1}"#).is_err());
    }
}
