"""LLM speed on the engine's own prompts: per model x weight format x llama.cpp setting, the prompt tokens
evaluated per question (beyond the cached prefix), prefill tokens/s, first token and total p50/p95, generation
tokens/s, and whether the greedy text is the same as the first setting's.

    # 1. record the prompts the engine builds for the dev questions (the project's interpreter; no LLM)
    .venv/bin/python bench/llm_speed.py record --index indexes/seeds --out runs/prompts_dev.json
    # 2. time them (one process, one model loaded at a time; run alone: `flock /tmp/cpu.lock ...`)
    .venv/bin/python bench/llm_speed.py run runs/prompts_dev.json --models quality quality-q4_0 fast fast-q4_0
    .venv/bin/python bench/llm_speed.py run runs/prompts_dev.json --models quality-q4_0 \\
        --settings "" t=1 tb=1 ub=128 fa=0 pl=10
    # 3. where the evaluated prompt tokens go (tokenizer only, seconds)
    .venv/bin/python bench/llm_speed.py tokens runs/prompts_dev.json --model quality

A setting is comma-separated key=value over LlamaCppLLM's defaults: t (n_threads), tb (n_threads_batch),
b (n_batch), ub (n_ubatch), fa (flash attention 0/1), pl (prompt-lookup draft tokens, 0 off). Each question is
asked as the engine asks it (its refusal probe, no reply starting with "["), after the warm-up prompt, in order,
so llama.cpp's prefix match works as it does in the engine. The header gives the CPU flags and llama.cpp's build.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEYS = {"t": "n_threads", "tb": "n_threads_batch", "b": "n_batch", "ub": "n_ubatch", "fa": "flash_attn",
        "pl": "prompt_lookup"}


def parse_setting(text: str) -> dict:
    """LlamaCppLLM keyword arguments from "t=2,ub=128,fa=0" ("" is the defaults).

    >>> parse_setting("t=1,fa=0")
    {'n_threads': 1, 'flash_attn': False}
    """
    out: dict = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, _, value = item.partition("=")
        if key not in KEYS or not value.isdigit():
            raise SystemExit(f"bad setting {item!r}: use key=number with key one of {', '.join(KEYS)}")
        out[KEYS[key]] = bool(int(value)) if key == "fa" else int(value)
    return out


def machine() -> str:
    flags = ""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
        model = next(line for line in open("/proc/cpuinfo") if line.startswith("model name")).split(":", 1)[1]
    except (OSError, StopIteration):
        model = platform.processor()
    kind = "avx512f" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    import llama_cpp

    system = llama_cpp.llama_print_system_info().decode().strip()
    return (f"cpu: {model.strip()}, {os.cpu_count()} cores, {kind}\n"
            f"llama-cpp-python {llama_cpp.__version__} at {Path(llama_cpp.__file__).parent}\n"
            f"llama.cpp system info: {system}")


# ---- 1. record ------------------------------------------------------------------------
class PromptRecorder:
    """An LLM that answers nothing and keeps the messages the engine gives it."""

    model_id = "prompt-recorder"

    def __init__(self):
        self.prompts: list[list[dict]] = []

    def count_prompt_tokens(self, messages) -> int:
        return 0

    def stream(self, messages, max_tokens=256, refusal=None, not_first=()):
        self.prompts.append([dict(m) for m in messages])
        return iter(())


def record(args) -> int:
    from rag.indexes import embedder_for_index
    from rag.answer.engine import Engine
    from rag.retrieve.evidence import Evidence
    from rag.answer.prompt import build_messages
    from rag.store import open_store

    embedder = embedder_for_index(args.index)
    recorder = PromptRecorder()
    engine = Engine(open_store(args.index, expect_model_id=embedder.model_id), embedder, recorder,
                    refusal_threshold=None)
    questions = [json.loads(line)["question"] for line in open(args.gold) if line.strip()]
    for q in questions:
        engine.ask(q)
    out = {"gold": args.gold, "index": args.index, "questions": questions, "prompts": recorder.prompts,
           "warm_up": build_messages("warm up", Evidence((), ()))}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1))
    print(f"wrote {len(recorder.prompts)} prompts ({len(questions)} questions) to {args.out}")
    return 0


# ---- 2. run ---------------------------------------------------------------------------
@dataclass
class Evals:
    """(tokens, seconds) of each llama.cpp decode call, in order."""

    calls: list[tuple[int, float]] = field(default_factory=list)

    def wrap(self, llama) -> None:
        inner = llama.eval

        def timed(tokens):
            t = time.perf_counter()
            inner(tokens)
            self.calls.append((len(tokens), time.perf_counter() - t))
        llama.eval = timed


def busy_jiffies() -> int:
    """CPU time all processes spent (clock ticks), from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return user + nice + system + irq + softirq + steal


