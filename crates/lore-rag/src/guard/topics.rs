//! Topic boundaries: words and phrases a collection does not answer about.

use std::collections::BTreeMap;

/// Blocked phrases per collection (`*` applies to all), matched case-insensitively as
/// whole words: `salary` blocks "What is Bob's salary?" but not "salaryman".
#[derive(Debug, Clone, Default)]
pub struct BlockedTopics {
    by_collection: BTreeMap<String, Vec<Vec<String>>>,
}

impl BlockedTopics {
    /// From `[guard.blocked_topics]`.
    pub fn new(config: &BTreeMap<String, Vec<String>>) -> Self {
        let by_collection = config
            .iter()
            .map(|(c, phrases)| {
                let phrases = phrases
                    .iter()
                    .map(|p| words(p))
                    .filter(|w| !w.is_empty())
                    .collect();
                (c.clone(), phrases)
            })
            .collect();
        BlockedTopics { by_collection }
    }

    /// The first blocked phrase `question` contains for `collection`, if any.
    pub fn blocked(&self, collection: &str, question: &str) -> Option<String> {
        if self.by_collection.is_empty() {
            return None;
        }
        let q = words(question);
        [collection, "*"]
            .iter()
            .filter_map(|c| self.by_collection.get(*c))
            .flatten()
            .find(|phrase| q.windows(phrase.len()).any(|w| w == phrase.as_slice()))
            .map(|p| p.join(" "))
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whole_words_per_collection() {
        let mut config = BTreeMap::new();
        config.insert(
            "hr".to_string(),
            vec!["salary of".to_string(), "Layoffs".into()],
        );
        config.insert("*".to_string(), vec!["password".to_string()]);
        let t = BlockedTopics::new(&config);
        assert_eq!(
            t.blocked("hr", "What is the SALARY of Bob?"),
            Some("salary of".into())
        );
        assert_eq!(
            t.blocked("hr", "Any layoffs planned?"),
            Some("layoffs".into())
        );
        assert_eq!(t.blocked("eng", "Any layoffs planned?"), None);
        assert_eq!(
            t.blocked("eng", "reset my password"),
            Some("password".into())
        );
        assert_eq!(t.blocked("hr", "salary bands of 2024"), None);
        assert_eq!(t.blocked("hr", "passwords policy"), None);
    }
}
