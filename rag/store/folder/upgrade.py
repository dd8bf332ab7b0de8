"""Upgrade an index folder of format version 1 (JSON Lines + one FAISS file) to the current format, in place.

The vectors are kept (no re-embedding). The new files are built beside the old
ones and the manifest is switched last, so an interrupted upgrade leaves the
version 1 index as it was.
"""
from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import numpy as np

from rag.errors import IndexCorrupt, IndexIncompatible, IndexNotFound
from rag.types import Chunk, ChunkerSettings, Document, Span
from rag.store.base import EmbeddingInfo, StoreProgress
from rag.store.folder.store import DB, FORMAT_VERSION, FULLTEXT, MANIFEST, LocalStore, atomic_write

WORK = ".upgrade"


def upgrade(path: str | Path, progress: StoreProgress | None = None) -> str:
    """Convert the version 1 index at ``path``; returns a one-line report."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise IndexNotFound(f"no index at {path}; build one with: rag ingest seeds/ --index {path}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"{mpath} is unreadable ({e}); rebuild the index with rag ingest") from e
    if manifest.get("format_version") != 1:
        raise IndexIncompatible(f"index {path} has format version {manifest.get('format_version')!r}; "
                                "only version 1 indexes are upgraded")
    try:
        embedding = EmbeddingInfo(**manifest["embedding"])
        chunker = ChunkerSettings.from_dict(manifest["chunker"])
        files = manifest["files"]
        documents = [Document(**row) for row in _jsonl(path / files["documents"])]
        chunks = [Chunk(r["chunk_id"], r["doc_id"], r["text"], Span(*r["span"]),
                        tuple(Span(*s) for s in r.get("sentences", ()))) for r in _jsonl(path / files["chunks"])]
        vectors = _vectors(path / files["vectors"], embedding.dim)
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as e:
        raise IndexCorrupt(f"index {path} is damaged ({e}); rebuild it with rag ingest") from e
    if len(vectors) != len(chunks):
        raise IndexCorrupt(f"index {path} is damaged: {len(vectors)} vectors for {len(chunks)} chunks; "
                           "rebuild it with rag ingest")

    work = path / WORK
    shutil.rmtree(work, ignore_errors=True)
    store = LocalStore.create(work, embedding, chunker)
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.doc_id, []).append(i)
    with store.writer() as w:
        for n, doc in enumerate(documents, 1):
            mine = rows.get(doc.doc_id, [])
            w.put(doc, [chunks[i] for i in mine], vectors[mine] if mine else np.zeros((0, embedding.dim), np.float32))
            if progress:
                progress("upgrade", n, len(documents))
    store.optimize(progress)
    store.close()

    for p in work.iterdir():  # the new files beside the old ones, then the switch
        if p.name in (DB, FULLTEXT) or p.name.startswith("dense."):
            target = path / p.name
            if target.is_dir():
                shutil.rmtree(target)
            p.replace(target)
    atomic_write(mpath, (work / MANIFEST).read_text(encoding="utf-8"))
    shutil.rmtree(work, ignore_errors=True)
    for name in files.values():
        with contextlib.suppress(OSError):
            (path / name).unlink()
    return (f"upgraded {path} to format version {FORMAT_VERSION}: {len(documents)} documents, {len(chunks)} chunks, "
            "vectors kept")


def _jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _vectors(path: Path, dim: int) -> np.ndarray:
    import faiss

    index = faiss.read_index(str(path))
    if index.d != dim:
        raise ValueError(f"vectors of dim {index.d}, manifest says {dim}")
    return np.asarray(index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, dim)), dtype=np.float32)
