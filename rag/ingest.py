"""Ingest: read articles, clean, chunk, embed and store them in an index.

Unchanged documents (same content hash) cost nothing; changed ones are
replaced; the index on disk only changes when a run completes.
"""
from __future__ import annotations

import contextlib
import fcntl
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .chunking import ChunkerSettings, ChunkTooLong, chunk_document, embedding_text
from .embedding import Embedder
from . import syndication
from .errors import IndexIncompatible, RagError
from .index import EmbeddingInfo, Index, read_manifest
from .loaders import Loaded, load_documents
from .textclean import clean_text
from .types import Chunk, Copy, Document, IngestReport, Skipped

# progress(stage, done, total): stage is "read" or "embed"
Progress = Callable[[str, int, int], None]
EMBED_BATCH = 32


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


@contextlib.contextmanager
def index_lock(path: Path) -> Iterator[None]:
    """One writer per index folder at a time."""
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise RagError(f"another process is writing to index {path}; wait for it to finish") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_or_create(path: Path, embedder: Embedder, settings: ChunkerSettings | None) -> Index:
    if Index.exists(path):
        index = Index.open(path, expect_model_id=embedder.model_id)
        if settings is not None and settings != index.chunker:
            raise IndexIncompatible(
                f"index {path} uses chunk_tokens={index.chunker.chunk_tokens}, "
                f"overlap_tokens={index.chunker.overlap_tokens}; pass the same settings or ingest into a new index"
            )
        return index
    info = EmbeddingInfo(embedder.model_id, int(embedder.embed_batch(["dimension probe"]).shape[1]), embedder.max_tokens)
    return Index.new(path, info, settings or ChunkerSettings())


