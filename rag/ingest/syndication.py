"""Syndicated copies: the same story carried by several outlets, found by MinHash over word shingles.

A document's signature is the MinHash (datasketch) of its word 5-grams; two documents whose estimated
Jaccard similarity reaches ``THRESHOLD`` are the same story (a changed headline, reordered paragraphs or an
added sentence change few shingles; two reports of the same event in different words share almost none).
The threshold is measured by ``bench/syndication.py``. Pure functions: ingest decides what to store.

>>> a = "Officials from both countries met in Moscow on Wednesday to discuss joint naval exercises next year."
>>> b = "BREAKING. " + a + " More details will follow."
>>> c = "A different report: the ministers talked about trade and energy prices in Beijing on Monday morning."
>>> round(similarity(signature(a), signature(b)), 1) >= THRESHOLD, similarity(signature(a), signature(c)) < THRESHOLD
(True, True)
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from rag.types import Copy, Document

SCHEME = "mh1"  # datasketch MinHash, scheme affine32, seed 1, NUM_PERM permutations, word SHINGLE_WORDS-grams
NUM_PERM = 128
SHINGLE_WORDS = 5
THRESHOLD = 0.5  # estimated Jaccard of word shingles at or above which two texts are one story (measured)
MIN_WORDS = 40  # shorter texts (a feed summary, a brief) are never folded: too few shingles to tell
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Match:
    """``doc_id`` is a copy of ``of`` (a document kept as the story), with their estimated similarity."""

    doc_id: str
    of: str
    similarity: float


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """The text's overlapping runs of ``k`` words, case folded.

    >>> sorted(shingles("The talks, the TALKS ended.", k=2))
    ['talks ended', 'talks the', 'the talks']
    """
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def signature(text: str) -> str:
    """The text's MinHash signature as a short string ("mh1:" + base64 of the hash values)."""
    m = _minhash()
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return f"{SCHEME}:" + base64.b64encode(np.asarray(m.hashvalues, dtype="<u4").tobytes()).decode("ascii")


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of two signatures' texts (0.0 when either is missing or of another scheme)."""
    va, vb = _values(a), _values(b)
    if va is None or vb is None:
        return 0.0
    return float(np.mean(va == vb))


def foldable(doc: Document) -> bool:
    return len(_WORD.findall(doc.text)) >= MIN_WORDS


def find_copies(new: Sequence[Document], kept: Mapping[str, str], threshold: float = THRESHOLD) -> list[Match]:
    """Which of the ``new`` documents (with signatures) are copies of a kept one (id → signature) or of an
    earlier new one. A new document that copies nothing is kept as a story in its turn; the earliest-dated
    new document of a story is the one kept (undated ones after dated ones, else in the given order)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=max(threshold - 0.1, 0.05), num_perm=NUM_PERM)
    signatures = dict(kept)
    for doc_id, sig in kept.items():
        if (values := _values(sig)) is not None:
            lsh.insert(doc_id, _minhash(values))
    order = sorted(range(len(new)), key=lambda i: (new[i].date or "9999", i))
    matches: list[Match] = []
    for i in order:
        doc = new[i]
        values = _values(doc.signature)
        if values is None or not foldable(doc):
            continue
        candidates = [c for c in lsh.query(_minhash(values)) if c != doc.doc_id]
        scored = sorted(((similarity(doc.signature, signatures[c]), c) for c in candidates), reverse=True)
        if scored and scored[0][0] >= threshold:
            matches.append(Match(doc.doc_id, scored[0][1], scored[0][0]))
        elif doc.doc_id not in signatures:
            signatures[doc.doc_id] = doc.signature
            lsh.insert(doc.doc_id, _minhash(values))
    return matches


def as_copy(doc: Document, similarity: float) -> Copy:
    return Copy(doc.doc_id, doc.outlet, doc.title, doc.date, doc.url, doc.source_path, doc.content_hash,
                round(similarity, 3))


def attach(story: Document, copies: Iterable[Copy]) -> Document:
    """``story`` carrying ``copies`` too (a copy already there under the same id is replaced)."""
    added = list(copies)
    ids = {c.doc_id for c in added}
    return replace(story, copies=tuple(c for c in story.copies if c.doc_id not in ids) + tuple(added))


def detach(story: Document, doc_ids: Iterable[str]) -> Document:
    gone = set(doc_ids)
    return replace(story, copies=tuple(c for c in story.copies if c.doc_id not in gone))


def _minhash(values=None):
    from datasketch import MinHash

    if values is None:
        return MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")
    return MinHash(seed=1, hashvalues=values, scheme="affine32")


def _values(sig: str) -> np.ndarray | None:
    prefix = f"{SCHEME}:"
    if not sig.startswith(prefix):
        return None
    values = np.frombuffer(base64.b64decode(sig[len(prefix):]), dtype="<u4").astype(np.uint64)
    return values if len(values) == NUM_PERM else None
