"""The summary of a run: aggregate metrics over the per-question results, plus what was run where.

``summarize`` is pure. A metric is None ("n/a") when no question qualifies for it,
e.g. citation precision when no answer cited anything.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Sequence

from . import metrics as m
from .results import QuestionResult

FORMAT = "rag-eval-summary"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str = "rate"  # "rate" (0..1), "s" (seconds) or "count"
    higher_is_better: bool = True
    needs_llm: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("retrieval_hit_at_k", "retrieval hit@k (documents)", needs_llm=False),
    Metric("retrieval_recall_at_k", "retrieval recall@k (documents)", needs_llm=False),
    Metric("retrieval_mrr_at_10", "retrieval MRR@10 (documents)", needs_llm=False),
    Metric("evidence_recall", "evidence recall (the gold answer is in the sentences given to the model)",
           needs_llm=False),
    Metric("gold_answers_stated", "gold answers their gold articles state (what evidence recall can count)",
           needs_llm=False),
    Metric("evidence_lost_retrieval", "evidence lost: answer not in the retrieved chunks", higher_is_better=False,
           needs_llm=False),
    Metric("evidence_lost_selection", "evidence lost: retrieved but not selected", higher_is_better=False,
           needs_llm=False),
    Metric("evidence_words_p50", "evidence words p50 (sentences and source lines)", "count", False,
           needs_llm=False),
    Metric("answer_accuracy", "answer accuracy (containment)"),
    Metric("exact_match", "exact match"),
    Metric("token_f1", "token F1"),
    Metric("citation_validity", "citation validity"),
    Metric("citation_precision", "citation precision (documents)"),
    Metric("citation_recall", "citation recall (documents)"),
    Metric("citation_support", "citation support (answer sentences their citation states)"),
    Metric("abstention_precision", "abstention precision"),
    Metric("abstention_recall", "abstention recall"),
    Metric("abstention_f1", "abstention F1"),
    Metric("false_abstention_rate", "false abstention rate", higher_is_better=False),
    Metric("first_token_p50_s", "first token p50", "s", False),
    Metric("first_token_p95_s", "first token p95", "s", False),
    Metric("total_p50_s", "total p50", "s", False),
    Metric("total_p95_s", "total p95", "s", False),
    Metric("prompt_tokens_p50", "prompt tokens p50", "count", False),
)
METRIC_BY_NAME = {x.name: x for x in METRICS}


@dataclass(frozen=True)
class RunInfo:
    gold: str
    index: str
    top_k: int
    depth: int
    retrieval_only: bool
    model_id: str | None = None
    embedding_model_id: str = ""
    rag_version: str = ""  # git commit of the rag code, "-dirty" with uncommitted changes
    gold_sha256: str = ""
    date: str = ""
    cpu: str = ""
    cores: int = 0
    seconds: float = 0.0
    refusal_threshold: str = ""  # "off", or the probability at which the model's own refusal abstained


@dataclass(frozen=True)
class Summary:
    run: RunInfo
    counts: dict[str, int]
    metrics: dict[str, float | None]  # names from METRICS; answer metrics absent in retrieval-only runs
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "summary") -> "Summary":
        if d.get("format") != FORMAT or d.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{where} is not a {FORMAT} v{FORMAT_VERSION} file "
                             f"(format {d.get('format')!r} v{d.get('format_version')!r}); re-run rag eval")
        known = {f.name for f in fields(RunInfo)}
        run = RunInfo(**{k: v for k, v in d["run"].items() if k in known})
        return cls(run, dict(d["counts"]), dict(d["metrics"]))


def summarize(results: Sequence[QuestionResult], run: RunInfo) -> Summary:
    answerable = [r for r in results if r.answerable]
    s = [r.scores for r in answerable]
    metrics: dict[str, float | None] = {
        "retrieval_hit_at_k": m.mean(x.hit_at_k for x in s),
        "retrieval_recall_at_k": m.mean(x.recall_at_k for x in s),
        "retrieval_mrr_at_10": m.mean(x.reciprocal_rank for x in s),
    }
    if not run.retrieval_only or any(x.evidence_hit is not None for x in s):
        metrics.update(_evidence_metrics(results))
    if not run.retrieval_only or any(x.answer_stated is not None for x in s):  # None: the gold articles not read
        metrics["gold_answers_stated"] = m.mean(x.answer_stated for x in s)
    counts = {"questions": len(results), "answerable": len(answerable), "unanswerable": len(results) - len(answerable)}
    if not run.retrieval_only:
        metrics.update(_answer_metrics(results))
        counts.update(
            abstained=sum(1 for r in results if r.abstained),
            answered_correctly=sum(1 for x in s if x.correct),
            with_citations=sum(1 for r in results if r.cited_doc_ids),
            empty_answers=sum(1 for r in results if r.abstained is False and _is_empty(r.answer)),
        )
    return Summary(run, counts, metrics)


def _is_empty(answer: str | None) -> bool:
    """True for an answer with no words besides citation markers, e.g. "[1] [2]"."""
    return not m.answer_tokens(m.strip_markers(answer or ""))


def _pooled(results: Sequence[QuestionResult], part: str, whole: str) -> float | None:
    total = sum(getattr(r, whole) or 0 for r in results)
    return sum(getattr(r, part) or 0 for r in results) / total if total else None


def _evidence_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """Evidence recall and where the answers it misses were lost: never retrieved (not in the top-k chunks) or
    retrieved and then left out of what the model was shown."""
    s = [r.scores for r in results if r.answerable and r.scores.evidence_hit is not None]
    return {
        "evidence_recall": m.mean(x.evidence_hit for x in s),
        "evidence_lost_retrieval": m.mean(not x.answer_retrieved for x in s if x.answer_retrieved is not None),
        "evidence_lost_selection": m.mean(bool(x.answer_retrieved and not x.evidence_hit) for x in s
                                          if x.answer_retrieved is not None),
        "evidence_words_p50": m.percentile((r.evidence_words for r in results), 50),
    }


def _answer_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    s = [r.scores for r in results if r.answerable]
    out = {
        "answer_accuracy": m.mean(x.correct for x in s),
        "exact_match": m.mean(x.exact_match for x in s),
        "token_f1": m.mean(x.token_f1 for x in s),
        "citation_validity": m.mean(r.scores.citations_valid for r in results),
        "citation_precision": m.mean(x.citation_precision for x in s),
        "citation_recall": m.mean(x.citation_recall for x in s),
        "citation_support": _pooled(results, "sentences_supported", "sentences_total"),
    }
    out.update(m.abstention_scores([r.answerable for r in results], [bool(r.abstained) for r in results]))
    out.update(
        first_token_p50_s=m.percentile((r.first_token_s for r in results), 50),
        first_token_p95_s=m.percentile((r.first_token_s for r in results), 95),
        total_p50_s=m.percentile((r.total_s for r in results), 50),
        total_p95_s=m.percentile((r.total_s for r in results), 95),
        prompt_tokens_p50=m.percentile((r.prompt_tokens for r in results), 50),
    )
    return out
