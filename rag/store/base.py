"""The store protocol: where an index's documents, chunks and vectors live.

The engine, ingest, eval and the page use only what is declared here. Two
implementations: the index folder (``folder/``: SQLite + FAISS + tantivy, the
default) and Milvus (``milvus/``, issue 12).

Ids are strings everywhere: a document's ``doc_id`` and a chunk's ``chunk_id``
("DOC_ID:N"). Vectors are float32, unit-normalised, one row per chunk; scores
are higher-is-better (dense: cosine similarity; lexical: BM25).

Writes go through ``with store.writer() as w:``. Everything put or removed in the
block becomes visible at once when the block exits normally (or at ``w.commit()``,
a checkpoint for long runs), and nothing written since the last commit if the
block raises or the process dies: the last good index stays usable. One writer
at a time, for the whole block; a second one gets a ``RagError`` naming the index.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, ContextManager, Iterable, Iterator, Protocol, Sequence, TypeVar, runtime_checkable

import numpy as np

from rag.errors import IndexIncompatible
from rag.types import Chunk, ChunkerSettings, Document

FORMAT = "rag-index"

# progress(stage, done, total) for long store work (building a search structure)
StoreProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EmbeddingInfo:
    """The embedding model an index was built with; queries must use the same one."""

    model_id: str
    dim: int
    max_tokens: int


@dataclass(frozen=True)
class StoreInfo:
    """What an index holds and how it was built (the manifest)."""

    location: str               # folder path or server URI, for messages
    format: str                 # FORMAT
    format_version: int
    embedding: EmbeddingInfo
    chunker: ChunkerSettings
    generation: int             # +1 per committed write
    documents: int
    chunks: int
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class DocumentInfo:
    """A document's metadata without its text (listing, metadata hints)."""

    doc_id: str
    title: str = ""
    date: str = ""
    outlet: str = ""
    url: str = ""
    source_path: str = ""
    content_hash: str = ""
    chunks: int = 0
    chars: int = 0
    copy_of: str = ""                 # a syndicated copy folded into that document (no chunks of its own)
    copies: tuple[str, ...] = ()      # the copies folded into this document


# Document fields a store keeps together as one JSON value (its "extra" column or field), beside the ones it
# indexes: author, crawl date, PDF page starts, near-duplicate signature, folded copies, the story a copy is of.
EXTRA_FIELDS = ("author", "crawl_date", "pages", "signature", "copies", "copy_of")


def extra_json(document: Document) -> str:
    """The document's extra fields as compact JSON, empty ones left out.

    >>> extra_json(Document("d", "x", author="Ann", pages=(0, 9)))
    '{"author":"Ann","pages":[0,9]}'
    >>> extra_json(Document("d", "x"))
    '{}'
    """
    from dataclasses import asdict

    values = {name: getattr(document, name) for name in EXTRA_FIELDS}
    values["copies"] = [asdict(c) for c in document.copies]
    return json.dumps({k: v for k, v in values.items() if v}, ensure_ascii=False, separators=(",", ":"),
                      default=list)


def from_extra(text: str) -> dict:
    """The extra fields stored by ``extra_json`` (keyword arguments for Document); {} for "" or "{}"."""
    values = json.loads(text or "{}")
    return {k: v for k, v in values.items() if k in EXTRA_FIELDS}


def info_extra(text: str) -> dict:
    """What a DocumentInfo shows of the extra fields: the story a copy is of, the copies folded in."""
    values = from_extra(text)
    return {"copy_of": values.get("copy_of", ""), "copies": tuple(c["doc_id"] for c in values.get("copies", ()))}


T = TypeVar("T")


def batches(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``values`` in consecutive pieces of at most ``size`` (ids per SQL or Milvus filter).

    >>> [list(b) for b in batches([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size}")
    for start in range(0, len(values), size):
        yield values[start:start + size]


def utc_now() -> str:
    """The time now as a manifest writes it (ISO 8601, UTC, to the second), e.g. '2026-12-03T18:00:00Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk and its score (higher is better)."""

    chunk_id: str
    score: float


class StoreWriter(Protocol):
    def put(self, document: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Add ``document`` with its chunks (row i of ``vectors`` embeds ``chunks[i]``), replacing any document
        with the same id. Raises ValueError when the shapes do not match."""
        ...

    def remove(self, doc_ids: Iterable[str]) -> list[str]:
        """Delete documents (and their chunks and vectors); returns the ids that were present."""
        ...

    def commit(self) -> None:
        """Make everything written so far durable and visible; the writer stays open for more."""
        ...


@runtime_checkable
class Store(Protocol):
    """An index: documents, their chunks and vectors, dense and lexical search, metadata lookups."""

    @property
    def info(self) -> StoreInfo: ...

    # ---- writing -----------------------------------------------------------------------------------
    def writer(self) -> ContextManager[StoreWriter]:
        """One atomic change (see the module docstring)."""
        ...

    def optimize(self, progress: StoreProgress | None = None) -> None:
        """Bring search structures up to date after large writes (may take minutes at 10^6 chunks).
        Searching is correct without it, only slower; ingest calls it at the end of a run."""
        ...

    # ---- documents and chunks by id ----------------------------------------------------------------
    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """doc_id -> content hash, for the ids present (ingest skips unchanged documents with it)."""
        ...

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        """The documents present among ``doc_ids``, with their full text."""
        ...

    def document_infos(self, doc_ids: Iterable[str]) -> dict[str, DocumentInfo]:
        """Metadata of the documents present among ``doc_ids``, without their text."""
        ...

    def list_documents(self, offset: int = 0, limit: int | None = None) -> list[DocumentInfo]:
        """Documents ordered by doc_id, a page at a time."""
        ...

    def get_chunks(self, chunk_ids: Iterable[str]) -> dict[str, Chunk]:
        """The chunks present among ``chunk_ids``."""
        ...

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in order ([] when it is absent)."""
        ...

    def get_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``chunk_ids``, one row each in the order given; KeyError names a missing id."""
        ...

    # ---- search ------------------------------------------------------------------------------------
    def dense_search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """For each query vector, up to k chunks by cosine similarity, best first."""
        ...

    def lexical_search(self, text: str, k: int) -> list[Hit]:
        """Up to k chunks by BM25 over their title and text, best first; only positive scores."""
        ...

    def close(self) -> None: ...


def query_vectors(vectors, dim: int, index: object) -> np.ndarray:
    """``vectors`` as a float32 (n, dim) array, or IndexIncompatible naming both shapes and the index."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise IndexIncompatible(
            f"the query vectors have shape {vectors.shape} but index {index} holds "
            f"{dim}-dim ones; use the embedding model the index was built with")
    return vectors
