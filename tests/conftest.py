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
    from rag.ingest.pipeline import ingest

    path = tmp_path / "idx"
    report = ingest([SEEDS], path, fake_embedder)
    assert len(report.added) == 5
    return path


def make_engine(index_path, embedder, replies, top_k=5):
    from rag.answer.engine import Engine
    from rag.store import open_store

    return Engine(open_store(index_path), embedder, ScriptedLLM(replies), top_k=top_k)


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from rag.embed.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_seeds_index(tmp_path_factory, real_embedder) -> Path:
    """seeds/ ingested with the real embedder into a fresh index, once for the whole run."""
    from rag.ingest.pipeline import ingest

    path = tmp_path_factory.mktemp("real") / "seeds"
    report = ingest([SEEDS], path, real_embedder)
    assert len(report.added) == 5, report.skipped
    return path


def require_model(name: str) -> None:
    """Real-model tests fail (never skip) when a bundled model is missing."""
    from rag.answer.models import BUNDLED, is_fetched

    if not is_fetched(BUNDLED[name]):
        pytest.fail(f"the {name} model is not assembled; run: scripts/setup.sh (or rag models fetch {name})")


# the Milvus engines the tests start (tests/milvus_server.py)
from milvus_server import (any_milvus_uri, lite_server, milvus_index, milvus_lite_file, milvus_server,  # noqa: E402,F401
                           milvus_uri, shared_milvus_uri)
