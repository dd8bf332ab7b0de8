"""Talking to Milvus: locations, the connection (a server, or a Milvus Lite file served by this process), the
engine's version, calls that fail as one RagError line, small filters.

Used by the index's rows (rows.py) and the store (store.py).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.errors import RagError
from rag.store.milvus.schema import META, PLACEHOLDER

SCHEME = "milvus://"
LITE_SCHEME = "milvus-lite:"
DEFAULT_PORT = 19530
CONNECT_TIMEOUT_S = float(os.environ.get("RAG_MILVUS_TIMEOUT", "10"))
IDS_PER_FILTER = 1000       # values per `in [...]` filter
LITE_START_S = 15           # how long a Milvus Lite file is waited for (another process's server stopping)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
_LITE_FILE = re.compile(r"[A-Za-z0-9.\-_]{1,33}\.db")   # what Milvus Lite accepts as a file name (at most 36)


@dataclass(frozen=True)
class MilvusLocation:
    """A collection on a Milvus server (host, port) or in a Milvus Lite file (path, host and port empty)."""

    host: str
    port: int
    collection: str
    path: str = ""

    @property
    def lite(self) -> bool:
        return bool(self.path)

    @property
    def uri(self) -> str:
        if self.lite:
            default = _NAME.fullmatch(Path(self.path).stem) and Path(self.path).stem == self.collection
            return f"{LITE_SCHEME}{self.path}" + ("" if default else f"?collection={self.collection}")
        return f"{SCHEME}{self.host}:{self.port}/{self.collection}"

    @property
    def address(self) -> str:
        """Where the engine is, for messages: HOST:PORT, or the Milvus Lite file."""
        return self.path or f"{self.host}:{self.port}"


def is_milvus(location: object) -> bool:
    """Whether ``location`` names a Milvus collection (on a server or in a Milvus Lite file) rather than a folder.

    >>> is_milvus("milvus://127.0.0.1:19530/seeds"), is_milvus("milvus-lite:indexes/news.db"), is_milvus("indexes/x")
    (True, True, False)
    """
    return isinstance(location, str) and location.startswith((SCHEME, LITE_SCHEME))


def parse_location(location: str) -> MilvusLocation:
    """``milvus://HOST[:PORT]/COLLECTION`` or ``milvus-lite:PATH.db[?collection=NAME]`` -> its parts; ValueError
    names what is wrong. A Milvus Lite path is made absolute; its collection defaults to the file's stem.

    >>> parse_location("milvus://127.0.0.1:19531/seeds")
    MilvusLocation(host='127.0.0.1', port=19531, collection='seeds', path='')
    >>> parse_location("milvus://db.example/news").port
    19530
    >>> parse_location("milvus-lite:/srv/news.db").collection, parse_location("milvus-lite:///srv/n.db?collection=x").uri
    ('news', 'milvus-lite:/srv/n.db?collection=x')
    """
    if location.startswith(LITE_SCHEME):
        return _parse_lite(location)
    if not is_milvus(location):
        raise ValueError(f"not a Milvus location: {location!r}; expected milvus://HOST:PORT/COLLECTION")
    rest = location[len(SCHEME):]
    address, _, collection = rest.partition("/")
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not host or not collection:
        raise ValueError(f"{location!r} lacks a host or a collection; expected milvus://HOST:PORT/COLLECTION")
    if port and not port.isdigit():
        raise ValueError(f"{location!r} has port {port!r}, not a number; expected milvus://HOST:PORT/COLLECTION")
    _check_name(collection, location)
    return MilvusLocation(host, int(port) if port else DEFAULT_PORT, collection)


def _parse_lite(location: str) -> MilvusLocation:
    """``milvus-lite:PATH.db``: PATH as a file path (``milvus-lite:///abs/news.db``, the file-URL form, is the same
    as ``milvus-lite:/abs/news.db``; a Path() of either keeps its meaning)."""
    rest = location[len(LITE_SCHEME):]
    rest, _, query = rest.partition("?")
    if rest.startswith("//") and not rest.startswith("///"):
        raise ValueError(f"{location!r}: write milvus-lite:PATH.db for a file relative to here, or "
                         "milvus-lite:///ABSOLUTE/PATH.db")
    path = Path("/" + rest.lstrip("/") if rest.startswith("/") else rest)
    usage = "expected milvus-lite:PATH.db or milvus-lite:PATH.db?collection=NAME"
    if not _LITE_FILE.fullmatch(path.name):
        raise ValueError(f"{location!r}: Milvus Lite wants a file name ending in .db, of letters, digits, '.', '-' "
                         f"and '_', at most 36 characters; {usage}")
    collection = path.stem if _NAME.fullmatch(path.stem) else "rag"
    if query:
        key, _, value = query.partition("=")
        if key != "collection" or not value:
            raise ValueError(f"{location!r} has {query!r}; {usage}")
        collection = value
    _check_name(collection, location)
    return MilvusLocation("", 0, collection, str(path.absolute()))


def _check_name(collection: str, location: str) -> None:
    if not _NAME.fullmatch(collection):
        raise ValueError(f"collection name {collection!r} in {location!r} must be letters, digits and _ "
                         "(not starting with a digit, at most 200)")


def _pymilvus():
    try:
        import pymilvus
    except ImportError as e:
        raise RagError("Milvus indexes need pymilvus: pip install -e '.[milvus]' (or pip install pymilvus)") from e
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # its RPC errors reach the user as one RagError line
    return pymilvus


def connect(where: MilvusLocation):
    """A MilvusClient for ``where``; a server that is down or unreachable is a RagError naming the address.
    Close it with ``disconnect``."""
    pymilvus = _pymilvus()
    if where.lite:  # no keepalive pings on an idle channel: Milvus Lite answers them with "too many pings"
        # (GOAWAY) and then refused new clients (a test run holding one idle client for minutes)
        return pymilvus.MilvusClient(uri=_lite_uri(where), timeout=CONNECT_TIMEOUT_S, dedicated=True,
                                     grpc_options={"grpc.keepalive_permit_without_calls": 0})
    try:
        # dedicated: a channel of its own, closed with the client (pymilvus shares one per address otherwise, and
        # a shared channel the server dropped, as Milvus Lite does with idle pinging ones, fails every new client)
        client = pymilvus.MilvusClient(uri=f"http://{where.address}", token=os.environ.get("MILVUS_TOKEN", ""),
                                       timeout=CONNECT_TIMEOUT_S, dedicated=True)
        _version_of(client)
    except Exception as e:  # noqa: BLE001 - pymilvus raises many kinds; all mean "cannot use this server"
        raise RagError(f"cannot reach Milvus at {where.address} ({_reason(e)}); start the server or check "
                       f"the address in {where.uri}") from None
    return client


def disconnect(client, where: MilvusLocation) -> None:
    """Close ``client``; the last client of a Milvus Lite file in this process stops its server (so that another
    process may open the file)."""
    with contextlib.suppress(Exception):
        client.close()
    if where.lite:
        with _LITE_LOCK:
            _LITE_USERS[where.path] -= 1
            if _LITE_USERS[where.path] <= 0:
                del _LITE_USERS[where.path]
                _lite_manager().release_server(where.path)


def server_version(client) -> tuple[int, ...] | None:
    """The engine's version, e.g. (2, 3, 5); None for Milvus Lite, which does not say (its 2.5 line is pinned)."""
    text = _version_of(client)
    numbers = re.findall(r"\d+", text or "")[:3]
    return tuple(int(n) for n in numbers) if numbers else None


