"""Sentence-level citation checking, after generation and offline.

Each answer sentence is checked against the passage(s) it cites: the share of
its content words the passage states (numbers must match exactly). A sentence
that its citation does not support, while another retrieved passage clearly
does, gets its citation repaired; one that no passage supports is flagged.
The source sentences that best match it become its highlights.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from .cite import MARKER, cited_numbers, strip_markers
from .prompt import as_given
from .support import best_sentences, content_tokens, novel_tokens, support_score, unsupported_numbers
from .textclean import split_sentences
from .types import Passage, Span

SUPPORTED = 0.5      # share of a sentence's content words its passage must state
REPAIR_MARGIN = 0.25  # another passage must beat the cited one by this much to take its place


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence: what it cites (after repair), whether that supports it, and where."""

    text: str                      # the sentence with its (repaired) markers
    citations: tuple[int, ...]
    support: float                 # best share of content words stated by a cited passage
    supported: bool
    repaired_from: tuple[int, ...] = ()  # the model's own numbers, when they were replaced
    highlights: tuple[tuple[int, Span], ...] = ()  # (passage number, sentence span in the original article)

    def to_dict(self) -> dict:
        return {"text": self.text, "citations": list(self.citations), "support": round(self.support, 3),
                "supported": self.supported, "repaired_from": list(self.repaired_from),
                "highlights": [[n, s.start, s.end] for n, s in self.highlights]}


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, with markers that trail a full stop kept on their sentence.

    >>> answer_sentences("Xu is a general. [1] He spoke to TASS [2].")
    ['Xu is a general. [1]', 'He spoke to TASS [2].']
    """
    out: list[str] = []
    for a, b in split_sentences(text):
        part = text[a:b]
        lead = re.match(r"(?:\s*\[[^\]]{1,40}\])+", part)
        if out and lead and MARKER.search(lead.group(0)):
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            part = part[lead.end():].strip()
        if part and (strip_markers(part) or not out):
            out.append(part)
        elif part:
            out[-1] = f"{out[-1]} {part}"
    return out


def _with_markers(sentence: str, numbers: Sequence[int]) -> str:
    """Replace a sentence's markers by ``numbers``, placed before its final punctuation."""
    body = strip_markers(sentence)
    marks = "".join(f"[{n}]" for n in numbers)
    if not marks:
        return body
    m = re.search(r"([.!?]+[\"”’']?)$", body)
    return f"{body[: m.start()]} {marks}{m.group(1)}" if m else f"{body} {marks}"


def check_sentence(sentence: str, passages: Sequence[Passage], question: str = "") -> SentenceCheck:
    """Check one sentence. What it adds to the question (its new words) is what a passage must state."""
    claim = strip_markers(sentence)
    cited = [n for n in cited_numbers(sentence) if 1 <= n <= len(passages)]
    if not content_tokens(claim):
        return SentenceCheck(sentence, tuple(cited), 1.0, True)
    new = novel_tokens(claim, question)
    focus = " ".join(sorted(new)) if new else claim
    numbers_in = " ".join(t for t in claim.split() if any(ch.isdigit() for ch in t))
    scores = {n: _score(f"{focus} {numbers_in}", passages[n - 1]) for n in range(1, len(passages) + 1)}
    best_cited = max((scores[n] for n in cited), default=0.0)
    best_any = max(scores, key=lambda n: (scores[n], -n))
    numbers, repaired = cited, ()
    if best_cited < SUPPORTED and scores[best_any] >= SUPPORTED and scores[best_any] >= best_cited + REPAIR_MARGIN:
        numbers, repaired = [best_any], tuple(cited)
    support = max((scores[n] for n in numbers), default=0.0)
    highlights = tuple(
        (n, span) for n in numbers
        for span in best_sentences(claim, passages[n - 1].document.text, passages[n - 1].chunk.sentences)
    )
    text = _with_markers(sentence, numbers) if list(numbers) != cited else sentence
    return SentenceCheck(text, tuple(numbers), support, support >= SUPPORTED, repaired, highlights)


def _score(claim: str, passage: Passage) -> float:
    given = as_given(passage)
    if unsupported_numbers(claim, [given]):
        return 0.0
    return support_score(claim, [given])


def verify_answer(text: str, passages: Sequence[Passage], question: str = "") -> list[SentenceCheck]:
    """Check every sentence of an answer against the passages it cites."""
    return [check_sentence(s, passages, question) for s in answer_sentences(text)]
