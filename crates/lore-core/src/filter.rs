//! Metadata filters: `key=value` pairs that restrict retrieval inside every leg.
//!
//! Semantics: filters on different keys are ANDed; several values for the same key are
//! ORed (`domain=hr` + `domain=legal` matches either domain).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A metadata field a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterField {
    /// [`crate::Metadata::domain`].
    Domain,
    /// [`crate::Metadata::department`].
    Department,
    /// [`crate::Metadata::doc_type`].
    DocType,
    /// One of [`crate::Metadata::tags`] (`tag=x` or `tags=x`).
    Tag,
    /// The document's source path exactly as stored at ingest.
    Source,
}

impl FilterField {
    /// All fields, in a fixed order.
    pub const ALL: [FilterField; 5] = [
        FilterField::Domain,
        FilterField::Department,
        FilterField::DocType,
        FilterField::Tag,
        FilterField::Source,
    ];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterField::Domain => "domain",
            FilterField::Department => "department",
            FilterField::DocType => "doc_type",
            FilterField::Tag => "tag",
            FilterField::Source => "source",
        }
    }
}

impl fmt::Display for FilterField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filter that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// The text had no `=`.
    #[error("invalid filter `{0}`: expected key=value (keys: domain, department, doc_type, tag, source)")]
    Syntax(String),
    /// The key is not a known metadata field.
    #[error("unknown filter key `{0}`: expected one of domain, department, doc_type, tag, source")]
    UnknownKey(String),
    /// The value was empty.
    #[error("filter `{0}` has an empty value")]
    EmptyValue(String),
}

impl FromStr for FilterField {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "domain" => Ok(FilterField::Domain),
            "department" => Ok(FilterField::Department),
            "doc_type" | "doctype" | "type" => Ok(FilterField::DocType),
            "tag" | "tags" => Ok(FilterField::Tag),
            "source" => Ok(FilterField::Source),
            other => Err(FilterError::UnknownKey(other.to_string())),
        }
    }
}

/// One `key=value` condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// The field tested.
    pub field: FilterField,
    /// The exact value it must have.
    pub value: String,
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| FilterError::Syntax(s.to_string()))?;
        let field: FilterField = key.parse()?;
        let value = value.trim();
        if value.is_empty() {
            return Err(FilterError::EmptyValue(s.to_string()));
        }
        Ok(Filter {
            field,
            value: value.to_string(),
        })
    }
}

/// A set of filters normalised to "for each field, the values allowed".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSet {
    by_field: BTreeMap<FilterField, Vec<String>>,
}

impl FilterSet {
    /// Groups `filters` by field (AND across fields, OR within one).
    pub fn new(filters: &[Filter]) -> Self {
        let mut by_field: BTreeMap<FilterField, Vec<String>> = BTreeMap::new();
        for f in filters {
            let values = by_field.entry(f.field).or_default();
            if !values.contains(&f.value) {
                values.push(f.value.clone());
            }
        }
        FilterSet { by_field }
    }

    /// Narrows `field` to `allowed`: the values already asked for that are allowed, or all
    /// of `allowed` when the field was not filtered. An empty result stays as an empty
    /// list, which matches nothing (never "unfiltered"): a caller restricted to `hr` who
    /// asks for `domain=engineering` gets no chunks.
    pub fn restrict(mut self, field: FilterField, allowed: &[String]) -> Self {
        let values = self
            .by_field
            .entry(field)
            .or_insert_with(|| allowed.to_vec());
        values.retain(|v| allowed.contains(v));
        self
    }

    /// The set narrowed by an [`crate::Access`] (its domains; collections are checked
    /// before retrieval).
    pub fn restricted(self, access: &crate::Access) -> Self {
        match &access.domains {
            Some(domains) => self.restrict(FilterField::Domain, domains),
            None => self,
        }
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }

    /// `(field, allowed values)` pairs, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (FilterField, &[String])> {
        self.by_field.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Whether a document with `meta` and `source` passes every condition.
    pub fn matches(&self, meta: &crate::Metadata, source: &str) -> bool {
        self.iter().all(|(field, values)| match field {
            FilterField::Domain => meta.domain.as_ref().is_some_and(|d| values.contains(d)),
            FilterField::Department => meta.department.as_ref().is_some_and(|d| values.contains(d)),
            FilterField::DocType => meta.doc_type.as_ref().is_some_and(|d| values.contains(d)),
            FilterField::Tag => meta.tags.iter().any(|t| values.contains(t)),
            FilterField::Source => values.iter().any(|v| v == source),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metadata;

    #[test]
    fn parses_and_rejects() {
        let f: Filter = "domain=hr".parse().unwrap();
        assert_eq!(f.field, FilterField::Domain);
        assert_eq!(f.value, "hr");
        assert_eq!(
            "tags = x".parse::<Filter>().unwrap().field,
            FilterField::Tag
        );
        assert!(matches!(
            "domain".parse::<Filter>(),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            "colour=red".parse::<Filter>(),
            Err(FilterError::UnknownKey(_))
        ));
        assert!(matches!(
            "domain=".parse::<Filter>(),
            Err(FilterError::EmptyValue(_))
        ));
    }

    #[test]
    fn and_across_or_within() {
        let set = FilterSet::new(&[
            "domain=hr".parse().unwrap(),
            "domain=legal".parse().unwrap(),
            "tag=policy".parse().unwrap(),
        ]);
        let meta = |d: &str, tags: &[&str]| Metadata {
            domain: Some(d.into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        assert!(set.matches(&meta("hr", &["policy"]), "a"));
        assert!(set.matches(&meta("legal", &["x", "policy"]), "a"));
        assert!(!set.matches(&meta("engineering", &["policy"]), "a"));
        assert!(!set.matches(&meta("hr", &[]), "a"));
    }

    #[test]
    fn restriction_intersects_and_never_widens() {
        let hr = vec!["hr".to_string()];
        let asked = FilterSet::new(&["domain=engineering".parse().unwrap()]);
        let set = asked.restrict(FilterField::Domain, &hr);
        assert!(!set.is_empty(), "an empty intersection is not 'unfiltered'");
        let meta = |d: &str| Metadata {
            domain: Some(d.into()),
            ..Default::default()
        };
        assert!(!set.matches(&meta("engineering"), "a"));
        assert!(!set.matches(&meta("hr"), "a"));
        let set = FilterSet::new(&[]).restrict(FilterField::Domain, &hr);
        assert!(set.matches(&meta("hr"), "a") && !set.matches(&meta("legal"), "a"));
        let both = FilterSet::new(&[
            "domain=hr".parse().unwrap(),
            "domain=legal".parse().unwrap(),
        ])
        .restrict(FilterField::Domain, &hr);
        assert!(both.matches(&meta("hr"), "a") && !both.matches(&meta("legal"), "a"));
    }
}
