"""One scored question: what was retrieved and answered, and its score on every metric.

``score_question`` is pure: it takes the gold question, the ranked passages and the
engine's Answer (None in retrieval-only runs) and returns a ``QuestionResult``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from rag.answer.prompt import source_line
from rag.retrieve.evidence import Evidence
from rag.types import Answer, Passage

from . import metrics as m
from .gold import Question


@dataclass(frozen=True)
class PassageRef:
    rank: int
    doc_id: str
    chunk_id: str
    score: float


@dataclass(frozen=True)
class MarkerRef:
    number: int
    resolved: bool  # names one of the passages given to the model


@dataclass(frozen=True)
class Scores:
    """Per-question scores; None where the metric does not apply to this question."""

    hit_at_k: bool | None = None  # retrieval (answerable questions)
    recall_at_k: float | None = None
    reciprocal_rank: float | None = None
    evidence_hit: bool | None = None  # the gold answer stands in the evidence given to the model (answerable)
    answer_retrieved: bool | None = None  # the gold answer stands in the top-k retrieved chunks (answerable)
    answer_stated: bool | None = None  # the gold answer stands in its gold articles (answerable; None: not checked)
    correct: bool | None = None  # answer (answerable questions; abstaining is wrong)
    exact_match: float | None = None
    token_f1: float | None = None
    citations_valid: bool | None = None  # non-abstained answers with at least one marker
    citation_precision: float | None = None  # answerable, non-abstained, at least one citation
    citation_recall: float | None = None  # answerable, non-abstained


@dataclass(frozen=True)
class QuestionResult:
    id: str
    question: str
    answers: tuple[str, ...]
    match: str
    answerable: bool
    gold_doc_ids: tuple[str, ...]
    retrieved: tuple[PassageRef, ...]  # to the scoring depth, best first
    retrieved_doc_ids: tuple[str, ...]  # unique, in rank order
    scores: Scores
    answer: str | None = None  # None: retrieval-only run
    raw_text: str | None = None
    abstained: bool | None = None
    context_doc_ids: tuple[str, ...] = ()  # documents of the passages the model was given, in order
    cited_doc_ids: tuple[str, ...] = ()
    markers: tuple[MarkerRef, ...] = ()
    first_token_s: float | None = None  # None when the model did not run
    total_s: float | None = None
    prompt_tokens: int | None = None
    model_id: str | None = None
    sentences_total: int | None = None  # answer sentences checked against their citations (rag/verify.py)
    sentences_supported: int | None = None
    citations_repaired: int | None = None
    abstain_reason: str | None = None
    left_out: tuple[str, ...] = ()  # why each sentence left out of the answer was (rag/answer/judge/trim.py)
    refusal_p: float | None = None  # the model's own probability of replying "NOT FOUND" (rag/answer/judge/verdict.py)
    evidence: tuple[str, ...] = ()  # the numbered sentences the model was given ("[n] text")
    evidence_words: int | None = None  # words of evidence the model was given (sentences and source lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "QuestionResult":
        row = dict(row)
        for key in ("answers", "gold_doc_ids", "retrieved_doc_ids", "context_doc_ids", "cited_doc_ids", "evidence",
                    "left_out"):
            row[key] = tuple(row.get(key) or ())
        row["retrieved"] = tuple(PassageRef(**p) for p in row.get("retrieved") or ())
        row["markers"] = tuple(MarkerRef(**x) for x in row.get("markers") or ())
        row["scores"] = Scores(**row.get("scores") or {})
        return cls(**row)


def score_question(q: Question, ranked: Sequence[Passage], answer: Answer | None, k: int,
                   depth: int = 10, selected: Sequence[Passage] | None = None,
                   stated: bool | None = None, at_k: Sequence[Passage] | None = None) -> QuestionResult:
    """Score one question.

    Retrieval is scored on the retriever's ranking ``ranked`` over unique documents: hit and
    recall on the documents of the first ``k`` passages (``at_k``, when given: what the retriever returns when
    asked for ``k``, which keeps each ranking's best chunk among them), MRR over the first ``depth``.
    Evidence is scored on the passages given to the model (``answer.passages``, or ``selected`` in a run
    without the model): does the gold answer stand in them, and in the first ``k`` retrieved chunks at all?
    Citations are scored on ``answer``: markers in its raw text against the passages the model
    was given, cited documents against the gold ones. ``stated``: whether the gold answer stands in the gold
    articles at all (gold.answers_stated; None when not checked).
    """
    top = list(at_k if at_k is not None else ranked[:k])
    docs_at_k = m.unique_in_order(p.doc_id for p in top)
    ranked_docs = m.unique_in_order(p.doc_id for p in ranked[:depth])
    retrieval = {}
    if q.answerable:
        retrieval = {"hit_at_k": m.hit(docs_at_k, q.doc_ids), "recall_at_k": m.recall(docs_at_k, q.doc_ids),
                     "reciprocal_rank": m.reciprocal_rank(ranked_docs, q.doc_ids, depth), "answer_stated": stated}
    refs = tuple(PassageRef(p.rank, p.doc_id, p.chunk.chunk_id, round(float(p.score), 4)) for p in ranked[:depth])
    base = dict(id=q.id, question=q.question, answers=q.answers, match=q.match, answerable=q.answerable,
                gold_doc_ids=q.doc_ids, retrieved=refs, retrieved_doc_ids=tuple(ranked_docs))
    given_passages = answer.passages if answer is not None else selected
    if given_passages is None:
        return QuestionResult(**base, scores=Scores(**retrieval))
    sentences = Evidence.of(given_passages).sentences  # numbered as the model read them
    given = [s.text for s in sentences]
    shown = " ".join([*given, *(source_line(p) for p in given_passages)])  # what the model read
    evidence_scores = {}
    if q.answerable:
        in_retrieved = " ".join([*(p.text for p in top), *(source_line(p) for p in top)])
        evidence_scores = {"evidence_hit": bool(given) and m.answer_correct(shown, q.answers, q.match),
                           "answer_retrieved": m.answer_correct(in_retrieved, q.answers, q.match)}
    evidence = dict(evidence=tuple(f"[{s.number}] {s.text}" for s in sentences),
                    evidence_words=len(shown.split()), context_doc_ids=tuple(p.doc_id for p in given_passages))
    if answer is None:
        return QuestionResult(**base, scores=Scores(**retrieval, **evidence_scores), **evidence)
    marks = tuple(MarkerRef(n, ok) for n, ok in m.markers(answer.raw_text, len(given)))
    cited = tuple(answer.cited_doc_ids)
    ran = answer.timings.prompt_tokens > 0 or answer.timings.first_token_s > 0
    return QuestionResult(
        **base, scores=Scores(**retrieval, **evidence_scores, **_answer_scores(q, answer, cited, marks)),
        answer=answer.text, raw_text=answer.raw_text, abstained=answer.abstained, cited_doc_ids=cited,
        markers=marks, first_token_s=answer.timings.first_token_s if ran else None,
        total_s=answer.timings.total_s, prompt_tokens=answer.timings.prompt_tokens if ran else None,
        model_id=answer.model_id,
        sentences_total=len(answer.sentences),
        sentences_supported=sum(1 for x in answer.sentences if x.supported),
        citations_repaired=sum(1 for x in answer.sentences if x.repaired_from),
        abstain_reason=answer.abstain_reason, left_out=tuple(x.reason for x in answer.left_out),
        refusal_p=answer.refusal_p, **evidence,
    )


def _answer_scores(q: Question, answer: Answer, cited: tuple[str, ...], marks: tuple[MarkerRef, ...]) -> dict:
    out: dict[str, Any] = {}
    if not answer.abstained and marks:
        out["citations_valid"] = all(x.resolved for x in marks)
    if not q.answerable:
        return out
    text = "" if answer.abstained else answer.text
    out.update(correct=m.answer_correct(text, q.answers, q.match),
               exact_match=m.exact_match(text, q.answers), token_f1=m.token_f1(text, q.answers))
    if not answer.abstained:
        out.update(citation_precision=m.citation_precision(cited, q.doc_ids),
                   citation_recall=m.recall(cited, q.doc_ids))
    return out


def write_results(path: Path, results: Iterable[QuestionResult]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


def read_results(path: Path) -> list[QuestionResult]:
    with open(path, encoding="utf-8") as f:
        return [QuestionResult.from_dict(json.loads(line)) for line in f if line.strip()]
