//! L0 concepts of a meeting: key phrases and topics (runs of 1-3 content words that recur
//! across its segments), and entities: names (capitalised words inside a sentence),
//! products and acronyms (`LCD`, `iPhone`, `TV`), dates (month and weekday names, years)
//! and amounts (a number with a unit: `12.5 euros`, `25 %`). A concept's key is its kind
//! and its stemmed, lowercased words, so the same concept in two meetings is one memory.

use std::collections::{BTreeMap, HashMap, HashSet};

use lore_core::MemoryType;

/// Most concepts kept per meeting.
pub const MAX_CONCEPTS_PER_MEETING: usize = 40;
/// A key phrase must occur in at least this many segments of the meeting.
pub const MIN_PHRASE_SEGMENTS: usize = 2;

/// A concept's identity across meetings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConceptKey {
    /// Person, product, date, number or topic.
    pub kind: MemoryType,
    /// Stemmed lowercased words joined by spaces.
    pub key: String,
}

impl ConceptKey {
    /// The catalog's unique key: `kind:key`.
    pub fn storage_key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.key)
    }
}

/// A concept found in a meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundConcept {
    /// Identity.
    pub key: ConceptKey,
    /// The most frequent surface form (`battery`, `LCD screen`).
    pub label: String,
    /// Segments (indexes in the meeting) that mention it.
    pub segments: Vec<usize>,
}

const UNITS: &[&str] = &[
    "euro", "euros", "dollar", "dollars", "pound", "pounds", "percent", "%", "cents", "pence",
    "million", "billion", "thousand", "hours", "days", "weeks", "months", "years", "minutes",
];
/// Capitalised words that start many spoken sentences or are the pronoun "I": never names.
const NOT_NAMES: &[&str] = &[
    "I", "I'm", "I'll", "I've", "I'd", "OK", "Okay", "Yeah", "Yes", "No", "So", "And", "But", "Um",
    "Uh", "Hmm", "Mm", "Oh", "Well", "Right", "The", "A", "We", "You", "It", "That", "This",
    "Then", "Because", "If", "Or", "What", "How", "Why", "Which", "Who", "Mister", "Mr", "Mrs",
    "Ms", "Dr", "Chair", "Minister", "Thank", "Thanks", "Alright", "Just", "Like", "Sure", "Maybe",
    "Now", "There", "They", "He", "She", "Is", "Are", "Do", "Does", "Can", "Could", "Would",
    "Should", "Will", "Let's", "Let", "In", "On", "For", "With", "Also", "Actually", "Anyway",
    "Good", "Great", "Fine", "Cool", "Hi", "Hello", "Sorry", "Please", "Not", "Any", "All", "Some",
    "My", "Our", "Your", "Their", "His", "Her",
];

fn is_acronym(w: &str) -> bool {
    let letters = w.chars().filter(|c| c.is_alphabetic()).count();
    (2..=6).contains(&w.len())
        && letters >= 2
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && w != "I"
        && w != "OK"
}

fn is_inner_capital(w: &str) -> bool {
    let mut chars = w.chars();
    matches!(chars.next(), Some(c) if c.is_lowercase()) && chars.any(|c| c.is_uppercase())
}

/// Concepts in one segment's cleaned text: (key, surface form).
fn segment_concepts(text: &str) -> Vec<(ConceptKey, String)> {
    let mut out = Vec::new();
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"'))
        .filter(|t| !t.is_empty())
        .collect();
    let mut sentence_start = true;
    let mut run: Vec<&str> = Vec::new();
    let flush_run = |run: &mut Vec<&str>, out: &mut Vec<(ConceptKey, String)>| {
        // Topic candidates: every 1-3 word sub-run of content words.
        for len in 1..=3.min(run.len()) {
            for w in run.windows(len) {
                let key = w
                    .iter()
                    .map(|x| crate::text::stem(&x.to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(" ");
                if key.len() >= 3 {
                    out.push((
                        ConceptKey {
                            kind: MemoryType::Topic,
                            key,
                        },
                        w.join(" ").to_lowercase(),
                    ));
                }
            }
        }
        run.clear();
    };
    for (i, raw) in tokens.iter().enumerate() {
        let ends_sentence = raw.ends_with(['.', '?', '!']);
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '%' && c != '\'');
        if w.is_empty() {
            flush_run(&mut run, &mut out);
            sentence_start = ends_sentence || sentence_start;
            continue;
        }
        let lower = w.to_lowercase();
        // Amounts: a number followed by a unit.
        if w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            if let Some(next) = tokens.get(i + 1) {
                let unit = next
                    .trim_matches(|c: char| !c.is_alphanumeric() && c != '%')
                    .to_lowercase();
                if UNITS.contains(&unit.as_str()) {
                    let label = format!("{w} {unit}");
                    out.push((
                        ConceptKey {
                            kind: MemoryType::Number,
                            key: label.clone(),
                        },
                        label,
                    ));
                }
            }
            if w.len() == 4 && (w.starts_with("19") || w.starts_with("20")) {
                out.push((
                    ConceptKey {
                        kind: MemoryType::Date,
                        key: w.to_string(),
                    },
                    w.to_string(),
                ));
            }
        } else if lore_core::words::MONTHS.contains(&lower.as_str())
            && w.starts_with(char::is_uppercase)
            || lore_core::words::WEEKDAYS.contains(&lower.as_str())
        {
            out.push((
                ConceptKey {
                    kind: MemoryType::Date,
                    key: lower.clone(),
                },
                w.to_string(),
            ));
        } else if is_acronym(w) || is_inner_capital(w) {
            out.push((
                ConceptKey {
                    kind: MemoryType::Product,
                    key: lower.clone(),
                },
                w.to_string(),
            ));
        } else if !sentence_start
            && w.starts_with(char::is_uppercase)
            && w.chars().skip(1).all(|c| c.is_lowercase())
            && w.len() > 2
            && !NOT_NAMES.contains(&w)
        {
            out.push((
                ConceptKey {
                    kind: MemoryType::Person,
                    key: lower.clone(),
                },
                w.to_string(),
            ));
        }
        if crate::text::is_stop_word(&lower) || lower.chars().all(|c| c.is_ascii_digit()) {
            flush_run(&mut run, &mut out);
        } else {
            run.push(w);
        }
        if ends_sentence {
            flush_run(&mut run, &mut out);
        }
        sentence_start = ends_sentence;
    }
    flush_run(&mut run, &mut out);
    out
}

