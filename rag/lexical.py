"""BM25 over chunk texts (titles included), built in memory when an index is opened."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .support import STOPWORDS, stem, tokens


def bm25_tokens(text: str) -> list[str]:
    """Lowercased, stemmed words without stopwords (reporting verbs such as "reported" are stopwords here).

    >>> bm25_tokens("The Moscow Times reported talks")
    ['moscow', 'tim', 'talk']
    """
    return [stem(t) for t in tokens(text) if t not in STOPWORDS]


class LexicalIndex:
    """BM25 scores for a fixed list of texts (bm25s does the maths)."""

    def __init__(self, texts: Sequence[str]):
        import bm25s

        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index([bm25_tokens(t) or [""] for t in texts], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(bm25_tokens(query)), dtype=np.float32)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Up to k (position, score) pairs with a positive score, best first."""
        s = self.scores(query)
        order = np.argsort(-s, kind="stable")[:k]
        return [(int(i), float(s[i])) for i in order if s[i] > 0]
