"""The rows of one Milvus index, as of its committed state: what the store, its writer and the BM25 cache share.

An index named COLL lives in COLL (chunks), COLL__docs and COLL__meta (schema.py). Every row
carries the generation that wrote it; the ``state`` meta row names the committed generation
and a removal in progress, and ``visible(state)`` is the filter that shows exactly that index.
"""
from __future__ import annotations

import json
from typing import Iterable

from rag.errors import RagError
from rag.store.base import batches
from rag.store.milvus.client import (IDS_PER_FILTER, MilvusLocation, fence, get_meta, in_list, meta_row, rpc)
from rag.store.milvus.schema import DOCS, META

QUERY_LIMIT = 16_384        # Milvus's cap on one query's rows


class IndexRows:
    """Queries, inserts and deletes on the collections of the index at ``where``, through ``client``."""

    def __init__(self, client, where: MilvusLocation):
        self.client = client
        self.where = where
        self.chunks = where.collection
        self.docs = where.collection + DOCS
        self.meta = where.collection + META

    def rpc(self, method: str, **kwargs):
        """``client.method(**kwargs)``; a server error is a RagError naming the address."""
        return rpc(self.client, self.where, method, **kwargs)

    # ---- the meta rows -------------------------------------------------------------------------------
    def get_meta(self, key: str, consistency: str = "Session") -> str:
        return get_meta(self.client, self.where, key, consistency)

    def put_meta(self, key: str, value: dict) -> None:
        self.rpc("upsert", collection_name=self.meta, data=[meta_row(key, value)])

    def delete_meta(self, key: str) -> None:
        self.rpc("delete", collection_name=self.meta, ids=[key])

    def state(self) -> dict:
        """The committed state: generation, counts, ``removing`` (a removal whose rows may remain), ``ts``."""
        text = self.get_meta("state")
        if not text:
            raise RagError(f"index {self.where.uri} has no state row; rebuild it with rag ingest")
        return json.loads(text)

    def fence(self) -> int:
        """A server timestamp later than every write this client made (0 when unknown)."""
        return fence(self.client, self.where)

    # ---- reading as of a state -----------------------------------------------------------------------
    @staticmethod
    def consistency(state: dict) -> dict:
        """Read rows as of the committed state: wait until the server has applied the writes it names."""
        ts = int(state.get("ts") or 0)
        return {"consistency_level": "Customized", "guarantee_timestamp": ts} if ts else {"consistency_level": "Strong"}

    @staticmethod
    def visible(state: dict) -> str:
        """The filter that shows exactly the committed index.

        >>> IndexRows.visible({"generation": 3, "removing": {"upto": 2, "doc_ids": ["a"]}})
        'gen <= 3 and (doc_id not in ["a"] or gen > 2)'
        """
        expr = f"gen <= {int(state['generation'])}"
        removing = state.get("removing")
        if removing:
            # "not (A and B)" written out: Milvus Lite has no "not" node
            expr += f" and ({in_list('doc_id', removing['doc_ids'], negate=True)} or gen > {int(removing['upto'])})"
        return expr

    def query(self, collection: str, expr: str, fields: list[str], state: dict) -> list[dict]:
        """Rows of ``collection`` matching ``expr`` among those of the committed ``state``."""
        expr = f"({expr}) and {self.visible(state)}"
        rows = self.rpc("query", collection_name=collection, filter=expr, output_fields=fields, limit=QUERY_LIMIT,
                        **self.consistency(state))
        if len(rows) < QUERY_LIMIT:
            return list(rows)
        out: list[dict] = []
        it = self.rpc("query_iterator", collection_name=collection, filter=expr, output_fields=fields,
                      batch_size=4096)
        try:
            while batch := rpc(None, self.where, "next", _call=it.next):
                out.extend(batch)
        finally:
            it.close()
        return out

    def doc_rows(self, doc_ids: Iterable[str], fields: list[str], state: dict,
                 first_part_only: bool = True) -> list[dict]:
        """The docs rows of ``doc_ids`` (only each document's first text piece, unless ``first_part_only`` is off)."""
        rows: list[dict] = []
        for part in batches(list(dict.fromkeys(doc_ids)), IDS_PER_FILTER):
            expr = in_list("doc_id", part) + (" and part == 0" if first_part_only else "")
            rows.extend(self.query(self.docs, expr, fields, state))
        return rows

    # ---- writing -------------------------------------------------------------------------------------
    def insert(self, collection: str, rows: list[dict]) -> None:
        self.rpc("insert", collection_name=collection, data=rows)

    def delete_rows(self, expr: str) -> None:
        """Delete the chunk and docs rows matching ``expr`` (whatever their generation)."""
        for name in (self.chunks, self.docs):
            self.rpc("delete", collection_name=name, filter=expr)

    def finish_removal(self, state: dict) -> None:
        """Delete the rows a committed removal left (idempotent), then clear it from the state."""
        removing = state.get("removing")
        if not removing:
            return
        for part in batches(removing["doc_ids"], IDS_PER_FILTER):
            self.delete_rows(f"{in_list('doc_id', part)} and gen <= {int(removing['upto'])}")
        state["removing"] = None
        state["ts"] = self.fence()  # readers wait for the deletes (0: they use Strong)
        self.put_meta("state", state)
