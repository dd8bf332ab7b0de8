"""Milvus against the index folder: ingest rate, copy rate and retrieval latency on the same corpus.

    nice -n 15 .venv/bin/python bench/milvus_vs_folder.py                       # seeds/, the dev questions, embedded server
    nice -n 15 .venv/bin/python bench/milvus_vs_folder.py --corpus big.jsonl --questions q.jsonl --milvus milvus://h:19530/x

Starts the embedded Milvus 2.3 server (bench/milvus_embedded.py) unless --milvus names one or --lite asks for a
Milvus Lite 2.5 file in the work folder (BM25 and its fusion on the engine: the timings then add the server's own
fusion, one hybrid_search call with RRFRanker, and with --eval its retrieval metrics beside the Retriever's). Steps: ingest the
corpus into a fresh folder index (real embedder; the time is mostly embedding), copy it to Milvus with
`rag migrate` (storage only: no embedding), ingest it into Milvus directly, then time Retriever.retrieve on
both stores for every question (vectors of the questions cached first, so the times are the stores' and the
fusion's) in dense, bm25 and hybrid mode, and check that both return the same passages. With --eval GOLD...,
also score retrieval on each gold file with the eval harness (`rag eval --retrieval-only`) on both stores.

    nice -n 15 .venv/bin/python bench/milvus_vs_folder.py --scale 100000

stores bench/scale.py's synthetic corpus (rag/embed/synthetic.py, same seed) of that many chunks in a folder index and
in Milvus through the same writer code (its hashed random-projection vectors: storage is timed, not a model),
times the first BM25 search of a new Milvus client (on a 2.3 server it builds the client's BM25 cache,
rag/store/milvus/bm25.py; on 2.5 the engine searches), then times retrieval on both for 200 of its questions. With --scale and --keep DIR the work folder is DIR and stays; a folder
index and a Milvus collection already there are reused, not rebuilt (pass the server with --milvus if it is not
the embedded one in DIR/milvus).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed.embedder import CachedEmbedder, SentenceTransformerEmbedder  # noqa: E402
from rag.ingest.pipeline import ingest  # noqa: E402
from rag.store.migrate import migrate  # noqa: E402
from rag.retrieve.retriever import RetrievalSettings, Retriever  # noqa: E402
from rag.store import open_store, store_exists  # noqa: E402
from rag.store.milvus.store import MilvusStore  # noqa: E402
from eval import metrics as m  # noqa: E402
from eval.gold import load_gold  # noqa: E402
from bench.milvus_embedded import embedded_milvus  # noqa: E402


def questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def timed_retrieval(location, embedder, qs: list[str], mode: str, k: int = 5) -> tuple[list[float], list[list[str]]]:
    store = open_store(location)
    retriever = Retriever(store, embedder, RetrievalSettings(mode=mode))
    retriever.retrieve(qs[0], k)  # warm
    times, found = [], []
    for q in qs:
        t = time.perf_counter()
        passages = retriever.retrieve(q, k)
        times.append(time.perf_counter() - t)
        found.append([p.chunk.chunk_id for p in passages])
    store.close()
    return times, found


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p * len(values)))]


def run(corpus: Path, qfile: Path, uri: str, work: Path, gold_files: list[Path]) -> dict:
    embedder = SentenceTransformerEmbedder()
    embedder.embed_batch(["warm up"])
    out: dict = {"corpus": str(corpus), "questions": str(qfile), "milvus": uri}
    folder = work / "folder"
    r = ingest([corpus], folder, embedder)
    out["folder_ingest"] = {"chunks": r.chunks_embedded, "seconds": round(r.seconds, 2),
                            "chunks_per_s": round(r.chunks_embedded / r.seconds, 1)}
    MilvusStore.drop(uri)
    m = migrate(folder, uri)
    out["migrate_to_milvus"] = {"chunks": m.chunks, "seconds": round(m.seconds, 2),
                                "chunks_per_s": round(m.chunks / m.seconds, 1)}
    MilvusStore.drop(uri)
    r = ingest([corpus], uri, embedder)
    out["milvus_ingest"] = {"chunks": r.chunks_embedded, "seconds": round(r.seconds, 2),
                            "chunks_per_s": round(r.chunks_embedded / r.seconds, 1)}
    out.update(compare_retrieval(folder, uri, embedder, questions(qfile)))
    for gold in gold_files:
        out[f"eval_{gold.stem}"] = {name: retrieval_metrics(gold, loc, work / f"{name}_{gold.stem}")
                                    for name, loc in (("folder", str(folder)), ("milvus", uri))}
        if _full_text(uri):
            out[f"eval_{gold.stem}"]["milvus_server_fusion"] = server_fusion_metrics(gold, uri, embedder)
        print(gold.stem, out[f"eval_{gold.stem}"], file=sys.stderr)
    return out


def _full_text(uri: str) -> bool:
    store = open_store(uri)
    try:
        return bool(getattr(store, "full_text", False))
    finally:
        store.close()


def server_fusion_metrics(gold: Path, uri: str, embedder, k: int = 5, depth: int = 10) -> dict:
    """The harness's retrieval metrics (answerable questions: hit@k and recall@k on the documents of the first k
    chunks, MRR over the first ``depth``) for the engine's own fusion: one hybrid_search (BM25 and dense, RRF) per
    question, without the Retriever's metadata ranking and near-duplicate collapse."""
    store = open_store(uri)
    hits, recalls, rrs = [], [], []
    try:
        for q in load_gold(gold):
            if not q.doc_ids:
                continue
            found = [h.chunk_id for h in store.hybrid_search(q.question, embedder.embed_batch([q.question])[0], depth)]
            chunks = store.get_chunks(found)
            docs = [chunks[c].doc_id for c in found]
            hits.append(m.hit(m.unique_in_order(docs[:k]), q.doc_ids))
            recalls.append(m.recall(m.unique_in_order(docs[:k]), q.doc_ids))
            rrs.append(m.reciprocal_rank(docs[:depth], q.doc_ids, depth))
    finally:
        store.close()
    return {"retrieval_hit_at_k": m.mean(hits), "retrieval_recall_at_k": m.mean(recalls),
            "retrieval_mrr_at_10": m.mean(rrs)}


