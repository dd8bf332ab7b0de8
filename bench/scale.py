"""Scale benchmark: a synthetic news corpus at 10^4-10^6 chunks, stored, searched and measured.

    nice -n 15 .venv/bin/python bench/scale.py --chunks 10000 --real        # real embeddings, full ingest path
    nice -n 15 .venv/bin/python bench/scale.py --chunks 1000000             # hashed-projection vectors
    .venv/bin/python bench/scale.py --table runs/scale/*.json               # the README table from saved runs

Without --real, vectors come from a fixed random projection of the text's hashed words (``HashedEmbedder``), so
that 10^6 chunks are stored in minutes; they have the size and rough neighbourhood structure of real ones, but
say nothing about answer quality. Each run prints and saves (runs/scale/N[-real].json): ingest chunks/s
(embedding and storage separately), bytes on disk, open time, peak RSS of a process serving queries, retrieval
p50/p95 for dense, BM25 and hybrid, recall@10 of the approximate dense index against exact search at several
nprobe values, the time to add 100 articles to the index, and the per-answer cost outside the LLM (retrieval and
evidence selection). The serving figures come from a fresh subprocess (``serve`` below).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from rag.embed.synthetic import Article, Corpus  # noqa: E402

WORD = re.compile(r"\w+")
OUT = ROOT / "runs" / "scale"


class HashedEmbedder:
    """Unit vectors from a fixed random projection of hashed word counts (benchmark stand-in for a model)."""

    model_id = "hashed-projection-384"
    max_tokens = 254

    def __init__(self, dim: int = 384, buckets: int = 1 << 15, seed: int = 7):
        self.dim = dim
        self.buckets = buckets
        self.projection = np.random.default_rng(seed).standard_normal((buckets, dim)).astype(np.float32)

    def count_tokens(self, text: str) -> int:
        return len(WORD.findall(text))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        from scipy.sparse import csr_matrix

        rows, cols = [], []
        for i, t in enumerate(texts):
            ids = [zlib.crc32(w.encode()) % self.buckets for w in WORD.findall(t.lower())]
            rows.extend([i] * len(ids))
            cols.extend(ids)
        counts = csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(texts), self.buckets))
        v = np.asarray(counts @ self.projection, dtype=np.float32)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
        return v


def cpu_model() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown cpu"


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh in a new program, where ru_maxrss
    carries over the parent's peak across fork and exec (the serving subprocess would report the builder's)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def chunk_article(article: Article, words: int = 150):
    """Paragraph-aligned chunks of about ``words`` words with sentence spans (the bench's own fast chunker)."""
    from rag.types import Chunk, Document, Span

    text = article.text
    doc = Document(article.doc_id, text, article.title, article.date, article.outlet,
                   content_hash=f"{zlib.crc32(text.encode()):08x}")
    chunks, start, pos, size, body = [], None, 0, 0, text.index("–") + 2
    for para in article.paragraphs:
        a = text.index(para, max(pos, body))
        pos = a + len(para)
        start = a if start is None else start
        size += len(para.split())
        if size >= words or para is article.paragraphs[-1]:
            piece = text[start:pos]
            sentences = tuple(Span(start + m.start(), start + m.end()) for m in re.finditer(r"[^.;]+[.;]", piece))
            chunks.append(Chunk(f"{doc.doc_id}:{len(chunks)}", doc.doc_id, piece, Span(start, pos), sentences))
            start, size = None, 0
    return doc, chunks


def build_hashed(path: Path, n_chunks: int, embedder: HashedEmbedder, corpus: Corpus) -> dict:
    """Store n_chunks synthetic chunks through the store's writer (commits every 5,000 chunks, as ingest)."""
    from tqdm import tqdm

    from rag.types import ChunkerSettings, embedding_text
    from rag.ingest.pipeline import COMMIT_CHUNKS
    from rag.store import EmbeddingInfo, create_store

    store = create_store(path, EmbeddingInfo(embedder.model_id, embedder.dim, embedder.max_tokens), ChunkerSettings())
    t_gen = t_embed = t_store = 0.0
    done = docs = pending = 0
    articles = corpus.articles(10 ** 9)
    with tqdm(total=n_chunks, desc=f"storing {n_chunks:,} chunks", unit="chunk", file=sys.stderr) as bar:
        with store.writer() as w:
            while done < n_chunks:
                t = time.perf_counter()
                batch = [chunk_article(next(articles)) for _ in range(200)]
                t_gen += time.perf_counter() - t
                t = time.perf_counter()
                vectors = embedder.embed_batch([embedding_text(d.title, c.text) for d, cs in batch for c in cs])
                t_embed += time.perf_counter() - t
                t = time.perf_counter()
                row = 0
                for doc, chunks in batch:
                    w.put(doc, chunks, vectors[row:row + len(chunks)])
                    row += len(chunks)
                pending += row
                if pending >= COMMIT_CHUNKS:
                    w.commit()
                    pending = 0
                t_store += time.perf_counter() - t
                done += row
                docs += len(batch)
                bar.update(row)
    t = time.perf_counter()
    store.optimize(progress=lambda stage, d, total: print(f"  {stage} {d:,}/{total:,}", file=sys.stderr))
    t_optimize = time.perf_counter() - t
    store.close()
    return {"chunks": done, "documents": docs, "generate_s": t_gen, "hashed_embed_s": t_embed,
            "store_s": t_store, "dense_build_s": t_optimize,
            "storage_chunks_per_s": done / (t_store + t_optimize)}


def build_real(path: Path, n_chunks: int, corpus: Corpus) -> tuple[dict, object]:
    """Ingest synthetic articles (as JSONL) through rag.ingest.pipeline with the real embedder; time each part."""
    from rag.embed.embedder import SentenceTransformerEmbedder
    from rag.ingest.pipeline import ingest

    real = SentenceTransformerEmbedder()
    real.embed_batch(["load"])
    timed = Timed(real)
    src = path.parent / f"{path.name}-articles.jsonl"
    n_articles = max(1, round(n_chunks / 4.6))  # about 4.6 chunks of 200 tokens per synthetic article
    with open(src, "w", encoding="utf-8") as f:
        for a in corpus.articles(n_articles):
            f.write(json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "date": a.date,
                                "source": a.outlet}) + "\n")
    from rag.ingest.report import progress_bars

    t = time.perf_counter()
    report = ingest([src], path, timed, progress=progress_bars())
    total = time.perf_counter() - t
    n = report.chunks_embedded
    return {"chunks": n, "documents": len(report.added), "ingest_s": total, "embed_s": timed.seconds,
            "embed_chunks_per_s": n / timed.seconds, "end_to_end_chunks_per_s": n / total,
            "other_s": total - timed.seconds}, real


