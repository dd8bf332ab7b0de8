"""Evidence selection: from the retrieved chunks, the sentences that matter, one source per article.

Small models answer better and faster from a few relevant sentences than from
whole chunks. Each source given to the model is one article: its best-matching
sentences (in article order) from all of its retrieved chunks. Repeated text
(overlapping chunks, duplicated paragraphs) is sent once. ``Evidence`` numbers
the chosen sentences from 1, as the model sees and cites them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .embedding import Embedder
from .question import Question, analyse
from .support import content_tokens
from .types import Chunk, Document, Passage, Span


LEXICAL_WEIGHT = 0.6  # measured: shared question words find answer sentences the embedding ranks low
ANSWER_TYPE_WEIGHT = 0.5  # a sentence holding what the question asks for (a weekday, a date, a number, a quote)


@dataclass(frozen=True)
class EvidenceSettings:
    max_sources: int = 3           # articles given to the model (4 measured: same evidence recall, +34 prompt tokens)
    max_sentences: int = 12        # sentences in all
    per_source: int = 4            # sentences per article at most (before neighbours)
    min_relative: float = 0.75     # keep sentences scoring at least this share of the best one
    neighbours: int = 1            # in this many best articles, add the sentence after the best one (answers often follow)
    max_words: int = 200           # words of evidence in all, each article's best sentence always kept (0: no limit;
                                   # 140 measured: same prompt tokens p50, 2 answers fewer)
    min_source_relative: float = 0.7  # an article whose best sentence scores below this share of the best is left out

    def __post_init__(self) -> None:
        for name in ("max_sources", "max_sentences", "per_source"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("neighbours", "max_words"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class EvidenceSentence:
    """One sentence given to the model: its number (from 1, as the model cites it), the passage it belongs to
    (from 1) and where it stands in that passage's article."""

    number: int
    passage: int
    span: Span
    text: str


@dataclass(frozen=True)
class Evidence:
    """The passages given to the model (one per article; citations point at them) and their sentences, numbered
    across all passages in order."""

    passages: tuple[Passage, ...]
    sentences: tuple[EvidenceSentence, ...]

    @classmethod
    def of(cls, passages: Sequence[Passage]) -> "Evidence":
        sentences: list[EvidenceSentence] = []
        for p_number, passage in enumerate(passages, 1):
            for span in passage.chunk.sentences:
                text = " ".join(passage.document.text[span.start : span.end].split())
                sentences.append(EvidenceSentence(len(sentences) + 1, p_number, span, text))
        return cls(tuple(passages), tuple(sentences))

    def sentence(self, number: int) -> EvidenceSentence | None:
        """The sentence numbered ``number``, or None when there is none."""
        return self.sentences[number - 1] if 1 <= number <= len(self.sentences) else None

    def of_passage(self, passage: int) -> tuple[EvidenceSentence, ...]:
        return tuple(s for s in self.sentences if s.passage == passage)


def chunk_sentences(chunk: Chunk, document: Document) -> list[tuple[Span, str]]:
    """The chunk's sentences as (span in the article, text with whitespace normalised), title left out
    (the title is in the source line already)."""
    out = []
    for span in chunk.sentences:
        sentence = " ".join(document.text[span.start : span.end].split())
        if sentence and sentence != document.title:
            out.append((span, sentence))
    return out


def sentence_scores(question: Question, sentences: Sequence[str], embedder: Embedder) -> np.ndarray:
    """Cosine similarity to the question, plus bonuses for shared content words and for holding the kind of
    answer the question asks for (see question.py)."""
    vectors = embedder.embed_batch([question.text, *sentences])
    cosine = vectors[1:] @ vectors[0]
    q_tokens = question.words
    bonus = np.array([len(q_tokens & content_tokens(s)) / max(len(q_tokens), 1) for s in sentences])
    kind = np.array([question.fits(s) for s in sentences], dtype=np.float32)
    return cosine + LEXICAL_WEIGHT * bonus + ANSWER_TYPE_WEIGHT * kind


def select_evidence(question: Question | str, hits: Sequence[Passage], embedder: Embedder,
                    settings: EvidenceSettings = EvidenceSettings()) -> list[Passage]:
    """One passage per article (best-ranked articles first) holding its most relevant sentences."""
    question = analyse(question) if isinstance(question, str) else question
    by_doc: dict[str, list[Passage]] = {}
    for hit in hits:
        by_doc.setdefault(hit.doc_id, []).append(hit)
    docs = list(by_doc)[: settings.max_sources]
    candidates: list[tuple[str, Span, str]] = []  # (doc_id, span, text), each sentence once
    seen: set[tuple[str, str]] = set()
    for doc_id in docs:
        for hit in by_doc[doc_id]:
            for span, sentence in chunk_sentences(hit.chunk, hit.document):
                key = (doc_id, sentence.casefold())
                if key not in seen:
                    seen.add(key)
                    candidates.append((doc_id, span, sentence))
    if not candidates:
        return list(hits[: settings.max_sources])
    scores = sentence_scores(question, [c[2] for c in candidates], embedder)
    best = float(scores.max())
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    chosen: dict[str, list[int]] = {d: [] for d in docs}
    total = words = 0
    doc_best = {d: max((float(scores[i]) for i, c in enumerate(candidates) if c[0] == d), default=0.0) for d in docs}
    for i in order:
        doc_id = candidates[i][0]
        if doc_best[doc_id] < settings.min_source_relative * best:
            continue
        is_doc_best = not chosen[doc_id]
        good_enough = scores[i] >= settings.min_relative * best or is_doc_best
        size = len(candidates[i][2].split())
        fits_budget = not settings.max_words or words + size <= settings.max_words or is_doc_best
        if total < settings.max_sentences and len(chosen[doc_id]) < settings.per_source and good_enough and fits_budget:
            chosen[doc_id].append(i)
            total += 1
            words += size
    if settings.neighbours:
        ranked = sorted((d for d in docs if chosen[d]), key=lambda d: -max(scores[i] for i in chosen[d]))
        for doc_id in ranked[: settings.neighbours]:
            picked = chosen[doc_id]
            if picked:
                nxt = _next_sentence(candidates, picked[0])
                if nxt is not None and nxt not in picked:
                    picked.append(nxt)
    out = []
    for rank, doc_id in enumerate(sorted(docs, key=lambda d: -max(scores[i] for i in chosen[d]) if chosen[d] else 0), 1):
        picked = sorted(chosen[doc_id], key=lambda i: candidates[i][1].start)
        if not picked:
            continue
        top_hit = by_doc[doc_id][0]
        spans = tuple(candidates[i][1] for i in picked)
        excerpt = " … ".join(candidates[i][2] for i in picked)
        chunk = Chunk(top_hit.chunk.chunk_id, doc_id, excerpt, Span(spans[0].start, spans[-1].end), spans)
        out.append(Passage(chunk, top_hit.document, max(h.score for h in by_doc[doc_id]), rank))
    return out


def _next_sentence(candidates: list[tuple[str, Span, str]], i: int) -> int | None:
    """The candidate that follows candidate i in the same article, if any."""
    doc_id, span, _ = candidates[i]
    after = [j for j, (d, s, _) in enumerate(candidates) if d == doc_id and s.start >= span.end]
    return min(after, key=lambda j: candidates[j][1].start) if after else None
