"""What to mark on a source card, and which answer sentences each mark backs (pure, no HTML).

The engine checks every answer sentence against the passages it cites and
puts the article sentences that back it in ``Citation.highlights``; those are
marked exactly, each labelled with the answer sentences it backs. Only a
citation the check found no backing sentence for gets a guess, marked as one:
the passage sentence closest to the question.
"""
from __future__ import annotations

from dataclasses import dataclass

from rag.support import best_sentences
from rag.textclean import split_sentences
from rag.types import Answer, Citation, Passage, Span


@dataclass(frozen=True)
class Mark:
    """A range of the article to mark: the answer sentences (1-based) it backs; ``guess`` when not verified."""

    start: int
    end: int
    sentences: tuple[int, ...] = ()
    guess: bool = False


def card_marks(answer: Answer, citation: Citation) -> tuple[Mark, ...]:
    """The verified highlights of ``citation``, each with the answer sentences citing it that it backs.

    >>> from rag.types import Chunk, Document, Timings
    >>> from rag.verify import SentenceCheck
    >>> p = Passage(Chunk("d:0", "d", "A. B.", Span(0, 5), (Span(0, 2), Span(3, 5))), Document("d", "A. B."), 1.0, 1)
    >>> checks = (SentenceCheck("A [1].", (1,), 1.0, True, (), ((1, Span(0, 2)),)),)
    >>> a = Answer("q", "A [1].", (), (p,), False, Timings(), "m", sentences=checks)
    >>> card_marks(a, Citation(1, p, (Span(0, 2),)))
    (Mark(start=0, end=2, sentences=(1,), guess=False),)
    """
    if not citation.highlights:
        return tuple(Mark(s.start, s.end, guess=True) for s in guess_highlights(citation.passage, answer.question))
    backs: dict[Span, list[int]] = {}
    for i, check in enumerate(answer.sentences, 1):
        for number, span in check.highlights:
            if number == citation.number:
                backs.setdefault(span, []).append(i)
    return tuple(Mark(s.start, s.end, tuple(backs.get(s, ()))) for s in citation.highlights)


def guess_highlights(passage: Passage, question: str) -> tuple[Span, ...]:
    """The passage sentence sharing the most content words with ``question``, if one shares enough."""
    return best_sentences(question, passage.document.text, passage_sentences(passage), limit=1)


def passage_sentences(passage: Passage) -> tuple[Span, ...]:
    """The passage's sentences as spans of the original article (split here when the index has none)."""
    span = passage.chunk.span
    return passage.chunk.sentences or tuple(
        Span(a, b) for a, b in split_sentences(passage.document.text, span.start, span.end)
    )
