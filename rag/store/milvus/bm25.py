"""BM25 for a Milvus index on an old server: a tantivy index beside the client, derived from the term counts the
server stores. Only for indexes in the terms layout (made on Milvus 2.3/2.4); on Milvus 2.5 or later, and Milvus
Lite, the engine runs BM25 itself (store.py) and no client keeps anything.

Milvus 2.3 has no sparse vectors or full-text search, and filtering its ARRAY
fields scans every row (measured at 10^5 chunks: about 0.25 s a query term on
this machine), so BM25 cannot be asked of the server. The server stays the one
source of truth: each chunk row holds its terms and their counts, and this cache
is rebuilt from them. It is keyed by the server address, the collection and the
index's id (a new index in the same collection gets another), and synced whenever
the committed generation differs from the one it was built at (rows added since are
fetched, rows gone are dropped); deleting the cache folder loses nothing. Queries then cost a tantivy search, as
with the index folder, and score alike (the same engine, the same tokens).

    $RAG_CACHE_DIR/milvus-bm25/COLL-<hash>/   fulltext/ (tantivy, keyed by the row's Milvus pk),
                                         rows.sqlite (pk -> chunk id, the generation synced), lock
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rag.paths import cache_dir
from rag.store.fulltext import FullText
from rag.store.milvus.rows import IndexRows

CACHE_ENV = "RAG_BM25_CACHE_DIR"  # where the caches live (default: $RAG_CACHE_DIR/milvus-bm25)
FETCH_IDS = 2_000           # primary keys per query when fetching new rows
APPLY_ROWS = 20_000         # rows per tantivy commit (bounds the memory of a large first sync)
REPORT_ROWS = 20_000        # a sync this large reports its progress on stderr


def cache_folder(address: str, collection: str, index_id: str) -> Path:
    """The cache of the index ``index_id`` (its manifest's ``uid``) in ``collection`` on the server at ``address``."""
    key = hashlib.sha256(f"{address}\n{collection}\n{index_id}".encode()).hexdigest()[:16]
    root = Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else cache_dir() / "milvus-bm25"
    return root / f"{collection[:40]}-{key}"


def tokens_of(terms: Sequence[str], counts: Sequence[int]) -> list[str]:
    """A chunk's stored terms and counts as the token list tantivy indexes (BM25 ignores word order).

    >>> tokens_of(["talk", "moscow"], [2, 1])
    ['talk', 'talk', 'moscow']
    """
    return [t for t, n in zip(terms, counts) for _ in range(int(n))]


class LexicalCache:
    """The BM25 cache of one Milvus index (module docstring); opened lazily, synced before each search."""

    def __init__(self, folder: Path, report: Callable[[str], None] | None = None):
        self.folder = Path(folder)
        self._report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self._fulltext: FullText | None = None
        self._db: sqlite3.Connection | None = None
        self._synced: int | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._fulltext = None
        self._synced = None  # a search after this reopens and checks the cache again

    def search(self, rows: IndexRows, state: dict, terms: Sequence[str], k: int) -> list[tuple[str, float]]:
        """Up to k (chunk id, BM25 score) of the index as of the committed ``state``, best first."""
        with self._lock:
            self._sync(rows, state)
            pairs = self._fulltext.search(terms, k + 10)
            names = dict(self._db.execute(
                f"SELECT pk, chunk_id FROM rows WHERE pk IN ({','.join('?' * len(pairs))})", [p for p, _ in pairs]))
        return [(names[p], s) for p, s in pairs if p in names][:k]

    # ---- syncing -------------------------------------------------------------------------------------
    def _open(self) -> None:
        if self._db is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / "rows.sqlite", check_same_thread=False)
            self._db.executescript("CREATE TABLE IF NOT EXISTS rows (pk INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL);"
                                   "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);")
            self._fulltext = FullText(self.folder / "fulltext")

    def _stored_generation(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return None if row is None else int(row[0])

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One process syncs a cache folder at a time (tantivy allows one writer)."""
        with open(self.folder / "lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _sync(self, rows: IndexRows, state: dict) -> None:
        generation = int(state["generation"])
        if self._synced == generation:
            return
        self._open()
        with self._exclusive():
            if self._stored_generation() != generation:  # else another process has just synced it
                self._catch_up(rows, state, generation)
            self._fulltext.refresh()
        self._synced = generation

    def _catch_up(self, rows: IndexRows, state: dict, generation: int) -> None:
        """Make the cache hold exactly the rows of ``state``: add the rows it lacks, a batch at a time (each
        batch one tantivy commit, then recorded, so an interrupted sync resumes), then drop the rows gone."""
        live = {int(r["pk"]): r["chunk_id"] for r in rows.query(rows.chunks, "gen >= 0", ["pk", "chunk_id"], state)}
        known = {pk for (pk,) in self._db.execute("SELECT pk FROM rows")}
        new = sorted(live.keys() - known)
        loud = len(new) >= REPORT_ROWS
        if loud:
            self._report(f"building the BM25 cache of {rows.where.uri} from the server: {len(new):,} chunks")
        for start in range(0, len(new), APPLY_ROWS):
            batch = new[start:start + APPLY_ROWS]
            added: list[tuple[int, list[str]]] = []
            for first in range(0, len(batch), FETCH_IDS):
                ids = ", ".join(map(str, batch[first:first + FETCH_IDS]))
                found = rows.query(rows.chunks, f"pk in [{ids}]", ["pk", "terms", "tfs"], state)
                added.extend((int(r["pk"]), tokens_of(r["terms"], r["tfs"])) for r in found)
            # deleted first too: a batch cut short after tantivy's commit is repeated harmlessly
            self._fulltext.apply([pk for pk, _ in added], added)
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO rows (pk, chunk_id) VALUES (?, ?)",
                                     ((pk, live[pk]) for pk, _ in added))
            if loud:
                self._report(f"  {start + len(batch):,}/{len(new):,} chunks")
        gone = sorted(known - live.keys())
        if gone:
            self._fulltext.apply(gone, [])
        with self._db:
            self._db.executemany("DELETE FROM rows WHERE pk = ?", ((pk,) for pk in gone))
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)", (generation,))
        if loud:
            self._report(f"  BM25 cache ready: {self._fulltext.size:,} chunks")
