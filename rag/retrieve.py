"""Retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank, plus metadata hints.

A question naming an article's outlet, date or title adds a third ranking that
favours that article's chunks. Near-duplicate chunks are collapsed to one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from typing import Iterable, Mapping, Sequence


from .chunking import embedding_text
from .embedding import Embedder
from .errors import IndexIncompatible
from .index import Index
from .lexical import LexicalIndex, bm25_tokens
from .support import content_tokens
from .types import Document, Passage

MODES = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class RetrievalSettings:
    mode: str = "hybrid"
    candidates: int = 20        # depth of each ranking before fusion
    rrf_k: int = 60             # reciprocal rank fusion constant
    metadata: bool = True       # favour articles whose outlet, date or title the question names
    duplicate_jaccard: float = 0.8  # chunks sharing this much of their words count as one

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.candidates <= 0:
            raise ValueError(f"candidates must be > 0, got {self.candidates}")


def rrf(rankings: Iterable[Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of item ids, best first.

    >>> rrf([[1, 2, 3], [3, 1]], k=1)
    [(1, 0.8333333333333333), (3, 0.75), (2, 0.3333333333333333)]
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]


def date_forms(iso: str) -> list[str]:
    """Ways a question may write an ISO date.

    >>> date_forms("2023-11-10")
    ['2023-11-10', 'november 10, 2023', 'november 10 2023', '10 november 2023']
    """
    try:
        d = Date.fromisoformat(iso)
    except ValueError:
        return [iso.lower()] if iso else []
    month = _MONTHS[d.month - 1]
    return [iso, f"{month} {d.day}, {d.year}", f"{month} {d.day} {d.year}", f"{d.day} {month} {d.year}"]


def metadata_matches(question: str, documents: Mapping[str, Document]) -> list[str]:
    """Ids of documents whose outlet, date or title the question names."""
    q = " ".join(question.lower().split())
    q_tokens = content_tokens(question)
    out = []
    for doc in documents.values():
        outlet = doc.outlet.lower()
        names_outlet = len(outlet) >= 4 and (outlet in q or outlet.removeprefix("the ") in q)
        names_date = any(form in q for form in date_forms(doc.date))
        title_tokens = content_tokens(doc.title)
        names_title = len(title_tokens) >= 3 and len(title_tokens & q_tokens) >= 0.8 * len(title_tokens)
        if names_outlet or names_date or names_title:
            out.append(doc.doc_id)
    return out


def collapse_duplicates(order: Sequence[int], token_sets: Sequence[set[str]], threshold: float) -> list[int]:
    """Drop items whose words overlap an earlier kept item's by at least ``threshold`` (Jaccard).

    >>> collapse_duplicates([0, 1, 2], [{"a", "b"}, {"a", "b"}, {"c"}], 0.8)
    [0, 2]
    """
    kept: list[int] = []
    for i in order:
        s = token_sets[i]
        if all(len(s & token_sets[j]) / max(len(s | token_sets[j]), 1) < threshold for j in kept):
            kept.append(i)
    return kept


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, settings: RetrievalSettings = RetrievalSettings()):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        texts = [embedding_text(index.documents[c.doc_id].title, c.text) for c in index.chunks]
        self._lexical = LexicalIndex(texts) if settings.mode != "dense" else None
        self._token_sets = [set(bm25_tokens(c.text)) for c in index.chunks]

    def retrieve(self, question: str, k: int) -> list[Passage]:
        """The k best chunks for the question, best first; ``score`` is the dense cosine similarity."""
        if k <= 0:
            raise ValueError(f"top_k must be > 0, got {k}")
        if not self.index.chunks:
            return []
        vector = self.embedder.embed_batch([question])
        if vector.shape[1] != self.index.embedding.dim:
            raise IndexIncompatible(
                f"the embedder gives {vector.shape[1]}-dim vectors but index {self.index.path} holds "
                f"{self.index.embedding.dim}-dim ones; use the embedding model the index was built with"
            )
        depth = max(self.settings.candidates, k)
        dense = [pos for pos, _ in self.index.search(vector, depth)[0]]
        rankings: list[list[int]] = []
        if self.settings.mode != "bm25":
            rankings.append(dense)
        if self._lexical is not None:
            rankings.append([pos for pos, _ in self._lexical.top(question, depth)])
        if self.settings.metadata:
            named = set(metadata_matches(question, self.index.documents))
            if named:
                rankings.append([pos for pos in dense if self.index.chunks[pos].doc_id in named])
        fused = [pos for pos, _ in rrf(rankings, self.settings.rrf_k)] or dense
        order = collapse_duplicates(fused, self._token_sets, self.settings.duplicate_jaccard)[:k]
        cosine = self.index.vectors[order] @ vector[0]
        out = []
        for rank, (pos, score) in enumerate(zip(order, cosine), 1):
            chunk = self.index.chunks[pos]
            out.append(Passage(chunk, self.index.documents[chunk.doc_id], float(score), rank))
        return out