def retrieval_metrics(gold: Path, location: str, out: Path) -> dict:
    """hit@k, recall@k (k = 5) and MRR@10 from `rag eval GOLD --index LOCATION --retrieval-only`."""
    from cli.main import main

    assert main(["eval", str(gold), "--index", location, "--retrieval-only", "--out", str(out)]) == 0
    metrics = json.loads((out / "summary.json").read_text(encoding="utf-8"))["metrics"]
    return {k: v for k, v in metrics.items() if k.startswith("retrieval_")}


def compare_retrieval(folder: Path, uri: str, embedder, qs: list[str]) -> dict:
    """Retrieval on both stores for every question in each mode: latencies and how many top-k lists agree
    (the questions' vectors cached first, so the times are the stores' and the fusion's)."""
    cached = CachedEmbedder(embedder)
    cached.embed_batch(qs)
    out = {}
    for mode in ("dense", "bm25", "hybrid"):
        ft, ff = timed_retrieval(folder, cached, qs, mode)
        mt, mf = timed_retrieval(uri, cached, qs, mode)
        out[f"retrieve_{mode}"] = {
            "folder_p50_ms": round(1000 * statistics.median(ft), 1), "folder_p95_ms": round(1000 * pct(ft, 0.95), 1),
            "milvus_p50_ms": round(1000 * statistics.median(mt), 1), "milvus_p95_ms": round(1000 * pct(mt, 0.95), 1),
            "same_passages": sum(a == b for a, b in zip(ff, mf)),
            "same_documents": sum({c.split(":")[0] for c in a} == {c.split(":")[0] for c in b} for a, b in zip(ff, mf)),
            "questions": len(qs)}
        print(mode, out[f"retrieve_{mode}"], file=sys.stderr)
    if _full_text(uri):
        out["retrieve_hybrid_server"] = timed_server_fusion(uri, cached, qs, ff)
        print("hybrid on the server", out["retrieve_hybrid_server"], file=sys.stderr)
    return out


