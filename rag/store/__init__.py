"""Where an index lives: ``open_store`` / ``create_store`` pick the implementation from the location.

    store = open_store("indexes/seeds", expect_model_id=embedder.model_id)
    hits = store.dense_search(embedder.embed_batch(["Who is Xu Qiliang?"]), 5)[0]

A folder path is the index folder (folder/store.py); ``milvus://HOST:PORT/COLLECTION`` is a collection on a
Milvus server and ``milvus-lite:PATH.db`` (or ``milvus-lite:PATH.db?collection=NAME``) one in a Milvus Lite file
(milvus/store.py, needs the ``milvus`` extra). Both index what rag/store/terms.py makes of a text for BM25.
"""
from __future__ import annotations

from pathlib import Path

from rag.types import ChunkerSettings
from rag.store.base import FORMAT, DocumentInfo, EmbeddingInfo, Hit, Store, StoreInfo, StoreWriter

__all__ = ["FORMAT", "DocumentInfo", "EmbeddingInfo", "Hit", "Store", "StoreInfo", "StoreWriter",
           "create_store", "open_store", "store_exists"]


def store_exists(location: str | Path) -> bool:
    """Whether an index is at ``location`` (a folder with a manifest, or a Milvus collection with one)."""
    if _is_milvus(location):
        from rag.store.milvus.store import MilvusStore

        return MilvusStore.exists(_milvus_uri(location))
    from rag.store.folder.store import LocalStore

    return LocalStore.exists(location)


def open_store(location: str | Path, expect_model_id: str | None = None) -> Store:
    """The index at ``location``; IndexNotFound / IndexIncompatible / IndexCorrupt say what to do when it
    cannot be opened (another embedding model than ``expect_model_id``, another format version, damage)."""
    if _is_milvus(location):
        from rag.store.milvus.store import MilvusStore

        return MilvusStore.open(_milvus_uri(location), expect_model_id)
    from rag.store.folder.store import LocalStore

    return LocalStore.open(location, expect_model_id)


def create_store(location: str | Path, embedding: EmbeddingInfo, chunker: ChunkerSettings) -> Store:
    """A new, empty index at ``location`` (an error if one is there already)."""
    if _is_milvus(location):
        from rag.store.milvus.store import MilvusStore

        return MilvusStore.create(_milvus_uri(location), embedding, chunker)
    from rag.store.folder.store import LocalStore

    return LocalStore.create(location, embedding, chunker)


def _is_milvus(location: str | Path) -> bool:
    return str(location).startswith(("milvus:/", "milvus-lite:"))


def _milvus_uri(location: str | Path) -> str:
    """The URI back from a location that went through Path (which folds "//" to "/"; a Milvus Lite location
    means the same either way).

    >>> _milvus_uri(Path("milvus://127.0.0.1:19530/seeds")), _milvus_uri(Path("milvus-lite:///srv/news.db"))
    ('milvus://127.0.0.1:19530/seeds', 'milvus-lite:/srv/news.db')
    """
    text = str(location)
    if text.startswith(("milvus://", "milvus-lite:")):
        return text
    return "milvus://" + text[len("milvus:/"):]
