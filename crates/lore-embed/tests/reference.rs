//! lore's vectors against sentence-transformers' for the same sentences.
//!
//! Fixture `fixtures/reference.json`: made by `bench/reference_vectors.py` with
//! sentence-transformers 5.1.2 / torch 2.15 on CPU (f32), from the same safetensors weights
//! the set-up installs (see that script). Needs the models: `scripts/setup-models.sh`.

use lore_core::resolve_models_dir;
use lore_embed::{Embedder, ModelFiles, OnnxEmbedder, OnnxOptions, Precision};

#[derive(serde::Deserialize)]
struct Fixture {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn cosines(precision: Precision) -> Vec<f32> {
    let fixture: Fixture = serde_json::from_str(include_str!("fixtures/reference.json")).unwrap();
    let (dir, how) = resolve_models_dir(None);
    let files = ModelFiles::locate(&dir, how, precision)
        .expect("models installed by scripts/setup-models.sh");
    let model = OnnxEmbedder::load(
        files,
        OnnxOptions {
            threads: 2,
            batch_size: 5,
        },
    )
    .unwrap();
    let texts: Vec<&str> = fixture.sentences.iter().map(String::as_str).collect();
    let ours = model.embed(&texts).unwrap();
    assert_eq!(ours.len(), fixture.vectors.len());
    ours.iter()
        .zip(&fixture.vectors)
        .map(|(a, b)| {
            assert_eq!(a.len(), 384);
            let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
            a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
                / b.iter().map(|y| y * y).sum::<f32>().sqrt()
        })
        .collect()
}

#[test]
fn f32_matches_sentence_transformers() {
    let cos = cosines(Precision::F32);
    let min = cos.iter().cloned().fold(f32::MAX, f32::min);
    println!("f32 cosine to reference: min {min:.6}");
    assert!(min >= 0.999, "min cosine {min}: {cos:?}");
}

#[test]
fn int8_stays_close() {
    // Measured: min cosine 0.9991 over the fixture (docs/benchmarks.md).
    let cos = cosines(Precision::Int8);
    let min = cos.iter().cloned().fold(f32::MAX, f32::min);
    println!("int8 cosine to reference: min {min:.4}, all {cos:?}");
    assert!(min >= 0.998, "min cosine {min}: {cos:?}");
}
