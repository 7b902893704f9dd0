//! The semantic cache's lexical guard: two questions whose embeddings are close may still
//! ask opposite or different things ("turn the alarm on" / "off", "in 2019" / "in 2020",
//! "Paris" / "Lyon"); sentence embeddings are known to be weak on exactly these (negation
//! and numbers barely move them: Ettinger 2020, "What BERT is not"). A cheap comparison of
//! the words that carry them vetoes such pairs before a cached answer is reused.
//!
//! The checks, each symmetric:
//! - **negation**: the count of negation cues (`not`, `never`, `no`, `without`, `-n't`, ...);
//! - **numbers and dates**: numbers (digits, number words up to twenty, ordinals) and month
//!   and weekday names, as sets;
//! - **entities**: every name-like word of one question (capitalised inside the sentence,
//!   inner capitals like `iPhone`, all-caps like `NASA`, letters mixed with digits like
//!   `p53`) must occur in the other;
//! - **polarity**: a word of one and a word of the other forming an opposite pair (`on`/`off`,
//!   `enable`/`disable`, `increase`/`decrease`, ...), or the same stem with a negating
//!   prefix (`lock`/`unlock`, `connect`/`disconnect`);
//! - **replaced words**: each question has a content word (not a stop word, compared by
//!   stem) that the other lacks. Reordering, other function words, or a word added on one
//!   side pass; a word swapped for another is how a one-word contradiction looks
//!   ("CX3CR1 … *promotes* T cell survival" / "… *impairs* …", SciFact claims at cosine
//!   0.984 retrieving the same passages), and nothing cheap tells it from a synonym swap
//!   ("due to" / "caused by"), so both are refused.
//!
//! It errs on the side of refusing: a refused paraphrase costs one generation, a wrong reuse
//! costs a wrong answer.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

/// Why two questions may not share an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// One is negated and the other is not (counts of negation cues differ).
    Negation,
    /// Different numbers, dates, months or weekdays.
    Number(String),
    /// A name-like word of one is missing from the other.
    Entity(String),
    /// Opposite words (`on`/`off`) or a negating prefix (`lock`/`unlock`).
    Polarity(String, String),
    /// A content word of each is missing from the other (stems shown).
    Replaced(String, String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Negation => f.write_str("one question is negated"),
            Difference::Number(n) => write!(f, "number or date `{n}` is in only one question"),
            Difference::Entity(e) => write!(f, "name `{e}` is in only one question"),
            Difference::Polarity(a, b) => write!(f, "opposite words `{a}` / `{b}`"),
            Difference::Replaced(a, b) => write!(f, "word `{a}` replaced by `{b}`"),
        }
    }
}

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without",
    "cannot", "cant", "dont", "doesnt", "isnt", "arent", "wasnt", "werent", "wont", "couldnt",
    "shouldnt", "wouldnt", "hasnt", "havent", "hadnt", "didnt", "mustnt", "neednt", "lack",
    "lacks", "lacking", "absent", "absence",
];

