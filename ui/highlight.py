"""Which sentences of a cited passage to highlight (pure text, no HTML).

The engine fills ``Citation.highlights`` with the sentences backing a claim.
While it leaves them empty, the page picks, for each answer sentence citing
the passage, the passage sentence sharing the most content words with it.
"""
from __future__ import annotations

import re
from typing import Sequence

from rag.types import Citation, Passage, Span

_WORD = re.compile(r"\w+")
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+")
STOPWORDS = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been being has have had do does did "
    "not no it its this that these those he she they them his her their who whom what which when where why how "
    "said says will would can could should may might also than then there here into over about after before".split()
)
MIN_SHARED_WORDS = 2


def content_words(text: str) -> set[str]:
    """Lower-cased words that carry meaning.

    >>> sorted(content_words("Xu is the vice chairman [1]."))
    ['1', 'chairman', 'vice', 'xu']
    """
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in STOPWORDS}


def claims_citing(answer_text: str, number: int) -> list[str]:
    """The sentences of the answer that carry the marker [number], markers removed.

    >>> claims_citing("Xu is vice chairman [1]. He met Shoigu [2][1]. Fine.", 1)
    ['Xu is vice chairman.', 'He met Shoigu.']
    """
    out = []
    for sentence in _split_answer(answer_text):
        if str(number) in _MARKER.findall(sentence):
            out.append(re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", sentence)).strip())
    return out


def passage_sentences(passage: Passage) -> tuple[Span, ...]:
    """The passage's sentences as spans of the original article (split here when the index has none)."""
    if passage.chunk.sentences:
        return passage.chunk.sentences
    span, text = passage.chunk.span, passage.document.text
    out, start = [], span.start
    for m in _SENTENCE_END.finditer(text, span.start, span.end):
        out.append(Span(start, m.start()))
        start = m.end()
    if start < span.end:
        out.append(Span(start, span.end))
    return tuple(s for s in out if s.end > s.start)


def guess_highlights(answer_text: str, number: int, passage: Passage, question: str = "") -> tuple[Span, ...]:
    """For each claim citing [number], the passage sentence sharing the most content words with it.

    When no claim matches (e.g. the answer is a bare "[1]"), the sentence best matching ``question``.
    """
    sentences = passage_sentences(passage)
    words = [content_words(passage.document.text[s.start : s.end]) for s in sentences]

    def best_for(text: str) -> Span | None:
        want = content_words(text)
        best = max(range(len(sentences)), key=lambda i: len(want & words[i]), default=None)
        return sentences[best] if best is not None and len(want & words[best]) >= MIN_SHARED_WORDS else None

    chosen = {s: None for s in map(best_for, claims_citing(answer_text, number)) if s is not None}
    if not chosen and question:
        chosen = {s: None for s in [best_for(question)] if s is not None}
    return tuple(sorted(chosen, key=lambda s: s.start))


def highlights_for(citation: Citation, answer_text: str, question: str = "") -> tuple[Span, ...]:
    """The engine's highlights when it gave some, else the guess."""
    return getattr(citation, "highlights", ()) or guess_highlights(answer_text, citation.number, citation.passage,
                                                                   question)


def _split_answer(text: str) -> Sequence[str]:
    # a sentence ends after its punctuation and any markers that follow it: "... chairman. [1] He ..."
    parts = re.split(r"(?<=[.!?])((?:\s*\[\d+\])*)\s+", text.strip())
    sentences = [parts[0]] if parts else []
    for i in range(1, len(parts), 2):
        sentences[-1] += parts[i]
        sentences.append(parts[i + 1])
    return [s for s in sentences if s.strip()]
