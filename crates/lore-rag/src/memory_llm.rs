//! An LLM types episodic memories and summarises semantic (L1) clusters at ingest, when
//! `[memory] llm` names one; the rules ([`lore_memory::features::classify`]) and the
//! extractive summary ([`lore_memory::build::summarize`]) stay the default and the
//! fallback.
//!
//! Types come back as strict JSON (`{"types": [...]}`, one per segment, each from the
//! closed list) through OpenAI's `response_format` with a JSON schema, which vLLM,
//! llama.cpp's server and OpenAI enforce while decoding; the output is validated here
//! anyway (count and values), since a server may ignore the schema. Segments go in batches
//! sized to the model's context window, so a 100-segment meeting is a dozen calls, not a
//! hundred. A failed call or unusable output leaves its segments to the rules; after a
//! call that failed to reach the model, the rest of the meeting skips the LLM rather than
//! wait out one timeout per batch.

use std::sync::Arc;

use lore_core::memory::{MemoryLevel, MemoryType};
use lore_llm::{ChatMessage, GenerateRequest, Generator, LlmError};
use lore_memory::{MeetingBuild, Plan};
use serde::Serialize;
use serde_json::{json, Value};

/// The L2 types an LLM may give (L1 and L0 types are not segment labels).
const SEGMENT_TYPES: [MemoryType; 7] = [
    MemoryType::Decision,
    MemoryType::ActionItem,
    MemoryType::Question,
    MemoryType::Commitment,
    MemoryType::Risk,
    MemoryType::Idea,
    MemoryType::Statement,
];

/// Segments per classification call, at most.
const BATCH_SEGMENTS: usize = 8;
/// Words of a segment shown to the classifier: segments are at most 160 words
/// ([`lore_memory::SegmentConfig`]); the head carries the cue in practice and keeps eight
/// segments inside a 2,048-token window.
const SEGMENT_WORDS: usize = 120;
/// Members of a cluster shown to the summariser, and words of each.
const SUMMARY_MEMBERS: usize = 6;
const MEMBER_WORDS: usize = 100;
/// Tokens a summary may take (two sentences).
const SUMMARY_TOKENS: usize = 96;
/// Tokens a batch's answer may take: `{"types": [` plus about 6 tokens a label.
fn types_tokens(n: usize) -> usize {
    16 + 8 * n
}

const CLASSIFY_SYSTEM: &str = "You label segments of a meeting transcript by what they do. \
Types: decision (something was decided or agreed), action_item (someone is to do a task), \
question (a question asked and left open for others), commitment (a speaker commits to do something), \
risk (a risk, problem or concern is raised), idea (a proposal or suggestion), \
statement (none of these). Answer with JSON only: {\"types\": [one type per segment, in order]}.";

const SUMMARY_SYSTEM: &str = "You summarise a group of related excerpts from a meeting \
transcript in one or two sentences: what was discussed or decided, and by whom (use the \
speaker names as given). Answer with the summary only.";

/// What the LLM did for one meeting (in the ingest report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MemoryLlmUse {
    /// The model that labelled and summarised.
    pub model: String,
    /// Episodic memories typed by the LLM (the rest by the rules).
    pub typed: usize,
    /// Clusters summarised by the LLM (the rest extractively).
    pub summarized: usize,
    /// Calls that failed or gave unusable output; their memories fell back to the rules or
    /// the extractive summary.
    pub failed_calls: usize,
}

/// Why one LLM call gave nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum MemoryLlmError {
    /// The generator failed (unreachable, timeout, HTTP error).
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The output is not what was asked for.
    #[error("unusable LLM output: {0}")]
    Output(String),
}

/// Types and summaries from one generator.
pub struct MemoryLlm {
    generator: Arc<dyn Generator>,
}

impl MemoryLlm {
    /// Wraps `generator`.
    pub fn new(generator: Arc<dyn Generator>) -> Self {
        MemoryLlm { generator }
    }

    /// Sets `plan.labels` from the LLM, batch by batch; returns the use so far.
    pub fn label(&self, plan: &mut Plan) -> MemoryLlmUse {
        let mut used = MemoryLlmUse {
            model: self.generator.model(),
            ..MemoryLlmUse::default()
        };
        let texts: Vec<String> = plan
            .texts
            .iter()
            .map(|t| head_words(t, SEGMENT_WORDS))
            .collect();
        plan.labels = vec![None; texts.len()];
        let window = self.generator.context_window();
        let overhead = self.generator.count_tokens(CLASSIFY_SYSTEM) + 64;
        let mut start = 0;
        while start < texts.len() {
            // As many segments as fit the window with their answer, at most BATCH_SEGMENTS.
            let mut end = start;
            let mut tokens = overhead;
            while end < texts.len() && end - start < BATCH_SEGMENTS {
                let t = self.generator.count_tokens(&texts[end]) + 8;
                if end > start && tokens + t + types_tokens(end + 1 - start) > window {
                    break;
                }
                tokens += t;
                end += 1;
            }
            match self.classify(&texts[start..end]) {
                Ok(types) => {
                    used.typed += types.len();
                    for (slot, t) in plan.labels[start..end].iter_mut().zip(types) {
                        *slot = Some(t);
                    }
                }
                Err(e) => {
                    used.failed_calls += 1;
                    tracing::warn!(error = %e, segments = end - start, "memory LLM labelling failed; the rules type these segments");
                    if matches!(e, MemoryLlmError::Llm(_)) {
                        return used;
                    }
                }
            }
            start = end;
        }
        used
    }

