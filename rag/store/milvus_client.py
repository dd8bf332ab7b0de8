"""Talking to a Milvus server: locations, the connection, calls that fail as one RagError line, small filters.

Used by the store (milvus.py) and its writer (milvus_writer.py).
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..errors import RagError
from .milvus_schema import META, PLACEHOLDER

SCHEME = "milvus://"
DEFAULT_PORT = 19530
CONNECT_TIMEOUT_S = float(os.environ.get("RAG_MILVUS_TIMEOUT", "10"))
IDS_PER_FILTER = 1000       # values per `in [...]` filter
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")


@dataclass(frozen=True)
class MilvusLocation:
    host: str
    port: int
    collection: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.host}:{self.port}/{self.collection}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def is_milvus(location: object) -> bool:
    """Whether ``location`` names a Milvus collection rather than a folder.

    >>> is_milvus("milvus://127.0.0.1:19530/seeds"), is_milvus("indexes/seeds")
    (True, False)
    """
    return isinstance(location, str) and location.startswith(SCHEME)


def parse_location(location: str) -> MilvusLocation:
    """``milvus://HOST[:PORT]/COLLECTION`` -> its parts; ValueError names what is wrong.

    >>> parse_location("milvus://127.0.0.1:19531/seeds")
    MilvusLocation(host='127.0.0.1', port=19531, collection='seeds')
    >>> parse_location("milvus://db.example/news").port
    19530
    """
    if not is_milvus(location):
        raise ValueError(f"not a Milvus location: {location!r}; expected milvus://HOST:PORT/COLLECTION")
    rest = location[len(SCHEME):]
    address, _, collection = rest.partition("/")
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not host or not collection:
        raise ValueError(f"{location!r} lacks a host or a collection; expected milvus://HOST:PORT/COLLECTION")
    if port and not port.isdigit():
        raise ValueError(f"{location!r} has port {port!r}, not a number; expected milvus://HOST:PORT/COLLECTION")
    if not _NAME.fullmatch(collection):
        raise ValueError(f"collection name {collection!r} in {location!r} must be letters, digits and _ "
                         "(not starting with a digit, at most 200)")
    return MilvusLocation(host, int(port) if port else DEFAULT_PORT, collection)


def _pymilvus():
    try:
        import pymilvus
    except ImportError as e:
        raise RagError("Milvus indexes need pymilvus: pip install -e '.[milvus]' (or pip install pymilvus)") from e
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # its RPC errors reach the user as one RagError line
    return pymilvus


def connect(where: MilvusLocation):
    """A MilvusClient for ``where``; a server that is down or unreachable is a RagError naming the address."""
    pymilvus = _pymilvus()
    try:
        client = pymilvus.MilvusClient(uri=f"http://{where.address}", token=os.environ.get("MILVUS_TOKEN", ""),
                                       timeout=CONNECT_TIMEOUT_S)
        client.get_server_version()
    except Exception as e:  # noqa: BLE001 - pymilvus raises many kinds; all mean "cannot use this server"
        raise RagError(f"cannot reach Milvus at {where.address} ({_reason(e)}); start the server or check "
                       f"the address in {where.uri}") from None
    return client


def _reason(e: Exception) -> str:
    """The server's message, short: Milvus puts a Go stack trace first and the cause last.

    >>> class E(Exception): message = "stack trace: a.go:1 b.go:2 ... deny to write"
    >>> _reason(E())
    '... deny to write'
    """
    text = " ".join((getattr(e, "message", "") or str(e) or type(e).__name__).split())
    if text.startswith("stack trace"):
        text = text.rsplit(".go:", 1)[-1].split(" ", 1)[-1]
    code = getattr(e, "code", None)
    return (f"code {code}: " if isinstance(code, int) and code > 0 else "") + text[-200:]


def _quote(value: str) -> str:
    """A string literal for a Milvus filter.

    >>> _quote('a"b')
    '"a\\\\"b"'
    """
    return json.dumps(value, ensure_ascii=False)


def _in(field: str, values: Sequence[str]) -> str:
    return f"{field} in [{', '.join(map(_quote, values))}]"


def _parts(values: Sequence, size: int = IDS_PER_FILTER) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())



def _rpc(client, where: MilvusLocation, method: str, _call=None, **kwargs):
    """Call ``client.method(**kwargs)`` (or ``_call()``); a server error becomes a RagError naming the address."""
    try:
        return _call() if _call is not None else getattr(client, method)(**kwargs)
    except RagError:
        raise
    except Exception as e:  # noqa: BLE001 - pymilvus and grpc errors
        if type(e).__module__.startswith(("pymilvus", "grpc")):
            raise RagError(f"Milvus at {where.address} failed in {method} ({_reason(e)}); check that the server "
                           f"is up and that {where.uri} is the right index") from None
        raise


def _last_write_ts(client, collection: str) -> int:
    """The server timestamp of this client's last write to ``collection`` (0 when unknown).

    pymilvus keeps it for its "Session" consistency; it is read from there (not a public API: 0 if that
    moves, and readers then fall back to "Strong", which is correct but waits ~200 ms a call)."""
    try:
        from pymilvus.client import ts_utils

        return int(ts_utils.get_collection_ts(collection, client._get_connection().server_address, "") or 0)
    except Exception:  # noqa: BLE001
        return 0


def _meta_row(key: str, value: dict) -> dict:
    return {"key": key, "value": json.dumps(value, ensure_ascii=False), "placeholder": PLACEHOLDER}


def _get_meta(client, where: MilvusLocation, key: str, consistency: str = "Session") -> str:
    rows = _rpc(client, where, "get", collection_name=where.collection + META, ids=[key], output_fields=["value"],
                consistency_level=consistency)
    return rows[0]["value"] if rows else ""


def _dim(client, where: MilvusLocation) -> int:
    """The vector dimension of an existing chunk collection (0 if it has no "vector" field)."""
    described = _rpc(client, where, "describe_collection", collection_name=where.collection)
    for field in described.get("fields", []):
        if field.get("name") == "vector":
            return int(field.get("params", {}).get("dim", 0))
    return 0


def _fence(client, where: MilvusLocation) -> int:
    """A server timestamp later than every write this client made before (0 when unknown).

    Milvus 2.3 reports no timestamp for deletes, so a write to the meta collection marks the point."""
    _rpc(client, where, "upsert", collection_name=where.collection + META, data=[_meta_row("fence", {})])
    return _last_write_ts(client, where.collection + META)


def _has_manifest(client, where: MilvusLocation) -> bool:
    if not _rpc(client, where, "has_collection", collection_name=where.collection + META):
        return False
    _load(client, where, where.collection + META)
    return bool(_get_meta(client, where, "manifest", "Strong"))


def _load(client, where: MilvusLocation, name: str) -> None:
    """Load a collection into the server's memory unless it is (searches need it; a restart may release it)."""
    state = _rpc(client, where, "get_load_state", collection_name=name)
    if "Loaded" not in str(state.get("state", "")):
        _rpc(client, where, "load_collection", collection_name=name)