def _version_of(client) -> str:
    """The server's version string; "" when the engine does not implement the call (Milvus Lite)."""
    try:
        return str(client.get_server_version())
    except Exception as e:  # noqa: BLE001
        if "UNIMPLEMENTED" in repr(e) or "Unimplemented" in str(e):
            return ""
        raise


_LITE_USERS: dict[str, int] = {}
_LITE_LOCK = threading.Lock()


def _lite_manager():
    try:
        with warnings.catch_warnings():  # milvus_lite 2.5.1 imports pkg_resources, which warns of its removal
            warnings.simplefilter("ignore")
            from milvus_lite.server_manager import server_manager_instance
    except ImportError as e:
        raise RagError("a milvus-lite: index needs the milvus-lite package: pip install -e '.[milvus]' (or pip "
                       f"install milvus-lite==2.5.1) ({e})") from None
    return server_manager_instance


def _lite_uri(where: MilvusLocation) -> str:
    """Start (or share) this process's Milvus Lite server on the file; its local socket's URI."""
    manager = _lite_manager()
    with _LITE_LOCK:
        if not Path(where.path).parent.is_dir():
            raise RagError(f"cannot open Milvus Lite file {where.path}: its folder does not exist")
        if not _LITE_USERS.get(where.path):
            deadline = time.monotonic() + LITE_START_S
            while _held_elsewhere(where.path):  # (a process that just died: its server is stopping)
                if time.monotonic() > deadline:
                    raise RagError(f"cannot open Milvus Lite file {where.path}: another process has it open (Milvus "
                                   "Lite serves one process at a time; for several, run a Milvus server)")
                time.sleep(0.2)
        uri = manager.start_and_get_uri(where.path)
        if uri is None:
            raise RagError(f"cannot open Milvus Lite file {where.path}: its server did not start")
        _LITE_USERS[where.path] = _LITE_USERS.get(where.path, 0) + 1
    return uri


