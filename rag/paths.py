"""Where the project keeps what it builds once per machine: models, exported embedders, BM25 caches."""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "RAG_CACHE_DIR"


def cache_dir() -> Path:
    """``$RAG_CACHE_DIR``, else ``~/.cache/rag``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rag")