/// Opposite pairs, compared by stem (so `enabled`/`disabling` pair too).
const OPPOSITES: &[(&str, &str)] = &[
    ("on", "off"),
    ("enable", "disable"),
    ("activate", "deactivate"),
    ("start", "stop"),
    ("open", "close"),
    ("allow", "deny"),
    ("allow", "block"),
    ("permit", "forbid"),
    ("include", "exclude"),
    ("add", "remove"),
    ("add", "delete"),
    ("create", "delete"),
    ("increase", "decrease"),
    ("increase", "reduce"),
    ("raise", "lower"),
    ("rise", "fall"),
    ("more", "less"),
    ("more", "fewer"),
    ("most", "least"),
    ("maximum", "minimum"),
    ("max", "min"),
    ("high", "low"),
    ("higher", "lower"),
    ("highest", "lowest"),
    ("up", "down"),
    ("in", "out"),
    ("into", "out"),
    ("before", "after"),
    ("above", "below"),
    ("over", "under"),
    ("first", "last"),
    ("next", "previous"),
    ("next", "last"),
    ("early", "late"),
    ("earlier", "later"),
    ("past", "future"),
    ("yesterday", "tomorrow"),
    ("true", "false"),
    ("yes", "no"),
    ("positive", "negative"),
    ("success", "failure"),
    ("succeed", "fail"),
    ("pass", "fail"),
    ("accept", "reject"),
    ("win", "lose"),
    ("gain", "loss"),
    ("buy", "sell"),
    ("import", "export"),
    ("upload", "download"),
    ("login", "logout"),
    ("send", "receive"),
    ("push", "pull"),
    ("read", "write"),
    ("input", "output"),
    ("inside", "outside"),
    ("internal", "external"),
    ("show", "hide"),
    ("with", "without"),
    ("best", "worst"),
    ("better", "worse"),
    ("better", "poorer"),
    ("good", "bad"),
    ("good", "poor"),
    ("rich", "poor"),
    ("improve", "worsen"),
    ("accelerate", "delay"),
    ("cause", "prevent"),
    ("benign", "malignant"),
    ("acute", "chronic"),
    ("sensitive", "resistant"),
    ("susceptible", "resistant"),
    ("overexpression", "underexpression"),
    ("fast", "slow"),
    ("faster", "slower"),
    ("large", "small"),
    ("larger", "smaller"),
    ("big", "small"),
    ("long", "short"),
    ("longer", "shorter"),
    ("strong", "weak"),
    ("hot", "cold"),
    ("old", "new"),
    ("older", "newer"),
    ("oldest", "newest"),
    ("left", "right"),
    ("male", "female"),
    ("men", "women"),
    ("man", "woman"),
    ("promote", "inhibit"),
    ("promote", "suppress"),
    ("induce", "inhibit"),
    ("activate", "inhibit"),
    ("agonist", "antagonist"),
    ("upregulate", "downregulate"),
    ("benefit", "harm"),
    ("safe", "unsafe"),
    ("legal", "illegal"),
    ("always", "sometimes"),
    ("all", "some"),
    ("minor", "major"),
    ("junior", "senior"),
    ("encrypt", "decrypt"),
    ("mount", "unmount"),
    ("subscribe", "unsubscribe"),
    ("attach", "detach"),
    ("grant", "revoke"),
    ("approve", "reject"),
];

/// Prefixes that negate the stem they are put before.
const NEGATING_PREFIXES: &[&str] = &[
    "un", "dis", "non", "in", "im", "il", "ir", "de", "anti", "mis", "a",
];

const MONTHS: &[(&str, &str)] = &[
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may", "may"),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
];

const NUMBER_WORDS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

const ORDINALS: &[&str] = &[
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth",
];

/// The modal and auxiliary verbs questions are phrased with, on top of the English stop
/// words ([`lore_core::words::ENGLISH_STOP_WORDS`]): what may change between paraphrases.
const QUESTION_VERBS: &[&str] = &["may", "must", "ought", "shall", "please", "tell"];

fn is_stop_word(w: &str) -> bool {
    lore_core::words::ENGLISH_STOP_WORDS.contains(&w) || QUESTION_VERBS.contains(&w)
}

/// Words never taken as names even when capitalised mid-sentence.
const NOT_NAMES: &[&str] = &["i", "i'm", "i've", "i'd", "i'll"];

fn stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

fn stem(word: &str) -> String {
    stemmer().stem(word).into_owned()
}

fn opposite_stems() -> &'static [(String, String)] {
    static O: OnceLock<Vec<(String, String)>> = OnceLock::new();
    O.get_or_init(|| OPPOSITES.iter().map(|(a, b)| (stem(a), stem(b))).collect())
}

/// What the guard compares of one question.
#[derive(Debug, Default)]
struct Signature {
    negations: usize,
    numbers: BTreeSet<String>,
    /// Name-like words, lowercased.
    entities: BTreeSet<String>,
    /// Every word, lowercased (to look names up in).
    words: BTreeSet<String>,
    /// Stems of every word.
    stems: BTreeSet<String>,
    /// Stems of the content words (no stop words, numbers or negation cues).
    content: BTreeSet<String>,
}

