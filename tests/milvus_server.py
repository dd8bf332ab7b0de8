"""The Milvus server the tests use: the `milvus` package's standalone server, started once per test run on a
free loopback port with its data in a temporary folder, and stopped at the end (nothing needs to run beforehand).

Creating and loading a collection costs seconds (a minute on a busy machine), so tests get their
collections from a small pool: ``milvus_index("name")`` forgets the index that was there (its manifest, state
and rows) and leaves the empty collections, which ``create_store`` then reuses, as it does for an index whose
creation was cut short.
"""
from __future__ import annotations

import os
import re
import tempfile

import pytest


@pytest.fixture(scope="session")
def milvus_server():
    """Its data lives in a folder of its own, not under pytest's basetemp: pytest deletes all but the last three
    basetemp folders when other runs start, and a long run's server would lose its data under it."""
    from rag.store.milvus_bm25 import CACHE_ENV
    from rag.store.milvus_embedded import embedded_milvus

    with tempfile.TemporaryDirectory(prefix="rag-milvus-") as data, embedded_milvus(data) as server, \
            pytest.MonkeyPatch.context() as env:
        env.setenv(CACHE_ENV, os.path.join(data, "bm25-caches"))  # the clients' BM25 caches go with the server
        yield server


@pytest.fixture
def milvus_index(milvus_server):
    """milvus_index(name) -> the URI of collection ``name`` on the test server, holding no index."""
    from rag.store.milvus import META, connect, parse_location

    def make(name: str) -> str:
        uri = milvus_server.uri(re.sub(r"\W", "_", name))
        where = parse_location(uri)
        client = connect(where)
        try:
            if client.has_collection(where.collection + META):
                client.load_collection(where.collection + META)
                client.delete(where.collection + META, ids=["manifest", "state", "lock"])
        finally:
            client.close()
        return uri

    return make


@pytest.fixture
def milvus_uri(milvus_index, request) -> str:
    """A collection without an index, one per test module."""
    return milvus_index(request.module.__name__.split(".")[-1])
