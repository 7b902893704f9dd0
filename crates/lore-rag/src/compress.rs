//! Context compression for small, slow models: each passage is cut down to its sentences
//! most similar to the question, within a token budget, kept in document order.
//!
//! This is extractive compression in the sense of Xu et al. 2023, "RECOMP: Improving
//! Retrieval-Augmented LMs with Compression and Selective Augmentation" (there with a trained
//! selector; here with the embedding model lore already runs). On this machine prompt
//! processing of SmolLM2-135M runs at ~300 tokens/s on 2 threads, so five whole 256-token
//! chunks (~1,200 prompt tokens) cost ~4 s before the first token; compressed to 96 tokens
//! each they cost about 60% of that (docs/benchmarks.md).

use lore_core::Hit;
use lore_embed::{cosine_unit, Embedder};
use lore_llm::{split_sentences, Generator};

use crate::EngineError;

/// Shortens each hit's text to at most `budget` tokens (counted by `generator`) of its
/// sentences most similar to `question`. Hits already within the budget are unchanged.
/// Dropped stretches are marked with ` … `.
///
/// # Errors
/// [`EngineError::Embed`] if embedding fails.
pub fn compress(
    embedder: &dyn Embedder,
    generator: &dyn Generator,
    question: &str,
    hits: &[Hit],
    budget: usize,
) -> Result<Vec<Hit>, EngineError> {
    let mut out = hits.to_vec();
    // (hit index, sentence) for the hits over budget.
    let mut sentences: Vec<(usize, String)> = Vec::new();
    for (i, hit) in hits.iter().enumerate() {
        if generator.count_tokens(&hit.text) > budget {
            sentences.extend(split_sentences(&hit.text).into_iter().map(|s| (i, s)));
        }
    }
    if sentences.is_empty() {
        return Ok(out);
    }
    let mut texts: Vec<&str> = vec![question];
    texts.extend(sentences.iter().map(|(_, s)| s.as_str()));
    let vectors = lore_embed::embed_truncating(embedder, &texts)?;
    let q = &vectors[0];
    let scores: Vec<f32> = vectors[1..].iter().map(|v| cosine_unit(v, q)).collect();

    for (i, hit) in out.iter_mut().enumerate() {
        let idx: Vec<usize> = (0..sentences.len())
            .filter(|&k| sentences[k].0 == i)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let mut ranked = idx.clone();
        ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let mut keep = Vec::new();
        let mut used = 0;
        for k in ranked {
            let cost = generator.count_tokens(&sentences[k].1) + 1;
            if used + cost > budget {
                if keep.is_empty() {
                    continue;
                }
                break;
            }
            used += cost;
            keep.push(k);
        }
        keep.sort_unstable();
        let mut text = String::new();
        let mut last: Option<usize> = None;
        for k in keep {
            if let Some(l) = last {
                text.push_str(if k == l + 1 { " " } else { " … " });
            } else if k != idx[0] {
                text.push_str("… ");
            }
            text.push_str(&sentences[k].1);
            last = Some(k);
        }
        if text.is_empty() {
            // No sentence fits (a code block has no sentence boundaries): cut the best one.
            let best = idx
                .iter()
                .copied()
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap_or(idx[0]);
            text = cut_to_budget(generator, &sentences[best].1, budget);
        }
        hit.text = text;
    }
    Ok(out)
}

/// The longest prefix of `s` (at a char boundary) within `budget` tokens.
fn cut_to_budget(generator: &dyn Generator, s: &str, budget: usize) -> String {
    let mut end = s.len();
    while end > 0 && generator.count_tokens(&s[..end]) > budget {
        end = end * 4 / 5;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
    }
    format!("{} …", &s[..end])
}