def others_share(start: tuple[int, float, float]) -> float:
    """Share of the machine's CPU that other processes used since ``start`` (busy jiffies, own CPU s, wall s)."""
    jiffies, own, wall = start
    tick = os.sysconf("SC_CLK_TCK")
    others = (busy_jiffies() - jiffies) / tick - (time.process_time() - own)
    return max(0.0, others / ((time.perf_counter() - wall) * (os.cpu_count() or 1)))


def pct(values, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run_setting(spec: str, setting: str, prompts, warm, max_tokens: int) -> dict:
    from rag.answer.engine import NOT_FIRST
    from rag.answer.llm import LlamaCppLLM
    from rag.answer.models import resolve_model
    from rag.answer.refusal import RefusalProbe

    path, model_id = resolve_model(spec)
    llm = LlamaCppLLM(path, model_id, **parse_setting(setting))
    t = time.perf_counter()
    llama = llm.llama
    load_s = time.perf_counter() - t
    evals = Evals()
    evals.wrap(llama)
    llm.warm_up(warm)
    start = (busy_jiffies(), time.process_time(), time.perf_counter())
    rows = []
    for messages in prompts:
        n_prompt = llm.count_prompt_tokens(messages)
        evals.calls.clear()
        pieces, first = [], None
        t0 = time.perf_counter()
        for piece in llm.stream(messages, max_tokens, refusal=RefusalProbe(), not_first=NOT_FIRST):
            if first is None:
                first = time.perf_counter() - t0
            pieces.append(piece)
        total = time.perf_counter() - t0
        text = "".join(pieces)
        prefill_n, prefill_s = evals.calls[0]
        generated = len(llm.llama.tokenize(text.encode(), add_bos=False)) if text else 0
        rows.append({"prompt_tokens": n_prompt, "evaluated": prefill_n, "prefill_s": prefill_s,
                     "first_s": first or total, "total_s": total, "generated": generated,
                     "gen_s": total - (first or total), "decode_calls": len(evals.calls) - 1, "text": text})
    others = others_share(start)
    del llm, llama
    gc.collect()
    return {"model": spec, "file": path.name, "setting": setting or "defaults", "load_s": load_s, "rows": rows,
            "others": others}


def summarize(result: dict, baseline: dict | None) -> dict:
    rows = result["rows"]
    med = statistics.median
    gen = [(r["generated"] - 1) / r["gen_s"] for r in rows if r["generated"] > 1 and r["gen_s"] > 0]
    same = (sum(a["text"] == b["text"] for a, b in zip(rows, baseline["rows"])) if baseline else None)
    return {
        "model": result["model"], "file": result["file"], "setting": result["setting"],
        "questions": len(rows),
        "prompt_tokens_p50": med(r["prompt_tokens"] for r in rows),
        "evaluated_p50": med(r["evaluated"] for r in rows),
        "prefill_tok_s": sum(r["evaluated"] for r in rows) / sum(r["prefill_s"] for r in rows),
        "first_p50": med(r["first_s"] for r in rows), "first_p95": pct([r["first_s"] for r in rows], 0.95),
        "total_p50": med(r["total_s"] for r in rows), "total_p95": pct([r["total_s"] for r in rows], 0.95),
        "gen_tok_s": med(gen) if gen else float("nan"),
        "generated_p50": med(r["generated"] for r in rows),
        "same_text": f"{same}/{len(rows)}" if same is not None else "(baseline)",
        "others_cpu": result["others"],
    }


HEADER = ("| model | file | setting | prompt tok p50 | evaluated p50 | prefill tok/s | first token p50 / p95 | "
          "total p50 / p95 | gen tok/s | same text | other processes' CPU |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|")


def row(s: dict) -> str:
    return (f"| {s['model']} | {s['file']} | {s['setting']} | {s['prompt_tokens_p50']:.0f} | "
            f"{s['evaluated_p50']:.0f} | {s['prefill_tok_s']:.1f} | {s['first_p50']:.2f} / {s['first_p95']:.2f} s | "
            f"{s['total_p50']:.2f} / {s['total_p95']:.2f} s | {s['gen_tok_s']:.1f} | {s['same_text']} | "
            f"{s['others_cpu']:.0%} |")


def run(args) -> int:
    data = json.loads(Path(args.prompts).read_text())
    prompts = data["prompts"][:: args.every][: args.limit or None]
    print(machine())
    print(f"\n{len(prompts)} prompts of {args.prompts} (every {args.every}), max_tokens {args.max_tokens}\n")
    print(HEADER, flush=True)
    out = open(args.out, "a") if args.out else None
    for spec in args.models:
        baseline = None
        for setting in args.settings:
            result = run_setting(spec, setting, prompts, data["warm_up"], args.max_tokens)
            s = summarize(result, baseline)
            baseline = baseline or result
            print(row(s), flush=True)
            if out:
                out.write(json.dumps({**s, "machine": machine().splitlines()[0],
                                      "texts": [r["text"] for r in result["rows"]]}) + "\n")
                out.flush()
    return 0


# ---- 3. tokens ------------------------------------------------------------------------
def tokens(args) -> int:
    """Where the prompt tokens go: cached prefix, source lines, sentence numbers, sentence text, question, template."""
    import re

    from rag.answer.llm import LlamaCppLLM
    from rag.answer.models import resolve_model

    data = json.loads(Path(args.prompts).read_text())
    path, model_id = resolve_model(args.model)
    llm = LlamaCppLLM(path, model_id)
    llm.load()

    def n(text: str) -> int:
        return len(llm.tokenize(text)) if text else 0

    warm = llm.tokenize(llm.render(data["warm_up"])[0])
    parts: dict[str, list[int]] = {k: [] for k in ("prompt", "cached prefix", "evaluated",
                                                  "shared with the previous question's prompt", "source lines",
                                                  "sentence numbers [n]", "sentence text", "question line",
                                                  "template and blank lines")}
    def common(a: list[int], b: list[int]) -> int:
        return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))

    previous = warm
    for messages in data["prompts"]:
        toks = llm.tokenize(llm.render(messages)[0])
        cached = common(warm, toks)
        parts["shared with the previous question's prompt"].append(common(previous, toks))
        previous = toks
        user = messages[-1]["content"]
        evidence, _, question = user.rpartition("\n\nQuestion: ")
        body = evidence.split("\n\n", 1)[1] if "\n\n" in evidence else ""
        lines = body.split("\n")
        numbered = [x for x in lines if re.match(r"\[\d+\] ", x)]
        sources = [x for x in lines if x and not re.match(r"\[\d+\] ", x)]
        parts["prompt"].append(len(toks))
        parts["cached prefix"].append(cached)
        parts["evaluated"].append(len(toks) - cached)
        parts["source lines"].append(sum(n(x) for x in sources))
        with_numbers = sum(n(x) for x in numbered)
        text_only = sum(n(x.split("] ", 1)[1]) for x in numbered)
        parts["sentence numbers [n]"].append(with_numbers - text_only)
        parts["sentence text"].append(text_only)
        parts["question line"].append(n(f"Question: {question}"))
        parts["template and blank lines"].append(
            len(toks) - cached - parts["source lines"][-1] - with_numbers - parts["question line"][-1])
    print(f"{len(data['prompts'])} prompts of {args.prompts}, tokenizer of {path.name}\n")
    print("| part | tokens p50 | mean |\n|---|---:|---:|")
    for name, values in parts.items():
        print(f"| {name} | {statistics.median(values):.0f} | {statistics.mean(values):.1f} |")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("record", help="record the engine's prompts for a gold file's questions")
    s.add_argument("--index", required=True)
    s.add_argument("--gold", default=str(ROOT / "eval/gold/seeds.jsonl"))
    s.add_argument("--out", required=True)
    s.set_defaults(run=record)
    s = sub.add_parser("run", help="time recorded prompts per model and setting")
    s.add_argument("prompts")
    s.add_argument("--models", nargs="+", default=["quality", "fast"],
                   help="bundled names (quality, quality-q4_0, fast-q4_k_m, ...) or GGUF paths")
    s.add_argument("--settings", nargs="+", default=[""], help='e.g. "" t=1 ub=128 fa=0 pl=10 (first: baseline)')
    s.add_argument("--every", type=int, default=1, help="take every n-th prompt")
    s.add_argument("--limit", type=int, default=0)
    s.add_argument("--max-tokens", type=int, default=200)
    s.add_argument("--out", help="append one JSON line per model and setting")
    s.set_defaults(run=run)
    s = sub.add_parser("tokens", help="where the prompt tokens go")
    s.add_argument("prompts")
    s.add_argument("--model", default="quality")
    s.set_defaults(run=tokens)
    args = p.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
