//! Cognitive features of an episodic memory and its type, from cue words and the
//! meeting's structure. Every feature is in [0, 1]; the formulas:
//!
//! | feature | formula |
//! |---|---|
//! | urgency | 1 − e^(−0.7·n), n = urgency cues (`urgent`, `asap`, `immediately`, `deadline`, …) |
//! | deadline_proximity | the nearest deadline cue: `today`/`minutes` 1.0, `tomorrow` 0.9, `this week`/weekday 0.7, `next meeting` 0.6, `next week` 0.5, `next month` 0.3, `next year` 0.1; none 0 |
//! | sequence_position | i / (n − 1) for segment i of n (0 when n = 1) |
//! | duration | √(share of the meeting): time share when timestamps exist, else word share |
//! | sentiment | 0.5 + 0.5·(p − q)/(p + q + 1), p and q positive and negative cue words |
//! | intensity | min(1, 10·(exclamations + intensifiers + p + q)/words) |
//! | confidence | (c + 1)/(c + h + 2): certainty cues c against hedges h (Laplace-smoothed; 0.5 with neither) |
//! | authority | share of the segment's words spoken by the meeting's lead (a manager/chair role, else the speaker with most words) |
//! | audience_relevance | distinct speakers in the segment / participants of the meeting |
//! | interaction | speaker changes / (turns − 1) (0 for one turn) |
//! | causal | 1 − e^(−0.8·n), n = causal cues (`because`, `so we`, `therefore`, `decided`, …) |
//! | evolutionary | share of the segment's distinct content terms already said earlier in the meeting |
//!
//! The saturating forms (1 − e^(−kn)) make one cue count and several count more without a
//! cap to tune; k sets how fast: 0.7 puts two cues at 0.75.

use std::collections::HashSet;

use lore_core::{CognitiveFeatures, MemoryType};

/// What the features of one segment are computed from.
#[derive(Debug, Clone)]
pub struct SegmentContext<'a> {
    /// (speaker, cleaned text) of each turn of the segment.
    pub turns: &'a [(&'a str, &'a str)],
    /// Index of the segment in the meeting, 0-based.
    pub index: usize,
    /// Segments in the meeting.
    pub count: usize,
    /// The segment's share of the meeting in [0, 1] (time, else words).
    pub share: f32,
    /// The meeting's lead speaker.
    pub lead: &'a str,
    /// Participants in the meeting.
    pub participants: usize,
    /// Content terms said before this segment in the meeting.
    pub earlier_terms: &'a HashSet<String>,
}

const URGENCY: &[&str] = &[
    "urgent",
    "urgently",
    "asap",
    "immediately",
    "quickly",
    "deadline",
    "soon",
    "hurry",
    "priority",
    "critical",
    "crucial",
    "now",
    "straight away",
    "right away",
    "as soon as",
];
const POSITIVE: &[&str] = &[
    "good",
    "great",
    "nice",
    "like",
    "love",
    "excellent",
    "agree",
    "agreed",
    "happy",
    "fine",
    "perfect",
    "best",
    "better",
    "cool",
    "interesting",
    "fantastic",
    "brilliant",
    "wonderful",
    "useful",
    "easy",
    "fun",
    "glad",
    "pleased",
    "success",
    "works",
];
const NEGATIVE: &[&str] = &[
    "bad",
    "problem",
    "problems",
    "issue",
    "issues",
    "hate",
    "difficult",
    "wrong",
    "worse",
    "worst",
    "expensive",
    "concern",
    "concerned",
    "worried",
    "worry",
    "risk",
    "fail",
    "failed",
    "unfortunately",
    "annoying",
    "hard",
    "confusing",
    "broken",
    "lose",
    "lost",
    "unhappy",
];
const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "extremely",
    "absolutely",
    "totally",
    "completely",
    "so",
    "incredibly",
    "highly",
    "definitely",
];
const CERTAIN: &[&str] = &[
    "definitely",
    "certainly",
    "sure",
    "clearly",
    "obviously",
    "absolutely",
    "always",
    "must",
    "will",
    "know",
    "decided",
    "agreed",
    "exactly",
    "of course",
];
const HEDGES: &[&str] = &[
    "maybe",
    "perhaps",
    "possibly",
    "might",
    "probably",
    "guess",
    "think",
    "not sure",
    "suppose",
    "could",
    "unsure",
    "seems",
    "kind of",
    "sort of",
    "i don't know",
];
const CAUSAL: &[&str] = &[
    "because",
    "therefore",
    "thus",
    "hence",
    "since",
    "so we",
    "so that",
    "due to",
    "as a result",
    "that's why",
    "which means",
    "decided",
    "consequently",
    "leads to",
    "in order to",
    "reason",
];

/// Counts cue matches in lowercased `text`: single words by word, phrases by substring.
fn count(words: &[String], lower: &str, cues: &[&str]) -> usize {
    cues.iter()
        .map(|c| {
            if c.contains(' ') {
                lower.matches(c).count()
            } else {
                words.iter().filter(|w| w == c).count()
            }
        })
        .sum()
}

