//! Sentence-transformers pooling: mean over attended tokens, then L2 normalisation
//! (Reimers & Gurevych 2019; the model's `1_Pooling/config.json` sets `pooling_mode_mean_tokens`).

/// Mean of `hidden` rows (`seq × dim`, row-major) where `mask` is 1, L2-normalised.
///
/// Returns a zero vector if no token is attended.
pub fn mean_pool_normalize(hidden: &[f32], mask: &[i64], dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; dim];
    let mut count = 0f32;
    for (row, &m) in hidden.chunks_exact(dim).zip(mask) {
        if m != 0 {
            for (o, h) in out.iter_mut().zip(row) {
                *o += h;
            }
            count += 1.0;
        }
    }
    if count > 0.0 {
        out.iter_mut().for_each(|o| *o /= count);
    }
    l2_normalize(&mut out);
    out
}

/// Scales `v` to unit length (left as is if zero). sentence-transformers clamps the norm
/// at 1e-12, as does this.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// Cosine similarity of two unit-length vectors (what [`crate::Embedder::embed`] returns):
/// their dot product.
pub fn cosine_unit(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_padding() {
        let hidden = [1.0, 0.0, 3.0, 0.0, 100.0, 100.0];
        let v = mean_pool_normalize(&hidden, &[1, 1, 0], 2);
        assert!((v[0] - 1.0).abs() < 1e-6 && v[1].abs() < 1e-6);
    }
}
