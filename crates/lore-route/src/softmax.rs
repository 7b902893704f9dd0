//! Multinomial logistic regression (softmax regression) over a dense part (the query
//! embedding) and a sparse part (hashed n-grams), fitted by mini-batch Adam (Kingma & Ba,
//! "Adam: A Method for Stochastic Optimization", ICLR 2015) with decoupled weight decay
//! (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).
//!
//! Sparse rows are updated lazily, only when a batch touches them (as PyTorch's
//! `SparseAdam`), so a step costs what the batch's features cost, not the model's size.
//! Weights are stored feature-major (`[feature][class]`), so adding one feature's
//! contribution to the logits is one contiguous slice the compiler vectorises.

use serde::{Deserialize, Serialize};

use crate::lexical::Sparse;

/// One training or query input: a dense vector of the model's dense dimension and sparse
/// (bucket, weight) pairs with buckets below the model's sparse dimension.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Dense features (the embedding, 384 f32 for all-MiniLM-L6-v2).
    pub dense: &'a [f32],
    /// Sparse features (see [`crate::lexical`]).
    pub sparse: &'a Sparse,
}

/// How the model is fitted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FitOptions {
    /// Passes over the training set, at least.
    pub epochs: usize,
    /// Adam steps, at least: a small training set gets more passes (10 examples per
    /// label converge in about as many steps as 100).
    pub min_steps: usize,
    /// Examples per Adam step.
    pub batch: usize,
    /// Adam's step size.
    pub learning_rate: f32,
    /// Decoupled weight decay per step, as a fraction of the step size.
    pub weight_decay: f32,
    /// Seed of the shuffling (fits are deterministic).
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            epochs: 6,
            min_steps: 3000,
            batch: 32,
            learning_rate: 0.01,
            weight_decay: 1e-4,
            seed: 0x10e_5eed,
        }
    }
}

/// A fitted softmax regression: `p = softmax(W_dense·x + W_sparse·s + b)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Softmax {
    classes: usize,
    dense_dim: usize,
    sparse_dim: usize,
    /// `[dense_dim + sparse_dim][classes]`, dense rows first.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Softmax {
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Dimension of the dense input.
    pub fn dense_dim(&self) -> usize {
        self.dense_dim
    }

    /// Fits on `inputs` with integer `labels` (< `classes`). Every input's dense part has
    /// length `dense_dim` and sparse buckets are below `sparse_dim` (the caller checks).
    pub fn fit(
        inputs: &[Input<'_>],
        labels: &[usize],
        classes: usize,
        dense_dim: usize,
        sparse_dim: usize,
        opts: &FitOptions,
    ) -> Self {
        let rows = dense_dim + sparse_dim;
        let mut model = Self {
            classes,
            dense_dim,
            sparse_dim,
            weights: vec![0.0; rows * classes],
            bias: vec![0.0; classes],
        };
        let mut adam = Adam::new(rows, classes);
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        let mut rng = opts.seed;
        // Gradient accumulators: dense rows always, sparse rows by slot.
        let mut grad_dense = vec![0.0f32; dense_dim * classes];
        let mut grad_bias = vec![0.0f32; classes];
        let mut slot_of: Vec<u32> = vec![u32::MAX; sparse_dim];
        let mut touched: Vec<u32> = Vec::new();
        let mut grad_sparse: Vec<f32> = Vec::new();
        let mut probs = vec![0.0f32; classes];
        let batch = opts.batch.max(1);
        let per_epoch = inputs.len().div_ceil(batch).max(1);
        let epochs = opts.epochs.max(opts.min_steps.div_ceil(per_epoch));
        for _ in 0..epochs {
            shuffle(&mut order, &mut rng);
            for batch in order.chunks(batch) {
                grad_dense.iter_mut().for_each(|g| *g = 0.0);
                grad_bias.iter_mut().for_each(|g| *g = 0.0);
                for &b in &touched {
                    slot_of[b as usize] = u32::MAX;
                }
                touched.clear();
                grad_sparse.clear();
                let scale = 1.0 / batch.len() as f32;
                for &i in batch {
                    let x = inputs[i];
                    model.logits_into(x, &mut probs);
                    softmax_in_place(&mut probs);
                    probs[labels[i]] -= 1.0;
                    // probs now holds dLoss/dlogits.
                    for (g, d) in grad_bias.iter_mut().zip(&probs) {
                        *g += d * scale;
                    }
                    for (j, &v) in x.dense.iter().enumerate() {
                        let row = &mut grad_dense[j * classes..(j + 1) * classes];
                        axpy(row, &probs, v * scale);
                    }
                    for &(b, v) in x.sparse {
                        let slot = match slot_of[b as usize] {
                            u32::MAX => {
                                let s = touched.len() as u32;
                                slot_of[b as usize] = s;
                                touched.push(b);
                                grad_sparse.resize(grad_sparse.len() + classes, 0.0);
                                s
                            }
                            s => s,
                        } as usize;
                        let row = &mut grad_sparse[slot * classes..(slot + 1) * classes];
                        axpy(row, &probs, v * scale);
                    }
                }
                adam.tick();
                for j in 0..dense_dim {
                    adam.step(
                        j,
                        &mut model.weights[j * classes..(j + 1) * classes],
                        &grad_dense[j * classes..(j + 1) * classes],
                        opts,
                    );
                }
                for (slot, &b) in touched.iter().enumerate() {
                    let r = dense_dim + b as usize;
                    adam.step(
                        r,
                        &mut model.weights[r * classes..(r + 1) * classes],
                        &grad_sparse[slot * classes..(slot + 1) * classes],
                        opts,
                    );
                }
                adam.step_bias(&mut model.bias, &grad_bias, opts);
            }
        }
        model
    }

    /// Class probabilities of `x` (sum 1).
    pub fn predict(&self, x: Input<'_>) -> Vec<f32> {
        let mut p = vec![0.0; self.classes];
        self.logits_into(x, &mut p);
        softmax_in_place(&mut p);
        p
    }

    fn logits_into(&self, x: Input<'_>, out: &mut [f32]) {
        let c = self.classes;
        out.copy_from_slice(&self.bias);
        for (j, &v) in x.dense.iter().enumerate().take(self.dense_dim) {
            axpy(out, &self.weights[j * c..(j + 1) * c], v);
        }
        for &(b, v) in x.sparse {
            if (b as usize) < self.sparse_dim {
                let r = self.dense_dim + b as usize;
                axpy(out, &self.weights[r * c..(r + 1) * c], v);
            }
        }
    }
}

