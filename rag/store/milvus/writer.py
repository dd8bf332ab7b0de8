"""The writer of a Milvus index: rows written at the next generation, shown all at once by one state upsert."""
from __future__ import annotations

import json
from typing import Callable, Iterable, Sequence

import numpy as np

from rag.types import Chunk, Document, embedding_text
from rag.store.base import batches, extra_json, utc_now
from rag.store.milvus.client import IDS_PER_FILTER, in_list
from rag.store.milvus.rows import IndexRows
from rag.store.milvus.schema import LEGACY_TITLE_WORDS, PLACEHOLDER, TEXT_FIELD, RowLayout, bm25_input, split_utf8
from rag.store.terms import term_counts

BATCH = 500                 # rows per insert


class MilvusWriter:
    """Puts and removes of one writer; rows are written at generation ``gen`` and shown at ``commit``.

    ``heartbeat`` is called after each put (it keeps the writer's lock alive); ``inserted`` counts the chunk rows
    written, for the store's flush."""

    def __init__(self, rows: IndexRows, layout: RowLayout, gen: int, heartbeat: Callable[[], None] = lambda: None):
        if gen <= 0:
            raise ValueError(f"gen must be > 0, got {gen}")
        self.rows = rows
        self.layout = layout
        self.gen = gen
        self.inserted = 0
        self._heartbeat = heartbeat
        self._removed: dict[str, None] = {}        # committed documents to drop at commit
        self._pending: dict[str, tuple[int, int]] = {}  # documents written at self.gen -> (chunks, tokens)
        self._delta = [0, 0, 0]                    # documents, chunks, tokens
        self._changed = False

    def put(self, document: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        dim = self.layout.dim
        if vectors.shape != (len(chunks), dim):
            raise ValueError(f"expected vectors of shape ({len(chunks)}, {dim}), got {vectors.shape}")
        if any(c.doc_id != document.doc_id for c in chunks):
            raise ValueError(f"every chunk of document {document.doc_id!r} must carry its doc_id")
        self.remove([document.doc_id])
        rows, tokens = [], 0
        vectors = np.asarray(vectors, dtype=np.float32)
        for n, (c, v) in enumerate(zip(chunks, vectors)):
            searched = embedding_text(document.title, c.text)  # BM25 reads the title and the text
            terms, tfs, length = term_counts(searched)
            tokens += length
            row = {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "ord": n, "text": c.text,
                   "start": c.span.start, "end": c.span.end,
                   "sentences": json.dumps([[s.start, s.end] for s in c.sentences]), "gen": self.gen,
                   "vector": v.tolist()}
            row.update({TEXT_FIELD: bm25_input(searched)} if self.layout.full_text else
                       {"terms": terms, "tfs": tfs, "length": length})
            rows.append(row)
        pieces = split_utf8(document.text)
        docs = [{"doc_id": document.doc_id, "part": i, "parts": len(pieces), "text": piece, "title": document.title,
                 "date": document.date, "outlet": document.outlet, "outlet_lc": document.outlet.lower(),
                 "url": document.url, "source_path": document.source_path, "content_hash": document.content_hash,
                 "extra": extra_json(document) if i == 0 else "",
                 "chunks": len(chunks), "chars": len(document.text), "tokens": tokens, "gen": self.gen,
                 "placeholder": PLACEHOLDER} for i, piece in enumerate(pieces)]
        if self.layout.title_words:
            for d in docs:
                d[LEGACY_TITLE_WORDS] = []
        self._pending[document.doc_id] = (len(chunks), tokens)  # first, so a failed insert is cleaned up
        for start in range(0, len(rows), BATCH):
            self.rows.insert(self.rows.chunks, rows[start:start + BATCH])
        self.inserted += len(rows)
        self.rows.insert(self.rows.docs, docs)
        self._delta = [self._delta[0] + 1, self._delta[1] + len(chunks), self._delta[2] + tokens]
        self._changed = True
        self._heartbeat()

    def remove(self, doc_ids: Iterable[str]) -> list[str]:
        ids = list(dict.fromkeys(doc_ids))
        gone: list[str] = []
        pending = [d for d in ids if d in self._pending]
        for part in batches(pending, IDS_PER_FILTER):
            self.rows.delete_rows(f"{in_list('doc_id', part)} and gen == {self.gen}")
        for d in pending:
            chunks, tokens = self._pending.pop(d)
            self._delta = [self._delta[0] - 1, self._delta[1] - chunks, self._delta[2] - tokens]
            gone.append(d)
        committed = [d for d in ids if d not in self._removed]
        found = self.rows.doc_rows(committed, ["doc_id", "chunks", "tokens"], self.rows.state())
        for r in found:
            self._removed[r["doc_id"]] = None
            self._delta = [self._delta[0] - 1, self._delta[1] - r["chunks"], self._delta[2] - r["tokens"]]
            if r["doc_id"] not in gone:
                gone.append(r["doc_id"])
        if gone:
            self._changed = True
        order = {d: n for n, d in enumerate(ids)}
        return sorted(gone, key=order.__getitem__)

    def commit(self) -> None:
        """Show everything written so far at once (one upsert of the state row); the writer stays open."""
        if not self._changed:
            return
        state = self.rows.state()
        state.update(ts=self.rows.fence(), generation=self.gen, updated_at=utc_now(),
                     documents=int(state["documents"]) + self._delta[0],
                     chunks=int(state["chunks"]) + self._delta[1], tokens=int(state["tokens"]) + self._delta[2],
                     removing={"upto": self.gen - 1, "doc_ids": list(self._removed)} if self._removed else None)
        self.rows.put_meta("state", state)        # the switch
        self.rows.finish_removal(state)
        self.gen += 1
        self._removed.clear()
        self._pending.clear()
        self._delta = [0, 0, 0]
        self._changed = False
