//! Segmentation of a transcript into episodic memories: runs of consecutive turns, cut
//! where the topic shifts or the speaker changes once a segment is long enough.
//!
//! The topic shift test is TextTiling's (Hearst 1997, "TextTiling: Segmenting Text into
//! Multi-paragraph Subtopic Passages"): the cosine between the term frequencies of the
//! turns just before and just after a boundary; a low value is a shift. Sizes are in words
//! of cleaned text. Segments of ~80-120 words hold 4-6 AMI turns: small enough that a
//! 1,000-token context holds eight or more of them, large enough to carry a topic.

use std::collections::HashMap;

/// Segmentation sizes and threshold.
#[derive(Debug, Clone, Copy)]
pub struct SegmentConfig {
    /// A segment is not cut before this many words (unless the transcript ends).
    pub min_words: usize,
    /// Past this many words a speaker change is a cut.
    pub target_words: usize,
    /// A segment is always cut past this many words.
    pub max_words: usize,
    /// Turns on each side compared by the topic-shift test.
    pub window_turns: usize,
    /// Cosine of the two windows' term frequencies below which a boundary is a topic shift.
    pub shift_threshold: f32,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            min_words: 50,
            target_words: 90,
            max_words: 160,
            window_turns: 4,
            shift_threshold: 0.08,
        }
    }
}

/// A segment: turns `start..=end` of the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// First turn, 0-based.
    pub start: usize,
    /// Last turn, inclusive.
    pub end: usize,
}

/// One turn as segmentation sees it.
#[derive(Debug, Clone)]
pub struct TurnText<'a> {
    /// Speaker.
    pub speaker: &'a str,
    /// Words in the cleaned text.
    pub words: usize,
    /// Content terms (stems).
    pub terms: Vec<String>,
}

fn tf<'a>(turns: &'a [TurnText<'_>]) -> HashMap<&'a str, f32> {
    let mut m = HashMap::new();
    for t in turns {
        for term in &t.terms {
            *m.entry(term.as_str()).or_insert(0.0) += 1.0;
        }
    }
    m
}

/// Cosine of two term-frequency maps (0 when either is empty).
pub fn tf_cosine(a: &HashMap<&str, f32>, b: &HashMap<&str, f32>) -> f32 {
    let dot: f32 = a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum();
    let na: f32 = a.values().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.values().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Splits `turns` into segments covering every turn once, in order.
pub fn segment(turns: &[TurnText<'_>], cfg: &SegmentConfig) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    if turns.is_empty() {
        return out;
    }
    let mut start = 0;
    let mut words = 0;
    for i in 0..turns.len() {
        // A long monologue stands alone rather than swallowing its neighbours.
        if turns[i].words >= cfg.max_words && i > start && words >= cfg.min_words / 2 {
            out.push(Segment { start, end: i - 1 });
            start = i;
            words = 0;
        }
        words += turns[i].words;
        let last = i + 1 == turns.len();
        if last {
            break;
        }
        let cut = if words >= cfg.max_words {
            true
        } else if words >= cfg.min_words {
            let before = tf(&turns[i.saturating_sub(cfg.window_turns - 1).max(start)..=i]);
            let after = tf(&turns[i + 1..(i + 1 + cfg.window_turns).min(turns.len())]);
            let shift = tf_cosine(&before, &after) < cfg.shift_threshold;
            let speaker_change = turns[i + 1].speaker != turns[i].speaker;
            shift || (words >= cfg.target_words && speaker_change)
        } else {
            false
        };
        if cut {
            out.push(Segment { start, end: i });
            start = i + 1;
            words = 0;
        }
    }
    // A short tail joins the segment before it.
    match out.last_mut() {
        Some(prev) if words < cfg.min_words / 2 => prev.end = turns.len() - 1,
        _ => out.push(Segment {
            start,
            end: turns.len() - 1,
        }),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::terms;

    fn turn<'a>(speaker: &'a str, text: &str) -> TurnText<'a> {
        TurnText {
            speaker,
            words: text.split_whitespace().count(),
            terms: terms(text),
        }
    }

    #[test]
    fn cuts_at_the_topic_shift_and_covers_every_turn() {
        let battery =
            "the battery must last a year and the battery charger docks the remote battery";
        let colour = "the colour scheme should be yellow fruit shapes bright colour for the case";
        let mut turns = Vec::new();
        for i in 0..6 {
            turns.push(turn(if i % 2 == 0 { "A" } else { "B" }, battery));
        }
        for i in 0..6 {
            turns.push(turn(if i % 2 == 0 { "C" } else { "B" }, colour));
        }
        let cfg = SegmentConfig {
            min_words: 30,
            target_words: 200,
            max_words: 400,
            ..SegmentConfig::default()
        };
        let segs = segment(&turns, &cfg);
        assert_eq!(
            segs,
            vec![Segment { start: 0, end: 5 }, Segment { start: 6, end: 11 }]
        );
    }

    #[test]
    fn long_segments_are_cut_at_speaker_changes_and_max() {
        let t = "word ".repeat(30);
        let turns: Vec<_> = (0..20)
            .map(|i| turn(if i % 3 == 0 { "A" } else { "B" }, &t))
            .collect();
        let segs = segment(&turns, &SegmentConfig::default());
        assert_eq!(segs.first().unwrap().start, 0);
        assert_eq!(segs.last().unwrap().end, 19);
        for w in segs.windows(2) {
            assert_eq!(w[0].end + 1, w[1].start, "contiguous and disjoint");
        }
        for s in &segs {
            let words = (s.end - s.start + 1) * 30;
            assert!(words <= SegmentConfig::default().max_words + 30, "{s:?}");
        }
    }

    #[test]
    fn a_short_tail_joins_the_previous_segment() {
        let long = "alpha ".repeat(100);
        let turns = vec![turn("A", &long), turn("B", "ok fine")];
        let segs = segment(&turns, &SegmentConfig::default());
        assert_eq!(segs, vec![Segment { start: 0, end: 1 }]);
    }
}
