"""An index is a folder: a FAISS file, the chunks and documents as JSON Lines, and a manifest.

manifest.json is written last and atomically and names the data files of the
current generation, so an interrupted write leaves the previous index usable.
Nothing is pickled.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .chunking import ChunkerSettings
from .errors import IndexCorrupt, IndexIncompatible, IndexNotFound
from .types import Chunk, Document, Span

FORMAT = "rag-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class EmbeddingInfo:
    model_id: str
    dim: int
    max_tokens: int


@dataclass
class Index:
    """Documents, chunks and their vectors (row i of ``vectors`` embeds ``chunks[i]``)."""

    path: Path
    embedding: EmbeddingInfo
    chunker: ChunkerSettings
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    vectors: np.ndarray | None = None
    generation: int = 0
    created_at: str = ""
    _faiss: object = None

    # ---- opening and saving -------------------------------------------------
    @classmethod
    def new(cls, path: str | Path, embedding: EmbeddingInfo, chunker: ChunkerSettings) -> "Index":
        return cls(Path(path), embedding, chunker, vectors=np.zeros((0, embedding.dim), dtype=np.float32),
                   created_at=_now())

    @classmethod
    def exists(cls, path: str | Path) -> bool:
        return (Path(path) / MANIFEST).is_file()

    @classmethod
    def open(cls, path: str | Path, expect_model_id: str | None = None) -> "Index":
        path = Path(path)
        manifest = read_manifest(path)
        try:
            emb = EmbeddingInfo(**manifest["embedding"])
            chunker = ChunkerSettings(**{k: v for k, v in manifest["chunker"].items() if k != "splitter"})
        except (TypeError, ValueError, AttributeError) as e:
            raise IndexCorrupt(f"index {path} has a damaged manifest ({e}); rebuild it with rag ingest") from e
        if expect_model_id is not None and emb.model_id != expect_model_id:
            raise IndexIncompatible(
                f"index {path} was built with embedding model {emb.model_id!r}, not {expect_model_id!r}; "
                f"re-ingest into a new index (rag ingest ... --index NEW_DIR)"
            )
        files = manifest["files"]
        try:
            documents = {d.doc_id: d for d in map(_document_from_json, _read_jsonl(path / files["documents"]))}
            chunks = [_chunk_from_json(row) for row in _read_jsonl(path / files["chunks"])]
            import faiss

            fidx = faiss.read_index(str(path / files["vectors"]))
        except (OSError, KeyError, TypeError, ValueError, RuntimeError) as e:
            raise IndexCorrupt(f"index {path} is damaged ({e}); rebuild it with rag ingest") from e
        if fidx.ntotal != len(chunks) or fidx.d != emb.dim:
            raise IndexCorrupt(
                f"index {path} is damaged: {fidx.ntotal} vectors of dim {fidx.d} for {len(chunks)} chunks "
                f"of dim {emb.dim}; rebuild it with rag ingest"
            )
        missing = {c.doc_id for c in chunks} - documents.keys()
        if missing:
            raise IndexCorrupt(f"index {path} is damaged: chunks of unknown documents {sorted(missing)[:3]}")
        vectors = fidx.reconstruct_n(0, fidx.ntotal) if fidx.ntotal else np.zeros((0, emb.dim), np.float32)
        index = cls(path, emb, chunker, documents, chunks, np.asarray(vectors, dtype=np.float32), manifest["generation"],
                    manifest.get("created_at", ""))
        index._faiss = fidx
        return index

    def save(self) -> None:
        """Write a new generation of data files, then switch the manifest to them atomically."""
        import faiss

        self.path.mkdir(parents=True, exist_ok=True)
        gen = max(self.generation, _current_generation(self.path)) + 1
        files = {"documents": f"documents.{gen}.jsonl", "chunks": f"chunks.{gen}.jsonl", "vectors": f"vectors.{gen}.faiss"}
        _write_jsonl(self.path / files["documents"], (asdict(d) for d in self.documents.values()))
        _write_jsonl(self.path / files["chunks"], (_chunk_to_json(c) for c in self.chunks))
        tmp = self.path / (files["vectors"] + ".tmp")
        faiss.write_index(self._build_faiss(), str(tmp))
        _fsync_replace(tmp, self.path / files["vectors"])
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generation": gen,
            "created_at": self.created_at or _now(),
            "updated_at": _now(),
            "embedding": asdict(self.embedding),
            "chunker": self.chunker.to_dict(),
            "files": files,
            "documents": {
                d.doc_id: {"content_hash": d.content_hash, "chunks": self.count_chunks(d.doc_id), "title": d.title}
                for d in self.documents.values()
            },
        }
        tmp = self.path / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_replace(tmp, self.path / MANIFEST)
        self.generation = gen
        self._remove_stale_files(set(files.values()))

    def _remove_stale_files(self, keep: set[str]) -> None:
        for p in self.path.iterdir():
            if p.name != MANIFEST and p.name not in keep and p.name.split(".")[0] in ("documents", "chunks", "vectors", "manifest"):
                with contextlib.suppress(OSError):
                    p.unlink()

    # ---- editing --------------------------------------------------------------
    def put(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add a document, replacing any previous version with the same id."""
        if vectors.shape != (len(chunks), self.embedding.dim):
            raise ValueError(f"expected vectors of shape ({len(chunks)}, {self.embedding.dim}), got {vectors.shape}")
        self.remove([document.doc_id])
        self.documents[document.doc_id] = document
        self.chunks.extend(chunks)
        self.vectors = np.vstack([self._vectors(), vectors.astype(np.float32)])
        self._faiss = None

    def remove(self, doc_ids: Iterable[str]) -> list[str]:
        """Remove documents by id; returns the ids that were present."""
        gone = [d for d in dict.fromkeys(doc_ids) if d in self.documents]
        if not gone:
            return []
        drop = set(gone)
        keep = [i for i, c in enumerate(self.chunks) if c.doc_id not in drop]
        self.chunks = [self.chunks[i] for i in keep]
        self.vectors = self._vectors()[keep]
        for d in gone:
            del self.documents[d]
        self._faiss = None
        return gone

    # ---- reading --------------------------------------------------------------
    def count_chunks(self, doc_id: str) -> int:
        return sum(1 for c in self.chunks if c.doc_id == doc_id)

    def search(self, query_vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query vector, up to k (chunk position, inner product) pairs, best first."""
        if not self.chunks or k <= 0:
            return [[] for _ in range(len(query_vectors))]
        if self._faiss is None:
            self._faiss = self._build_faiss()
        scores, ids = self._faiss.search(np.ascontiguousarray(query_vectors, dtype=np.float32), min(k, len(self.chunks)))
        return [[(int(i), float(s)) for i, s in zip(row_i, row_s) if i >= 0] for row_i, row_s in zip(ids, scores)]

    def _vectors(self) -> np.ndarray:
        if self.vectors is None:
            self.vectors = np.zeros((0, self.embedding.dim), dtype=np.float32)
        return self.vectors

    def _build_faiss(self):
        import faiss

        fidx = faiss.IndexFlatIP(self.embedding.dim)
        if len(self._vectors()):
            fidx.add(np.ascontiguousarray(self._vectors(), dtype=np.float32))
        return fidx


def read_manifest(path: Path) -> dict:
    """The manifest, checked for format and version; errors say what to do."""
    if not path.exists():
        raise IndexNotFound(f"no index at {path}; build one with: rag ingest seeds/ --index {path}")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise IndexNotFound(f"{path} is not an index (no {MANIFEST}); build one with: rag ingest FILES --index {path}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"{mpath} is unreadable ({e}); rebuild the index with rag ingest") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexIncompatible(f"{mpath} is not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexIncompatible(
            f"index {path} has format version {manifest.get('format_version')!r}; this version of rag reads "
            f"version {FORMAT_VERSION}. Rebuild it: rag ingest SOURCES --index NEW_DIR"
        )
    for key in ("embedding", "chunker", "files", "generation"):
        if key not in manifest:
            raise IndexCorrupt(f"{mpath} lacks {key!r}; rebuild the index with rag ingest")
    return manifest


def _current_generation(path: Path) -> int:
    with contextlib.suppress(Exception):
        return int(json.loads((path / MANIFEST).read_text(encoding="utf-8"))["generation"])
    return 0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _fsync_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _chunk_to_json(c: Chunk) -> dict:
    return {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "text": c.text, "span": [c.span.start, c.span.end],
            "sentences": [[s.start, s.end] for s in c.sentences]}


def _chunk_from_json(row: dict) -> Chunk:
    return Chunk(row["chunk_id"], row["doc_id"], row["text"], Span(*row["span"]),
                 tuple(Span(*s) for s in row.get("sentences", ())))


def _document_from_json(row: dict) -> Document:
    return Document(**row)