fn normalize_number(word: &str) -> Option<String> {
    if word.chars().any(|c| c.is_ascii_digit()) && word.chars().all(|c| !c.is_alphabetic()) {
        // 1,000 / 3.50 / 007: compare the value's digits.
        let digits: String = word.chars().filter(|c| *c != ',').collect();
        let trimmed = digits.trim_start_matches('0');
        let trimmed = if trimmed.is_empty() || trimmed.starts_with('.') {
            "0"
        } else {
            trimmed
        };
        let trimmed = match trimmed.split_once('.') {
            Some((int, frac)) => {
                let frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    int.to_string()
                } else {
                    format!("{int}.{frac}")
                }
            }
            None => trimmed.to_string(),
        };
        return Some(trimmed);
    }
    let lower = word.to_lowercase();
    if let Some(i) = NUMBER_WORDS.iter().position(|w| *w == lower) {
        return Some(i.to_string());
    }
    if let Some(i) = ORDINALS.iter().position(|w| *w == lower) {
        return Some(format!("#{i}"));
    }
    // 1st, 2nd, 23rd, 4th.
    let (num, suffix) = lower.split_at(lower.find(|c: char| !c.is_ascii_digit())?);
    if !num.is_empty() && ["st", "nd", "rd", "th"].contains(&suffix) {
        return Some(format!("#{}", num.trim_start_matches('0')));
    }
    if let Some((full, _)) = MONTHS
        .iter()
        .find(|(full, short)| lower == *full || lower == *short)
    {
        // `may` the verb is lowercase; only a capitalised May is the month.
        if lower != "may" || word.starts_with('M') {
            return Some((*full).to_string());
        }
    }
    lore_core::words::WEEKDAYS
        .contains(&lower.as_str())
        .then(|| lower.to_string())
}

fn is_name_like(word: &str, sentence_start: bool) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 {
        return false;
    }
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    let inner_upper = chars.any(|c| c.is_uppercase());
    if has_digit || inner_upper {
        // p53, BRCA1, iPhone, NASA, IL.
        return true;
    }
    first.is_uppercase() && !sentence_start && !NOT_NAMES.contains(&word.to_lowercase().as_str())
}

impl Signature {
    fn of(text: &str) -> Signature {
        let mut sig = Signature::default();
        for sentence in text.unicode_sentences() {
            let mut start = true;
            for word in sentence.unicode_words() {
                let lower = word.to_lowercase();
                let bare: String = lower.chars().filter(|c| *c != '\'' && *c != '’').collect();
                let negation = NEGATIONS.contains(&bare.as_str()) || lower.ends_with("n't");
                if negation {
                    sig.negations += 1;
                }
                let number = normalize_number(word);
                let is_number = number.is_some();
                if let Some(n) = number {
                    sig.numbers.insert(n);
                } else if is_name_like(word, start) {
                    sig.entities.insert(lower.clone());
                }
                // `what's`, `system's`: the word without its clitic.
                let base = lower
                    .strip_suffix("'s")
                    .or_else(|| lower.strip_suffix("’s"))
                    .unwrap_or(&lower);
                let s = stem(base);
                if !negation && !is_number && !is_stop_word(base) {
                    sig.content.insert(s.clone());
                }
                sig.stems.insert(s);
                sig.words.insert(lower);
                start = false;
            }
        }
        sig
    }
}

