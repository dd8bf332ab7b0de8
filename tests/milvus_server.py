"""The Milvus engines the tests use, started when first needed and stopped at the end (nothing runs beforehand):

- ``milvus_server``: the `milvus` package's standalone server (Milvus 2.3.5, no full-text search: the BM25
  cache on the client), on a free loopback port with its data in a temporary folder;
- ``milvus_lite_file``: a Milvus Lite 2.5 file (``milvus-lite:PATH.db``), served by this process;
- ``lite_server``: Milvus Lite 2.5 serving a file on a free loopback port, so that several processes reach
  it (``milvus://127.0.0.1:PORT/COLL``, the full-text layout on a server).

Creating and loading a collection costs seconds (a minute on a busy machine), so tests get their
collections from a small pool: ``milvus_index("name")`` forgets the index that was there (its manifest, state
and rows) and leaves the empty collections, which ``create_store`` then reuses, as it does for an index whose
creation was cut short.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time

from dataclasses import dataclass

import pytest


@pytest.fixture(scope="session")
def milvus_server():
    """Its data lives in a folder of its own, not under pytest's basetemp: pytest deletes all but the last three
    basetemp folders when other runs start, and a long run's server would lose its data under it."""
    from rag.store.milvus.bm25 import CACHE_ENV
    from bench.milvus_embedded import embedded_milvus

    with tempfile.TemporaryDirectory(prefix="rag-milvus-") as data, embedded_milvus(data) as server, \
            pytest.MonkeyPatch.context() as env:
        env.setenv(CACHE_ENV, os.path.join(data, "bm25-caches"))  # the clients' BM25 caches go with the server
        yield server


@pytest.fixture(scope="session")
def milvus_lite_file(tmp_path_factory):
    """``milvus_lite_file(name)`` -> a collection in one Milvus Lite file, kept open (its server up) for the run."""
    from rag.store.milvus.client import connect, disconnect, parse_location

    path = tmp_path_factory.mktemp("lite") / "rag.db"
    where = parse_location(f"milvus-lite:{path}")
    client = connect(where)  # holds this process's Milvus Lite server on the file until the end
    yield lambda name: f"milvus-lite:{path}?collection={name}"
    disconnect(client, where)


@dataclass(frozen=True)
class LiteServer:
    port: int

    def uri(self, collection: str) -> str:
        return f"milvus://127.0.0.1:{self.port}/{collection}"


@pytest.fixture
def lite_server(tmp_path):
    """Milvus Lite 2.5 on a free loopback port (its binary serves gRPC when given an address), one per test: it
    starts in a second or two, and one left up through a long run once stopped answering (not understood)."""
    from milvus_lite.server import Server

    from rag.store.milvus.client import connect, disconnect, parse_location
    from bench.milvus_embedded import free_port

    port = free_port()
    server = Server(str(tmp_path / "server.db"), f"127.0.0.1:{port}")
    assert server.init() and server.start(), "Milvus Lite did not start"
    try:
        deadline = time.monotonic() + 60
        where = parse_location(f"milvus://127.0.0.1:{port}/probe")
        while True:
            with contextlib.suppress(Exception):
                disconnect(connect(where), where)
                break
            assert time.monotonic() < deadline, "Milvus Lite did not answer on its port"
            time.sleep(0.2)
        yield LiteServer(port)
    finally:
        server.stop()


def _forget(uri: str) -> str:
    """Forget the index at ``uri`` (its manifest, state and lock rows), leaving its empty collections."""
    from rag.store.milvus.store import META, parse_location
    from rag.store.milvus.client import connect, disconnect

    where = parse_location(uri)
    client = connect(where)
    try:
        if client.has_collection(where.collection + META):
            client.load_collection(where.collection + META)
            client.delete(where.collection + META, ids=["manifest", "state", "lock"])
    finally:
        disconnect(client, where)
    return uri


@pytest.fixture
def milvus_index(milvus_server):
    """milvus_index(name) -> the URI of collection ``name`` on the test server, holding no index."""
    return lambda name: _forget(milvus_server.uri(re.sub(r"\W", "_", name)))


def _module_collection(request, engine: str) -> str:
    name = re.sub(r"\W", "_", request.module.__name__.split(".")[-1])
    if engine == "lite-file":
        return _forget(request.getfixturevalue("milvus_lite_file")(name))
    if engine == "lite-server":
        return _forget(request.getfixturevalue("lite_server").uri(name))
    return request.getfixturevalue("milvus_index")(name)


@pytest.fixture(params=["milvus-2.3", "lite-file"])
def any_milvus_uri(request) -> str:
    """A collection without an index, one per test module: on the 2.3 server, and in a Milvus Lite file."""
    return _module_collection(request, request.param)


@pytest.fixture(params=["milvus-2.3", "lite-server"])
def shared_milvus_uri(request) -> str:
    """A collection without an index that other processes reach too: on the 2.3 server, and on Milvus Lite 2.5
    serving on a loopback port."""
    return _module_collection(request, request.param)


@pytest.fixture
def milvus_uri(milvus_index, request) -> str:
    """A collection without an index, one per test module."""
    return milvus_index(request.module.__name__.split(".")[-1])
