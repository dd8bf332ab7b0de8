"""A run folder on disk: results.jsonl, summary.json and summary.md; and the Markdown rendering."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from rag.errors import RagError

from .results import QuestionResult, read_results, write_results
from .summary import METRIC_BY_NAME, METRICS, Summary

RESULTS = "results.jsonl"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"


def format_value(name: str, value: float | None, digits: int = 3) -> str:
    """A metric's value for a table: rates with 3 decimals, seconds with 2, n/a for None.

    >>> format_value("answer_accuracy", 0.5), format_value("total_p50_s", 1.234), format_value("token_f1", None)
    ('0.500', '1.23 s', 'n/a')
    """
    if value is None:
        return "n/a"
    unit = METRIC_BY_NAME[name].unit if name in METRIC_BY_NAME else "rate"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def metric_label(name: str, top_k: int | None = None) -> str:
    label = METRIC_BY_NAME[name].label if name in METRIC_BY_NAME else name
    return label.replace("@k", f"@{top_k}") if top_k else label


def render_summary(summary: Summary) -> str:
    """The summary as Markdown: what was run, then one row per metric."""
    r, c = summary.run, summary.counts
    counts = f"{c['questions']} questions ({c['answerable']} answerable, {c['unanswerable']} unanswerable)"
    if "abstained" in c:
        counts += f"; {c['answered_correctly']} answered correctly, {c['abstained']} abstained"
        if c.get("empty_answers"):
            counts += f", {c['empty_answers']} answers with no words (markers only)"
    lines = [
        f"## rag eval: {Path(r.gold).name}", "",
        "| run | |", "|---|---|",
        f"| model | {r.model_id or 'none (retrieval only)'} |",
        f"| index | {r.index} ({r.embedding_model_id}) |",
        f"| rag code | {r.rag_version or 'unknown'} |",
        f"| gold | {r.gold} |",
        f"| questions | {counts} |",
        f"| top_k | {r.top_k} passages to the model; MRR over the top {r.depth} |",
        f"| date | {r.date} |",
        f"| machine | {r.cpu}, {r.cores} cores |",
        f"| run time | {r.seconds:.1f} s |",
        "", "| metric | value |", "|---|---:|",
    ]
    for metric in METRICS:
        if metric.name in summary.metrics:
            value = format_value(metric.name, summary.metrics[metric.name])
            lines.append(f"| {metric_label(metric.name, r.top_k)} | {value} |")
    return "\n".join(lines) + "\n"


def write_run(out: str | Path, results: Sequence[QuestionResult], summary: Summary) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_results(out / RESULTS, results)
    summary_json = json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n"
    (out / SUMMARY_JSON).write_text(summary_json, encoding="utf-8")
    (out / SUMMARY_MD).write_text(render_summary(summary), encoding="utf-8")
    return out


def read_run(folder: str | Path) -> tuple[Summary, list[QuestionResult]]:
    folder = Path(folder)
    path = folder / SUMMARY_JSON
    if not path.is_file():
        raise RagError(f"{folder} is not an eval run folder (no {SUMMARY_JSON}); "
                       f"make one with rag eval GOLD --index INDEX --out {folder}")
    try:
        summary = Summary.from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
        results = read_results(folder / RESULTS)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RagError(f"cannot read eval run {folder}: {e}") from e
    return summary, results
