//! Follow-up questions in a conversation ("and what about the second one?") name their
//! subject only through the turns before them; searched alone they retrieve nothing
//! useful. [`contextualize`] makes such a question self-contained for retrieval by
//! prefixing the previous user turn, without an LLM call: a rule on the question's length
//! and its references (pronouns, "what about", ordinals). The answer is still written for
//! the question as asked.

/// Words that point back to something said before, space-separated.
const REFERENCES: &str = "it its it's they them their theirs that those this these he him his \
    she her one ones former latter same there first second third last other another else also \
    too more";

/// Openings of a question that continues the previous one, `|`-separated.
const CONTINUATIONS: &str = "and |what about|how about|but |also |or |so ";

/// Words in a question up to which it may be a follow-up: longer questions carry their own
/// subject.
const MAX_FOLLOW_UP_WORDS: usize = 12;

/// The retrieval query for `question` after the earlier user turns `history` (oldest
/// first): the previous turn and the question when the question looks like a follow-up,
/// else `None` (search the question as it is).
pub fn contextualize(history: &[String], question: &str) -> Option<String> {
    let previous = history.iter().rev().find(|t| !t.trim().is_empty())?;
    let lower = question.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > MAX_FOLLOW_UP_WORDS {
        return None;
    }
    let refers = words
        .iter()
        .any(|w| REFERENCES.split_whitespace().any(|r| r == *w))
        || CONTINUATIONS.split('|').any(|c| lower.starts_with(c));
    refers.then(|| format!("{} {}", previous.trim(), question.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(turns: &[&str]) -> Vec<String> {
        turns.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn follow_ups_take_the_previous_question_and_others_stand_alone() {
        let history = h(&["Which ports does the server listen on?"]);
        assert_eq!(
            contextualize(&history, "and what about the second one?").as_deref(),
            Some("Which ports does the server listen on? and what about the second one?")
        );
        assert!(contextualize(&history, "How is it configured?").is_some());
        assert_eq!(
            contextualize(&history, "How do I rotate API keys in production?"),
            None,
            "a question with its own subject"
        );
        assert_eq!(
            contextualize(&[], "and the second one?"),
            None,
            "no history"
        );
        let long =
            "what does it say about the retention of query logs and their export to other systems";
        assert_eq!(
            contextualize(&history, long),
            None,
            "long questions carry their subject"
        );
    }
}
