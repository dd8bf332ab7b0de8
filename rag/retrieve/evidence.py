"""Evidence selection: from the retrieved chunks, the sentences that matter, one source per article.

Small models answer better and faster from a few relevant sentences than from
whole chunks. The sentences of every retrieved chunk compete for a budget of
words; each source given to the model is one article holding its chosen
sentences (in article order). Repeated text (overlapping chunks, duplicated
paragraphs) is sent once. ``Evidence`` numbers the chosen sentences from 1, as
the model sees and cites them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from rag.embed.embedder import Embedder
from rag.retrieve.question import Question, analyse
from rag.types import Chunk, Document, Passage, Span
from rag.words import content_tokens, stem


TOP_K = 8  # chunks retrieved for a question: the pool evidence is selected from (5 measured: the answer was in the
           # pool for 0.90 of the dev news briefs, 0.95 with 8)
LEXICAL_WEIGHT = 1.0  # shared question words, weighted by how rare they are among the candidate sentences
ANSWER_TYPE_WEIGHT = 0.5  # a sentence holding what the question asks for (a weekday, a date, a number, a quote)
RANK_WEIGHT = 0.3  # a sentence of a chunk retrieval ranked high: 0.3 / (1 + rank)


@dataclass(frozen=True)
class EvidenceSettings:
    """How much of the retrieved text the model reads. Chosen on the dev sets (seeds.jsonl and the dev sample of
    news briefs) by evidence recall against the words it costs; the README has the measurements."""

    max_words: int = 150       # words of evidence sentences in all (source lines aside); the best sentence always
    per_source: int = 6        # sentences per article at most (before its neighbour)
    neighbours: int = 1        # in this many best articles, add the sentence after the best one (answers often follow)

    def __post_init__(self) -> None:
        for name in ("max_words", "per_source"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.neighbours < 0:
            raise ValueError(f"neighbours must be >= 0, got {self.neighbours}")


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

    @property
    def renumber(self) -> dict[int, int]:
        """Sentence number -> the number of its passage: how the model's citations become the reader's."""
        return {s.number: s.passage for s in self.sentences}

    def sentence(self, number: int) -> EvidenceSentence | None:
        """The sentence numbered ``number``, or None when there is none."""
        return self.sentences[number - 1] if 1 <= number <= len(self.sentences) else None

    def of_passage(self, passage: int) -> tuple[EvidenceSentence, ...]:
        return tuple(s for s in self.sentences if s.passage == passage)


class Ranker(Protocol):
    def retrieve(self, question: Question, k: int) -> list[Passage]: ...


@dataclass(frozen=True)
class Found:
    """What a question found: the analysed question, the chunks retrieved for it and the evidence selected from
    them for the model."""

    question: Question
    hits: tuple[Passage, ...]
    evidence: Evidence


class EvidenceFinder:
    """Retrieval, then evidence selection: what the model is shown for a question (no LLM involved)."""

    def __init__(self, retriever: Ranker, embedder: Embedder, settings: EvidenceSettings = EvidenceSettings(),
                 top_k: int = TOP_K):
        if top_k <= 0:
            raise ValueError(f"top_k must be > 0, got {top_k}")
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self.top_k = top_k

    def find(self, question: Question | str, top_k: int | None = None) -> Found:
        """What ``question`` (analysed, or its text: analysed here, once) finds."""
        question = analyse(question) if isinstance(question, str) else question
        hits = self.retriever.retrieve(question, self.top_k if top_k is None else top_k)
        evidence = Evidence.of(select_evidence(question, hits, self.embedder, self.settings))
        return Found(question, tuple(hits), evidence)


def chunk_sentences(chunk: Chunk, document: Document) -> list[tuple[Span, str]]:
    """The chunk's sentences as (span in the article, text with whitespace normalised), title left out
    (the title is in the source line already)."""
    out = []
    for span in chunk.sentences:
        sentence = " ".join(document.text[span.start : span.end].split())
        if sentence and sentence != document.title:
            out.append((span, sentence))
    return out


def sentence_scores(question: Question, sentences: Sequence[str], embedder: Embedder,
                    ranks: Sequence[int] | None = None) -> np.ndarray:
    """Cosine similarity to the question, plus bonuses for the question's words a sentence shares (each weighted by
    how rare it is among ``sentences``, so a shared rare word counts for more than the names every sentence
    repeats), for holding the kind of answer the question asks for (see question.py) and for coming from a chunk
    retrieval ranked high (``ranks``, from 1)."""
    vectors = embedder.embed_batch([question.text, *sentences])
    cosine = vectors[1:] @ vectors[0]
    stems = [{stem(w) for w in content_tokens(s)} for s in sentences]
    asked = question.stems
    weight = {w: math.log((len(sentences) + 1) / (sum(1 for t in stems if w in t) + 0.5)) for w in asked}
    total = sum(weight.values()) or 1.0
    shared = np.array([sum(weight[w] for w in asked & t) / total for t in stems])
    kind = np.array([question.fits(s) for s in sentences], dtype=np.float32)
    rank = np.array([1.0 / (1 + r) for r in ranks]) if ranks is not None else 0.0
    return cosine + LEXICAL_WEIGHT * shared + ANSWER_TYPE_WEIGHT * kind + RANK_WEIGHT * rank


def select_evidence(question: Question | str, hits: Sequence[Passage], embedder: Embedder,
                    settings: EvidenceSettings = EvidenceSettings()) -> list[Passage]:
    """The sentences of the retrieved chunks that best answer the question, within a budget of words, grouped into
    one passage per article (articles ordered by their best sentence, sentences in article order).

    Every retrieved article competes: on a corpus of short items the answering one is often the fourth or fifth
    retrieved, so no fixed number of articles is kept, only the budget.
    """
    question = analyse(question) if isinstance(question, str) else question
    by_doc: dict[str, list[Passage]] = {}
    for hit in hits:
        by_doc.setdefault(hit.doc_id, []).append(hit)
    candidates: list[tuple[str, Span, str]] = []  # (doc_id, span, text), each sentence once
    ranks: list[int] = []
    seen: set[tuple[str, str]] = set()
    for hit in hits:
        for span, sentence in chunk_sentences(hit.chunk, hit.document):
            key = (hit.doc_id, sentence.casefold())
            if key not in seen:
                seen.add(key)
                candidates.append((hit.doc_id, span, sentence))
                ranks.append(hit.rank)
    if not candidates:
        return []
    scores = sentence_scores(question, [c[2] for c in candidates], embedder, ranks)
    chosen: dict[str, list[int]] = {d: [] for d in by_doc}
    words = 0

    def take(i: int, always: bool = False) -> None:
        nonlocal words
        doc_id, size = candidates[i][0], len(candidates[i][2].split())
        if i in chosen[doc_id] or len(chosen[doc_id]) >= settings.per_source:
            return
        if always or words + size <= settings.max_words:
            chosen[doc_id].append(i)
            words += size

    for n, i in enumerate(sorted(range(len(candidates)), key=lambda i: -scores[i])):
        take(i, always=n == 0)
    best_of = {d: max(scores[i] for i in picked) for d, picked in chosen.items() if picked}
    ranked = sorted(best_of, key=lambda d: -best_of[d])  # articles by their best sentence
    for doc_id in ranked[: settings.neighbours]:  # the neighbour comes along whatever the budget
        top = max(chosen[doc_id], key=lambda i: scores[i])
        nxt = _next_sentence(candidates, top)
        if nxt is not None and nxt not in chosen[doc_id]:
            chosen[doc_id].append(nxt)
    out = []
    for rank, doc_id in enumerate(ranked, 1):
        picked = sorted(chosen[doc_id], key=lambda i: candidates[i][1].start)
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
