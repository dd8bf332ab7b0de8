"""Embedding throughput of each backend of the bundled model, with batch size and length-sorted batching.

    nice -n 15 .venv/bin/python bench/embed_backends.py                      # every backend, 960 chunks
    nice -n 15 .venv/bin/python bench/embed_backends.py --backends torch openvino-int8 --batch 16 32 64

The texts are what ingest embeds: synthetic news articles (rag/embed/synthetic.py) cleaned and chunked by the real
chunker (200 tokens, the title first). Each row: chunks/s wall-clock, chunks per CPU-second x cores (what the
cores would give if nothing else ran; the machine is shared), and the cosine of its vectors to the torch
model's on the same texts and on the English chunks of seeds/ and eval/external/cct/docs. "sorted" hands the
embedder all texts at once (it sorts them by length and pads each batch to its longest); "unsorted" hands it
consecutive slices of one batch each, in corpus order.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed.embedder import BACKENDS, SentenceTransformerEmbedder  # noqa: E402


def cpu_model() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown cpu"


def synthetic_chunks(n: int, embedder) -> list[str]:
    from rag.ingest.chunk import chunk_document
    from rag.types import ChunkerSettings, embedding_text
    from rag.embed.synthetic import Corpus
    from rag.ingest.clean import clean_text

    out: list[str] = []
    for a in Corpus(seed=3).articles(10 ** 6):
        for c in chunk_document(a.doc_id, clean_text(a.text), embedder.count_tokens, embedder.max_tokens,
                                ChunkerSettings(), a.title):
            out.append(embedding_text(a.title, c.text))
        if len(out) >= n:
            return out[:n]
    return out


def english_chunks(embedder) -> list[str]:
    from rag.ingest.chunk import chunk_document
    from rag.types import ChunkerSettings
    from rag.ingest.clean import clean_text

    out = []
    for folder in (ROOT / "seeds", ROOT / "eval/external/cct/docs"):
        for p in sorted(folder.iterdir()):
            if p.is_file():
                for c in chunk_document(p.stem, clean_text(p.read_text(errors="replace")), embedder.count_tokens,
                                        embedder.max_tokens, ChunkerSettings()):
                    out.append(c.text)
    return out


def embed(embedder, texts: list[str], batch: int, sort: bool) -> np.ndarray:
    if sort:
        return embedder.embed_batch(texts)
    return np.concatenate([embedder.embed_batch(texts[i:i + batch]) for i in range(0, len(texts), batch)])


def measure(backend: str, batch: int, sort: bool, texts: list[str], english: list[str],
            ref: np.ndarray, ref_english: np.ndarray) -> dict:
    embedder = SentenceTransformerEmbedder(backend=backend, batch_size=batch)
    t = time.perf_counter()
    embed(embedder, texts[:batch], batch, sort)  # load (and export, the first time) and warm up
    load_s = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    vectors = embed(embedder, texts, batch, sort)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    cos = np.sum(vectors * ref, axis=1)
    cos_en = np.sum(embed(embedder, english, batch, sort) * ref_english, axis=1)
    return {"backend": backend, "model_id": embedder.model_id, "batch": batch, "sorted": sort,
            "chunks": len(texts), "load_s": load_s, "chunks_per_s": len(texts) / wall,
            "chunks_per_cpu_s_x_cores": len(texts) / cpu * (os.cpu_count() or 1),
            "cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
            "cos_english_min": float(cos_en.min()), "cos_english_mean": float(cos_en.mean())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--batch", nargs="+", type=int, default=[32])
    p.add_argument("--unsorted", action="store_true", help="also measure unsorted batches")
    p.add_argument("--chunks", type=int, default=960)
    p.add_argument("--out", default=str(ROOT / "runs" / "embed_backends.json"))
    args = p.parse_args()

    torch_embedder = SentenceTransformerEmbedder(backend="torch")
    texts = synthetic_chunks(args.chunks, torch_embedder)
    english = english_chunks(torch_embedder)
    lengths = [torch_embedder.count_tokens(t) for t in texts]
    print(f"{cpu_model()}, {os.cpu_count()} cores; {len(texts)} synthetic chunks of {np.mean(lengths):.0f} tokens "
          f"on average (p5 {np.percentile(lengths, 5):.0f}, p95 {np.percentile(lengths, 95):.0f}); "
          f"{len(english)} English chunks for the cosine", file=sys.stderr)
    ref = torch_embedder.embed_batch(texts)
    ref_english = torch_embedder.embed_batch(english)
    rows = []
    print("| backend | batch | batches | chunks/s | chunks/CPU-s × cores | cosine to torch min / mean "
          "(synthetic) | (English) |\n|---|---:|---|---:|---:|---|---|")
    for backend in args.backends:
        for batch in args.batch:
            for sort in ([True, False] if args.unsorted else [True]):
                r = measure(backend, batch, sort, texts, english, ref, ref_english)
                rows.append(r)
                print(f"| {backend} | {batch} | {'sorted' if sort else 'unsorted'} | {r['chunks_per_s']:.1f} | "
                      f"{r['chunks_per_cpu_s_x_cores']:.1f} | {r['cos_min']:.4f} / {r['cos_mean']:.4f} | "
                      f"{r['cos_english_min']:.4f} / {r['cos_english_mean']:.4f} |", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": f"{cpu_model()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d"),
                               "command": " ".join(["bench/embed_backends.py", *sys.argv[1:]]), "runs": rows},
                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