def ingest(
    paths: Iterable[str | Path],
    index_path: str | Path,
    embedder: Embedder,
    settings: ChunkerSettings | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Add the articles under ``paths`` to the index at ``index_path`` (created if missing).

    Syndicated copies (rag/syndication.py) are not indexed again: each is folded into the document that
    already tells the story, which lists it among the outlets that also carried it.
    """
    started = time.perf_counter()
    index_path = Path(index_path)
    report = IngestReport()
    with index_lock(index_path):
        index = open_or_create(index_path, embedder, settings)
        todo, updated = _read_and_prepare(paths, index, embedder, report, progress)
        total = sum(len(p.chunks) for p in todo)
        done = 0
        for prepared in todo:
            vectors = _embed(embedder, prepared.texts, lambda n: progress and progress("embed", done + n, total))
            done += len(prepared.texts)
            (report.replaced if prepared.document.doc_id in index.documents else report.added).append(prepared.document.doc_id)
            index.put(prepared.document, prepared.chunks, vectors)
            report.chunks_embedded += len(prepared.chunks)
        for doc in updated:  # documents that gained or lost folded copies: same text, same chunks
            if doc.doc_id in index.documents:
                index.documents[doc.doc_id] = doc
        if todo or updated or not Index.exists(index_path):
            index.save()
    report.seconds = time.perf_counter() - started
    return report


def _read_and_prepare(paths, index: Index, embedder: Embedder, report: IngestReport,
                      progress) -> tuple[list[Prepared], list[Document]]:
    """What to embed, and the stored documents whose list of copies changed."""
    items = list(load_documents(paths, progress))
    held = syndication.copies_by_id(index.documents.values())
    fresh: list[Loaded] = []
    for n, item in enumerate(items, 1):
        if isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            doc = item.document
            old = index.documents.get(doc.doc_id)
            copy = held.get(doc.doc_id)
            if (old is not None and old.content_hash == doc.content_hash) or (
                    copy is not None and copy[1].content_hash == doc.content_hash):
                report.unchanged.append(doc.doc_id)
            else:
                fresh.append(Loaded(replace(doc, signature=syndication.signature(doc.text)), item.exclude))
        if progress:
            progress("read", n, len(items))
    return _fold_and_prepare(fresh, index, embedder, held, report)


def _fold_and_prepare(fresh: list[Loaded], index: Index, embedder: Embedder,
                      held: dict[str, tuple[str, Copy]], report: IngestReport) -> tuple[list[Prepared], list[Document]]:
    fresh_ids = {item.document.doc_id for item in fresh}
    stories = {d.doc_id: d.signature or syndication.signature(d.text)
               for d in index.documents.values() if d.doc_id not in fresh_ids}
    matches = {m.doc_id: m for m in syndication.find_copies([item.document for item in fresh], stories)}
    updated: dict[str, Document] = {}

    def stored(doc_id: str) -> Document:
        return updated.get(doc_id) or index.documents[doc_id]

    leaving = fresh_ids & held.keys()  # changed copies leave the stories they were folded into
    for doc_id in leaving:
        story_id = held[doc_id][0]
        if story_id not in fresh_ids:
            updated[story_id] = syndication.detach(stored(story_id), [doc_id])
    prepared: dict[str, Prepared] = {}
    for item in fresh:
        doc = item.document
        if doc.doc_id in matches:
            continue
        old = index.documents.get(doc.doc_id)
        if old is not None and old.copies:  # a story's new version keeps the copies folded into it
            doc = syndication.detach(replace(doc, copies=old.copies), leaving)
        _prepare_into(prepared, Loaded(doc, item.exclude), embedder, index, report)
    for item in fresh:
        match = matches.get(item.document.doc_id)
        if match is None:
            continue
        if match.of not in prepared and match.of not in index.documents:  # its story could not be indexed
            _prepare_into(prepared, item, embedder, index, report)
            continue
        copy = syndication.as_copy(item.document, match.similarity)
        old = index.documents.get(copy.doc_id)
        carried = [copy, *(old.copies if old is not None else ())]  # a former story brings its copies along
        if match.of in prepared:
            p = prepared[match.of]
            prepared[match.of] = replace(p, document=syndication.attach(p.document, carried))
        else:
            updated[match.of] = syndication.attach(stored(match.of), carried)
        if old is not None:
            index.remove([copy.doc_id])  # it was indexed as a story of its own before
        report.folded.append((copy.doc_id, match.of))
    return list(prepared.values()), list(updated.values())


def _prepare_into(prepared: dict[str, Prepared], item: Loaded, embedder: Embedder, index: Index,
                  report: IngestReport) -> None:
    try:
        prepared[item.document.doc_id] = prepare(item, embedder, index.chunker)
    except (ValueError, ChunkTooLong) as e:
        report.skipped.append(Skipped(item.document.source_path, str(e)))


def _embed(embedder: Embedder, texts: list[str], on_batch: Callable[[int], object]) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), EMBED_BATCH):
        parts.append(embedder.embed_batch(texts[i : i + EMBED_BATCH]))
        on_batch(min(i + EMBED_BATCH, len(texts)))
    return np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def remove_documents(index_path: str | Path, doc_ids: Iterable[str], expect_model_id: str | None = None) -> tuple[list[str], list[str]]:
    """Delete documents from an index; returns (removed, not found)."""
    index_path = Path(index_path)
    wanted = list(dict.fromkeys(doc_ids))
    read_manifest(index_path)  # a clear error for a missing index, before the lock creates its folder
    with index_lock(index_path):
        index = Index.open(index_path, expect_model_id)
        removed = index.remove(wanted)  # a story goes with the copies folded into it
        held = syndication.copies_by_id(index.documents.values())
        for doc_id in wanted:  # a folded copy is removed from the story that lists it
            if doc_id in held and doc_id not in removed:
                story_id = held[doc_id][0]
                index.documents[story_id] = syndication.detach(index.documents[story_id], [doc_id])
                removed.append(doc_id)
        if removed:
            index.save()
    return removed, [d for d in wanted if d not in removed]
