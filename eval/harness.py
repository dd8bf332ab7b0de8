"""Run a gold set through the system: score every question, write the run folder, check floors.

The core is ``evaluate(questions, retrieve, ask)``; ``main(args)`` is what ``rag eval`` calls.

    from eval.gold import load_gold
    from eval.harness import evaluate_engine
    results = evaluate_engine(load_gold("eval/gold/seeds_test_ci.jsonl"), engine)
"""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from rag.errors import RagError
from rag.types import Answer, Passage

from .calibrate import render_sweep, sweep_run
from .compare import compare_runs
from .floors import FloorsEntry, check_floors, load_floors, render_checks
from .gold import Question, answers_stated, load_gold
from .report import read_run, render_summary, write_run
from .results import QuestionResult, score_question
from .summary import RunInfo, Summary, summarize

MRR_DEPTH = 10

Retrieve = Callable[[str, int], Sequence[Passage]]  # (question, k) -> passages, best first
Ask = Callable[[str], Answer]
Select = Callable[[str], Sequence[Passage]]  # question -> the passages the model would be given


def evaluate(questions: Sequence[Question], retrieve: Retrieve, ask: Ask | None = None, top_k: int = 5,
             progress: bool = True, select: Select | None = None,
             stated: Mapping[str, bool] | None = None) -> list[QuestionResult]:
    """Score each question: retrieval at depth max(top_k, 10) and at top_k, then the answer unless ``ask`` is
    None; without an answer, ``select`` (when given) tells what evidence the model would have been shown.
    ``stated``: question id -> whether its gold articles state its answer (gold.answers_stated), recorded with
    its scores."""
    if top_k <= 0:
        raise ValueError(f"top_k must be > 0, got {top_k}")
    from tqdm import tqdm

    depth = max(top_k, MRR_DEPTH)
    results: list[QuestionResult] = []
    with tqdm(questions, desc="eval", unit="q", file=sys.stderr, disable=not progress, leave=True) as bar:
        for q in bar:
            ranked = list(retrieve(q.question, depth))
            at_k = list(retrieve(q.question, top_k)) if top_k < depth else None  # the top k as the model gets it
            answer = ask(q.question) if ask is not None else None
            selected = select(q.question) if select is not None and answer is None else None
            results.append(score_question(q, ranked, answer, top_k, depth, selected,
                                          (stated or {}).get(q.id), at_k))
            bar.set_postfix_str(_running_score(results), refresh=False)
    return results


def evaluate_engine(questions: Sequence[Question], engine, retrieval_only: bool = False,
                    progress: bool = True) -> list[QuestionResult]:
    """``evaluate`` with an Engine's retrieval and answers (``engine.llm`` untouched when retrieval_only: the
    evidence it would be shown is still selected and scored)."""
    if retrieval_only:
        return evaluate(questions, engine.retrieve, None, engine.top_k, progress, engine.select)
    return evaluate(questions, engine.retrieve, engine.ask, engine.top_k, progress)


def _running_score(results: Sequence[QuestionResult]) -> str:
    answerable = [r for r in results if r.answerable]
    if results and results[-1].answer is None:
        return f"hit {sum(1 for r in answerable if r.scores.hit_at_k)}/{len(answerable)}"
    return (f"correct {sum(1 for r in answerable if r.scores.correct)}/{len(answerable)}, "
            f"abstained {sum(1 for r in results if r.abstained)}")


# ---- the command ------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    gold: str
    index: str
    out: str
    model: str | None
    top_k: int
    max_tokens: int
    retrieval_only: bool
    retrieval: str = "hybrid"
    refusal_threshold: float | None | str = "calibrated"