/// Whether `a` and `b` may share an answer as far as their words tell: `Ok` or the first
/// difference found.
///
/// # Errors
/// The [`Difference`] that vetoes the pair.
pub fn compare(a: &str, b: &str) -> Result<(), Difference> {
    let (sa, sb) = (Signature::of(a), Signature::of(b));
    if sa.negations != sb.negations {
        return Err(Difference::Negation);
    }
    if let Some(n) = sa.numbers.symmetric_difference(&sb.numbers).next() {
        return Err(Difference::Number(n.clone()));
    }
    for (x, y) in [(&sa, &sb), (&sb, &sa)] {
        if let Some(e) = x.entities.iter().find(|e| !y.words.contains(*e)) {
            return Err(Difference::Entity(e.clone()));
        }
    }
    for (x, y) in [(&sa, &sb), (&sb, &sa)] {
        let only_x: Vec<&String> = x.stems.difference(&y.stems).collect();
        let only_y: Vec<&String> = y.stems.difference(&x.stems).collect();
        for (p, q) in opposite_stems() {
            if only_x.contains(&p) && only_y.contains(&q) {
                return Err(Difference::Polarity(p.clone(), q.clone()));
            }
        }
        for u in &only_x {
            for v in &only_y {
                if NEGATING_PREFIXES
                    .iter()
                    .any(|pre| v.len() > pre.len() + 2 && v.strip_prefix(pre) == Some(u.as_str()))
                {
                    return Err(Difference::Polarity((*u).clone(), (*v).clone()));
                }
            }
        }
    }
    let only_a = sa.content.difference(&sb.content).next();
    let only_b = sb.content.difference(&sa.content).next();
    if let (Some(a), Some(b)) = (only_a, only_b) {
        return Err(Difference::Replaced(a.clone(), b.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vetoed(a: &str, b: &str) -> bool {
        compare(a, b).is_err()
    }

    #[test]
    fn paraphrases_pass() {
        for (a, b) in [
            (
                "How do I rotate the API keys?",
                "How can I rotate the API keys?",
            ),
            (
                "What is the refund policy for annual plans?",
                "What's the refund policy for annual plans?",
            ),
            (
                "Which port does the Redis server listen on by default?",
                "By default, which port does the Redis server listen on?",
            ),
            (
                "0-dimensional biomaterials show inductive properties.",
                "Zero-dimensional biomaterials show inductive properties.",
            ),
            (
                "What did Alice say in the March meeting?",
                "In the March meeting, what did Alice say?",
            ),
            (
                "How do I turn the alarm off?",
                "How can I turn off the alarm?",
            ),
            (
                "AIRE is expressed in some skin tumors.",
                "AIRE is expressed in some tumors of the skin.",
            ),
            // A word added on one side only.
            (
                "Which port does Redis use?",
                "Which port does Redis use by default?",
            ),
        ] {
            assert_eq!(compare(a, b), Ok(()), "{a} / {b}");
        }
    }

    #[test]
    fn negation_is_vetoed() {
        assert_eq!(
            compare("Is the backup encrypted?", "Is the backup not encrypted?"),
            Err(Difference::Negation)
        );
        assert!(vetoed(
            "Why does the job run at night?",
            "Why doesn't the job run at night?"
        ));
        assert!(vetoed("Deploy with tests", "Deploy without tests"));
    }

    #[test]
    fn opposites_are_vetoed() {
        assert!(vetoed(
            "How do I turn the alarm off?",
            "How do I turn the alarm on?"
        ));
        assert!(vetoed("How do I enable SSO?", "How do I disable SSO?"));
        assert!(vetoed(
            "Does aspirin increase bleeding risk?",
            "Does aspirin decrease bleeding risk?"
        ));
        assert!(vetoed(
            "How to lock the account",
            "How to unlock the account"
        ));
        assert!(vetoed(
            "How do I connect the printer?",
            "How do I disconnect the printer?"
        ));
        assert!(vetoed(
            "Enabled features in the plan",
            "Disabled features in the plan"
        ));
    }

    #[test]
    fn replaced_words_are_vetoed() {
        // One-word contradictions from SciFact (same passages, cosine 0.98-0.99).
        for (a, b) in [
            (
                "CX3CR1 on the Th2 cells impairs T cell survival",
                "CX3CR1 on the Th2 cells promotes T cell survival",
            ),
            (
                "UCB T cells maintain high TCR diversity after transplantation.",
                "UCB T cells reduce TCR diversity after transplantation.",
            ),
            (
                "APOE4 expression increases tau phosphorylation, causing GABA neuron degeneration.",
                "APOE4 expression increases tau phosphorylation, delaying GABA neuron degeneration.",
            ),
        ] {
            assert!(
                matches!(compare(a, b), Err(Difference::Replaced(..))),
                "{a} / {b}: {:?}",
                compare(a, b)
            );
        }
        // The price: a synonym swap is refused too.
        assert!(vetoed(
            "5% of perinatal mortality is due to low birth weight.",
            "5% of perinatal mortality is caused by low birth weight."
        ));
    }

    #[test]
    fn numbers_and_dates_are_vetoed() {
        assert_eq!(
            compare("What was revenue in 2019?", "What was revenue in 2020?"),
            Err(Difference::Number("2019".into()))
        );
        assert!(vetoed("Top 5 risks", "Top 10 risks"));
        assert!(vetoed("the meeting on Monday", "the meeting on Tuesday"));
        assert!(vetoed("budget for March", "budget for April"));
        assert!(vetoed("the 3rd quarter", "the 4th quarter"));
        assert!(vetoed("version 1.2", "version 1.3"));
        assert_eq!(compare("two replicas", "2 replicas"), Ok(()));
        assert_eq!(compare("1,000 users", "1000 users"), Ok(()));
        assert_eq!(compare("We may go", "we may go"), Ok(()));
    }

    #[test]
    fn entities_are_vetoed() {
        assert_eq!(
            compare(
                "What is the capital of France?",
                "What is the capital of Germany?"
            ),
            Err(Difference::Entity("france".into()))
        );
        assert!(vetoed(
            "Does BRCA1 mutation raise cancer risk?",
            "Does BRCA2 mutation raise cancer risk?"
        ));
        assert!(vetoed(
            "What did Alice decide about pricing?",
            "What did Bob decide about pricing?"
        ));
        // The sentence's first word is not taken as a name.
        assert_eq!(
            compare("Where are logs written?", "where are logs written"),
            Ok(())
        );
    }
}
