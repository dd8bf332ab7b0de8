"""Copy an index to another store (a folder to Milvus, Milvus to a folder, ...) without re-embedding.

    rag migrate indexes/seeds --to milvus://127.0.0.1:19530/seeds

Documents, chunks and vectors go through the store protocol as they are. The
destination is created with the source's embedding model and chunker settings,
or, when it exists, must have the same ones; documents already there with the same
content hash are left alone, others are replaced. Commits every COMMIT_CHUNKS
chunks, so an interrupted copy keeps what it committed and a rerun resumes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.errors import IndexIncompatible, RagError
from rag.store import Store, create_store, open_store, store_exists

Progress = Callable[[str, int, int], None]
PAGE_DOCS = 200
COMMIT_CHUNKS = 5_000


@dataclass(frozen=True)
class MigrateReport:
    source: str
    destination: str
    documents: int      # copied
    chunks: int         # copied
    unchanged: int      # already in the destination with the same content hash
    seconds: float

    def __str__(self) -> str:
        return (f"copied {self.documents} documents ({self.chunks} chunks) from {self.source} to {self.destination}"
                f", {self.unchanged} already there unchanged, in {self.seconds:.1f} s")


def _destination(source: Store, dest: str | Path) -> Store:
    info = source.info
    if not store_exists(dest):
        return create_store(dest, info.embedding, info.chunker)
    target = open_store(dest, expect_model_id=info.embedding.model_id)
    theirs = target.info
    if theirs.embedding != info.embedding or theirs.chunker != info.chunker:
        target.close()
        raise IndexIncompatible(
            f"index {dest} was built with {theirs.embedding} and {theirs.chunker}, the source {info.location} with "
            f"{info.embedding} and {info.chunker}; migrate into a new index instead")
    return target


def migrate(src: str | Path, dest: str | Path, progress: Progress | None = None) -> MigrateReport:
    """Copy every document of the index at ``src`` into the index at ``dest`` (created when missing)."""
    started = time.perf_counter()
    if str(src) == str(dest):
        raise RagError(f"source and destination are the same index: {src}")
    source = open_store(src)
    try:
        target = _destination(source, dest)
        try:
            total = source.info.documents
            copied = chunks = unchanged = pending = 0
            with target.writer() as w:
                for offset in range(0, total, PAGE_DOCS):
                    infos = source.list_documents(offset, PAGE_DOCS)
                    have = target.content_hashes(i.doc_id for i in infos)
                    todo = [i.doc_id for i in infos if have.get(i.doc_id) != i.content_hash]
                    unchanged += len(infos) - len(todo)
                    documents = source.get_documents(todo)
                    for doc_id in todo:
                        doc_chunks = source.chunks_of(doc_id)
                        w.put(documents[doc_id], doc_chunks, source.get_vectors([c.chunk_id for c in doc_chunks]))
                        copied += 1
                        chunks += len(doc_chunks)
                        pending += len(doc_chunks)
                    if pending >= COMMIT_CHUNKS:
                        w.commit()
                        pending = 0
                    if progress:
                        progress("copy documents", min(offset + PAGE_DOCS, total), total)
            if copied:
                target.optimize(progress)
        finally:
            target.close()
    finally:
        source.close()
    return MigrateReport(str(src), str(dest), copied, chunks, unchanged, time.perf_counter() - started)