    /// Replaces the extractive summaries of `built`'s clusters with the LLM's; a failed
    /// call keeps the extractive one. Adds to `used`.
    pub fn summarize_clusters(&self, built: &mut MeetingBuild, used: &mut MemoryLlmUse) {
        let window = self.generator.context_window();
        let budget = window
            .saturating_sub(self.generator.count_tokens(SUMMARY_SYSTEM) + 64 + SUMMARY_TOKENS);
        for (cluster, members) in built.clusters() {
            // Members in spoken order while they fit the window (the first always).
            let mut texts: Vec<String> = Vec::new();
            let mut tokens = 0;
            for &m in members.iter().take(SUMMARY_MEMBERS) {
                let Some((memory, _)) = built.memories.get(m) else {
                    continue;
                };
                let text = head_words(&memory.content, MEMBER_WORDS);
                let t = self.generator.count_tokens(&text) + 4;
                if !texts.is_empty() && tokens + t > budget {
                    break;
                }
                tokens += t;
                texts.push(text);
            }
            match self.summarize(&texts) {
                Ok(summary) => {
                    if let Some((m, _)) = built.memories.get_mut(cluster) {
                        debug_assert_eq!(m.level, MemoryLevel::Semantic);
                        m.content = summary;
                        used.summarized += 1;
                    }
                }
                Err(e) => {
                    used.failed_calls += 1;
                    tracing::warn!(error = %e, "memory LLM summary failed; the extractive summary stays");
                    if matches!(e, MemoryLlmError::Llm(_)) {
                        return;
                    }
                }
            }
        }
    }

    /// One type per segment text.
    ///
    /// # Errors
    /// [`MemoryLlmError`]: the call failed, or the output is not `{"types": [...]}` with one
    /// known type per segment.
    pub fn classify(&self, segments: &[String]) -> Result<Vec<MemoryType>, MemoryLlmError> {
        let mut user = String::new();
        for (i, s) in segments.iter().enumerate() {
            user.push_str(&format!("Segment {}:\n{s}\n\n", i + 1));
        }
        user.push_str(&format!(
            "Give the {} types as JSON: {{\"types\": [...]}}.",
            segments.len()
        ));
        let text = self.call(
            vec![
                ChatMessage::system(CLASSIFY_SYSTEM),
                ChatMessage::user(user),
            ],
            types_tokens(segments.len()),
            Some(types_schema(segments.len())),
        )?;
        parse_types(&text, segments.len())
    }

    /// A one- or two-sentence summary of member texts.
    ///
    /// # Errors
    /// [`MemoryLlmError`]: the call failed or returned no text.
    pub fn summarize(&self, members: &[String]) -> Result<String, MemoryLlmError> {
        let mut user = String::from("Excerpts:\n\n");
        for m in members {
            user.push_str(m);
            user.push_str("\n\n");
        }
        user.push_str("Summary:");
        let text = self.call(
            vec![ChatMessage::system(SUMMARY_SYSTEM), ChatMessage::user(user)],
            SUMMARY_TOKENS,
            None,
        )?;
        let summary = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if summary.len() < 10 {
            return Err(MemoryLlmError::Output(format!(
                "summary too short: `{summary}`"
            )));
        }
        if [
            "<|",
            "<start_of_turn>",
            "<end_of_turn>",
            "Excerpts:",
            "You summarise",
        ]
        .iter()
        .any(|m| summary.contains(m))
        {
            // Chat-template tokens or the prompt echoed back: the model did not summarise.
            return Err(MemoryLlmError::Output(format!(
                "summary echoes the prompt or its markup: `{}`",
                clip(&summary)
            )));
        }
        if repetitive(&summary) {
            return Err(MemoryLlmError::Output(format!(
                "summary repeats itself: `{}`",
                clip(&summary)
            )));
        }
        Ok(summary)
    }

    fn call(
        &self,
        messages: Vec<ChatMessage>,
        max_tokens: usize,
        json_schema: Option<Value>,
    ) -> Result<String, MemoryLlmError> {
        let request = GenerateRequest {
            messages,
            question: String::new(),
            passages: Vec::new(),
            max_tokens,
            temperature: 0.0,
            stop: Vec::new(),
            cancel: lore_core::Cancel::default(),
            json_schema,
        };
        Ok(self.generator.generate(&request, &mut |_| {})?.text)
    }
}

