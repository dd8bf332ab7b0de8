"""Embedding through Ray Data: ``rag ingest ... --ray``.

    embedder = RayEmbedder(SentenceTransformerEmbedder())
    vectors = embedder.embed_batch(texts)     # map_batches over an actor pool, each actor holding the model
    embedder.close()

Ray runs on the cluster named by $RAY_ADDRESS, or else on a local Ray started for
the run (LOCAL_CPUS CPUs, on 127.0.0.1, no dashboard) and stopped by ``close``.
Each call is one Ray Data job: the texts are split into batches of BATCH rows,
embedded by ``actors`` actors (one CPU each; each loads the model once) and
returned in their order, so the vectors are the plain embedder's. Ingest hands
over GROUP_CHUNKS chunks at a time (``group_chunks``) so a job's start (actors
loading the model) is paid per thousands of chunks, not per batch. On a cluster
every node needs this project and its model package installed (or a Ray
runtime_env that installs them).
"""
from __future__ import annotations

import logging
import os
from typing import Sequence

import numpy as np

from rag.embed.embedder import SentenceTransformerEmbedder, Wrapping
from rag.errors import RagError

LOCAL_CPUS = 2
BATCH = 64
GROUP_CHUNKS = 4096


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RagError("--ray needs Ray Data: pip install -e '.[ray]' (or pip install 'ray[data]')") from e
    return ray


class _EmbedActor:
    """Holds one embedder in a Ray actor; called with a batch {"i", "text"}, returns {"i", "vector"}."""

    def __init__(self, path: str, batch_size: int, threads: int, backend: str):
        self.embedder = SentenceTransformerEmbedder(path, batch_size=batch_size, backend=backend, threads=threads)

    def __call__(self, batch: dict) -> dict:
        return {"i": batch["i"], "vector": self.embedder.embed_batch([str(t) for t in batch["text"]])}


class RayEmbedder(Wrapping):
    """The ``Embedder`` of ``inner`` (same model id, tokens and vectors) with embed_batch run on Ray Data."""

    def __init__(self, inner: SentenceTransformerEmbedder, actors: int | None = None, batch: int = BATCH,
                 group_chunks: int = GROUP_CHUNKS):
        if batch <= 0:
            raise ValueError(f"batch must be > 0, got {batch}")
        self.inner = inner
        self.batch = batch
        self.group_chunks = group_chunks
        self._actors = actors
        self._started_local = False

    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS")
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
            try:
                if address:
                    ray.init(address=address, **quiet)
                else:
                    ray.init(num_cpus=LOCAL_CPUS, include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
                    self._started_local = True
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise RagError(f"cannot start or reach Ray{' at ' + address if address else ''} ({e}); "
                               "check $RAY_ADDRESS or unset it for a local Ray") from None
            ctx = ray.data.DataContext.get_current()
            ctx.execution_options.preserve_order = True
            ctx.enable_progress_bars = False
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        return ray

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed_batch([])
        ray = self._connect()
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = self._actors or max(1, min(cpus, -(-len(texts) // self.batch)))
        blocks = max(1, min(-(-len(texts) // self.batch), 4 * actors))  # one block would feed one actor only
        data = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)], override_num_blocks=blocks)
        out = data.map_batches(_EmbedActor, fn_constructor_kwargs={"path": str(self.inner.path),
                                                                    "batch_size": self.inner.batch_size,
                                                                    "threads": 1,
                                                                    "backend": self.inner.backend},
                               batch_size=self.batch, batch_format="numpy", num_cpus=1,
                               compute=ray.data.ActorPoolStrategy(size=actors))
        rows = 0
        parts = []
        for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
            parts.append((batch["i"], np.asarray(batch["vector"], dtype=np.float32)))
            rows += len(batch["i"])
        if rows != len(texts):
            raise RagError(f"Ray returned {rows} vectors for {len(texts)} texts")
        order = np.concatenate([i for i, _ in parts])
        vectors = np.concatenate([v for _, v in parts])
        result = np.empty_like(vectors)
        result[order] = vectors
        return np.ascontiguousarray(result)

    def close(self) -> None:
        """Stop the local Ray this embedder started (a cluster is left running)."""
        if self._started_local:
            import ray

            ray.shutdown()
            self._started_local = False