def main(args) -> int:
    """``rag eval``: run a gold set (exit 1 if floors fail), or ``--compare A B``."""
    if args.compare:
        print(compare_runs(*args.compare), end="")
        return 0
    if getattr(args, "calibrate", None):
        print(render_sweep(sweep_run(args.calibrate)), end="")
        return 0
    entry = _floors_entry(args)
    docs = getattr(args, "docs", None) or (entry.docs if entry else None)
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        if docs:
            args.index = _ingest_corpus(docs, args.index, Path(tmp) / "index")
        s = resolve_settings(args, entry)
        questions = load_gold(s.gold)
        started = time.perf_counter()
        select = None
        replayed = None
        if s.retrieval_only:
            store, retrieve, select, model_id, threshold = _retrieval_only(s)
            ask = None
        elif getattr(args, "replay", None):
            store, retrieve, ask, model_id, threshold, replayed = _replayed(s, args.replay)
        else:
            store, retrieve, ask, model_id, threshold = _full(s)
        gold_ids = {d for q in questions for d in q.doc_ids}
        check_doc_ids(questions, store.content_hashes(gold_ids), s.index)
        stated = answers_stated(questions, {d: article_text(doc) for d, doc in store.get_documents(gold_ids).items()})
        warn_unstated(stated)
        results = evaluate(questions, retrieve, ask, s.top_k, select=select, stated=stated)
        if replayed is not None and replayed.changed:
            print(f"warning: {len(replayed.changed)} question(s) read other evidence than in {args.replay}, so their "
                  f"recorded replies do not answer this prompt (re-run them with the model): "
                  f"{', '.join(replayed.changed[:8])}{' …' if len(replayed.changed) > 8 else ''}", file=sys.stderr)
        summary = summarize(results, run_info(s, model_id, store.info.embedding.model_id,
                                              time.perf_counter() - started, docs or "", threshold))
    out = write_run(s.out, results, summary)
    print(render_summary(summary))
    print(f"wrote {out / 'results.jsonl'}, summary.json and summary.md", file=sys.stderr)
    return _check(summary, entry) if entry else 0


def _ingest_corpus(docs: str, index: str | None, into: Path) -> str:
    """``--docs DIR``: ingest the corpus into a temporary index (gone after the run) and return its path."""
    from rag.ingest.report import format_ingest_report, progress_bars
    from rag.embed.embedder import SentenceTransformerEmbedder
    from rag.ingest.pipeline import ingest

    if index:
        raise RagError("give --docs DIR (a corpus ingested for this run) or --index DIR (an existing index), not both")
    if not Path(docs).exists():
        raise RagError(f"--docs {docs}: no such file or folder")
    report = ingest([docs], into, SentenceTransformerEmbedder(), progress=progress_bars())
    print(format_ingest_report(report, f"{into} (temporary, from {docs})"), file=sys.stderr)
    if not (report.added or report.unchanged):
        raise RagError(f"--docs {docs}: no article could be ingested; see the skipped files above")
    return str(into)


def resolve_settings(args, entry: FloorsEntry | None) -> Settings:
    """The run's settings from the command line; a floors entry fills in gold, model and retrieval_only."""
    gold = args.gold or (entry.gold if entry else None)
    if not gold:
        raise RagError("which gold file? e.g. rag eval eval/gold/seeds.jsonl --index indexes/seeds --out runs/q")
    for flag, value in (("--index", args.index), ("--out", args.out)):
        if not value:
            raise RagError(f"{flag} is required, e.g. rag eval {gold} --index indexes/seeds --out runs/q "
                           "(or --docs DIR to evaluate on a corpus ingested for the run)")
    model, retrieval_only = args.model, args.retrieval_only
    if entry:
        model = model or entry.model
        retrieval_only = retrieval_only or entry.retrieval_only
        _check_matches_entry(entry, gold, args.top_k, model)
    return Settings(gold, args.index, args.out, model, args.top_k, args.max_tokens, retrieval_only,
                    getattr(args, "retrieval", "hybrid"), getattr(args, "refusal_threshold", "calibrated"))


def _check_matches_entry(entry: FloorsEntry, gold: str, top_k: int, model: str | None) -> None:
    where = f"floors {entry.key!r}"
    if entry.gold and _sha256(gold) != _sha256(entry.gold):
        raise RagError(f"{where} were measured on {entry.gold}, not {gold}; drop the gold argument or pick another key")
    if entry.top_k is not None and top_k != entry.top_k:
        raise RagError(f"{where} were measured with --top-k {entry.top_k}, not {top_k}")
    if entry.model is not None and model != entry.model and not entry.retrieval_only:
        raise RagError(f"{where} were measured with --model {entry.model}, not {model}")


def _floors_entry(args) -> FloorsEntry | None:
    if bool(args.floors) != bool(args.floors_key):
        raise RagError("--floors and --floors-key go together, "
                       "e.g. --floors eval/floors.json --floors-key seeds_retrieval")
    return load_floors(args.floors, args.floors_key) if args.floors else None