/// `y += a·x`.
#[inline]
fn axpy(y: &mut [f32], x: &[f32], a: f32) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Numerically stable softmax (subtracts the maximum).
pub(crate) fn softmax_in_place(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// Fisher-Yates with SplitMix64 (Steele et al., "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): deterministic for a seed (`state` is advanced).
pub fn shuffle<T>(v: &mut [T], state: &mut u64) {
    for i in (1..v.len()).rev() {
        let j = (splitmix(state) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Adam state with a per-row step count, so lazily updated rows get their own bias
/// correction.
struct Adam {
    classes: usize,
    m: Vec<f32>,
    v: Vec<f32>,
    row_steps: Vec<u32>,
    bias_m: Vec<f32>,
    bias_v: Vec<f32>,
    steps: u32,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

impl Adam {
    fn new(rows: usize, classes: usize) -> Self {
        Self {
            classes,
            m: vec![0.0; rows * classes],
            v: vec![0.0; rows * classes],
            row_steps: vec![0; rows],
            bias_m: vec![0.0; classes],
            bias_v: vec![0.0; classes],
            steps: 0,
        }
    }

    fn tick(&mut self) {
        self.steps += 1;
    }

    fn step(&mut self, row: usize, w: &mut [f32], g: &[f32], opts: &FitOptions) {
        let c = self.classes;
        self.row_steps[row] += 1;
        let t = self.row_steps[row] as i32;
        let m = &mut self.m[row * c..(row + 1) * c];
        let v = &mut self.v[row * c..(row + 1) * c];
        update(w, m, v, g, t, opts);
    }

    fn step_bias(&mut self, w: &mut [f32], g: &[f32], opts: &FitOptions) {
        update(
            w,
            &mut self.bias_m,
            &mut self.bias_v,
            g,
            self.steps as i32,
            opts,
        );
    }
}

fn update(w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], t: i32, opts: &FitOptions) {
    let c1 = 1.0 - BETA1.powi(t);
    let c2 = 1.0 - BETA2.powi(t);
    let lr = opts.learning_rate;
    let decay = 1.0 - lr * opts.weight_decay;
    for i in 0..w.len() {
        m[i] = BETA1 * m[i] + (1.0 - BETA1) * g[i];
        v[i] = BETA2 * v[i] + (1.0 - BETA2) * g[i] * g[i];
        let step = lr * (m[i] / c1) / ((v[i] / c2).sqrt() + EPS);
        w[i] = w[i] * decay - step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_clusters_and_probabilities_sum_to_one() {
        let dense: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let s = if i % 2 == 0 { 1.0 } else { -1.0 };
                vec![s, 0.1 * (i as f32 % 3.0), 0.0]
            })
            .collect();
        let empty = Sparse::new();
        let inputs: Vec<Input> = dense
            .iter()
            .map(|d| Input {
                dense: d,
                sparse: &empty,
            })
            .collect();
        let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
        let opts = FitOptions::default();
        let m = Softmax::fit(&inputs, &labels, 2, 3, 0, &opts);
        let p = m.predict(Input {
            dense: &[0.9, 0.0, 0.0],
            sparse: &empty,
        });
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[0] > 0.9, "{p:?}");
        let q = m.predict(Input {
            dense: &[-0.9, 0.0, 0.0],
            sparse: &empty,
        });
        assert!(q[1] > 0.9, "{q:?}");
    }

    #[test]
    fn sparse_features_alone_can_decide() {
        let a: Sparse = vec![(3, 1.0)];
        let b: Sparse = vec![(7, 1.0)];
        let zero = [0.0f32; 2];
        let inputs: Vec<Input> = (0..20)
            .map(|i| Input {
                dense: &zero,
                sparse: if i % 2 == 0 { &a } else { &b },
            })
            .collect();
        let labels: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let opts = FitOptions::default();
        let m = Softmax::fit(&inputs, &labels, 2, 2, 16, &opts);
        assert!(
            m.predict(Input {
                dense: &zero,
                sparse: &b
            })[1]
                > 0.8
        );
    }

    #[test]
    fn shuffle_is_deterministic() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        let (mut s1, mut s2) = (7, 7);
        shuffle(&mut a, &mut s1);
        shuffle(&mut b, &mut s2);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
    }
}
