//! Natural batching of concurrent embedding calls: texts submitted while an inference runs
//! wait and go into the next one together. No timer, so a lone request is never delayed;
//! under load, one inference over many short queries replaces many inferences of one,
//! which on a CPU amortizes the per-call cost (session run, thread pool wake-up) and
//! keeps the matrix multiplications wide.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};

use crate::{embed_truncating, EmbedError, Embedder, Result};

/// Texts embedded together at most.
pub const MAX_BATCH: usize = 64;

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct State {
    queue: Vec<(u64, String)>,
    done: HashMap<u64, std::result::Result<Vec<f32>, String>>,
    running: bool,
    next_id: u64,
}

/// Batches concurrent single-text embedding calls (queries) into shared inferences.
#[derive(Default)]
pub struct Batcher {
    state: Mutex<State>,
    ready: Condvar,
}

impl Batcher {
    /// A batcher with nothing queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// Embeds `text` (truncated to the model's window, see [`embed_truncating`]), sharing
    /// an inference with the calls that arrive while another one runs. Returns the
    /// embedding (the model's dims, unit length).
    ///
    /// # Errors
    /// [`EmbedError::Runtime`] when the shared inference failed.
    pub fn embed(&self, embedder: &dyn Embedder, text: &str) -> Result<Vec<f32>> {
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        state.queue.push((id, text.to_string()));
        loop {
            if let Some(r) = state.done.remove(&id) {
                return r.map_err(EmbedError::Runtime);
            }
            if !state.running {
                // Lead: take what is queued (ours included) and run it.
                state.running = true;
                let take = state.queue.len().min(MAX_BATCH);
                let batch: Vec<(u64, String)> = state.queue.drain(..take).collect();
                drop(state);
                let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
                let result = embed_truncating(embedder, &texts);
                state = lock(&self.state);
                match result {
                    Ok(vectors) => {
                        for ((id, _), v) in batch.iter().zip(vectors) {
                            state.done.insert(*id, Ok(v));
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for (id, _) in &batch {
                            state.done.insert(*id, Err(msg.clone()));
                        }
                    }
                }
                state.running = false;
                self.ready.notify_all();
                continue;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
