"""Where an index lives: ``open_store`` / ``create_store`` pick the implementation from the location.

    store = open_store("indexes/seeds", expect_model_id=embedder.model_id)
    hits = store.dense_search(embedder.embed_batch(["Who is Xu Qiliang?"]), 5)[0]

A folder path is the local store (local.py). Other kinds of location (a server URI) get their own module.
"""
from __future__ import annotations

from pathlib import Path

from ..chunking import ChunkerSettings
from .base import FORMAT, DocumentInfo, EmbeddingInfo, Hit, Store, StoreInfo, StoreWriter

__all__ = ["FORMAT", "DocumentInfo", "EmbeddingInfo", "Hit", "Store", "StoreInfo", "StoreWriter",
           "create_store", "open_store", "store_exists"]


def store_exists(location: str | Path) -> bool:
    """Whether an index is at ``location`` (a folder with a manifest)."""
    from .local import LocalStore

    return LocalStore.exists(location)


def open_store(location: str | Path, expect_model_id: str | None = None) -> Store:
    """The index at ``location``; IndexNotFound / IndexIncompatible / IndexCorrupt say what to do when it
    cannot be opened (another embedding model than ``expect_model_id``, another format version, damage)."""
    from .local import LocalStore

    return LocalStore.open(location, expect_model_id)


def create_store(location: str | Path, embedding: EmbeddingInfo, chunker: ChunkerSettings) -> Store:
    """A new, empty index at ``location`` (an error if one is there already)."""
    from .local import LocalStore

    return LocalStore.create(location, embedding, chunker)
