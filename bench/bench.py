"""Rerunnable speed benchmark: index build time, then answer latency per bundled model.

    .venv/bin/python bench/bench.py                    # both models, the 8 CI questions
    .venv/bin/python bench/bench.py --models fast --gold eval/gold/seeds.jsonl

Prints a Markdown table with the machine; numbers are wall-clock seconds on this machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown cpu"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["quality", "fast"])
    p.add_argument("--gold", default=str(ROOT / "eval/gold/seeds_test_ci.jsonl"))
    args = p.parse_args()

    from rag.embed.embedder import SentenceTransformerEmbedder
    from rag.answer.engine import open_engine
    from rag.ingest.pipeline import ingest

    t = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    embedder.embed_batch(["load"])
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        report = ingest([ROOT / "seeds"], Path(tmp) / "idx", embedder)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        again = ingest([ROOT / "seeds"], Path(tmp) / "idx", embedder)
        rebuild_s = time.perf_counter() - t
        print(f"# {cpu_model()}, {os.cpu_count()} cores\n")
        print(f"embedder load {load_s:.2f}s; seeds index build {build_s:.2f}s "
              f"({len(report.added)} docs, {report.chunks_embedded} chunks); "
              f"re-ingest unchanged {rebuild_s:.2f}s ({len(again.unchanged)} unchanged)\n")
        questions = [json.loads(line)["question"] for line in open(args.gold) if line.strip()]
        print("| model | load+warm s | first token p50 | first token max | total p50 | total max | prompt tokens p50 | prompt tok/s p50 |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in args.models:
            engine = open_engine(Path(tmp) / "idx", name, embedder=embedder)
            t = time.perf_counter()
            engine.warm_up()
            warm_s = time.perf_counter() - t
            ttft, total, ptoks, rate = [], [], [], []
            for q in questions:
                a = engine.ask(q)
                ttft.append(a.timings.first_token_s)
                total.append(a.timings.total_s)
                ptoks.append(a.timings.prompt_tokens)
                if a.timings.first_token_s > a.timings.retrieve_s:
                    rate.append(a.timings.prompt_tokens / (a.timings.first_token_s - a.timings.retrieve_s))
            med = statistics.median
            print(f"| {engine.model_id} | {warm_s:.1f} | {med(ttft):.2f} | {max(ttft):.2f} | {med(total):.2f} | "
                  f"{max(total):.2f} | {med(ptoks):.0f} | {med(rate):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
