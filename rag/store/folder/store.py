"""The index folder: SQLite for documents, chunks and vectors; FAISS for dense search; tantivy for BM25.

    indexes/NAME/
      manifest.json      format and version, embedding model id/dim/token limit, chunker settings (written once)
      store.sqlite       documents (text + metadata), chunks (text, spans, vector), bookkeeping
      dense.N.faiss      the dense search structure over the chunks of its last build (see dense.py)
      fulltext/          the tantivy BM25 index of each chunk's title and text, as rag/store/terms.py makes its terms

SQLite is the truth. A write is one SQLite transaction (WAL, synchronous=FULL),
so an interrupted write leaves the last committed index. The derived search
structures catch up after the commit and are safe to redo: the chunk ids a
write touched wait in ``fulltext_todo`` until tantivy has them; a new FAISS file
is switched to by a committed row in ``meta`` and never changed in place.
Nothing is pickled.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from rag.errors import IndexCorrupt, IndexIncompatible, IndexNotFound, RagError
from rag.types import Chunk, ChunkerSettings, Document, Span, embedding_text
from rag.store.base import (FORMAT, DocumentInfo, EmbeddingInfo, Hit, StoreInfo, StoreProgress, batches, extra_json,
                            from_extra, info_extra, query_vectors, utc_now)
from rag.store.folder import dense
from rag.store.folder.schema import SCHEMA
from rag.store.fulltext import FullText
from rag.store.terms import bm25_tokens

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
DB = "store.sqlite"
FULLTEXT = "fulltext"
DELTA_MAX = 20_000        # chunks searched exactly outside the FAISS file before optimize() rebuilds it
STALE_MAX = 0.10          # share of removed chunks left in the FAISS file before optimize() rebuilds it
SQL_VARS = 900            # ids per IN (...) query
DOC_COLUMNS = "doc_id, title, date, outlet, url, source_path, content_hash, chunks, chars"
INFO_COLUMNS = f"{DOC_COLUMNS}, extra"


class LocalStore:
    """An index folder (see the module docstring). Readers and one writer may use it at once."""

    def __init__(self, path: Path, manifest: dict, embedding: EmbeddingInfo, chunker: ChunkerSettings):
        self.path = path
        self.manifest = manifest
        self.embedding = embedding
        self.chunker = chunker
        self._db = _connect(path / DB)
        self._read_lock = threading.RLock()
        self._fulltext = FullText(path / FULLTEXT)
        self._dense_cache: dense.DenseIndex | None = None  # loaded on first search
        if self._meta_int("fulltext_pending"):
            with contextlib.suppress(RagError):  # repair after a crash, when no one else is writing
                with self._lock():
                    self._sync_fulltext()

    # ---- opening -------------------------------------------------------------------------------------
    @staticmethod
    def exists(path: str | Path) -> bool:
        return (Path(path) / MANIFEST).is_file()

    @classmethod
    def create(cls, path: str | Path, embedding: EmbeddingInfo, chunker: ChunkerSettings) -> "LocalStore":
        path = Path(path)
        if cls.exists(path):
            raise RagError(f"an index already exists at {path}; open it instead")
        path.mkdir(parents=True, exist_ok=True)
        db = _connect(path / DB)
        db.executescript(SCHEMA)
        now = utc_now()
        with _transaction(db):
            _set_meta(db, generation=0, created_at=now, updated_at=now, dense_file="", dense_upto=0, dense_count=0,
                      fulltext_pending=0, documents=0, chunks=0)
        db.close()
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "created_at": now,
                    "embedding": asdict(embedding), "chunker": chunker.to_dict(),
                    "files": {"db": DB, "fulltext": FULLTEXT + "/"}}
        atomic_write(path / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        return cls(path, manifest, embedding, chunker)

    @classmethod
    def open(cls, path: str | Path, expect_model_id: str | None = None) -> "LocalStore":
        path = Path(path)
        manifest = read_manifest(path)
        try:
            emb = EmbeddingInfo(**manifest["embedding"])
            chunker = ChunkerSettings.from_dict(manifest["chunker"])
        except (TypeError, ValueError, AttributeError) as e:
            raise IndexCorrupt(f"index {path} has a damaged manifest ({e}); rebuild it with rag ingest") from e
        if expect_model_id is not None and emb.model_id != expect_model_id:
            raise IndexIncompatible(
                f"index {path} was built with embedding model {emb.model_id!r}, not {expect_model_id!r}; "
                f"re-ingest into a new index (rag ingest ... --index NEW_DIR)")
        if not (path / DB).is_file():
            raise IndexCorrupt(f"index {path} is damaged: {DB} is missing; rebuild it with rag ingest")
        try:
            return cls(path, manifest, emb, chunker)
        except (sqlite3.DatabaseError, OSError, ValueError, RuntimeError) as e:
            raise IndexCorrupt(f"index {path} is damaged ({e}); rebuild it with rag ingest") from e

    def _dense(self) -> dense.DenseIndex:
        with self._read_lock:
            if self._dense_cache is None:
                self._dense_cache = self._load_dense()
            return self._dense_cache

    def _load_dense(self) -> dense.DenseIndex:
        name = self._meta("dense_file")
        base = None
        if name:
            try:
                base = dense.read(self.path / name)
            except RuntimeError as e:
                raise IndexCorrupt(f"index {self.path} is damaged: {name} is unreadable ({e}); "
                                   "rebuild it with rag ingest") from e
        upto = self._meta_int("dense_upto")
        rows = self._db.execute("SELECT id, vector FROM chunks WHERE id > ? ORDER BY id", (upto,)).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = _unpack([r[1] for r in rows], self.embedding.dim)
        return dense.DenseIndex(self.embedding.dim, base, ids, vectors)

    # ---- the manifest ---------------------------------------------------------------------------------
    @property
    def info(self) -> StoreInfo:
        meta = dict(self._query("SELECT key, value FROM meta"))
        if "documents" in meta:
            docs, chunks = int(meta["documents"]), int(meta["chunks"])
        else:  # an index written before the counters were kept
            docs, chunks = self._query("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)")[0]
        return StoreInfo(str(self.path), FORMAT, FORMAT_VERSION, self.embedding, self.chunker,
                         int(meta.get("generation", 0)), docs, chunks, meta.get("created_at", ""), meta.get("updated_at", ""))

    def close(self) -> None:
        self._db.close()

    # ---- writing -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self) -> Iterator["LocalWriter"]:
        with self._lock():
            w = LocalWriter(self)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield w
                self._commit(w, reopen=False)
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _commit(self, w: "LocalWriter", reopen: bool) -> None:
        if w.changed:
            _set_meta(self._db, generation=self._meta_int("generation") + 1, updated_at=utc_now(), fulltext_pending=1)
        self._db.execute("COMMIT")
        if w.changed:
            w.changed = False
            self._dense_cache = None
            self._sync_fulltext()
        if reopen:
            self._db.execute("BEGIN IMMEDIATE")

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.path / ".lock", "w") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise RagError(f"another process is writing to index {self.path}; wait for it to finish") from e
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _sync_fulltext(self) -> None:
        """Give tantivy the chunks written since its last sync (idempotent; called after each commit)."""
        todo = [r[0] for r in self._db.execute("SELECT id FROM fulltext_todo ORDER BY id")]
        for start in range(0, len(todo), 20_000):
            ids = todo[start:start + 20_000]
            add = [(i, bm25_tokens(embedding_text(title, text))) for i, title, text in self._select_in(
                "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({})",
                ids)]
            self._fulltext.apply(ids, add)
            with _transaction(self._db):
                self._db.executemany("DELETE FROM fulltext_todo WHERE id = ?", ((i,) for i in ids))
        with _transaction(self._db):
            _set_meta(self._db, fulltext_pending=0)

    def optimize(self, progress: StoreProgress | None = None) -> None:
        """Rebuild the FAISS file when the exact delta or the removed share has grown too large."""
        upto = self._meta_int("dense_upto")
        base_n = self._meta_int("dense_count")
        delta_n = self._db.execute("SELECT count(*) FROM chunks WHERE id > ?", (upto,)).fetchone()[0]
        stale = self._db.execute("SELECT count(*) FROM dense_stale").fetchone()[0]
        if delta_n <= DELTA_MAX and stale <= STALE_MAX * max(base_n, 1):
            return
        with contextlib.suppress(RagError), self._lock():
            self._rebuild_dense(progress)

    def _rebuild_dense(self, progress: StoreProgress | None) -> None:
        upto = self._db.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]
        n = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        ids = np.zeros(n, dtype=np.int64)
        vectors = np.zeros((n, self.embedding.dim), dtype=np.float32)
        for row, (i, blob) in enumerate(self._db.execute("SELECT id, vector FROM chunks WHERE id <= ? ORDER BY id",
                                                         (upto,))):
            ids[row] = i
            vectors[row] = np.frombuffer(blob, dtype=np.float32)
            if progress and row % 50_000 == 0:
                progress("read vectors", row, n)
        index = dense.build(vectors, ids, (lambda done, total: progress("build dense index", done, total))
                            if progress else None)
        del vectors
        old = self._meta("dense_file")
        name = f"dense.{self._meta_int('generation')}.{int(time.time() * 1000)}.faiss"
        tmp = self.path / (name + ".tmp")
        dense.write(index, tmp)
        _fsync_replace(tmp, self.path / name)
        with _transaction(self._db):
            _set_meta(self._db, dense_file=name, dense_upto=upto, dense_count=n)
            self._db.execute("DELETE FROM dense_stale WHERE id <= ?", (upto,))
        self._dense_cache = None
        self._remove_stale_files(keep={name})
        if old and old != name:
            with contextlib.suppress(OSError):
                (self.path / old).unlink()

    def _remove_stale_files(self, keep: set[str]) -> None:
        for p in self.path.iterdir():
            if p.name.startswith("dense.") and p.name not in keep:
                with contextlib.suppress(OSError):
                    p.unlink()

    # ---- reading -------------------------------------------------------------------------------------
    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        return dict(self._select_in("SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({})", doc_ids))

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        rows = self._select_in("SELECT doc_id, text, title, date, outlet, url, source_path, content_hash, extra "
                               "FROM documents WHERE doc_id IN ({})", doc_ids)
        return {r[0]: Document(*r[:-1], **from_extra(r[-1])) for r in rows}

    def document_infos(self, doc_ids: Iterable[str]) -> dict[str, DocumentInfo]:
        return {r[0]: _info(r) for r in self._select_in(
            f"SELECT {INFO_COLUMNS} FROM documents WHERE doc_id IN ({{}})", doc_ids)}

    def list_documents(self, offset: int = 0, limit: int | None = None) -> list[DocumentInfo]:
        rows = self._query(f"SELECT {INFO_COLUMNS} FROM documents ORDER BY doc_id LIMIT ? OFFSET ?",
                           (-1 if limit is None else limit, offset))
        return [_info(r) for r in rows]

    def get_chunks(self, chunk_ids: Iterable[str]) -> dict[str, Chunk]:
        return {c.chunk_id: c for c in map(_chunk, self._select_in(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE chunk_id IN ({{}})", chunk_ids))}

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return [_chunk(r) for r in self._query(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY ord", (doc_id,))]

    def get_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        found = dict(self._select_in("SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({})", chunk_ids))
        missing = [c for c in chunk_ids if c not in found]
        if missing:
            raise KeyError(f"chunk {missing[0]!r} is not in index {self.path}")
        return _unpack([found[c] for c in chunk_ids], self.embedding.dim)

    def dense_search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        vectors = query_vectors(vectors, self.embedding.dim, self.path)
        stale = self._query("SELECT count(*) FROM dense_stale")[0][0]
        found = self._dense().search(vectors, k + min(stale, 4 * k) if k > 0 else 0)
        return [self._hits(hits)[:k] for hits in found]

    def lexical_search(self, text: str, k: int) -> list[Hit]:
        if k <= 0:
            return []
        return self._hits(self._fulltext.search(bm25_tokens(text), k + 10))[:k]

    def _hits(self, pairs: list[tuple[int, float]]) -> list[Hit]:
        """(row id, score) -> Hit with the chunk id; ids removed since the structure was built are dropped."""
        names = dict(self._select_in("SELECT id, chunk_id FROM chunks WHERE id IN ({})", [i for i, _ in pairs]))
        return [Hit(names[i], s) for i, s in pairs if i in names]

    # ---- whole-index reads (benchmarks) ----------------------------------------------------------------
    def iter_vectors(self, batch: int = 50_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """(chunk ids, their vectors) of every chunk in insertion order, ``batch`` at a time."""
        if batch <= 0:
            raise ValueError(f"batch must be > 0, got {batch}")
        last = 0
        while rows := self._query("SELECT id, chunk_id, vector FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                                  (last, batch)):
            last = rows[-1][0]
            yield [r[1] for r in rows], _unpack([r[2] for r in rows], self.embedding.dim)

    @property
    def dense_base(self):
        """The FAISS index of the last dense build (None before the first); its ``nprobe`` may be set."""
        return self._dense().base

    # ---- helpers -------------------------------------------------------------------------------------
    def _query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self._read_lock:  # one connection shared by the page's threads
            return self._db.execute(sql, args).fetchall()

    def _select_in(self, sql: str, values: Iterable) -> list[tuple]:
        values = list(dict.fromkeys(values))
        out: list[tuple] = []
        for start in range(0, len(values), SQL_VARS):
            part = values[start:start + SQL_VARS]
            out.extend(self._query(sql.format(",".join("?" * len(part))), part))
        return out

    def _meta(self, key: str) -> str:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else ""

    def _meta_int(self, key: str) -> int:
        return int(self._meta(key) or 0)


class LocalWriter:
    """Puts and removes inside the store's open transaction."""

    def __init__(self, store: LocalStore):
        self.store = store
        self.changed = False

    def commit(self) -> None:
        self.store._commit(self, reopen=True)

    def put(self, document: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        dim = self.store.embedding.dim
        if vectors.shape != (len(chunks), dim):
            raise ValueError(f"expected vectors of shape ({len(chunks)}, {dim}), got {vectors.shape}")
        if any(c.doc_id != document.doc_id for c in chunks):
            raise ValueError(f"every chunk of document {document.doc_id!r} must carry its doc_id")
        db = self.store._db
        self.remove([document.doc_id])
        _add_meta(db, documents=1, chunks=len(chunks))
        db.execute(f"INSERT INTO documents ({INFO_COLUMNS}, text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (document.doc_id, document.title, document.date, document.outlet, document.url,
                    document.source_path, document.content_hash, len(chunks), len(document.text),
                    extra_json(document), document.text))
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for n, (c, v) in enumerate(zip(chunks, vectors)):
            cur = db.execute(
                "INSERT INTO chunks (chunk_id, doc_id, ord, text, start, end, sentences, vector) VALUES (?,?,?,?,?,?,?,?)",
                (c.chunk_id, c.doc_id, n, c.text, c.span.start, c.span.end,
                 json.dumps([[s.start, s.end] for s in c.sentences]), v.tobytes()))
            db.execute("INSERT OR IGNORE INTO fulltext_todo (id) VALUES (?)", (cur.lastrowid,))
        self.changed = True

    def remove(self, doc_ids: Iterable[str]) -> list[str]:
        db = self.store._db
        found = self.store._select_in("SELECT doc_id, chunks FROM documents WHERE doc_id IN ({})", doc_ids)
        gone = [r[0] for r in found]
        if not gone:
            return []
        _add_meta(db, documents=-len(gone), chunks=-sum(r[1] for r in found))
        upto = self.store._meta_int("dense_upto")
        for part in batches(gone, SQL_VARS):
            marks = ",".join("?" * len(part))
            db.execute(f"INSERT OR IGNORE INTO fulltext_todo (id) SELECT id FROM chunks WHERE doc_id IN ({marks})", part)
            db.execute(f"INSERT OR IGNORE INTO dense_stale (id) SELECT id FROM chunks WHERE doc_id IN ({marks}) "
                       "AND id <= ?", (*part, upto))
            db.execute(f"DELETE FROM chunks WHERE doc_id IN ({marks})", part)
            db.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", part)
        order = {d: n for n, d in enumerate(dict.fromkeys(doc_ids))}
        self.changed = True
        return sorted(gone, key=order.__getitem__)


