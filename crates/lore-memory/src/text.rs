//! Text helpers shared by segmentation, features, concepts and BM25: markup removal,
//! words, and content terms (lowercased, English stop words out, Snowball stems, as in
//! lore's BM25 over chunks).

use std::sync::OnceLock;

use regex::Regex;
use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

/// Removes transcription markup (`{vocalsound}`, `{disfmarker}`, `{gap}`, QMSum's
/// `{pause}` …) and the space QMSum puts before punctuation; collapses whitespace.
pub fn clean(s: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"\{[a-zA-Z_ ]{1,30}\}").expect("static regex"));
    let no_markup = re.replace_all(s, " ");
    let mut out = String::with_capacity(no_markup.len());
    for w in no_markup.split_whitespace() {
        let glue = matches!(w, "." | "," | "?" | "!" | ";" | ":") || w.starts_with('\'');
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Lowercased words (Unicode word boundaries; numbers included).
pub fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.unicode_words().map(|w| w.to_lowercase())
}

/// Whitespace tokens: the unit of the evaluation's context budget.
pub fn whitespace_tokens(s: &str) -> usize {
    s.split_whitespace().count()
}

fn stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// English stop words plus the fillers of spoken language ("um", "yeah", "okay").
pub fn is_stop_word(w: &str) -> bool {
    /// Spoken language on top of the English list: fillers, contractions, hedges.
    const SPOKEN: &[&str] = &[
        "also",
        "don't",
        "get",
        "got",
        "it's",
        "let's",
        "like",
        "mean",
        "now",
        "really",
        "right",
        "that's",
        "there's",
        "think",
        "we're",
        "i'm",
        "you're",
        "we'll",
        "gonna",
        "uh",
        "um",
        "hmm",
        "mm",
        "yeah",
        "yes",
        "okay",
        "ok",
        "oh",
        "well",
        "erm",
        "er",
        "ah",
        "mm-hmm",
        "uh-huh",
        "kind",
        "sort",
        "thing",
        "things",
        "one",
        "go",
        "going",
        "say",
        "said",
        "see",
        "want",
        "actually",
        "maybe",
        "probably",
        "sure",
        "alright",
        "good",
        "bit",
        "lot",
        "way",
        "something",
        "anything",
        "stuff",
        "dunno",
        "gotta",
        "wanna",
        "there're",
        "they're",
        "i've",
        "we've",
        "can't",
        "isn't",
        "didn't",
        "doesn't",
    ];
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        lore_core::words::ENGLISH_STOP_WORDS
            .iter()
            .chain(SPOKEN)
            .copied()
            .collect()
    })
    .contains(w)
        || (w.chars().count() == 1 && !w.chars().all(|c| c.is_ascii_digit()))
}

/// Content terms of `s`: lowercased words that are not stop words, stemmed.
pub fn terms(s: &str) -> Vec<String> {
    words(s)
        .filter(|w| !is_stop_word(w))
        .map(|w| stemmer().stem(&w).into_owned())
        .collect()
}

/// The stem of one lowercased word.
pub fn stem(w: &str) -> String {
    stemmer().stem(w).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_and_content_words() {
        for w in ["about", "yeah", "um", "wanna", "you're", "the"] {
            assert!(is_stop_word(w), "{w}");
        }
        assert!(!is_stop_word("battery"));
    }

    #[test]
    fn clean_removes_markup_and_glues_punctuation() {
        assert_eq!(
            clean("{vocalsound} Are we {disfmarker} we're not allowed ?"),
            "Are we we're not allowed?"
        );
        assert_eq!(
            terms("The batteries are charging"),
            vec!["batteri", "charg"]
        );
    }
}
