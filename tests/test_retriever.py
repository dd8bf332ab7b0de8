"""The fusion of the dense and BM25 rankings, on a store whose two rankings are given."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fakes import FakeEmbedder
from rag.retrieve.retriever import RetrievalSettings, Retriever
from rag.store import DocumentInfo, EmbeddingInfo, Hit
from rag.types import Chunk, Document, Span

DIM = 8
MIDDLE = [f"m{i}" for i in range(1, 11)]  # chunks both rankings list, in the same middling order


class RankedStore:
    """A store whose dense and BM25 searches return fixed rankings (one chunk per article, distinct words)."""

    def __init__(self, dense: list[str], lexical: list[str]):
        self.dense, self.lexical = dense, lexical
        ids = dict.fromkeys([*dense, *lexical])
        self.chunks = {c: Chunk(c, f"doc-{c}", f"words of {c} only", Span(0, 1)) for c in ids}
        self.info = SimpleNamespace(location="ranked", embedding=EmbeddingInfo("fake-embedder", DIM, 60))

    def dense_search(self, vectors, k):
        return [[Hit(c, 1.0 - i / 100) for i, c in enumerate(self.dense[:k])]]

    def lexical_search(self, text, k):
        return [Hit(c, 10.0 - i) for i, c in enumerate(self.lexical[:k])]

    def get_chunks(self, ids):
        return {c: self.chunks[c] for c in ids}

    def document_infos(self, doc_ids):
        return {d: DocumentInfo(d) for d in doc_ids}

    def get_documents(self, doc_ids):
        return {d: Document(d, "text") for d in doc_ids}

    def get_vectors(self, ids):
        return np.ones((len(ids), DIM), dtype=np.float32) / np.sqrt(DIM)


def top(store: RankedStore, k: int = 8, **settings) -> list[str]:
    retriever = Retriever(store, FakeEmbedder(dim=DIM), RetrievalSettings(**settings))
    return [p.chunk.chunk_id for p in retriever.retrieve("Which question?", k)]


def test_the_chunk_dense_search_puts_first_reaches_the_top_k_though_bm25_does_not_list_it():
    store = RankedStore(dense=["first", *MIDDLE], lexical=MIDDLE)
    assert "first" not in top(store, keep_best=0)  # fusion alone: both rankings' middle outscores it
    got = top(store)
    assert "first" in got and len(got) == 8
    assert got[:7] == top(store, keep_best=0)[:7]  # it takes the last fused place, the order above is kept


def test_the_chunk_bm25_puts_first_reaches_the_top_k_though_dense_search_does_not_list_it():
    store = RankedStore(dense=MIDDLE, lexical=["first", *MIDDLE])
    assert "first" not in top(store, keep_best=0)
    assert "first" in top(store)


def test_a_ranking_left_out_by_the_mode_keeps_no_chunk():
    store = RankedStore(dense=["first", *MIDDLE], lexical=MIDDLE)
    assert "first" not in top(store, mode="bm25")
    assert top(store, mode="dense")[0] == "first"


def test_keep_best_must_not_be_negative():
    with pytest.raises(ValueError, match="keep_best must be >= 0, got -1"):
        RetrievalSettings(keep_best=-1)


def test_the_harness_scores_the_top_k_the_model_gets_not_the_first_k_of_a_deeper_ranking():
    from eval.gold import Question
    from eval.harness import evaluate

    store = RankedStore(dense=["first", *MIDDLE], lexical=MIDDLE)
    retriever = Retriever(store, FakeEmbedder(dim=DIM))
    assert "first" not in [p.chunk.chunk_id for p in retriever.retrieve("Which question?", 10)][:8]
    [r] = evaluate([Question("q", "Which question?", ("first",), ("doc-first",), True)], retriever.retrieve,
                   top_k=8, progress=False, select=lambda q: retriever.retrieve(q, 8))
    assert r.scores.hit_at_k is True and r.scores.answer_retrieved is True