/// The concepts of a meeting from its segments' cleaned texts, strongest first: entities
/// mentioned in 2+ segments (dates and amounts in 1+), and key phrases in
/// [`MIN_PHRASE_SEGMENTS`]+ segments but under half of them (a phrase everywhere says
/// nothing), ranked by segments × words (longer phrases are more specific); a phrase
/// inside a longer kept phrase with the same segments is dropped. At most
/// [`MAX_CONCEPTS_PER_MEETING`].
pub fn meeting_concepts(segments: &[String]) -> Vec<FoundConcept> {
    let mut seen: HashMap<ConceptKey, (BTreeMap<String, usize>, Vec<usize>)> = HashMap::new();
    for (i, text) in segments.iter().enumerate() {
        let mut in_segment = HashSet::new();
        for (key, surface) in segment_concepts(text) {
            let e = seen.entry(key.clone()).or_default();
            *e.0.entry(surface).or_insert(0) += 1;
            if in_segment.insert(key) {
                e.1.push(i);
            }
        }
    }
    // A name said at the start of a sentence reads as a topic word: fold those mentions
    // into the entity ("Fred says …" and "… to Fred").
    let entity_keys: Vec<ConceptKey> = seen
        .keys()
        .filter(|k| matches!(k.kind, MemoryType::Person | MemoryType::Product))
        .cloned()
        .collect();
    for ek in entity_keys {
        let topic = ConceptKey {
            kind: MemoryType::Topic,
            key: crate::text::stem(&ek.key),
        };
        if let Some((_, segs)) = seen.remove(&topic) {
            if let Some(e) = seen.get_mut(&ek) {
                e.1.extend(segs);
                e.1.sort_unstable();
                e.1.dedup();
            }
        }
    }
    let n = segments.len();
    let mut kept: Vec<(f32, FoundConcept)> = seen
        .into_iter()
        .filter_map(|(key, (surfaces, segs))| {
            let min = match key.kind {
                MemoryType::Date | MemoryType::Number => 1,
                MemoryType::Topic => MIN_PHRASE_SEGMENTS,
                _ => 2,
            };
            if segs.len() < min {
                return None;
            }
            let words = key.key.split(' ').count();
            if key.kind == MemoryType::Topic
                && (segs.len() * 2 > n.max(4) || words == 1 && key.key.len() < 4)
            {
                return None;
            }
            let score = segs.len() as f32
                * match key.kind {
                    MemoryType::Topic => words as f32,
                    _ => 2.0,
                };
            let label = surfaces
                .iter()
                .max_by_key(|(s, c)| (**c, std::cmp::Reverse((*s).clone())))
                .map(|(s, _)| s.clone())
                .unwrap_or_default();
            Some((
                score,
                FoundConcept {
                    key,
                    label,
                    segments: segs,
                },
            ))
        })
        .collect();
    kept.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
    let mut out: Vec<FoundConcept> = Vec::new();
    for (_, c) in kept {
        if out.len() >= MAX_CONCEPTS_PER_MEETING {
            break;
        }
        let subsumed = c.key.kind == MemoryType::Topic
            && out.iter().any(|o| {
                o.key.kind == MemoryType::Topic
                    && o.segments == c.segments
                    && format!(" {} ", o.key.key).contains(&format!(" {} ", c.key.key))
            });
        if !subsumed {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_phrases_entities_dates_and_amounts() {
        let segs = vec![
            "The LCD screen costs 12 euros. We talked to Fred about the kinetic battery."
                .to_string(),
            "Fred says the LCD screen is nice. Kinetic battery again, by Friday.".to_string(),
            "Something else entirely here.".to_string(),
            "Nothing related at all.".to_string(),
            "Completely different words.".to_string(),
        ];
        let found = meeting_concepts(&segs);
        let has = |kind: MemoryType, key: &str| {
            found
                .iter()
                .find(|c| c.key.kind == kind && c.key.key == key)
                .map(|c| c.segments.clone())
        };
        assert_eq!(has(MemoryType::Product, "lcd"), Some(vec![0, 1]));
        assert_eq!(has(MemoryType::Person, "fred"), Some(vec![0, 1]));
        assert_eq!(has(MemoryType::Number, "12 euros"), Some(vec![0]));
        assert_eq!(has(MemoryType::Date, "friday"), Some(vec![1]));
        assert_eq!(has(MemoryType::Topic, "kinet batteri"), Some(vec![0, 1]));
        assert!(
            has(MemoryType::Topic, "batteri").is_none(),
            "inside `kinetic battery`"
        );
        let label = found.iter().find(|c| c.key.key == "kinet batteri").unwrap();
        assert_eq!(label.label, "kinetic battery");
    }
}
