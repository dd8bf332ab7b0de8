"""What to mark on a source card, and which answer sentences each mark backs (pure, no HTML).

The engine checks every answer sentence against the evidence sentences it cites
and puts the cited sentences that back it in ``Citation.highlights``; those are
marked exactly, each labelled with the answer sentences it backs. A citation
whose sentences back nothing is marked nowhere: a source is only highlighted
where it states the claim.
"""
from __future__ import annotations

from dataclasses import dataclass

from rag.types import Answer, Citation, Span


@dataclass(frozen=True)
class Mark:
    """A range of the article to mark, and the answer sentences (1-based) it backs."""

    start: int
    end: int
    sentences: tuple[int, ...] = ()


def card_marks(answer: Answer, citation: Citation) -> tuple[Mark, ...]:
    """The verified highlights of ``citation``, each with the answer sentences citing it that it backs.

    >>> from rag.types import Chunk, Document, Passage, Timings
    >>> from rag.answer.judge import SentenceCheck
    >>> p = Passage(Chunk("d:0", "d", "A. B.", Span(0, 5), (Span(0, 2), Span(3, 5))), Document("d", "A. B."), 1.0, 1)
    >>> checks = (SentenceCheck("A [1].", (1,), 1.0, True, (), ((1, Span(0, 2)),)),)
    >>> a = Answer("q", "A [1].", (), (p,), False, Timings(), "m", sentences=checks)
    >>> card_marks(a, Citation(1, p, (Span(0, 2),)))
    (Mark(start=0, end=2, sentences=(1,)),)
    """
    backs: dict[Span, list[int]] = {}
    for i, check in enumerate(answer.sentences, 1):
        for number, span in check.highlights:
            if number == citation.number:
                backs.setdefault(span, []).append(i)
    return tuple(Mark(s.start, s.end, tuple(backs.get(s, ()))) for s in citation.highlights)
