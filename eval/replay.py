"""A recorded run's replies judged again by the code as it stands, without the LLM (``rag eval --replay RUN``).

Each question is answered with the reply the model gave in the recorded run, and with the refusal probability it
gave, so a change to what happens after generation (trimming, the verdict, the sentence checks) is measured
exactly, in seconds, on every recorded run. A reply is the model's reply to one prompt only: a question whose
evidence is not what the recorded model read (retrieval or selection changed since) is counted in ``changed``
and named on stderr; re-run those with the model.
"""
from __future__ import annotations

import re
from typing import Iterator, Sequence

from rag.errors import RagError

from .results import QuestionResult

_SENTENCE = re.compile(r"\[\d+\] ")


def _key(question: str) -> str:
    return " ".join(question.split())


class RecordedLLM:
    """An LLM that gives, for each question, the reply recorded in a run (``rows``, read with report.read_run)."""

    def __init__(self, rows: Sequence[QuestionResult]):
        answered = [r for r in rows if r.answer is not None]
        if not answered:
            raise RagError("the run holds no answers to replay (it was made with --retrieval-only): "
                           "replay a run made with the model")
        self.model_id = answered[0].model_id or "recorded"
        self._rows = {_key(r.question): r for r in answered}
        self.changed: list[str] = []  # ids of the questions whose evidence is not what the model read

    def _row(self, messages: Sequence[dict]) -> QuestionResult:
        user = messages[-1]["content"]
        question = _key(user.rsplit("Question:", 1)[-1])
        row = self._rows.get(question)
        if row is None:
            raise RagError(f"no recorded reply to the question {question!r}: replay a run of the same gold set")
        return row

    def count_prompt_tokens(self, messages: Sequence[dict]) -> int:
        return self._row(messages).prompt_tokens or 0

    def stream(self, messages: Sequence[dict], max_tokens: int = 256, refusal=None, not_first=()) -> Iterator[str]:
        row = self._row(messages)
        shown = [line for line in messages[-1]["content"].splitlines() if _SENTENCE.match(line)]
        if shown != list(row.evidence) and row.id not in self.changed:
            self.changed.append(row.id)
        if refusal is not None:
            refusal.probability = row.refusal_p
        yield from re.findall(r"\S+\s*|\s+", row.raw_text or "") or [""]  # one piece at least: the verdict comes at it