fn saturate(n: usize, k: f32) -> f32 {
    1.0 - (-k * n as f32).exp()
}

fn deadline(lower: &str, words: &[String]) -> f32 {
    let has = |w: &str| words.iter().any(|x| x == w);
    let phrases: &[(&str, f32)] = &[
        ("next year", 0.1),
        ("next month", 0.3),
        ("end of the month", 0.3),
        ("next week", 0.5),
        ("next meeting", 0.6),
        ("this week", 0.7),
        ("end of the week", 0.7),
        ("end of the day", 1.0),
    ];
    let mut best: f32 = 0.0;
    for (p, v) in phrases {
        if lower.contains(p) {
            best = best.max(*v);
        }
    }
    for (w, v) in [
        ("today", 1.0),
        ("tonight", 1.0),
        ("minutes", 1.0),
        ("tomorrow", 0.9),
        ("monday", 0.7),
        ("tuesday", 0.7),
        ("wednesday", 0.7),
        ("thursday", 0.7),
        ("friday", 0.7),
    ] {
        if has(w) {
            best = best.max(v);
        }
    }
    best
}

/// The features of one segment (formulas in the module docs).
pub fn features(ctx: &SegmentContext<'_>) -> CognitiveFeatures {
    let text: String = ctx
        .turns
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join(" ");
    let lower = text.to_lowercase();
    let words: Vec<String> = crate::text::words(&lower).collect();
    let n_words = words.len().max(1) as f32;
    let p = count(&words, &lower, POSITIVE);
    let q = count(&words, &lower, NEGATIVE);
    let excl = text.matches('!').count();
    let intens = count(&words, &lower, INTENSIFIERS);
    let c = count(&words, &lower, CERTAIN);
    let h = count(&words, &lower, HEDGES);

    let lead_words: usize = ctx
        .turns
        .iter()
        .filter(|(s, _)| *s == ctx.lead)
        .map(|(_, t)| t.split_whitespace().count())
        .sum();
    let all_words: usize = ctx
        .turns
        .iter()
        .map(|(_, t)| t.split_whitespace().count())
        .sum();
    let speakers: HashSet<&str> = ctx.turns.iter().map(|(s, _)| *s).collect();
    let changes = ctx.turns.windows(2).filter(|w| w[0].0 != w[1].0).count();
    let terms: HashSet<String> = crate::text::terms(&text).into_iter().collect();
    let repeated = terms
        .iter()
        .filter(|t| ctx.earlier_terms.contains(*t))
        .count();

    CognitiveFeatures {
        urgency: saturate(count(&words, &lower, URGENCY), 0.7),
        deadline_proximity: deadline(&lower, &words),
        sequence_position: if ctx.count > 1 {
            ctx.index as f32 / (ctx.count - 1) as f32
        } else {
            0.0
        },
        duration: ctx.share.clamp(0.0, 1.0).sqrt(),
        sentiment: 0.5 + 0.5 * (p as f32 - q as f32) / (p + q + 1) as f32,
        intensity: (10.0 * (excl + intens + p + q) as f32 / n_words).min(1.0),
        confidence: (c + 1) as f32 / (c + h + 2) as f32,
        authority: if all_words == 0 {
            0.0
        } else {
            lead_words as f32 / all_words as f32
        },
        audience_relevance: (speakers.len() as f32 / ctx.participants.max(1) as f32).min(1.0),
        interaction: if ctx.turns.len() > 1 {
            changes as f32 / (ctx.turns.len() - 1) as f32
        } else {
            0.0
        },
        causal: saturate(count(&words, &lower, CAUSAL), 0.8),
        evolutionary: if terms.is_empty() {
            0.0
        } else {
            repeated as f32 / terms.len() as f32
        },
    }
}

const DECISION: &[&str] = &[
    "decided",
    "decide",
    "decision",
    "agreed",
    "we'll go with",
    "let's go with",
    "go for",
    "settled",
    "we will use",
    "we'll use",
    "final",
    "conclusion",
    "we're going with",
    "go with",
];
const ACTION: &[&str] = &[
    "action item",
    "you will",
    "you'll",
    "need to",
    "needs to",
    "have to",
    "to do",
    "send",
    "by next",
    "look into",
    "make sure",
    "homework",
    "task",
    "assignment",
    "prepare",
];
const COMMIT: &[&str] = &[
    "i will",
    "i'll",
    "i can do",
    "i'm going to",
    "promise",
    "i'll take care",
    "i can send",
    "i'll send",
    "i'll do",
];
const RISK: &[&str] = &[
    "risk",
    "concern",
    "concerned",
    "worried",
    "worry",
    "problem",
    "issue",
    "expensive",
    "danger",
    "dangerous",
    "difficult",
    "afford",
    "too much",
    "budget",
    "fail",
];
const IDEA: &[&str] = &[
    "what if",
    "we could",
    "how about",
    "idea",
    "suggest",
    "suggestion",
    "propose",
    "could be",
    "why don't we",
    "what about",
    "alternatively",
];