def _retrieval_only(s: Settings):
    """Retrieval and evidence selection without the LLM (which is never loaded)."""
    from rag.embed.embedder import CachedEmbedder
    from rag.indexes import embedder_for_index
    from rag.retrieve.evidence import EvidenceFinder
    from rag.retrieve.retriever import RetrievalSettings, Retriever
    from rag.store import open_store

    embedder = CachedEmbedder(embedder_for_index(s.index))
    store = open_store(s.index, expect_model_id=embedder.model_id)
    retriever = Retriever(store, embedder, RetrievalSettings(mode=s.retrieval))
    finder = EvidenceFinder(retriever, embedder, top_k=s.top_k)
    return store, retriever.retrieve, (lambda q: finder.find(q).evidence.passages), None, None


def _full(s: Settings):
    from rag.answer.engine import open_engine
    from rag.retrieve.retriever import RetrievalSettings

    engine = open_engine(s.index, s.model, top_k=s.top_k, max_tokens=s.max_tokens,
                         retrieval=RetrievalSettings(mode=s.retrieval), refusal_threshold=s.refusal_threshold)
    engine.warm_up()  # model loading is not answer latency
    return engine.store, engine.retrieve, engine.ask, engine.model_id, engine.refusal_threshold


def _replayed(s: Settings, run: str):
    """The engine answering with the replies recorded in ``run`` (eval/replay.py) instead of an LLM."""
    from rag.answer.engine import Engine
    from rag.indexes import embedder_for_index
    from rag.retrieve.retriever import RetrievalSettings
    from rag.store import open_store

    from .replay import RecordedLLM

    llm = RecordedLLM(read_run(run)[1])
    embedder = embedder_for_index(s.index)
    engine = Engine(open_store(s.index, expect_model_id=embedder.model_id), embedder, llm, top_k=s.top_k,
                    max_tokens=s.max_tokens, retrieval=RetrievalSettings(mode=s.retrieval),
                    refusal_threshold=s.refusal_threshold)
    return engine.store, engine.retrieve, engine.ask, f"{llm.model_id} (replayed from {run})", \
        engine.refusal_threshold, llm


def check_doc_ids(questions: Sequence[Question], indexed, index_name: str) -> None:
    """Every gold document must be in the index, or retrieval scores would be silently wrong."""
    missing = sorted({d for q in questions for d in q.doc_ids} - set(indexed))
    if missing:
        raise RagError(f"gold documents not in index {index_name}: {', '.join(missing[:5])}"
                       f"{' …' if len(missing) > 5 else ''}; ingest them or use the matching gold file")


def article_text(doc) -> str:
    """An article as the gold check reads it: its title, outlet and date (what its source line can show), then its
    text."""
    return " ".join(x for x in (doc.title, doc.outlet, doc.date, doc.text) if x)


def warn_unstated(stated: Mapping[str, bool], shown: int = 8) -> None:
    """Name the answerable questions whose gold articles do not state their answer (in the words the gold gives):
    evidence recall and accuracy can only count them when other words of the articles match."""
    missing = [qid for qid, ok in stated.items() if not ok]
    if missing:
        print(f"note: {len(missing)} of {len(stated)} answerable questions have an answer their gold articles do "
              f"not state in the gold's words ({', '.join(missing[:shown])}{' …' if len(missing) > shown else ''}); "
              "evidence recall cannot count them: check the answers' wording against the articles",
              file=sys.stderr)


def _check(summary: Summary, entry: FloorsEntry) -> int:
    checks = check_floors(summary.metrics, entry.floors)
    print(render_checks(entry.key, checks))
    return 0 if all(c.ok for c in checks) else 1


def run_info(s: Settings, model_id: str | None, embedding_model_id: str, seconds: float, docs: str = "",
             refusal_threshold: float | None = None) -> RunInfo:
    return RunInfo(
        gold=s.gold, index=f"temporary index of {docs}" if docs else s.index, top_k=s.top_k, depth=max(s.top_k, MRR_DEPTH), retrieval_only=s.retrieval_only,
        model_id=model_id, embedding_model_id=embedding_model_id, rag_version=rag_version(),
        gold_sha256=_sha256(s.gold),
        date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), cpu=cpu_model(), cores=os.cpu_count() or 0,
        seconds=round(seconds, 2),
        refusal_threshold="" if s.retrieval_only else "off" if refusal_threshold is None else str(refusal_threshold),
    )


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def rag_version() -> str:
    """The git commit of the rag package, with "-dirty" if rag/ has uncommitted changes; "" outside git."""
    import rag

    root = Path(rag.__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "rag"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head.stdout.strip() + ("-dirty" if dirty else "")


def _sha256(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""
