//! The optional second stage of classification: when the first stage (the linear head on
//! the query embedding) is unsure, one call to an OpenAI-compatible LLM classifies the
//! question into a route, with its entities, complexity and risk, as strict JSON (the
//! merged call an operations assistant makes). This module builds the messages and the
//! JSON schema (sent as `response_format`, which llama.cpp's server and vLLM enforce with
//! a grammar) and checks the reply; the engine calls the model, times it out and caches
//! the result.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::RouteSpec;

/// The `intent` meaning "no route".
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// `[routing.second_stage]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecondStageConfig {
    /// Ask the LLM when the first stage is unsure. Default off.
    pub enabled: bool,
    /// Model tier to ask (`[llm.tiers.<name>]`; default: the `[llm.openai]` endpoint).
    pub tier: Option<String>,
    /// Ask when the first stage's best probability is below this (0-1), or it found the
    /// question out of scope.
    pub below_confidence: f32,
    /// Longest wait for the LLM; past it the first stage's decision stands (`3s`).
    #[serde(with = "lore_core::duration::millis")]
    pub timeout: Duration,
    /// Example questions shown to the LLM per route, at most.
    pub examples_per_route: usize,
}

impl Default for SecondStageConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            tier: None,
            below_confidence: 0.6,
            timeout: Duration::from_secs(3),
            examples_per_route: 3,
        }
    }
}

/// A named thing in the question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    /// `person`, `product`, `date`, `domain`, `doc_type`, `location`, `organization` or
    /// `other`.
    #[serde(rename = "type")]
    pub kind: String,
    /// As written in the question.
    pub value: String,
}

/// What the LLM returned, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmClassification {
    /// A route name, or `out_of_scope`.
    pub intent: String,
    /// Named things.
    pub entities: Vec<Entity>,
    /// `low`, `medium` or `high`.
    pub complexity: String,
    /// `low`, `medium` or `high`: what a wrong answer could cost.
    pub risk: String,
}

const LEVELS: [&str; 3] = ["low", "medium", "high"];
const ENTITY_TYPES: [&str; 8] = [
    "person",
    "product",
    "date",
    "domain",
    "doc_type",
    "location",
    "organization",
    "other",
];

/// The JSON schema of the reply for these routes (the intent an enum of their names).
pub fn schema(routes: &[RouteSpec]) -> Value {
    let mut intents: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    intents.push(OUT_OF_SCOPE);
    json!({
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": intents},
            "entities": {
                "type": "array",
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": ENTITY_TYPES},
                        "value": {"type": "string", "maxLength": 100}
                    },
                    "required": ["type", "value"],
                    "additionalProperties": false
                }
            },
            "complexity": {"type": "string", "enum": LEVELS},
            "risk": {"type": "string", "enum": LEVELS}
        },
        "required": ["intent", "entities", "complexity", "risk"],
        "additionalProperties": false
    })
}

/// The system and user messages asking to classify `question`.
pub fn messages(
    routes: &[RouteSpec],
    examples_per_route: usize,
    question: &str,
) -> (String, String) {
    let mut system = String::from(
        "You classify questions for a company assistant. Reply with JSON only: \
         {\"intent\": one of the routes below or \"out_of_scope\", \"entities\": the people, \
         products, dates, domains and document types the question names, \"complexity\": \
         low|medium|high (how much reasoning an answer needs), \"risk\": low|medium|high \
         (what a wrong answer could cost)}.\n\nRoutes:\n",
    );
    for r in routes
        .iter()
        .filter(|r| r.refusal.is_none() || !r.examples.is_empty())
    {
        system.push_str(&format!("- {}", r.name));
        if !r.description.is_empty() {
            system.push_str(&format!(": {}", r.description));
        }
        let ex: Vec<&str> = r
            .examples
            .iter()
            .take(examples_per_route)
            .map(String::as_str)
            .collect();
        if !ex.is_empty() {
            system.push_str(&format!(" (e.g. \"{}\")", ex.join("\"; \"")));
        }
        system.push('\n');
    }
    system.push_str("- out_of_scope: anything no route covers\n");
    (system, format!("Question: {question}"))
}

/// Parses and checks a reply: valid JSON of the schema's shape, a known intent, known
/// levels and entity types.
///
/// # Errors
/// What is wrong with the reply, in words.
pub fn parse(text: &str, routes: &[RouteSpec]) -> Result<LlmClassification, String> {
    // Some servers wrap JSON in a code fence even when asked not to.
    let trimmed = text
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let c: LlmClassification =
        serde_json::from_str(trimmed).map_err(|e| format!("not the JSON asked for: {e}"))?;
    if c.intent != OUT_OF_SCOPE && !routes.iter().any(|r| r.name == c.intent) {
        return Err(format!(
            "unknown intent `{}`",
            c.intent.chars().take(64).collect::<String>()
        ));
    }
    for level in [&c.complexity, &c.risk] {
        if !LEVELS.contains(&level.as_str()) {
            return Err(format!(
                "level `{}` is not low, medium or high",
                level.chars().take(32).collect::<String>()
            ));
        }
    }
    if c.entities.len() > 8
        || c.entities
            .iter()
            .any(|e| !ENTITY_TYPES.contains(&e.kind.as_str()))
    {
        return Err("entities: at most 8, of the listed types".into());
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<RouteSpec> {
        ["hr", "it"]
            .iter()
            .map(|n| RouteSpec {
                name: n.to_string(),
                description: format!("{n} questions"),
                examples: vec![format!("an {n} question")],
                ..RouteSpec::default()
            })
            .collect()
    }

    #[test]
    fn replies_are_checked() {
        let r = routes();
        let ok = parse(
            r#"{"intent": "hr", "entities": [{"type": "date", "value": "May"}], "complexity": "low", "risk": "medium"}"#,
            &r,
        )
        .unwrap();
        assert_eq!(ok.intent, "hr");
        assert!(parse("```json\n{\"intent\": \"out_of_scope\", \"entities\": [], \"complexity\": \"high\", \"risk\": \"low\"}\n```", &r).is_ok());
        for bad in [
            r#"{"intent": "legal", "entities": [], "complexity": "low", "risk": "low"}"#,
            r#"{"intent": "hr", "entities": [], "complexity": "extreme", "risk": "low"}"#,
            r#"{"intent": "hr", "entities": [], "complexity": "low"}"#,
            r#"{"intent": "hr", "entities": [], "complexity": "low", "risk": "low", "x": 1}"#,
            "hr",
        ] {
            assert!(parse(bad, &r).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schema_and_prompt_name_every_route() {
        let r = routes();
        let s = schema(&r);
        assert_eq!(
            s["properties"]["intent"]["enum"],
            json!(["hr", "it", "out_of_scope"])
        );
        let (system, user) = messages(&r, 3, "Where is the VPN?");
        assert!(
            system.contains("- hr: hr questions (e.g. \"an hr question\")"),
            "{system}"
        );
        assert!(user.ends_with("Where is the VPN?"));
    }
}
