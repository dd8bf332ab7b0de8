"""An index on Milvus: ``milvus://HOST:PORT/COLLECTION`` on a server (2.3 or later), or ``milvus-lite:PATH.db``,
a Milvus Lite file served by this process (pymilvus; milvus-lite 2.5).

The same guarantees as the index folder, kept by the server alone (collections in
schema.py, rows read and written through rows.py, the writer in writer.py):

- the manifest row holds the format version, embedding model id, dimension and token
  limit and the chunker settings; opening with another model or version is refused;
- a write is invisible until it commits: rows carry the generation that wrote them and
  readers filter on the committed one, so an interrupted ingest leaves the last good
  index (its leftover rows are deleted by the next writer). A commit switches the
  ``state`` row in one upsert; rows of replaced or removed documents are deleted after
  it and filtered out until then (the removal is recorded in the state row, so a crash
  mid-way is finished by the next writer);
- one writer at a time: a ``lock`` row with the writer's host, pid and a heartbeat (a
  lock whose process is gone, or silent for LOCK_STALE_S, is taken over);
- dense search: HNSW, inner product on unit vectors (= cosine; FLAT, exact, on Milvus Lite);
- BM25 on the server (Milvus >= 2.5 and Milvus Lite, the full-text layout, format version 2):
  each chunk row holds its title and text as BM25 terms (rag.store.terms, the folder's
  analyzer; schema.bm25_input) and the sparse vector the server's BM25 function makes of
  them; a query sends its terms, the server keeps the statistics, scores and ranks;
- BM25 on an older server (2.3/2.4, the terms layout, format version 1): each chunk keeps
  its terms and their counts (an ARRAY field), from which each client keeps a tantivy
  index synced by generation (bm25.py); the layout is chosen from the server's
  version when the index is created, said in a one-line notice, and kept by the index.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
import uuid
from dataclasses import asdict
from typing import Iterable, Iterator, Sequence

import numpy as np

from rag.errors import IndexCorrupt, IndexIncompatible, IndexNotFound, RagError
from rag.types import Chunk, ChunkerSettings, Document, Span
from rag.store.base import (FORMAT, DocumentInfo, EmbeddingInfo, Hit, StoreInfo, StoreProgress, batches, from_extra,
                            info_extra, query_vectors, utc_now)
from rag.store.milvus.bm25 import LexicalCache, cache_folder
from rag.store.milvus.client import (IDS_PER_FILTER, MilvusLocation, connect, disconnect, get_meta, has_manifest,
                                     in_list, is_milvus, load_collection, meta_row, parse_location, quote, rpc,
                                     server_version, vector_dim)
from rag.store.milvus.rows import QUERY_LIMIT, IndexRows
from rag.store.milvus.schema import (DOCS, LEGACY_TITLE_WORDS, META, SPARSE_FIELD, RowLayout, bm25_input,
                                     create_collections, has_field, has_full_text)
from rag.store.milvus.writer import MilvusWriter
from rag.store.terms import terms_of

__all__ = ["MilvusStore", "MilvusWriter", "MilvusLocation", "is_milvus", "parse_location", "connect", "META"]

FORMAT_VERSION = 2          # the full-text layout (schema.py), checked on open
TERMS_VERSION = 1           # the terms layout: BM25 from a cache on each client, for servers before FULL_TEXT_SINCE
FULL_TEXT_SINCE = (2, 5)    # the first Milvus with BM25 full-text search
LOCK_STALE_S = 600
HEARTBEAT_S = 30
FLUSH_ROWS = 20_000         # optimize() seals segments after this many new chunks
_CHUNK_FIELDS = ["chunk_id", "doc_id", "ord", "text", "start", "end", "sentences"]
_DOC_FIELDS = ["doc_id", "title", "date", "outlet", "url", "source_path", "content_hash", "chunks", "chars", "extra"]


class MilvusStore:
    """An index in the collections COLL, COLL__docs and COLL__meta of a Milvus server (module docstring)."""

    def __init__(self, where: MilvusLocation, client, manifest: dict, title_words: bool = False):
        self.where = where
        self.location = where.uri
        self._client = client
        self._manifest = manifest
        self.embedding = EmbeddingInfo(**manifest["embedding"])
        self.chunker = ChunkerSettings.from_dict(manifest["chunker"])
        self.rows = IndexRows(client, where)
        self._unflushed = 0  # chunks inserted since the last flush
        self.full_text = manifest["format_version"] == FORMAT_VERSION
        self.layout = RowLayout(self.embedding.dim, self.full_text, title_words)
        self._lexical = None if self.full_text else \
            LexicalCache(cache_folder(where.address, where.collection, _index_id(manifest)))

    # ---- opening -------------------------------------------------------------------------------------
    @staticmethod
    def exists(location: str) -> bool:
        where = parse_location(location)
        if where.lite and not os.path.exists(where.path):
            return False
        client = connect(where)
        try:
            return has_manifest(client, where)
        finally:
            disconnect(client, where)

    @classmethod
    def create(cls, location: str, embedding: EmbeddingInfo, chunker: ChunkerSettings) -> "MilvusStore":
        where = parse_location(location)
        if where.lite:
            os.makedirs(os.path.dirname(where.path), exist_ok=True)
        client = connect(where)
        try:
            full_text, exact = _engine_kind(client, where)
            names = [where.collection + s for s in ("", DOCS, META)]
            taken = [n for n in names if rpc(client, where, "has_collection", collection_name=n)]
            if taken and (len(taken) < 3 or has_manifest(client, where) or vector_dim(client, where) != embedding.dim
                          or _full_text(client, where) != full_text):
                raise RagError(f"Milvus at {where.address} already has collection {taken[0]!r}; open the index "
                               f"{where.uri} instead, or pick another collection name")
            if taken:  # the collections of an index whose creation was cut short: reuse them, emptied
                for name in names[:2]:
                    rpc(client, where, "delete", collection_name=name, filter="gen >= 0")
            else:
                rpc(client, where, "create_collections", _call=lambda: create_collections(
                    client, where.collection, embedding.dim, full_text, exact))
        except BaseException:
            disconnect(client, where)
            raise
        now = utc_now()
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION if full_text else TERMS_VERSION,
                    "layout": "milvus", "created_at": now,
                    "uid": uuid.uuid4().hex,
                    "embedding": asdict(embedding), "chunker": chunker.to_dict()}
        state = {"generation": 0, "documents": 0, "chunks": 0, "tokens": 0, "updated_at": now, "removing": None,
                 "ts": 1}  # no rows to wait for
        rpc(client, where, "upsert", collection_name=where.collection + META,
            data=[meta_row("manifest", manifest), meta_row("state", state)])
        return cls(where, client, manifest, _legacy_title_words(client, where))

    @classmethod
    def open(cls, location: str, expect_model_id: str | None = None) -> "MilvusStore":
        where = parse_location(location)
        if where.lite and not os.path.exists(where.path):
            raise IndexNotFound(f"no index at {where.uri}; build one with: rag ingest seeds/ --index {where.uri}")
        client = connect(where)
        try:
            if not has_manifest(client, where):
                raise IndexNotFound(f"no index at {where.uri}; build one with: rag ingest seeds/ --index {where.uri}")
            manifest = json.loads(get_meta(client, where, "manifest"))
            if manifest.get("format") != FORMAT or manifest.get("layout") != "milvus":
                raise IndexIncompatible(f"collection {where.collection!r} at {where.address} is not a {FORMAT} index")
            if manifest.get("format_version") not in (TERMS_VERSION, FORMAT_VERSION):
                raise IndexIncompatible(
                    f"index {where.uri} has Milvus layout version {manifest.get('format_version')!r}; this version "
                    f"of rag reads versions {TERMS_VERSION} and {FORMAT_VERSION}. Rebuild it: rag ingest SOURCES "
                    "--index NEW_URI")
            try:
                store = cls(where, client, manifest, _legacy_title_words(client, where))
            except (TypeError, ValueError, KeyError) as e:
                raise IndexCorrupt(f"index {where.uri} has a damaged manifest ({e}); rebuild it with rag ingest") from e
            if expect_model_id is not None and store.embedding.model_id != expect_model_id:
                raise IndexIncompatible(
                    f"index {where.uri} was built with embedding model {store.embedding.model_id!r}, not "
                    f"{expect_model_id!r}; re-ingest into a new index (rag ingest ... --index NEW_URI)")
            for name in (store.rows.chunks, store.rows.docs):
                load_collection(client, where, name)
            if not store.full_text:
                _notice(where, f"note: index {where.uri} keeps BM25 in a cache on this client (it was built on a "
                               f"Milvus without full-text search; 2.5 or later searches it on the server: rag "
                               f"migrate it to a new collection there)")
            return store
        except BaseException:
            disconnect(client, where)
            raise

    @classmethod
    def drop(cls, location: str) -> bool:
        """Delete the index's collections; whether there was one."""
        where = parse_location(location)
        if where.lite and not os.path.exists(where.path):
            return False
        client = connect(where)
        try:
            found = False
            if has_manifest(client, where):
                manifest = json.loads(get_meta(client, where, "manifest"))
                shutil.rmtree(cache_folder(where.address, where.collection, _index_id(manifest)), ignore_errors=True)
            for name in (where.collection, where.collection + DOCS, where.collection + META):
                if rpc(client, where, "has_collection", collection_name=name):
                    rpc(client, where, "drop_collection", collection_name=name)
                    found = True
            return found
        finally:
            disconnect(client, where)

    def close(self) -> None:
        if self._lexical is not None:
            self._lexical.close()
        if self._client is not None:
            disconnect(self._client, self.where)
            self._client = None

    @property
    def info(self) -> StoreInfo:
        s = self.rows.state()
        return StoreInfo(self.location, FORMAT, int(self._manifest["format_version"]), self.embedding, self.chunker, int(s["generation"]),
                         int(s["documents"]), int(s["chunks"]), self._manifest.get("created_at", ""),
                         s.get("updated_at", ""))

    # ---- writing -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self) -> Iterator[MilvusWriter]:
        token = self._acquire_lock()
        w = None
        try:
            state = self.rows.state()
            self.rows.finish_removal(state)
            self.rows.delete_rows(f"gen > {int(state['generation'])}")  # rows of a write that never committed
            w = MilvusWriter(self.rows, self.layout, int(state["generation"]) + 1, lambda: self._heartbeat(token))
            try:
                yield w
                w.commit()
            except BaseException:
                with contextlib.suppress(RagError):  # or the next writer does it
                    self.rows.delete_rows(f"gen >= {w.gen}")
                raise
        finally:
            if w is not None:
                self._unflushed += w.inserted
            self._release_lock(token)

    def _acquire_lock(self) -> dict:
        me = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex, "heartbeat": time.time()}
        held = self.rows.get_meta("lock", "Strong")  # Session would miss another's release
        if held:
            other = json.loads(held)
            if _lock_alive(other):
                raise RagError(f"another process ({other['host']} pid {other['pid']}) is writing to index "
                               f"{self.location}; wait for it to finish")
        self.rows.put_meta("lock", me)
        time.sleep(0.05)  # two writers that raced: the later upsert wins, the other backs off
        now_held = json.loads(self.rows.get_meta("lock", "Strong") or "{}")
        if now_held.get("token") != me["token"]:
            raise RagError(f"another process is writing to index {self.location}; wait for it to finish")
        return me

    def _heartbeat(self, token: dict) -> None:
        if time.time() - token["heartbeat"] >= HEARTBEAT_S:
            token["heartbeat"] = time.time()
            self.rows.put_meta("lock", token)

    def _release_lock(self, token: dict) -> None:
        with contextlib.suppress(RagError):
            held = json.loads(self.rows.get_meta("lock", "Strong") or "{}")
            if held.get("token") == token["token"]:
                self.rows.delete_meta("lock")

    def optimize(self, progress: StoreProgress | None = None) -> None:
        """After FLUSH_ROWS or more chunks written through this store, seal them so the server builds its HNSW
        index on them now (searching is correct without; Milvus also seals full or idle segments by itself)."""
        if self._unflushed >= FLUSH_ROWS:
            if progress:
                progress("seal segments (Milvus flush)", 0, 1)
            self.rows.rpc("flush", collection_name=self.rows.chunks)
            self._unflushed = 0
            if progress:
                progress("seal segments (Milvus flush)", 1, 1)

    # ---- reading -------------------------------------------------------------------------------------
    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        rows = self.rows.doc_rows(doc_ids, ["doc_id", "content_hash"], self.rows.state())
        return {r["doc_id"]: r["content_hash"] for r in rows}

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        rows = self.rows.doc_rows(doc_ids, _DOC_FIELDS + ["part", "parts", "text"], self.rows.state(), False)
        pieces: dict[str, dict[int, str]] = {}
        first: dict[str, dict] = {}
        for r in rows:
            pieces.setdefault(r["doc_id"], {})[int(r["part"])] = r["text"]
            if r["part"] == 0:
                first[r["doc_id"]] = r
        out = {}
        for doc_id, r in first.items():
            parts = pieces[doc_id]
            if len(parts) != r["parts"]:
                raise IndexCorrupt(f"index {self.location} is damaged: document {doc_id!r} has {len(parts)} of its "
                                   f"{r['parts']} text pieces; re-ingest it")
            out[doc_id] = Document(doc_id, "".join(parts[i] for i in range(r["parts"])), r["title"], r["date"],
                                   r["outlet"], r["url"], r["source_path"], r["content_hash"], **from_extra(r["extra"]))
        return out

    def document_infos(self, doc_ids: Iterable[str]) -> dict[str, DocumentInfo]:
        rows = self.rows.doc_rows(doc_ids, _DOC_FIELDS, self.rows.state())
        return {r["doc_id"]: _info(r) for r in rows}

    def list_documents(self, offset: int = 0, limit: int | None = None) -> list[DocumentInfo]:
        state = self.rows.state()
        ids = sorted(r["doc_id"] for r in self.rows.query(self.rows.docs, "part == 0", ["doc_id"], state))
        page = ids[offset:] if limit is None else ids[offset:offset + limit]
        infos = {r["doc_id"]: _info(r) for r in self.rows.doc_rows(page, _DOC_FIELDS, state)}
        return [infos[d] for d in page if d in infos]

    def get_chunks(self, chunk_ids: Iterable[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(chunk_ids))
        state = self.rows.state()
        out: dict[str, Chunk] = {}
        for part in batches(ids, IDS_PER_FILTER):
            for r in self.rows.query(self.rows.chunks, in_list("chunk_id", part), _CHUNK_FIELDS, state):
                out[r["chunk_id"]] = _chunk(r)
        return out

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self.rows.query(self.rows.chunks, f"doc_id == {quote(doc_id)}", _CHUNK_FIELDS, self.rows.state())
        return [_chunk(r) for r in sorted(rows, key=lambda r: r["ord"])]

    def get_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        state = self.rows.state()
        found: dict[str, list[float]] = {}
        for part in batches(list(dict.fromkeys(chunk_ids)), IDS_PER_FILTER):
            for r in self.rows.query(self.rows.chunks, in_list("chunk_id", part), ["chunk_id", "vector"], state):
                found[r["chunk_id"]] = r["vector"]
        missing = [c for c in chunk_ids if c not in found]
        if missing:
            raise KeyError(f"chunk {missing[0]!r} is not in index {self.location}")
        if not chunk_ids:
            return np.zeros((0, self.embedding.dim), dtype=np.float32)
        return np.asarray([found[c] for c in chunk_ids], dtype=np.float32)

    def dense_search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        vectors = query_vectors(vectors, self.embedding.dim, self.location)
        if k <= 0 or not len(vectors):
            return [[] for _ in range(len(vectors))]
        k = min(k, QUERY_LIMIT)
        state = self.rows.state()
        found = self.rows.rpc("search", collection_name=self.rows.chunks, data=vectors.tolist(), limit=k,
                              filter=IndexRows.visible(state), output_fields=["chunk_id"], anns_field="vector",
                              search_params={"metric_type": "IP", "params": {"ef": max(128, 2 * k)}},
                              **IndexRows.consistency(state))
        return [[Hit(h["entity"]["chunk_id"], float(h["distance"])) for h in hits] for hits in found]

    def lexical_search(self, text: str, k: int) -> list[Hit]:
        terms = terms_of(text)
        if k <= 0 or not terms:
            return []
        state = self.rows.state()
        if not int(state["chunks"]):
            return []
        if not self.full_text:
            return [Hit(c, s) for c, s in self._lexical.search(self.rows, state, terms, k)]
        found = self.rows.rpc("search", collection_name=self.rows.chunks, data=[bm25_input(text)],
                              anns_field=SPARSE_FIELD, limit=min(k, QUERY_LIMIT), filter=IndexRows.visible(state),
                              output_fields=["chunk_id"], search_params={"metric_type": "BM25"},
                              **IndexRows.consistency(state))
        return [Hit(h["entity"]["chunk_id"], float(h["distance"])) for h in found[0] if h["distance"] > 0]

    def hybrid_search(self, text: str, vector: np.ndarray, k: int, depth: int = 20, rrf_k: int = 60) -> list[Hit]:
        """BM25 and dense rankings (``depth`` each) fused by reciprocal rank on the server (``hybrid_search`` with
        RRFRanker), best first; only for the full-text layout. Not what Retriever uses: its fusion adds a ranking
        from the metadata the question names, which the server's fusion cannot express (bench/milvus_vs_folder.py
        compares the two)."""
        from pymilvus import AnnSearchRequest, RRFRanker

        if not self.full_text:
            raise RagError(f"index {self.location} has no full-text field; hybrid search on the server needs one")
        state = self.rows.state()
        expr = IndexRows.visible(state)
        requests = [AnnSearchRequest([bm25_input(text)], SPARSE_FIELD, {"metric_type": "BM25"}, depth, expr=expr),
                    AnnSearchRequest([np.asarray(vector, np.float32).tolist()], "vector",
                                     {"metric_type": "IP", "params": {"ef": max(128, 2 * depth)}}, depth, expr=expr)]
        found = self.rows.rpc("hybrid_search", collection_name=self.rows.chunks, reqs=requests,
                              ranker=RRFRanker(rrf_k), limit=k, output_fields=["chunk_id"],
                              **IndexRows.consistency(state))
        return [Hit(h["entity"]["chunk_id"], float(h["distance"])) for h in found[0]]


def _engine_kind(client, where: MilvusLocation) -> tuple[bool, bool]:
    """(BM25 on the server, exact vector index) for a new index, from the engine's version: Milvus Lite (which
    does not report one) has full-text search and FLAT only; a server before FULL_TEXT_SINCE gets the terms
    layout, with a notice."""
    version = None if where.lite else server_version(client)
    if version is None:
        return True, True
    if version < FULL_TEXT_SINCE:
        _notice(where, f"note: Milvus {'.'.join(map(str, version))} at {where.address} has no full-text search; "
                       f"BM25 for {where.uri} runs from a cache on each client (Milvus 2.5 or later searches it "
                       "on the server)")
        return False, False
    return True, False


def _full_text(client, where: MilvusLocation) -> bool:
    return has_full_text(rpc(client, where, "describe_collection", collection_name=where.collection))


def _legacy_title_words(client, where: MilvusLocation) -> bool:
    """Whether the docs collection has the title words field of indexes made before issue 21."""
    return has_field(rpc(client, where, "describe_collection", collection_name=where.collection + DOCS),
                     LEGACY_TITLE_WORDS)


_NOTICED: set[str] = set()


def _notice(where: MilvusLocation, line: str) -> None:
    """One line on stderr, once per process and index."""
    if where.uri not in _NOTICED:
        _NOTICED.add(where.uri)
        print(line, file=sys.stderr, flush=True)


def _index_id(manifest: dict) -> str:
    """What tells this index from another created later in the same collection (indexes before "uid": the time)."""
    return manifest.get("uid") or manifest.get("created_at", "")


def _lock_alive(lock: dict) -> bool:
    if time.time() - float(lock.get("heartbeat", 0)) > LOCK_STALE_S:
        return False
    if lock.get("host") == socket.gethostname():
        try:
            os.kill(int(lock["pid"]), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, ValueError, KeyError):
            return True
    return True


def _info(r: dict) -> DocumentInfo:
    return DocumentInfo(r["doc_id"], r["title"], r["date"], r["outlet"], r["url"], r["source_path"],
                        r["content_hash"], int(r["chunks"]), int(r["chars"]), **info_extra(r["extra"]))


def _chunk(r: dict) -> Chunk:
    return Chunk(r["chunk_id"], r["doc_id"], r["text"], Span(int(r["start"]), int(r["end"])),
                 tuple(Span(a, b) for a, b in json.loads(r["sentences"])))
