"""The refusal threshold, calibrated: what each threshold would give on a run made without one.

A run made with ``--refusal-threshold off`` holds, for every question, the model's
answer and its own probability of refusing (rag/answer/judge/verdict.py). Abstaining at a
threshold t means abstaining on every question whose probability reaches t, on top
of the abstentions the run made anyway; an answer then stays correct only if it was
correct and is not abstained on. ``sweep`` and ``calibrated`` are pure.

Calibrate on the development set only (eval/gold/seeds.jsonl); the test and
external sets are reported with the threshold chosen there.

    rag eval eval/gold/seeds.jsonl --index indexes/seeds --refusal-threshold off --out runs/off
    rag eval --calibrate runs/off
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.errors import RagError
from rag.answer.judge import reaches

from .metrics import ratio
from .report import read_run
from .results import QuestionResult

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.97, 0.99)  # 0.05 … 0.95, 0.97, 0.99


@dataclass(frozen=True)
class SweepRow:
    threshold: float | None          # None: the model's refusal probability not used
    accuracy: float | None           # answerable questions answered correctly
    abstention_precision: float | None
    abstention_recall: float | None  # unanswerable questions abstained on
    false_abstention: float | None   # answerable questions abstained on
    refused: int                     # questions the threshold alone turns into abstentions
    right: int = 0                   # questions answered correctly plus unanswerable ones abstained on

    @property
    def score(self) -> float:
        """What calibration maximises: the questions the system gets right, answering or abstaining (each question
        counts once, so the set's own mix of answerable and unanswerable questions sets the balance; summing the
        two rates instead made one unanswerable question worth five answerable ones and chose a threshold that
        withheld a third of the answers)."""
        return float(self.right)


def abstains(r: QuestionResult, threshold: float | None) -> bool:
    return bool(r.abstained) or reaches(r.refusal_p, threshold)


def sweep(results: Sequence[QuestionResult], thresholds: Sequence[float] = THRESHOLDS) -> list[SweepRow]:
    """Accuracy and abstention at each threshold (and without one, first)."""
    answered = [r for r in results if r.answer is not None]
    if not answered:
        raise RagError("the run has no answers (a retrieval-only run?); calibrate on a run with the LLM")
    answerable = [r for r in answered if r.answerable]
    unanswerable = [r for r in answered if not r.answerable]
    rows = []
    for t in (None, *thresholds):
        abstained = [r for r in answered if abstains(r, t)]
        rows.append(SweepRow(
            threshold=t,
            accuracy=ratio(sum(1 for r in answerable if r.scores.correct and not abstains(r, t)), len(answerable)),
            abstention_precision=ratio(sum(1 for r in abstained if not r.answerable), len(abstained)),
            abstention_recall=ratio(sum(1 for r in unanswerable if abstains(r, t)), len(unanswerable)),
            false_abstention=ratio(sum(1 for r in answerable if abstains(r, t)), len(answerable)),
            refused=sum(1 for r in answered if abstains(r, t) and not r.abstained),
            right=sum(1 for r in answerable if r.scores.correct and not abstains(r, t))
            + sum(1 for r in unanswerable if abstains(r, t)),
        ))
    return rows


def calibrated(rows: Sequence[SweepRow]) -> float | None:
    """The calibrated threshold: the middle one of the longest run of neighbouring thresholds with the highest
    ``score``, the choice furthest from changing the result (a threshold at the edge of the range rests on one
    question); None when no threshold does better than none.

    >>> rows = [SweepRow(t, None, None, None, None, 0, right) for t, right in
    ...         [(None, 80), (.5, 79), (.6, 82), (.7, 82), (.8, 82), (.9, 81)]]
    >>> calibrated(rows)
    0.7
    """
    def key(r: SweepRow) -> float:
        return round(r.score, 9)
    best = max(key(r) for r in rows)
    if any(r.threshold is None and key(r) == best for r in rows):
        return None
    runs: list[list[float]] = [[]]
    for r in rows:
        if r.threshold is None:
            continue
        if key(r) == best:
            runs[-1].append(r.threshold)
        elif runs[-1]:
            runs.append([])
    longest = max(runs, key=len)
    return longest[(len(longest) - 1) // 2]


def sweep_run(folder: str | Path) -> list[SweepRow]:
    summary, results = read_run(folder)
    if summary.run.refusal_threshold not in ("off", ""):
        raise RagError(f"{folder} was run with --refusal-threshold {summary.run.refusal_threshold}: questions "
                       "refused there have no answer to score; re-run with --refusal-threshold off")
    if all(r.refusal_p is None for r in results):
        raise RagError(f"{folder} has no refusal probabilities (an LLM that cannot report them, or an older run)")
    return sweep(results)


def render_sweep(rows: Sequence[SweepRow]) -> str:
    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    lines = ["| refusal threshold | accuracy | abstention precision | abstention recall | false abstention | "
             "refused | right |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        t = "off" if r.threshold is None else f"{r.threshold:.2f}"
        lines.append(f"| {t} | {f(r.accuracy)} | {f(r.abstention_precision)} | {f(r.abstention_recall)} | "
                     f"{f(r.false_abstention)} | {r.refused} | {r.right} |")
    choice = calibrated(rows)
    lines += ["", f"calibrated: --refusal-threshold {'off' if choice is None else choice} "
                  "(the middle of the range where the most questions come out right, answered or abstained on)"]
    return "\n".join(lines) + "\n"
