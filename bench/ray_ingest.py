"""Ingest with and without Ray (`rag ingest --ray`): chunks/s and whether the vectors agree.

    nice -n 15 .venv/bin/python bench/ray_ingest.py --articles 150

Writes that many synthetic articles (rag/embed/synthetic.py, same seed each time) to a JSONL file, ingests it into
two fresh folder indexes with the bundled embedder, once plainly and once through Ray Data (a local Ray with
2 CPUs, or $RAY_ADDRESS), and prints the times (Ray's includes starting Ray and its actors loading the model)
and the largest difference between the two indexes' vectors.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rag.embed.synthetic import Corpus  # noqa: E402

from rag.embed.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.ingest.pipeline import ingest  # noqa: E402
from rag.embed.ray_data import RayEmbedder  # noqa: E402
from rag.store import open_store  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=150)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "articles.jsonl"
        with open(source, "w", encoding="utf-8") as f:
            for a in Corpus().articles(args.articles):
                f.write(json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "date": a.date,
                                    "source": a.outlet}) + "\n")
        embedder = SentenceTransformerEmbedder()
        embedder.embed_batch(["warm up"])
        t = time.perf_counter()
        plain = ingest([source], work / "plain", embedder)
        plain_s = time.perf_counter() - t
        ray_embedder = RayEmbedder(embedder)
        t = time.perf_counter()
        try:
            with_ray = ingest([source], work / "ray", ray_embedder)
        finally:
            ray_embedder.close()
        ray_s = time.perf_counter() - t
        a, b = open_store(work / "plain"), open_store(work / "ray")
        ids = [c.chunk_id for d in a.list_documents() for c in a.chunks_of(d.doc_id)]
        diff = float(np.abs(a.get_vectors(ids) - b.get_vectors(ids)).max())
    result = {"articles": args.articles, "chunks": plain.chunks_embedded,
              "plain_s": round(plain_s, 1), "plain_chunks_per_s": round(plain.chunks_embedded / plain_s, 1),
              "ray_s": round(ray_s, 1), "ray_chunks_per_s": round(with_ray.chunks_embedded / ray_s, 1),
              "max_vector_difference": diff}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
