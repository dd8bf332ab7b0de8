"""The words BM25 matches on: chunks are indexed (rag/store/fulltext.py) and questions searched with these."""
from __future__ import annotations

from .support import STOPWORDS, stem, tokens


def bm25_tokens(text: str) -> list[str]:
    """Lowercased, stemmed words without stopwords (reporting verbs such as "reported" are stopwords here).

    >>> bm25_tokens("The Moscow Times reported talks")
    ['moscow', 'tim', 'talk']
    """
    return [stem(t) for t in tokens(text) if t not in STOPWORDS]