class Timed:
    """Wraps an embedder and adds up the seconds spent embedding."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0
        self.model_id, self.max_tokens = inner.model_id, inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_batch(self, texts):
        t = time.perf_counter()
        try:
            return self.inner.embed_batch(texts)
        finally:
            self.seconds += time.perf_counter() - t


def make_questions(path: Path, n: int, seed: int = 1) -> list[str]:
    """Questions from random chunks: a sentence's content words, some dropped, plus a question word."""
    from rag.store import open_store

    store = open_store(path)
    rng = np.random.default_rng(seed)
    docs = store.list_documents(0, 5000)
    out = []
    for i in rng.choice(len(docs), n, replace=len(docs) < n):
        chunk = store.chunks_of(docs[i].doc_id)[0]
        words = chunk.text.split()
        at = int(rng.integers(0, max(1, len(words) - 14)))
        kept = [w for w in words[at:at + 14] if rng.random() > 0.3]
        out.append("What about " + " ".join(kept).strip(".,;") + "?")
    store.close()
    return out


def recall_at_10(path: Path, embedder, questions: list[str]) -> dict:
    """Recall@10 of the FAISS file (at several nprobe) against exact search over all vectors."""
    from rag.store.folder import dense
    from rag.store.folder.store import LocalStore

    store = LocalStore.open(path)
    q = embedder.embed_batch(questions)
    best: list[list[tuple[float, str]]] = [[] for _ in questions]
    for chunk_ids, vectors in store.iter_vectors(50_000):
        scores = q @ vectors.T
        for i, row in enumerate(scores):
            top = np.argpartition(-row, 10)[:10] if len(row) > 10 else np.arange(len(row))
            best[i] = sorted(best[i] + [(float(row[j]), chunk_ids[j]) for j in top], reverse=True)[:10]
    exact = [{c for _, c in b} for b in best]
    base = store.dense_base
    ivf = base is not None and dense.kind_of(base) == "ivf"
    out = {"kind": "ivf" if ivf else "flat"}
    if ivf:  # a few small settings, then a sixteenth, the share the store scans when serving, and a quarter
        serving = dense.nprobe_for(base.nlist)
        out["nlist"], out["serving_nprobe"] = int(base.nlist), int(serving)
        settings = sorted({4, 16, 64, max(1, base.nlist // 16), serving, max(1, base.nlist // 4)})
    else:
        settings = ["exact"]
    for nprobe in settings:
        if ivf:
            base.nprobe = nprobe
        lat = []
        found = []
        for v in q:
            t = time.perf_counter()
            found.append({h.chunk_id for h in store.dense_search(v[None, :], 10)[0]})
            lat.append(time.perf_counter() - t)
        out[str(nprobe)] = {"recall_at_10": float(np.mean([len(a & b) / 10 for a, b in zip(found, exact)])),
                            "p50_ms": pct(lat, 50) * 1e3}
    store.close()
    return out


def add_articles(path: Path, corpus: Corpus, embedder, n: int = 100, real_ingest: bool = False) -> dict:
    """Time to add n new articles to the index (embedding, storage and optimize)."""
    if real_ingest:
        from rag.ingest.pipeline import ingest

        src = path.parent / "add100.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for a in corpus.articles(n, prefix="new"):
                f.write(json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "date": a.date}) + "\n")
        timed = Timed(embedder)
        t = time.perf_counter()
        report = ingest([src], path, timed)
        total = time.perf_counter() - t
        return {"articles": n, "chunks": report.chunks_embedded, "total_s": total, "embed_s": timed.seconds,
                "storage_s": total - timed.seconds}
    from rag.types import embedding_text
    from rag.store import open_store

    batch = [chunk_article(a) for a in corpus.articles(n, prefix="new")]
    t = time.perf_counter()
    vectors = embedder.embed_batch([embedding_text(d.title, c.text) for d, cs in batch for c in cs])
    t_embed = time.perf_counter() - t
    t = time.perf_counter()
    store = open_store(path)
    with store.writer() as w:
        row = 0
        for doc, chunks in batch:
            w.put(doc, chunks, vectors[row:row + len(chunks)])
            row += len(chunks)
    store.optimize()
    store.close()
    return {"articles": n, "chunks": len(vectors), "storage_s": time.perf_counter() - t, "hashed_embed_s": t_embed}


def serve(index: str, questions_file: str, real: bool) -> dict:
    """In a fresh process: open the index, then answer-path work per question; prints a JSON line."""
    from rag.embed.embedder import CachedEmbedder
    from rag.retrieve.evidence import select_evidence
    from rag.retrieve.retriever import RetrievalSettings, Retriever
    from rag.store import open_store

    questions = json.loads(Path(questions_file).read_text())
    if real:
        from rag.embed.embedder import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
        embedder.embed_batch(["load"])
    else:
        embedder = HashedEmbedder()
    rss_models = peak_rss_mb()
    t = time.perf_counter()
    store = open_store(index)
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    store.dense_search(embedder.embed_batch(["first"]), 1)
    first_s = time.perf_counter() - t
    out = {"open_s": open_s, "first_search_s": first_s}
    vectors = CachedEmbedder(embedder)
    for mode in ("dense", "bm25", "hybrid"):
        retriever = Retriever(store, vectors, RetrievalSettings(mode=mode))
        lat, cpu = [], []
        for q in questions:
            t, c = time.perf_counter(), time.process_time()
            retriever.retrieve(q, 5)
            lat.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out[mode] = {"p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3, "cpu_p50_ms": pct(cpu, 50) * 1e3}
    retriever = Retriever(store, vectors, RetrievalSettings())
    lat, cpu = [], []
    for q in questions:  # per answer outside the LLM: retrieval plus evidence selection (sentence vectors cached)
        t, c = time.perf_counter(), time.process_time()
        select_evidence(q, retriever.retrieve(q, 5), vectors)
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    out["answer_path"] = {"p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3, "cpu_p50_ms": pct(cpu, 50) * 1e3}
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss_before_open_mb"] = rss_models
    return out


def reuse(work: Path) -> dict:
    """An index left by an earlier (interrupted) run: only its dense structure is built here."""
    from rag.store import open_store

    store = open_store(work)
    t = time.perf_counter()
    store.optimize(progress=lambda stage, d, total: print(f"  {stage} {d:,}/{total:,}", file=sys.stderr))
    info = store.info
    store.close()
    return {"chunks": info.chunks, "documents": info.documents, "dense_build_s": time.perf_counter() - t,
            "reused": True}


def run(n_chunks: int, real: bool, keep: bool, n_questions: int, reused: bool = False) -> dict:
    name = f"{n_chunks}{'-real' if real else ''}"
    work = OUT / f"index-{name}"
    if not reused:
        shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(seed=0)
    result: dict = {"chunks_target": n_chunks, "real_embeddings": real, "machine": f"{cpu_model()}, {os.cpu_count()} cores",
                    "command": " ".join(["bench/scale.py", *sys.argv[1:]]), "date": time.strftime("%Y-%m-%d")}
    if reused:
        result["ingest"] = reuse(work)
        embedder = HashedEmbedder()
    elif real:
        result["ingest"], embedder = build_real(work, n_chunks, corpus)
    else:
        embedder = HashedEmbedder()
        result["ingest"] = build_hashed(work, n_chunks, embedder, corpus)
    result["disk_bytes"] = disk_bytes(work)
    questions = make_questions(work, n_questions)
    qfile = OUT / f"questions-{name}.json"
    qfile.write_text(json.dumps(questions))
    print("serving measurements in a fresh process…", file=sys.stderr)
    proc = subprocess.run([sys.executable, __file__, "serve", str(work), str(qfile), *(["--real"] if real else [])],
                          capture_output=True, text=True, check=True)
    result["serve"] = json.loads(proc.stdout.strip().splitlines()[-1])
    print("recall against exact search…", file=sys.stderr)
    result["dense_recall"] = recall_at_10(work, embedder, questions)
    print("adding 100 articles…", file=sys.stderr)
    result["add_100"] = add_articles(work, Corpus(seed=99), embedder, real_ingest=real)
    result["bench_peak_rss_mb"] = peak_rss_mb()
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def latency(m: dict) -> str:
    return f"{m['p50_ms']:.1f} / {m['p95_ms']:.1f} ms ({m.get('cpu_p50_ms', float('nan')):.1f})"


def table(results: list[dict]) -> str:
    """The README table, one column per run."""
    def col(r: dict) -> str:
        return f"{r['ingest']['chunks']:,} chunks" + (" (real embeddings)" if r["real_embeddings"] else " (hashed vectors)")

    def ingest_row(r: dict) -> str:
        i = r["ingest"]
        if i.get("reused"):
            return f"not measured (index left by an interrupted run; dense build {i['dense_build_s']:.0f} s)"
        if r["real_embeddings"]:
            return (f"{i['end_to_end_chunks_per_s']:.0f} end to end (embedding {i['embed_chunks_per_s']:.0f}; "
                    f"the rest {i['chunks'] / i['other_s']:.0f})")
        return f"storage {i['storage_chunks_per_s']:.0f} (of which dense build {i['dense_build_s']:.0f} s)"

    def recall_row(r: dict) -> str:
        d = r["dense_recall"]
        if d["kind"] != "ivf":
            return f"{d['kind']} (exact): " + ", ".join(f"{v['recall_at_10']:.3f}" for k, v in d.items() if k != "kind")
        serving = str(d.get("serving_nprobe", ""))
        return f"IVF, {d.get('nlist', '?')} lists: " + ", ".join(
            f"nprobe {k}{' (serving)' if k == serving else ''}: {v['recall_at_10']:.3f} ({v['p50_ms']:.1f} ms)"
            for k, v in d.items() if isinstance(v, dict))

    rows = [
        ("ingest chunks/s", ingest_row),
        ("bytes on disk", lambda r: f"{r['disk_bytes'] / 1e9:.2f} GB" if r["disk_bytes"] > 1e9 else f"{r['disk_bytes'] / 1e6:.0f} MB"),
        ("open / first search", lambda r: f"{r['serve']['open_s'] * 1e3:.0f} ms / {r['serve']['first_search_s'] * 1e3:.0f} ms"),
        ("peak RSS serving (store + retrieval)", lambda r: f"{r['serve']['peak_rss_mb']:.0f} MB"),
        ("dense p50 / p95 (CPU p50)", lambda r: latency(r["serve"]["dense"])),
        ("BM25 p50 / p95 (CPU p50)", lambda r: latency(r["serve"]["bm25"])),
        ("hybrid p50 / p95 (CPU p50)", lambda r: latency(r["serve"]["hybrid"])),
        ("dense recall@10 vs exact", recall_row),
        ("add 100 articles", lambda r: f"{r['add_100'].get('total_s', r['add_100']['storage_s']):.1f} s "
                                       f"({r['add_100']['chunks']} chunks" +
                                       (f", embedding {r['add_100']['embed_s']:.1f} s)" if "embed_s" in r["add_100"]
                                        else ", storage only)")),
        ("per answer outside the LLM p50 / p95 (CPU p50)", lambda r: latency(r["serve"]["answer_path"])),
    ]
    out = ["| | " + " | ".join(col(r) for r in results) + " |", "|---|" + "---:|" * len(results)]
    out += [f"| {label} | " + " | ".join(f(r) for r in results) + " |" for label, f in rows]
    return "\n".join(out)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        print(json.dumps(serve(sys.argv[2], sys.argv[3], "--real" in sys.argv)))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--real", action="store_true", help="real embeddings through rag ingest")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--keep", action="store_true", help="keep the index folders in runs/scale/")
    p.add_argument("--reuse", action="store_true",
                   help="measure the index an interrupted run left in runs/scale/index-N (its commits are kept)")
    p.add_argument("--table", nargs="+", metavar="RUN.json", help="print the table of saved runs and exit")
    args = p.parse_args()
    if args.table:
        print(table([json.loads(Path(f).read_text()) for f in args.table]))
        return 0
    results = [run(n, args.real, args.keep or args.reuse, args.questions, args.reuse) for n in args.chunks]
    print(f"\n{results[0]['machine']}; {results[0]['command']}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