def timed_server_fusion(uri: str, embedder, qs: list[str], folder_hybrid: list[list[str]], k: int = 5) -> dict:
    """One hybrid_search per question (the engine's RRF of its BM25 and dense rankings): its latency, and how many
    of its top-k lists are the folder Retriever's hybrid ones."""
    store = open_store(uri)
    store.hybrid_search(qs[0], embedder.embed_batch([qs[0]])[0], k)  # warm
    times, found = [], []
    for q in qs:
        v = embedder.embed_batch([q])[0]
        t = time.perf_counter()
        found.append([h.chunk_id for h in store.hybrid_search(q, v, k)])
        times.append(time.perf_counter() - t)
    store.close()
    return {"milvus_p50_ms": round(1000 * statistics.median(times), 1),
            "milvus_p95_ms": round(1000 * pct(times, 0.95), 1),
            "same_passages_as_folder_hybrid": sum(a == b for a, b in zip(folder_hybrid, found)), "questions": len(qs)}


def run_scale(n_chunks: int, uri: str, work: Path, n_questions: int = 200) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from rag.embed.synthetic import Corpus
    from scale import HashedEmbedder, build_hashed, make_questions

    embedder = HashedEmbedder()
    out: dict = {"chunks": n_chunks, "milvus": uri}
    folder = work / "folder"
    if store_exists(folder):
        out["folder_store"] = "reused"
    else:
        out["folder_store"] = build_hashed(folder, n_chunks, embedder, Corpus())
    if MilvusStore.exists(uri):
        out["milvus_store"] = "reused"
    else:
        out["milvus_store"] = build_hashed(uri, n_chunks, embedder, Corpus())
    print(out, file=sys.stderr)
    started = time.perf_counter()
    store = open_store(uri)  # a new client (a Milvus Lite file: this process starts its server and loads the data)
    out["milvus_open_s"] = round(time.perf_counter() - started, 2)
    out["stored_chunks"] = store.info.chunks
    started = time.perf_counter()
    store.lexical_search("a first search", 5)
    out["milvus_bm25_first_search_s"] = round(time.perf_counter() - started, 2)  # on 2.3: builds the client's cache
    store.close()
    out.update(compare_retrieval(folder, uri, embedder, make_questions(folder, n_questions)))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    p.add_argument("--questions", type=Path, default=ROOT / "eval" / "gold" / "seeds.jsonl")
    p.add_argument("--milvus", help="milvus://HOST:PORT/COLLECTION of a running server, or milvus-lite:PATH.db "
                                    "(default: start the embedded 2.3 server)")
    p.add_argument("--lite", action="store_true", help="a Milvus Lite 2.5 file in the work folder")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--eval", type=Path, nargs="*", default=[], metavar="GOLD",
                   help="gold files to score retrieval on with both stores (e.g. eval/gold/seeds.jsonl)")
    p.add_argument("--scale", type=int, metavar="CHUNKS", help="bench/scale.py's synthetic corpus instead")
    p.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it; reuse the stores found there")
    args = p.parse_args()
    go = (lambda uri, work: run_scale(args.scale, uri, work)) if args.scale else \
        (lambda uri, work: run(args.corpus, args.questions, uri, work, args.eval))
    with contextlib.ExitStack() as stack:
        work = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        if args.milvus or args.lite:
            result = go(args.milvus or f"milvus-lite:{work.absolute()}/bench.db", work)
        else:
            with embedded_milvus(work / "milvus") as server:
                result = go(server.uri("bench"), work)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
