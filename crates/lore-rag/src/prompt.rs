//! Prompt templates and context packing.
//!
//! A template is a TOML file with a `name`, a `version` and three texts: `system`, `user`
//! (with `{context}` and `{question}`) and `block` (one context passage, with `{n}`,
//! `{source}` (file name), `{path}` (source as ingested), `{location}`, `{text}`). Built-in templates live in `crates/lore-rag/prompts/`
//! and are compiled in; files in `<data_dir>/prompts/*.toml` add to them or replace them (a
//! file's version wins over a built-in's of the same name when it is higher). A request
//! selects `name` (the highest version) or `name@version`.
//!
//! Packing: passages are added by retrieval rank while the whole prompt, counted with the
//! generator's own tokenizer, stays within the context window minus the answer budget; the
//! first passage that does not fit ends the context (lower ranks never jump ahead of it).

use std::collections::BTreeMap;
use std::path::Path;

use lore_core::{location_label, source_file_name, Hit};
use lore_llm::{ChatMessage, Generator, Passage};
use serde::Deserialize;

use crate::EngineError;

const BUILT_IN: &[(&str, &str)] = &[
    ("default.toml", include_str!("../prompts/default.toml")),
    ("concise.toml", include_str!("../prompts/concise.toml")),
];

/// Tokens kept free for the chat template's own markers (role headers, BOS/EOS): the
/// templates of the models lore ships add under 20 per message.
const TEMPLATE_OVERHEAD_TOKENS: usize = 48;

/// One prompt template.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PromptTemplate {
    /// Name requests select it by.
    pub name: String,
    /// Version, increased on every change (answers record `name@version`).
    pub version: u32,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// System message.
    pub system: String,
    /// User message, with `{context}` and `{question}`.
    pub user: String,
    /// One context passage, with `{n}`, `{source}`, `{path}`, `{location}`, `{text}`.
    pub block: String,
    /// Strings that end the answer (an invented next turn), not included in it.
    #[serde(default)]
    pub stop: Vec<String>,
}

