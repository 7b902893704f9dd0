//! The extractive answerer: no LLM. It splits the context passages into sentences, embeds
//! them with the same model that embeds chunks, and answers with the sentences most similar
//! to the question, each followed by its passage's `[n]`. Every word of the answer is a
//! quotation, so it cannot invent a fact; it can only pick the wrong sentence.

use std::sync::Arc;

use lore_embed::{cosine_unit, Embedder};

use crate::sentences::split_sentences;
use crate::{GenerateRequest, Generation, Generator, LlmError, TokenSink, Usage};

/// Sentences in an extractive answer, at most.
const MAX_SENTENCES: usize = 3;
/// Sentences shorter than this (words) are headings or fragments, not answers.
const MIN_WORDS: usize = 4;
/// Cosine similarity a sentence needs to the question to be quoted. all-MiniLM-L6-v2 puts
/// unrelated English sentences around 0.0-0.2 and paraphrases above 0.5; a question and the
/// sentence that answers it usually score 0.4-0.7 (measured on the answer set in
/// `eval/answers.jsonl`).
const MIN_SIMILARITY: f32 = 0.25;
/// A second or third sentence is quoted when its similarity is within this of the best
/// one's (a tighter answer; chosen on the answer set, docs/benchmarks.md).
const RUNNER_UP_MARGIN: f32 = 0.15;

/// Answers by quoting the passages' sentences most similar to the question.
pub struct ExtractiveGenerator {
    embedder: Arc<dyn Embedder>,
}

impl ExtractiveGenerator {
    /// An answerer that ranks sentences with `embedder` (the engine's chunk embedder).
    pub fn new(embedder: Arc<dyn Embedder>) -> Self {
        ExtractiveGenerator { embedder }
    }
}

/// The tail of a sentence cut off by a chunk boundary: it starts lower-case, or with
/// punctuation that closes something (`, . ; : ) ]`, a code span's closing backtick).
fn is_fragment(s: &str) -> bool {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), _) if c.is_lowercase() => true,
        (Some(',' | '.' | ';' | ':' | ')' | ']'), _) => true,
        (Some('`'), Some(' ')) => true,
        _ => false,
    }
}

impl Generator for ExtractiveGenerator {
    fn kind(&self) -> crate::GeneratorKind {
        crate::GeneratorKind::Extractive
    }

    fn model(&self) -> String {
        self.embedder.model_id()
    }

    fn context_window(&self) -> usize {
        // No prompt: the whole retrieved context is read.
        usize::MAX / 2
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        on_token: TokenSink<'_>,
    ) -> Result<Generation, LlmError> {
        // (passage number, sentence, order in the context) for each candidate sentence.
        let mut candidates: Vec<(usize, String)> = Vec::new();
        for passage in &request.passages {
            for (i, s) in split_sentences(&passage.text).into_iter().enumerate() {
                // A chunk can start inside a sentence (chunk overlap): quote only whole ones.
                if i == 0 && is_fragment(&s) {
                    continue;
                }
                if s.split_whitespace().count() >= MIN_WORDS
                    && !candidates.iter().any(|(_, c)| *c == s)
                {
                    candidates.push((passage.n, s));
                }
            }
        }
        let mut texts: Vec<&str> = vec![request.question.as_str()];
        texts.extend(candidates.iter().map(|(_, s)| s.as_str()));
        let vectors = lore_embed::embed_truncating(self.embedder.as_ref(), &texts)?;
        let question = &vectors[0];
        let mut scored: Vec<(f32, usize)> = vectors[1..]
            .iter()
            .enumerate()
            .map(|(i, v)| (cosine_unit(v, question), i))
            .filter(|(score, _)| *score >= MIN_SIMILARITY)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(MAX_SENTENCES);
        // Quote the runners-up only when they are nearly as close as the best sentence.
        if let Some(&(best, _)) = scored.first() {
            scored.retain(|(score, _)| *score >= best - RUNNER_UP_MARGIN);
        }

        let mut text = String::new();
        if scored.is_empty() {
            text.push_str("I don't know: none of the retrieved passages answers this question.");
            on_token(&text);
        }
        for (k, (_, i)) in scored.iter().enumerate() {
            let (n, sentence) = &candidates[*i];
            let piece = format!("{}{} [{}]", if k == 0 { "" } else { " " }, sentence, n);
            on_token(&piece);
            text.push_str(&piece);
        }
        Ok(Generation {
            text,
            generator: crate::GeneratorKind::Extractive,
            model: self.model(),
            // No LLM ran: no tokens to count or pay for.
            usage: Usage::default(),
            notice: None,
            endpoint: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_fragment;

    #[test]
    fn fragments_are_recognised() {
        assert!(is_fragment("` macro, which will create a new vector."));
        assert!(is_fragment("scope, Rust calls a special function for us."));
        assert!(!is_fragment("`vec!` creates a vector."));
        assert!(!is_fragment("Rust calls drop."));
        assert!(!is_fragment("2. Run it."));
    }
}
