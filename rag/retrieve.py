"""Retrieval: the question's embedding against the index's chunk vectors."""
from __future__ import annotations

from .embedding import Embedder
from .errors import IndexIncompatible
from .index import Index
from .types import Passage


class Retriever:
    def __init__(self, index: Index, embedder: Embedder):
        self.index = index
        self.embedder = embedder

    def retrieve(self, question: str, k: int) -> list[Passage]:
        """The k chunks closest to the question, best first."""
        if k <= 0:
            raise ValueError(f"top_k must be > 0, got {k}")
        vector = self.embedder.embed_batch([question])
        if vector.shape[1] != self.index.embedding.dim:
            raise IndexIncompatible(
                f"the embedder gives {vector.shape[1]}-dim vectors but index {self.index.path} holds "
                f"{self.index.embedding.dim}-dim ones; use the embedding model the index was built with"
            )
        hits = self.index.search(vector, k)[0]
        out = []
        for rank, (pos, score) in enumerate(hits, 1):
            chunk = self.index.chunks[pos]
            out.append(Passage(chunk, self.index.documents[chunk.doc_id], score, rank))
        return out