def _held_elsewhere(path: str) -> bool:
    """Whether another process holds the lock Milvus Lite keeps beside the file (asked without starting a server:
    a failed start deletes that lock file, letting a second server open the same file). Only asked while this
    process holds no server on it: dropping the probe would release this process's own lock."""
    lock = Path(path).parent / f".{Path(path).name}.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_WRONLY)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


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


def quote(value: str) -> str:
    """A string literal for a Milvus filter.

    >>> quote('a"b')
    '"a\\\\"b"'
    """
    return json.dumps(value, ensure_ascii=False)


def in_list(field: str, values: Sequence[str], negate: bool = False) -> str:
    """
    >>> in_list("doc_id", ["a", "b"]), in_list("doc_id", ["a"], negate=True)
    ('doc_id in ["a", "b"]', 'doc_id not in ["a"]')
    """
    return f"{field} {'not in' if negate else 'in'} [{', '.join(map(quote, values))}]"


def rpc(client, where: MilvusLocation, method: str, _call=None, **kwargs):
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


def meta_row(key: str, value: dict) -> dict:
    """A row of the meta collection: ``key`` -> ``value`` as JSON."""
    return {"key": key, "value": json.dumps(value, ensure_ascii=False), "placeholder": PLACEHOLDER}


def get_meta(client, where: MilvusLocation, key: str, consistency: str = "Session") -> str:
    """The JSON text of meta row ``key`` ("" when there is none)."""
    rows = rpc(client, where, "get", collection_name=where.collection + META, ids=[key], output_fields=["value"],
               consistency_level=consistency)
    return rows[0]["value"] if rows else ""


def vector_dim(client, where: MilvusLocation) -> int:
    """The vector dimension of an existing chunk collection (0 if it has no "vector" field)."""
    described = rpc(client, where, "describe_collection", collection_name=where.collection)
    for field in described.get("fields", []):
        if field.get("name") == "vector":
            return int(field.get("params", {}).get("dim", 0))
    return 0


def fence(client, where: MilvusLocation) -> int:
    """A server timestamp later than every write this client made before (0 when unknown).

    Milvus 2.3 reports no timestamp for deletes, so a write to the meta collection marks the point."""
    rpc(client, where, "upsert", collection_name=where.collection + META, data=[meta_row("fence", {})])
    return _last_write_ts(client, where.collection + META)


def has_manifest(client, where: MilvusLocation) -> bool:
    """Whether ``where`` holds an index (its meta collection has a manifest row)."""
    if not rpc(client, where, "has_collection", collection_name=where.collection + META):
        return False
    load_collection(client, where, where.collection + META)
    return bool(get_meta(client, where, "manifest", "Strong"))


def load_collection(client, where: MilvusLocation, name: str) -> None:
    """Load a collection into the server's memory unless it is (searches need it; a restart may release it)."""
    state = rpc(client, where, "get_load_state", collection_name=name)
    if "Loaded" not in str(state.get("state", "")):
        rpc(client, where, "load_collection", collection_name=name)


