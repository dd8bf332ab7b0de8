"""The words BM25 matches on: chunks are indexed (rag/store/fulltext.py) and questions searched with these."""
from __future__ import annotations

from functools import lru_cache

from rag.words import STOPWORDS, stem, tokens


def bm25_tokens(text: str) -> list[str]:
    """Lowercased, stemmed words without stopwords (reporting verbs such as "reported" are stopwords here).

    >>> bm25_tokens("The Moscow Times reported talks")
    ['moscow', 'tim', 'talk']
    """
    return [t for t in map(_term, tokens(text)) if t]


@lru_cache(maxsize=200_000)  # a word is stemmed once (ingest at 10^6 chunks tokenizes ~10^8 words)
def _term(word: str) -> str:
    return "" if word in STOPWORDS else stem(word)
