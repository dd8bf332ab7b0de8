"""The engines the page answers with: one per model, all over the same index, shared by every visitor.

Each model is loaded once and wrapped in exactly one Engine, so the Engine's
generation lock is the only gate to that model.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, ContextManager

from rag.answer.engine import Engine
from rag.store import Store
from rag.answer.llm import LLM

LoadLLM = Callable[[str], LLM]


def bundled_llm(name: str) -> LLM:
    """The bundled model ``name`` ("quality", "fast") or a GGUF path, loaded on first use."""
    from rag.answer.llm import LlamaCppLLM
    from rag.answer.models import resolve_model

    path, model_id = resolve_model(name)
    return LlamaCppLLM(path, model_id)


class Engines:
    """``get(name)`` gives the engine answering with model ``name``; other models are created on first use."""

    def __init__(self, engine: Engine, name: str = "default", choices: tuple[str, ...] = (),
                 load_llm: LoadLLM | None = None):
        self.default = name
        self.choices = tuple(dict.fromkeys((name, *choices))) if load_llm else (name,)
        self._engines: dict[str, Engine] = {name: engine}
        self._load_llm = load_llm
        self._lock = threading.Lock()

    @property
    def base(self) -> Engine:
        return self._engines[self.default]

    @property
    def store(self) -> Store:
        return self.base.store

    @property
    def index_path(self) -> Path:
        return Path(self.base.store.info.location)

    def get(self, name: str | None = None) -> Engine:
        name = name or self.default
        if name not in self.choices:
            raise ValueError(f"unknown model {name!r}; choose one of {', '.join(self.choices)}")
        with self._lock:
            engine = self._engines.get(name)
            if engine is None:
                engine = self._engines[name] = self.base.with_llm(self._load_llm(name))
            return engine

    def reload(self) -> None:
        """Re-read the index from disk into every engine (after an ingest or removal)."""
        with self._lock:
            engines = list(self._engines.values())
        for engine in engines:
            engine.reload()


def as_engines(engine_or_engines: Engine | Engines) -> Engines:
    return engine_or_engines if isinstance(engine_or_engines, Engines) else Engines(engine_or_engines,
                                                                                 engine_or_engines.model_id)


def generation_lock(engine: Engine) -> ContextManager:
    """The lock the engine holds while its model generates, for other uses of ``engine.llm`` (follow-up rewriting)."""
    return engine.generate_lock
