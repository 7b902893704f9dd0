//! Self-query: metadata values a question names become filters, when its route allows
//! the field (`self_query = ["domain", "doc_type"]`). Only values that exist in the
//! route's collections can match, so a filter never empties retrieval by itself; a field
//! with two matching values adds nothing (ambiguous), as does a field the request already
//! filters on.
//!
//! A value matches when its words appear in the question in order (any case, a plural
//! `s` allowed on the last); a value of three characters or fewer must appear as written
//! in upper case ("IT", "HR"), so the pronoun "it" never filters on the IT department.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use lore_core::{Filter, FilterField};

use crate::{Engine, EngineError};

/// Distinct metadata values per field of one collection, at one revision.
pub(crate) type Facets = Vec<(FilterField, Vec<String>)>;

/// Facets by collection name, with the revision they were read at.
#[derive(Default)]
pub(crate) struct FacetCache(Mutex<HashMap<String, (String, Arc<Facets>)>>);

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `value` is named in `question` (see the module docs).
pub fn names_value(question: &str, value: &str) -> bool {
    let v = words(value);
    if v.is_empty() {
        return false;
    }
    if value.chars().count() <= 3 {
        let upper = value.to_uppercase();
        return question
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == upper || w.strip_suffix('s') == Some(upper.as_str()));
    }
    let q = words(question);
    q.windows(v.len()).any(|win| {
        win.iter().zip(&v).enumerate().all(|(i, (a, b))| {
            a == b || (i + 1 == v.len() && a.strip_suffix('s') == Some(b.as_str()))
        })
    })
}

/// The filters `question` implies on `fields`, from `facets`, skipping fields in `taken`.
pub fn infer_filters(
    question: &str,
    fields: &[FilterField],
    facets: &[(FilterField, Vec<String>)],
    taken: &[FilterField],
) -> Vec<Filter> {
    let mut out = Vec::new();
    for field in fields {
        if taken.contains(field) {
            continue;
        }
        let mut found: Vec<&String> = facets
            .iter()
            .filter(|(f, _)| f == field)
            .flat_map(|(_, values)| values)
            .filter(|v| names_value(question, v))
            .collect();
        found.sort();
        found.dedup();
        if let [one] = found.as_slice() {
            if let Ok(f) = format!("{}={}", field.as_str(), one).parse() {
                out.push(f);
            }
        }
    }
    out
}

impl Engine {
    /// The distinct metadata values of `collection`, read again when its revision changed.
    pub(crate) fn facets(&self, collection: &str) -> Result<Arc<Facets>, EngineError> {
        let info = self.store.collection(collection)?;
        let mut cache = self
            .facet_cache
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((rev, f)) = cache.get(collection) {
            if *rev == info.revision {
                return Ok(f.clone());
            }
        }
        let f = Arc::new(self.store.catalog().facet_values(info.id)?);
        cache.insert(collection.to_owned(), (info.revision, f.clone()));
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_as_words_and_short_ones_only_in_capitals() {
        assert!(names_value(
            "How do I configure Apache virtual hosts?",
            "apache"
        ));
        assert!(names_value("which PDFs mention the budget", "pdf"));
        assert!(names_value(
            "leave policy in human resources",
            "human-resources"
        ));
        assert!(!names_value("apache2 config", "apache"));
        assert!(names_value("Who in IT resets passwords?", "it"));
        assert!(!names_value("how do I reset it?", "it"));
    }

    #[test]
    fn one_value_per_field_and_taken_fields_are_skipped() {
        let facets = vec![
            (
                FilterField::Domain,
                vec!["apache".to_string(), "rust".to_string()],
            ),
            (FilterField::DocType, vec!["guide".to_string()]),
        ];
        let all = [FilterField::Domain, FilterField::DocType];
        let f = infer_filters("the apache guide to vhosts", &all, &facets, &[]);
        let shown: Vec<String> = f
            .iter()
            .map(|f| format!("{}={}", f.field, f.value))
            .collect();
        assert_eq!(shown, ["domain=apache", "doc_type=guide"]);
        // Two domains named: ambiguous, no domain filter.
        let f = infer_filters("apache or rust?", &all, &facets, &[]);
        assert!(f.is_empty(), "{f:?}");
        let f = infer_filters("the apache guide", &all, &facets, &[FilterField::Domain]);
        assert_eq!(f.len(), 1);
    }
}
