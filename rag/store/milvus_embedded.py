"""A Milvus standalone server run from the ``milvus`` PyPI package (no Docker): for tests, benchmarks, trying out.

    with embedded_milvus("/tmp/milvus-data") as server:
        store = open_store(f"milvus://127.0.0.1:{server.port}/seeds")

It starts on a free loopback port (about 10-15 s), keeps its data in the folder given
and stops with the block. The components are told to advertise 127.0.0.1; Milvus 2.3
itself listens on all interfaces (its gRPC servers bind ":PORT"), which no setting
changes, so run it only on a machine whose other interfaces you trust.
"""
from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import RagError

_COMPONENTS = ("proxy", "rootCoord", "queryCoord", "queryNode", "indexCoord", "indexNode", "dataCoord", "dataNode")


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


def _share_binaries(data_dir: Path) -> None:
    """Point DATA_DIR/bin at one unpacked copy of the server's binaries in the cache (the package unpacks its
    ~150 MB of lzma files into each new data folder otherwise, which takes minutes on a busy machine)."""
    import milvus

    cache = Path(os.environ.get("RAG_CACHE_DIR", Path.home() / ".cache" / "rag")) / f"milvus-{milvus.__version__}" / "bin"
    cache.mkdir(parents=True, exist_ok=True)
    link = data_dir / "bin"
    if not link.exists():
        link.symlink_to(cache, target_is_directory=True)


@contextlib.contextmanager
def embedded_milvus(data_dir: str | Path, port: int | None = None, niceness: int = 15) -> Iterator[EmbeddedServer]:
    """Run a Milvus server with its data in ``data_dir`` for the duration of the block."""
    try:
        from milvus import MilvusServer
    except ImportError as e:
        raise RagError("the embedded Milvus server needs the milvus package: pip install -e '.[milvus]'") from e
    server = MilvusServer()
    server.set_base_dir(str(data_dir))
    _share_binaries(Path(data_dir))
    server.listen_port = port or free_port()
    for component in _COMPONENTS:
        server.config.set(f"{component}.ip", "127.0.0.1")
    try:
        server.start()
    except (RuntimeError, TimeoutError) as e:
        server.stop()
        raise RagError(f"the embedded Milvus server did not start ({e}); see {Path(data_dir) / 'logs'}") from e
    pid = server.server_proc.pid
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
        for task in os.listdir(f"/proc/{pid}/task"):  # threads started before the renice keep their priority
            os.setpriority(os.PRIO_PROCESS, int(task), niceness)
    try:
        yield EmbeddedServer("127.0.0.1", server.listen_port, pid, Path(data_dir))
    finally:
        server.stop()