/// The JSON schema of a classification answer for `n` segments.
fn types_schema(n: usize) -> Value {
    let names: Vec<&str> = SEGMENT_TYPES.iter().map(|t| t.as_str()).collect();
    json!({
        "type": "object",
        "properties": {"types": {
            "type": "array",
            "items": {"type": "string", "enum": names},
            "minItems": n,
            "maxItems": n,
        }},
        "required": ["types"],
        "additionalProperties": false,
    })
}

/// Reads `{"types": [...]}` (the first JSON object in `text`, so a server that wraps it in
/// prose or a code fence still counts) with exactly `n` known segment types.
fn parse_types(text: &str, n: usize) -> Result<Vec<MemoryType>, MemoryLlmError> {
    let bad = |why: String| MemoryLlmError::Output(why);
    let start = text
        .find('{')
        .ok_or_else(|| bad(format!("no JSON object in `{}`", clip(text))))?;
    let end = text
        .rfind('}')
        .filter(|&e| e > start)
        .ok_or_else(|| bad(format!("no JSON object in `{}`", clip(text))))?;
    let v: Value = serde_json::from_str(&text[start..=end])
        .map_err(|e| bad(format!("{e} in `{}`", clip(text))))?;
    let list = v["types"]
        .as_array()
        .ok_or_else(|| bad(format!("no `types` array in `{}`", clip(text))))?;
    if list.len() != n {
        return Err(bad(format!("{} types for {n} segments", list.len())));
    }
    list.iter()
        .map(|t| {
            let name = t.as_str().unwrap_or_default().trim().to_ascii_lowercase();
            SEGMENT_TYPES
                .iter()
                .copied()
                .find(|k| k.as_str() == name)
                .ok_or_else(|| bad(format!("unknown type `{t}`")))
        })
        .collect()
}

/// Share of distinct word trigrams below which a text counts as degenerate (a small
/// model looping on a phrase). Written prose stays near 1.0; "I'm going to change the
/// video, I'm going to change the video, …" falls to ~0.2.
const MIN_DISTINCT_TRIGRAMS: f32 = 0.7;

/// Whether `text` loops on a phrase: under [`MIN_DISTINCT_TRIGRAMS`] of its word trigrams
/// are distinct (texts under 12 words pass).
fn repetitive(text: &str) -> bool {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    if words.len() < 12 {
        return false;
    }
    let trigrams: std::collections::HashSet<&[String]> = words.windows(3).collect();
    (trigrams.len() as f32) < MIN_DISTINCT_TRIGRAMS * (words.len() - 2) as f32
}

fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

/// The first `n` whitespace-separated words of each line of `text`, lines kept.
fn head_words(text: &str, n: usize) -> String {
    let mut left = n;
    let mut out = Vec::new();
    for line in text.lines() {
        if left == 0 {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().take(left).collect();
        left -= words.len();
        out.push(words.join(" "));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_strictly() {
        let t = parse_types(r#"{"types": ["decision", "Action_Item"]}"#, 2).unwrap();
        assert_eq!(t, vec![MemoryType::Decision, MemoryType::ActionItem]);
        // Wrapped in a fence or prose: the object inside counts.
        let t = parse_types("```json\n{\"types\": [\"risk\"]}\n```", 1).unwrap();
        assert_eq!(t, vec![MemoryType::Risk]);
        for (text, n, why) in [
            (r#"{"types": ["decision"]}"#, 2, "1 types for 2"),
            (r#"{"types": ["cluster"]}"#, 1, "unknown type"),
            (r#"{"labels": ["risk"]}"#, 1, "no `types`"),
            ("decision", 1, "no JSON object"),
            ("{not json}", 1, "key must be a string"),
        ] {
            let e = parse_types(text, n).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
        // A hostile server's 100,000 levels of nesting: refused (serde_json's recursion
        // limit), not a stack overflow.
        let deep = format!(
            "{{\"types\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = parse_types(&deep, 1).unwrap_err().to_string();
        assert!(e.contains("recursion limit"), "{}", clip(&e));
    }

    #[test]
    fn schema_pins_the_count_and_the_types() {
        let s = types_schema(3);
        let items = &s["properties"]["types"];
        assert_eq!(
            (items["minItems"].as_u64(), items["maxItems"].as_u64()),
            (Some(3), Some(3))
        );
        let names = items["items"]["enum"].as_array().unwrap();
        assert_eq!(names.len(), 7);
        assert!(!names.iter().any(|n| n == "cluster"));
    }

    #[test]
    fn looping_summaries_are_refused() {
        assert!(repetitive(&"I'm going to change the video, ".repeat(6)));
        assert!(repetitive(&"Marketing: ".repeat(20)));
        assert!(!repetitive(
            "The team agreed on a kinetic battery and a rubber case; the Project Manager will \
             check the cost against the twelve euro and fifty cent budget before the next meeting."
        ));
        assert!(!repetitive("Too short to judge, short, short."));
    }

    #[test]
    fn head_words_keeps_lines_and_cuts_at_n() {
        let t = "Ana: one two three\nBen: four five six\nCal: seven";
        assert_eq!(head_words(t, 6), "Ana: one two three\nBen: four");
        assert_eq!(head_words(t, 100), t);
    }
}
