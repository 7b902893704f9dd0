"""Embedding throughput of the reference implementation (sentence-transformers, PyTorch,
CPU) on the exact texts lore embedded (`lore bench embed --dump FILE`).

usage: bench/.venv/bin/python bench/reference_embed.py MODEL_DIR TEXTS.jsonl THREADS
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def main(model_dir: str, path: str, threads: int) -> None:
    torch.set_num_threads(threads)
    texts = [json.loads(line) for line in open(path)]
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode(texts[:64], batch_size=32)  # warm-up
    start = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    secs = time.perf_counter() - start
    tokens = sum(len(model.tokenizer(t, truncation=True, max_length=256)["input_ids"]) for t in texts)
    print(json.dumps({
        "impl": "sentence-transformers " + __import__("sentence_transformers").__version__
        + " / torch " + torch.__version__,
        "threads": threads, "passages": len(texts), "tokens": tokens, "seconds": secs,
        "passages_per_s": len(texts) / secs, "tokens_per_s": tokens / secs,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