impl PromptTemplate {
    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    fn check(&self, origin: &str) -> Result<(), EngineError> {
        for (field, text, needs) in [
            ("user", &self.user, &["{context}", "{question}"][..]),
            ("block", &self.block, &["{n}", "{text}"][..]),
        ] {
            for placeholder in needs {
                if !text.contains(placeholder) {
                    return Err(EngineError::Config(format!(
                        "prompt template {origin}: `{field}` lacks {placeholder}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Renders one context block for `hit` as passage `n`.
    pub fn render_block(&self, n: usize, hit: &Hit) -> String {
        self.block
            .replace("{n}", &n.to_string())
            .replace("{path}", &hit.source)
            // The file name tells passages apart at a fraction of a full path's tokens.
            .replace("{source}", source_file_name(&hit.source))
            .replace(
                "{location}",
                &location_label(hit.page, hit.heading.as_deref()),
            )
            .replace("{text}", hit.text.trim())
    }

    /// The chat messages for `question` over the rendered `blocks`.
    pub fn messages(&self, question: &str, blocks: &[String]) -> Vec<ChatMessage> {
        let user = self
            .user
            .replace("{context}", &blocks.join("\n\n"))
            .replace("{question}", question);
        vec![
            ChatMessage::system(self.system.clone()),
            ChatMessage::user(user),
        ]
    }
}

/// The templates known to an engine.
#[derive(Debug, Clone)]
pub struct PromptLibrary {
    /// name → version → template.
    templates: BTreeMap<String, BTreeMap<u32, PromptTemplate>>,
}

impl PromptLibrary {
    /// The built-in templates plus `dir/*.toml` if `dir` exists.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] naming the file for a template that does not parse
    /// or lacks a placeholder.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let mut lib = PromptLibrary {
            templates: BTreeMap::new(),
        };
        for (file, text) in BUILT_IN {
            lib.add(text, &format!("built-in {file}"))?;
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    EngineError::Config(format!("prompt template {}: {e}", path.display()))
                })?;
                lib.add(&text, &path.display().to_string())?;
            }
        }
        Ok(lib)
    }

    fn add(&mut self, text: &str, origin: &str) -> Result<(), EngineError> {
        let t: PromptTemplate = toml::from_str(text)
            .map_err(|e| EngineError::Config(format!("prompt template {origin}: {e}")))?;
        t.check(origin)?;
        self.templates
            .entry(t.name.clone())
            .or_default()
            .insert(t.version, t);
        Ok(())
    }

    /// Selects `name` (its highest version) or `name@version`.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] listing the known templates.
    pub fn get(&self, selector: &str) -> Result<&PromptTemplate, EngineError> {
        let (name, version) = match selector.split_once('@') {
            Some((n, v)) => (
                n,
                Some(v.parse::<u32>().map_err(|_| {
                    EngineError::InvalidRequest(format!(
                        "prompt `{selector}`: version must be a number"
                    ))
                })?),
            ),
            None => (selector, None),
        };
        let found = self.templates.get(name).and_then(|versions| match version {
            Some(v) => versions.get(&v),
            None => versions.values().next_back(),
        });
        found.ok_or_else(|| {
            EngineError::InvalidRequest(format!(
                "unknown prompt template `{selector}`; known: {}",
                self.ids().join(", ")
            ))
        })
    }

    /// Every `name@version`.
    pub fn ids(&self) -> Vec<String> {
        self.templates
            .values()
            .flat_map(|v| v.values().map(PromptTemplate::id))
            .collect()
    }
}

/// A prompt ready for a generator, and the hits its blocks came from.
#[derive(Debug, Clone)]
pub struct PackedPrompt {
    /// System and user messages.
    pub messages: Vec<ChatMessage>,
    /// The hits given to the model, in block order: block `[n]` is `hits[n - 1]`.
    pub hits: Vec<Hit>,
    /// The blocks' passages (what the extractive answerer reads).
    pub passages: Vec<Passage>,
    /// Prompt tokens as counted by the generator.
    pub prompt_tokens: usize,
    /// Hits left out because the window was full.
    pub dropped: usize,
}

/// Packs `hits` (best first) into `template` for `generator`, leaving `answer_tokens` free.
///
/// # Errors
/// [`EngineError::InvalidRequest`] when the question alone does not fit the window.
pub fn pack(
    template: &PromptTemplate,
    generator: &dyn Generator,
    question: &str,
    hits: &[Hit],
    answer_tokens: usize,
) -> Result<PackedPrompt, EngineError> {
    let window = generator.context_window();
    let budget = window.saturating_sub(answer_tokens + TEMPLATE_OVERHEAD_TOKENS);
    let count = |messages: &[ChatMessage]| {
        messages
            .iter()
            .map(|m| generator.count_tokens(&m.content))
            .sum::<usize>()
    };
    let bare = count(&template.messages(question, &[]));
    if bare > budget {
        return Err(EngineError::InvalidRequest(format!(
            "the question takes {bare} tokens with the prompt, over the {budget} the model's {window}-token window leaves after a {answer_tokens}-token answer"
        )));
    }
    let mut used = bare;
    let mut blocks = Vec::new();
    let mut kept = Vec::new();
    for hit in hits {
        let block = template.render_block(blocks.len() + 1, hit);
        // Blocks are joined by a blank line: ~2 tokens.
        let cost = generator.count_tokens(&block) + 2;
        if used + cost > budget {
            break;
        }
        used += cost;
        blocks.push(block);
        kept.push(hit.clone());
    }
    let messages = template.messages(question, &blocks);
    let passages = kept
        .iter()
        .enumerate()
        .map(|(i, h)| Passage {
            n: i + 1,
            text: h.text.clone(),
        })
        .collect();
    Ok(PackedPrompt {
        prompt_tokens: count(&messages),
        messages,
        dropped: hits.len() - kept.len(),
        hits: kept,
        passages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_load_and_select_by_name_or_version() {
        let lib = PromptLibrary::load(Path::new("/nonexistent")).unwrap();
        assert_eq!(lib.get("default").unwrap().id(), "default@1");
        assert_eq!(lib.get("concise@1").unwrap().name, "concise");
        let err = lib.get("nope").unwrap_err().to_string();
        assert!(err.contains("default@1"), "{err}");
        assert!(lib.get("default@x").is_err());
    }

    #[test]
    fn files_add_versions_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("d2.toml"),
            "name='default'\nversion=2\nsystem='s'\nuser='{context} {question}'\nblock='[{n}] {text}'\n",
        )
        .unwrap();
        let lib = PromptLibrary::load(dir.path()).unwrap();
        assert_eq!(lib.get("default").unwrap().version, 2);
        assert_eq!(lib.get("default@1").unwrap().version, 1);
        std::fs::write(
            dir.path().join("bad.toml"),
            "name='x'\nversion=1\nsystem='s'\nuser='{question}'\nblock='{n}{text}'\n",
        )
        .unwrap();
        let err = PromptLibrary::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("bad.toml") && err.contains("{context}"),
            "{err}"
        );
    }
}
