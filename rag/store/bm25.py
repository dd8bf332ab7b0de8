"""BM25 scoring of candidate chunks from their stored term counts (for stores without a full-text engine).

A store that keeps, per chunk, its terms, their counts and its length, plus the
collection's chunk count and total length, fetches the chunks holding any query
term and scores them here. Same formula as tantivy (Lucene's BM25): idf =
ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.2, b = 0.75; a query term given
twice counts twice, as in the folder store's boolean query.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Sequence

from ..lexical import bm25_tokens

K1 = 1.2
B = 0.75
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


def score(query_terms: Sequence[str], candidates: Iterable[tuple[str, Sequence[str], Sequence[int], int]],
          n_chunks: int, avg_length: float) -> dict[str, float]:
    """chunk id -> BM25 score, for candidates given as (chunk id, terms, counts, length).

    The candidates must be every chunk holding at least one query term: document
    frequencies are counted among them.

    >>> s = score(["moscow"], [("a:0", ["moscow"], [2], 4), ("b:0", ["moscow", "talk"], [1, 1], 8)], 10, 6.0)
    >>> sorted(s, key=s.get, reverse=True), round(s["a:0"], 3)
    (['a:0', 'b:0'], 2.248)
    """
    wanted = set(query_terms)
    rows: list[tuple[str, dict[str, int], int]] = []
    df: Counter[str] = Counter()
    for chunk_id, terms, counts, length in candidates:
        tf = {t: c for t, c in zip(terms, counts) if t in wanted}
        if tf:
            rows.append((chunk_id, tf, length))
            df.update(tf.keys())
    n = max(n_chunks, len(rows))
    avg = avg_length if avg_length > 0 else 1.0
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in df}
    out: dict[str, float] = {}
    for chunk_id, tf, length in rows:
        norm = K1 * (1 - B + B * length / avg)
        out[chunk_id] = sum(idf[t] * tf[t] * (K1 + 1) / (tf[t] + norm) for t in query_terms if t in tf)
    return out


def top(scores: dict[str, float], k: int) -> list[tuple[str, float]]:
    """The k best (chunk id, score) pairs with a positive score, best first (ties by id).

    >>> top({"a": 1.0, "b": 2.0, "c": 0.0}, 5)
    [('b', 2.0), ('a', 1.0)]
    """
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(c, s) for c, s in ranked[:k] if s > 0]
