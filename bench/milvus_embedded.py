"""A Milvus standalone server run from the ``milvus`` PyPI package (no Docker): for tests, benchmarks, trying out.

    with embedded_milvus("/tmp/milvus-data") as server:
        store = open_store(server.uri("seeds"))

It starts on free loopback ports (10-20 s), keeps its data in the folder given and
stops with the block (and with the Python process that started it, should that die).
The package's config leaves the embedded etcd on its fixed ports 2379/2380, so two
servers could not run at once; here etcd gets free ports through an etcd config file.
The components advertise 127.0.0.1; Milvus 2.3 itself listens on all interfaces (its
gRPC servers bind ":PORT"), which no setting changes, so run it only on a machine
whose other interfaces you trust.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rag.errors import RagError

_COMPONENTS = ("proxy", "rootCoord", "queryCoord", "queryNode", "indexCoord", "indexNode", "dataCoord", "dataNode")
START_TIMEOUT_S = 300


@dataclass(frozen=True)
class EmbeddedServer:
    host: str
    port: int
    pid: int
    data_dir: Path

    def uri(self, collection: str) -> str:
        return f"milvus://{self.host}:{self.port}/{collection}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _template(data_dir: Path, etcd_client: int, etcd_peer: int) -> Path:
    """The package's config template with the embedded etcd on the given ports (etcd.config.path)."""
    import milvus

    etcd = data_dir / "embedEtcd.yaml"
    peer = f"http://127.0.0.1:{etcd_peer}"
    etcd.write_text(f"name: default\nlisten-client-urls: http://127.0.0.1:{etcd_client}\n"
                    f"advertise-client-urls: http://127.0.0.1:{etcd_client}\nlisten-peer-urls: {peer}\n"
                    f"initial-advertise-peer-urls: {peer}\ninitial-cluster: default={peer}\n", encoding="utf-8")
    text = (Path(milvus.__file__).parent / "data" / "config.yaml.template").read_text(encoding="utf-8")
    marker = "  use:\n    embed: true"
    if marker not in text:
        raise RagError(f"the milvus package {milvus.__version__} has an unknown config template; pin milvus==2.3.5")
    template = data_dir / "milvus.yaml.template"
    template.write_text(text.replace(marker, f"  config:\n    path: {etcd}\n{marker}", 1), encoding="utf-8")
    return template


def _share_binaries(data_dir: Path) -> None:
    """Point DATA_DIR/bin at one unpacked copy of the server's binaries in the cache (the package unpacks its
    ~150 MB of lzma files into each new data folder otherwise, which takes minutes on a busy machine)."""
    import milvus

    cache = Path(os.environ.get("RAG_CACHE_DIR", Path.home() / ".cache" / "rag")) / f"milvus-{milvus.__version__}"
    (cache / "bin").mkdir(parents=True, exist_ok=True)
    link = data_dir / "bin"
    if not link.exists():
        link.symlink_to(cache / "bin", target_is_directory=True)


def _die_with_parent() -> None:  # runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_healthy(server, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"http://127.0.0.1:{server.webservice_port}/healthz"
    while time.monotonic() < deadline:
        if server.server_proc.poll() is not None:
            raise RagError(f"the embedded Milvus server exited at start (code {server.server_proc.returncode}); "
                           f"see {log}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5) as resp:
                if b"OK" in resp.read():
                    return
        time.sleep(0.2)
    raise RagError(f"the embedded Milvus server did not become healthy in {START_TIMEOUT_S} s; see {log}")


@contextlib.contextmanager
def embedded_milvus(data_dir: str | Path, port: int | None = None, niceness: int = 15) -> Iterator[EmbeddedServer]:
    """Run a Milvus server with its data in ``data_dir`` for the duration of the block."""
    try:
        import milvus
        from milvus import MilvusServer, MilvusServerConfig
    except ImportError as e:
        raise RagError("the embedded Milvus server needs the milvus package: pip install -e '.[milvus]'") from e
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = MilvusServerConfig(template=str(_template(data_dir, free_port(), free_port())))
    config.glog_conf_file = str(Path(milvus.__file__).parent / "data" / "glog.conf")  # set only for no template
    server = MilvusServer(config, wait_for_started=False)
    server.set_base_dir(str(data_dir))
    _share_binaries(data_dir)
    server.listen_port = port or free_port()
    for component in _COMPONENTS:
        server.config.set(f"{component}.ip", "127.0.0.1")
    # a single-user server: no write back-pressure (on a starved machine its time-tick check refused inserts)
    server.config.set("quotaAndLimits.enabled", "false")
    try:
        milvus.subprocess = _Subprocess(niceness)  # the package's Popen, plus nice and parent-death signal
        try:
            server.start()
        finally:
            milvus.subprocess = subprocess
        _wait_healthy(server, data_dir / "logs" / "milvus-stdout.log")
        yield EmbeddedServer("127.0.0.1", server.listen_port, server.server_proc.pid, data_dir)
    finally:
        server.stop()


class _Subprocess:
    """Stands in for the ``subprocess`` module inside the milvus package while it starts the server."""

    def __init__(self, niceness: int):
        self.niceness = niceness

    def __getattr__(self, name):
        return getattr(subprocess, name)

    def Popen(self, *args, **kwargs):  # noqa: N802 - the name the package calls
        niceness = self.niceness

        def setup() -> None:
            _die_with_parent()
            with contextlib.suppress(OSError):
                os.nice(niceness)
        return subprocess.Popen(*args, preexec_fn=setup, **kwargs)
