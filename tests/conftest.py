from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
SEEDS = ROOT / "seeds"

from fakes import FakeEmbedder, ScriptedLLM  # noqa: E402


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_index(tmp_path, fake_embedder):
    """The seeds ingested with the fake embedder."""
    from rag.ingest import ingest

    path = tmp_path / "idx"
    report = ingest([SEEDS], path, fake_embedder)
    assert len(report.added) == 5
    return path


def make_engine(index_path, embedder, replies, top_k=5):
    from rag.engine import Engine
    from rag.index import Index

    return Engine(Index.open(index_path), embedder, ScriptedLLM(replies), top_k=top_k)
