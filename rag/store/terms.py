"""A chunk's BM25 terms and their counts, as a store without a full-text engine keeps them (Milvus).

The Milvus store stores these per chunk; milvus_bm25.py indexes them with tantivy
beside the client, so questions and chunks are matched on the same terms as in the
index folder.
"""
from __future__ import annotations

from collections import Counter
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


TERM_CHARS = 48  # longer words are cut to this, at ingest and in queries alike


def terms_of(text: str) -> list[str]:
    """The BM25 terms of a text, in order, with repeats (``bm25_tokens`` cut to TERM_CHARS characters).

    >>> terms_of("The Moscow Times reported talks in Moscow")
    ['moscow', 'tim', 'talk', 'moscow']
    """
    return [t[:TERM_CHARS] for t in bm25_tokens(text)]


def term_counts(text: str) -> tuple[list[str], list[int], int]:
    """(distinct terms, their counts, number of terms) of a chunk's text, as a store keeps them.

    >>> term_counts("talks, talks and Moscow")
    (['talk', 'moscow'], [2, 1], 3)
    """
    terms = terms_of(text)
    counts = Counter(terms)
    return list(counts), list(counts.values()), len(terms)