CHUNK_COLUMNS = "chunk_id, doc_id, text, start, end, sentences"


def _info(row: tuple) -> DocumentInfo:
    return DocumentInfo(*row[:-1], **info_extra(row[-1]))


def _chunk(row: tuple) -> Chunk:
    chunk_id, doc_id, text, start, end, sentences = row
    return Chunk(chunk_id, doc_id, text, Span(start, end), tuple(Span(a, b) for a, b in json.loads(sentences)))


def _unpack(blobs: list[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=OFF")
    return db


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _set_meta(db: sqlite3.Connection, **values) -> None:
    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   [(k, str(v)) for k, v in values.items()])


def _add_meta(db: sqlite3.Connection, **deltas: int) -> None:
    db.executemany("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ?",
                   [(d, k) for k, d in deltas.items()])


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
    version = manifest.get("format_version")
    if version == 1:
        raise IndexIncompatible(
            f"index {path} has format version 1 (JSON Lines files); this version of rag reads version "
            f"{FORMAT_VERSION}. Upgrade it in place, keeping its vectors: rag upgrade --index {path}")
    if version != FORMAT_VERSION:
        raise IndexIncompatible(
            f"index {path} has format version {version!r}; this version of rag reads "
            f"version {FORMAT_VERSION}. Rebuild it: rag ingest SOURCES --index NEW_DIR")
    for key in ("embedding", "chunker"):
        if key not in manifest:
            raise IndexCorrupt(f"{mpath} lacks {key!r}; rebuild the index with rag ingest")
    return manifest


def _fsync_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old file or the new one, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    _fsync_replace(tmp, path)