/// The type of a segment by rules: the type whose cues occur most (ties in the order
/// decision, action item, commitment, risk, idea); a question when at least 40% of its
/// turns (two or more) end with `?` and no other cue occurs; else a statement.
pub fn classify(turns: &[(&str, &str)]) -> MemoryType {
    let text: String = turns.iter().map(|(_, t)| *t).collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    let words: Vec<String> = crate::text::words(&lower).collect();
    let scored = [
        (MemoryType::Decision, count(&words, &lower, DECISION)),
        (MemoryType::ActionItem, count(&words, &lower, ACTION)),
        (MemoryType::Commitment, count(&words, &lower, COMMIT)),
        (MemoryType::Risk, count(&words, &lower, RISK)),
        (MemoryType::Idea, count(&words, &lower, IDEA)),
    ];
    let mut best = (MemoryType::Statement, 0);
    for (t, n) in scored {
        if n > best.1 {
            best = (t, n);
        }
    }
    if best.1 > 0 {
        return best.0;
    }
    let questions = turns
        .iter()
        .filter(|(_, t)| t.trim_end().ends_with('?'))
        .count();
    if questions >= 2 && questions * 10 >= turns.len() * 4 {
        MemoryType::Question
    } else {
        MemoryType::Statement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(
        turns: &'a [(&'a str, &'a str)],
        earlier: &'a HashSet<String>,
    ) -> SegmentContext<'a> {
        SegmentContext {
            turns,
            index: 1,
            count: 3,
            share: 0.25,
            lead: "PM",
            participants: 4,
            earlier_terms: earlier,
        }
    }

    #[test]
    fn each_feature_follows_its_formula() {
        let none = HashSet::new();
        let calm = [
            ("PM", "We looked at the figures."),
            ("ID", "The figures are there."),
        ];
        let f = features(&ctx(&calm, &none));
        assert_eq!(f.urgency, 0.0);
        assert_eq!(f.deadline_proximity, 0.0);
        assert_eq!(f.sequence_position, 0.5);
        assert!((f.duration - 0.5).abs() < 1e-6, "sqrt(0.25)");
        assert_eq!(f.sentiment, 0.5);
        assert_eq!(f.confidence, 0.5);
        assert!(
            (f.authority - 5.0 / 9.0).abs() < 1e-6,
            "5 of 9 words by the lead"
        );
        assert_eq!(f.audience_relevance, 0.5);
        assert_eq!(f.interaction, 1.0);
        assert_eq!(f.causal, 0.0);
        assert_eq!(f.evolutionary, 0.0);

        let earlier: HashSet<String> = crate::text::terms("battery figures").into_iter().collect();
        let hot = [
            ("PM", "This is urgent, we need it today! Definitely, because the battery is a great problem."),
            ("PM", "Urgent again."),
        ];
        let f = features(&ctx(&hot, &earlier));
        assert!(
            (f.urgency - (1.0 - (-1.4f32).exp())).abs() < 1e-6,
            "two urgency cues"
        );
        assert_eq!(f.deadline_proximity, 1.0);
        assert_eq!(
            f.sentiment, 0.5,
            "one positive (great) and one negative (problem)"
        );
        assert!(f.intensity > 0.0);
        assert!(
            (f.confidence - 2.0 / 3.0).abs() < 1e-6,
            "one certainty cue, no hedge"
        );
        assert_eq!(f.authority, 1.0);
        assert_eq!(f.audience_relevance, 0.25);
        assert_eq!(f.interaction, 0.0);
        assert!((f.causal - (1.0 - (-0.8f32).exp())).abs() < 1e-6);
        assert!(f.evolutionary > 0.0 && f.evolutionary < 1.0);
        for v in [f.urgency, f.intensity, f.causal, f.evolutionary, f.duration] {
            assert!((0.0..=1.0).contains(&v));
        }
        let hedged = [("A", "Maybe, perhaps we might.")];
        assert!((features(&ctx(&hedged, &none)).confidence - 0.2).abs() < 1e-6);
        let sad = [("A", "A bad problem.")];
        assert!(features(&ctx(&sad, &none)).sentiment < 0.5);
        let next = [("A", "Let us finish by next week.")];
        assert_eq!(features(&ctx(&next, &none)).deadline_proximity, 0.5);
    }

    #[test]
    fn rules_name_the_type() {
        assert_eq!(
            classify(&[("PM", "So we decided to go with the kinetic battery.")]),
            MemoryType::Decision
        );
        assert_eq!(
            classify(&[(
                "PM",
                "You'll send the report, that is an action item for you."
            )]),
            MemoryType::ActionItem
        );
        assert_eq!(classify(&[("A", "I'll do it.")]), MemoryType::Commitment);
        assert_eq!(
            classify(&[("A", "I am worried the case is too expensive.")]),
            MemoryType::Risk
        );
        assert_eq!(
            classify(&[("A", "What if it glowed in the dark?")]),
            MemoryType::Idea
        );
        assert_eq!(
            classify(&[
                ("A", "Who buys this?"),
                ("B", "Which colour?"),
                ("C", "Hmm.")
            ]),
            MemoryType::Question
        );
        assert_eq!(
            classify(&[("A", "The room is blue.")]),
            MemoryType::Statement
        );
    }
}
