"""Ingest: read articles, clean, chunk, embed and store them in an index.

Unchanged documents (same content hash) cost nothing; changed ones are
replaced. Only what changed is written; the index on disk changes at commits
(every COMMIT_CHUNKS chunks and at the end), each leaving a good index.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from rag.ingest.chunk import ChunkTooLong, chunk_document

from rag.types import ChunkerSettings, embedding_text
from rag.embed.embedder import Embedder
from rag.ingest import folding
from rag.errors import IndexIncompatible
from rag.store import EmbeddingInfo, Store, create_store, open_store, store_exists
from rag.ingest.loaders import Loaded, load_documents
from rag.ingest.clean import clean_text
from rag.types import Chunk, Document, IngestReport, Skipped

# progress(stage, done, total): stage is "read", "embed", or a store stage (building the dense index)
Progress = Callable[[str, int, int], None]
WINDOW_DOCS = 500       # documents chunked at a time (memory stays bounded on large inputs)
EMBED_GROUP = 256       # chunks handed to the embedder at once (it sorts them by length into batches)
COMMIT_CHUNKS = 5_000   # chunks per commit


@dataclass(frozen=True)
class Prepared:
    document: Document
    chunks: list[Chunk]
    texts: list[str]  # what gets embedded, one per chunk


def prepare(loaded: Loaded, embedder: Embedder, settings: ChunkerSettings) -> Prepared:
    """Clean and chunk one document (no embedding yet)."""
    doc = loaded.document
    clean = clean_text(doc.text, loaded.exclude)
    if not clean.text.strip():
        raise ValueError("no article text left after cleaning")
    chunks = chunk_document(doc.doc_id, clean, embedder.count_tokens, embedder.max_tokens, settings, doc.title)
    return Prepared(doc, chunks, [embedding_text(doc.title, c.text) for c in chunks])


def open_or_create(path: Path, embedder: Embedder, settings: ChunkerSettings | None) -> Store:
    if store_exists(path):
        store = open_store(path, expect_model_id=embedder.model_id)
        chunker = store.info.chunker
        if settings is not None and settings != chunker:
            raise IndexIncompatible(
                f"index {path} uses chunk_tokens={chunker.chunk_tokens}, "
                f"overlap_tokens={chunker.overlap_tokens}; pass the same settings or ingest into a new index"
            )
        return store
    info = EmbeddingInfo(embedder.model_id, int(embedder.embed_batch(["dimension probe"]).shape[1]), embedder.max_tokens)
    return create_store(path, info, settings or ChunkerSettings())


def ingest(
    paths: Iterable[str | Path],
    index_path: str | Path,
    embedder: Embedder,
    settings: ChunkerSettings | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Add the articles under ``paths`` to the index at ``index_path`` (created if missing).

    Chunks are embedded in groups of EMBED_GROUP (length-sorted by the embedder) and committed every
    COMMIT_CHUNKS chunks, so an interrupted run keeps what it committed and a rerun resumes from there.
    Syndicated copies are not indexed again: each is stored as a copy of the story it repeats, which lists it
    among the outlets that also carried it (rag/ingest/folding.py).
    """
    started = time.perf_counter()
    index_path = Path(index_path)
    report = IngestReport()
    items = list(load_documents(paths, progress))
    store = open_or_create(index_path, embedder, settings)
    try:
        with store.writer() as writer:
            fold = folding.plan(_fresh(items, store, report), store)
            folding.apply(fold, store, writer)
            report.folded += fold.folded
            pending = 0
            for n, window in _windows(fold.stories, WINDOW_DOCS):
                todo, existing = _prepare_window(window, store, embedder, report)
                if progress:
                    progress("read", n, len(fold.stories))
                left = sum(len(p.chunks) for p in todo)
                for group in _groups(todo, getattr(embedder, "group_chunks", EMBED_GROUP)):  # RayEmbedder: more
                    vectors = embedder.embed_batch([t for p in group for t in p.texts])
                    row = 0
                    for prepared in group:
                        doc_id = prepared.document.doc_id
                        (report.replaced if doc_id in existing else report.added).append(doc_id)
                        writer.put(prepared.document, prepared.chunks, vectors[row:row + len(prepared.chunks)])
                        row += len(prepared.chunks)
                    report.chunks_embedded += row
                    pending += row
                    left -= row
                    if progress:
                        progress("embed", report.chunks_embedded, report.chunks_embedded + left)
                    if pending >= COMMIT_CHUNKS:
                        writer.commit()
                        pending = 0
        if report.chunks_embedded or fold.copies or fold.restored:
            store.optimize(progress)
    finally:
        store.close()
    report.seconds = time.perf_counter() - started
    return report


def _windows(items: list, size: int) -> Iterator[tuple[int, list]]:
    """Consecutive slices of ``items`` with the count read so far."""
    for start in range(0, len(items), size):
        window = items[start:start + size]
        yield start + len(window), window


def _groups(todo: list[Prepared], chunks: int) -> Iterator[list[Prepared]]:
    """Documents grouped so that each group has about ``chunks`` chunks to embed."""
    group: list[Prepared] = []
    size = 0
    for prepared in todo:
        group.append(prepared)
        size += len(prepared.chunks)
        if size >= chunks:
            yield group
            group, size = [], 0
    if group:
        yield group


def _fresh(items: list, store: Store, report: IngestReport) -> list[Loaded]:
    """The documents that are new or changed (unchanged ones, same content hash, are reported and left alone)."""
    loaded = []
    for item in items:
        if isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            loaded.append(item)
    fresh = []
    for n in range(0, len(loaded), WINDOW_DOCS):
        window = loaded[n:n + WINDOW_DOCS]
        hashes = store.content_hashes(item.document.doc_id for item in window)
        for item in window:
            if hashes.get(item.document.doc_id) == item.document.content_hash:
                report.unchanged.append(item.document.doc_id)
            else:
                fresh.append(item)
    return fresh


def _prepare_window(window: list[Loaded], store: Store, embedder: Embedder,
                    report: IngestReport) -> tuple[list[Prepared], set[str]]:
    """The window's documents chunked, and the ids among them already in the index."""
    existing = set(store.content_hashes(item.document.doc_id for item in window))
    chunker = store.info.chunker
    todo: list[Prepared] = []
    for item in window:
        try:
            todo.append(prepare(item, embedder, chunker))
        except (ValueError, ChunkTooLong) as e:
            report.skipped.append(Skipped(item.document.source_path, str(e)))
    return todo, existing


def remove_documents(index_path: str | Path, doc_ids: Iterable[str], expect_model_id: str | None = None) -> tuple[list[str], list[str]]:
    """Delete documents from an index; returns (removed, not found). A story goes with the copies folded into it;
    a copy is taken off its story's list."""
    wanted = list(dict.fromkeys(doc_ids))
    store = open_store(index_path, expect_model_id)
    try:
        gone, stories = folding.removal(wanted, store)
        with store.writer() as writer:
            removed = set(writer.remove(gone))
            for story in stories.values():
                chunks = store.chunks_of(story.doc_id)
                writer.put(story, chunks, store.get_vectors([c.chunk_id for c in chunks]))
        if removed:
            store.optimize()
    finally:
        store.close()
    return [d for d in wanted if d in removed], [d for d in wanted if d not in removed]
