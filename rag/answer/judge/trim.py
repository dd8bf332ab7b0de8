"""Trimming a reply: a later sentence that states what the passages do not is left out, not the whole answer.

The instructions ask for one or two sentences, and replies give the answer first; what follows elaborates, and
that is where a small model adds details of its own (a figure, a name, a quotation) to an answer the evidence
states. When a reply gives a number, quoted words or a name that neither the evidence nor the
question states (verdict.ungrounded) but its first sentence does not, the later sentences that do are left out
and what remains is judged as the reply (verdict.decide). A reply whose first sentence does is not trimmed: it is
withdrawn as before (leaving out any such sentence, the first included, let stand the elaborations of answers
the evidence does not give; measured in the README).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rag.answer.cite import Renumber, resolve_markers, strip_markers
from rag.answer.judge.verdict import ungrounded
from rag.answer.judge.verify import answer_sentences
from rag.retrieve.question import Question
from rag.types import LeftOut


@dataclass(frozen=True)
class Trimmed:
    """The reply an answer is made of (its markers as the model wrote them) and the sentences left out of it."""

    reply: str
    left_out: tuple[LeftOut, ...] = ()


def trim(question: Question, raw: str, renumber: Renumber, evidence: Sequence[str]) -> Trimmed:
    """``raw`` without its later sentences that state a number, quoted words or a name the ``evidence`` (what the
    model was shown) and the question do not, when its first sentence states none (``renumber``: evidence
    sentence number -> passage number, as for resolve_markers).

    >>> from rag.retrieve.question import analyse
    >>> shown = ["Article:\\nChina welcomed the Year of the Tiger with a light show."]
    >>> t = trim(analyse("Which animal's year began?"), "The Year of the Tiger [1]. It is the 13th [1].", {1: 1}, shown)
    >>> t.reply, t.left_out
    ('The Year of the Tiger [1].', (LeftOut(text='It is the 13th [1].', reason='numbers not in the passages: 13th'),))
    >>> trim(analyse("Which animal?"), "The 13th Tiger [1]. A show [1].", {1: 1}, shown).left_out
    ()
    """
    sentences = answer_sentences(raw)
    if len(sentences) < 2 or not ungrounded(question, _claim(raw, renumber), evidence):
        return Trimmed(raw)
    reasons = [ungrounded(question, _claim(s, renumber), evidence) for s in sentences]
    if reasons[0] or not any(reasons):
        return Trimmed(raw)
    kept = " ".join(s for s, why in zip(sentences, reasons) if not why)
    left = tuple(LeftOut(resolve_markers(s, renumber)[0], why) for s, why in zip(sentences, reasons) if why)
    return Trimmed(kept, left)


def _claim(text: str, renumber: Renumber) -> str:
    return strip_markers(resolve_markers(text, renumber)[0])
