"""Two runs side by side: every metric (A, B, B - A), then the questions whose outcome changed."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from .report import format_value, metric_label, read_run
from .results import QuestionResult
from .summary import METRIC_BY_NAME, METRICS, Summary


def compare_runs(a: str | Path, b: str | Path) -> str:
    """Markdown comparing the run folders ``a`` and ``b``."""
    (sa, ra), (sb, rb) = read_run(a), read_run(b)
    return render_comparison(str(a), sa, ra, str(b), sb, rb)


def render_comparison(name_a: str, sa: Summary, ra: Sequence[QuestionResult],
                      name_b: str, sb: Summary, rb: Sequence[QuestionResult]) -> str:
    lines = [f"## rag eval: {name_a} (A) vs {name_b} (B)", ""]
    lines += [f"- A: {_describe(sa)}", f"- B: {_describe(sb)}"]
    lines += [f"- warning: {w}" for w in _warnings(sa, sb)]
    lines += ["", "| metric | A | B | B − A |", "|---|---:|---:|---:|"]
    for metric in METRICS:
        if metric.name in sa.metrics or metric.name in sb.metrics:
            va, vb = sa.metrics.get(metric.name), sb.metrics.get(metric.name)
            lines.append(f"| {metric_label(metric.name)} | {format_value(metric.name, va)} | "
                         f"{format_value(metric.name, vb)} | {_delta(metric.name, va, vb)} |")
    lines += ["", *question_changes(ra, rb)]
    return "\n".join(lines) + "\n"


def delta(va: float | None, vb: float | None) -> float | None:
    return None if va is None or vb is None else vb - va


def _delta(name: str, va: float | None, vb: float | None) -> str:
    d = delta(va, vb)
    if d is None:
        return "n/a"
    if abs(d) < 1e-12:
        return "0"
    text = format_value(name, d)
    text = text if text.startswith("-") else "+" + text
    better = (d > 0) == METRIC_BY_NAME[name].higher_is_better
    return f"{text} {'▲' if better else '▼'}"


# (outcome, its value for one result; None where it does not apply, e.g. correctness of an unanswerable question)
CHANGES: tuple[tuple[str, Callable[[QuestionResult], object]], ...] = (
    ("answer correct", lambda r: r.scores.correct),
    ("abstained", lambda r: r.abstained),
    ("retrieval hit", lambda r: r.scores.hit_at_k),
)


def question_changes(ra: Sequence[QuestionResult], rb: Sequence[QuestionResult]) -> list[str]:
    """Markdown sections listing, per outcome, the questions that flipped between A and B."""
    a, b = {r.id: r for r in ra}, {r.id: r for r in rb}
    common = [qid for qid in a if qid in b]
    lines = ["### Per-question changes", ""]
    for title, value in CHANGES:
        flips = [(qid, value(a[qid]), value(b[qid])) for qid in common
                 if value(a[qid]) is not None and value(b[qid]) is not None and value(a[qid]) != value(b[qid])]
        if not flips:
            lines.append(f"- {title}: no change")
            continue
        to_true = [qid for qid, _, vb in flips if vb]
        to_false = [qid for qid, _, vb in flips if not vb]
        lines.append(f"- {title}: {len(to_false)} true → false, {len(to_true)} false → true")
        lines += ["", f"| id | {title}: A → B | question | answer A | answer B |", "|---|---|---|---|---|"]
        for qid, va, vb in flips:
            lines.append(f"| {qid} | {_yes(va)} → {_yes(vb)} | {_cell(a[qid].question)} | "
                         f"{_cell(a[qid].answer)} | {_cell(b[qid].answer)} |")
        lines.append("")
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        lines.append(f"- questions only in A: {', '.join(only_a) or 'none'}; only in B: {', '.join(only_b) or 'none'}")
    return lines


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _cell(text: str | None, width: int = 80) -> str:
    if text is None:
        return "—"
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _describe(s: Summary) -> str:
    r = s.run
    model = r.model_id or "retrieval only"
    code = f", rag {r.rag_version}" if r.rag_version else ""
    return (f"{model}, top_k {r.top_k}, gold {r.gold} ({s.counts.get('questions')} questions), "
            f"index {r.index}{code}, {r.date}")


def _warnings(sa: Summary, sb: Summary) -> list[str]:
    out = []
    if sa.run.gold_sha256 and sb.run.gold_sha256 and sa.run.gold_sha256 != sb.run.gold_sha256:
        out.append("the gold files differ; metrics are not directly comparable")
    if sa.run.top_k != sb.run.top_k:
        out.append(f"top_k differs ({sa.run.top_k} vs {sb.run.top_k}); retrieval @k metrics measure different cut-offs")
    return out
