"""The embedding backends: which one an index is searched with, the cached export, and (real) the OpenVINO
int8 model against the torch one."""
from __future__ import annotations

import numpy as np
import pytest

from rag.types import ChunkerSettings
from rag.embed.embedder import BUNDLED_EMBEDDER_ID, SentenceTransformerEmbedder, model_id_for
from rag.indexes import embedder_for_index
from rag.errors import IndexIncompatible
from rag.embed.openvino import cached_export
from rag.store import EmbeddingInfo, create_store, open_store

INT8_ID = model_id_for(BUNDLED_EMBEDDER_ID, "openvino-int8")


def _index(path, model_id: str):
    create_store(path, EmbeddingInfo(model_id, 384, 254), ChunkerSettings()).close()
    return path


@pytest.mark.parametrize("backend", ["torch", "openvino-int8", "openvino"])
def test_an_index_is_searched_with_the_backend_that_built_it(tmp_path, monkeypatch, backend):
    monkeypatch.delenv("RAG_EMBED_BACKEND", raising=False)
    path = _index(tmp_path / "idx", model_id_for(BUNDLED_EMBEDDER_ID, backend))
    embedder = embedder_for_index(path)
    assert embedder.backend == backend
    open_store(path, expect_model_id=embedder.model_id).close()  # no mismatch


def test_a_new_index_gets_the_default_backend(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_EMBED_BACKEND", raising=False)
    assert embedder_for_index(tmp_path / "missing").backend == SentenceTransformerEmbedder().backend


def test_the_environment_wins_and_a_mismatch_is_refused_naming_both(tmp_path, monkeypatch):
    path = _index(tmp_path / "idx", BUNDLED_EMBEDDER_ID)
    monkeypatch.setenv("RAG_EMBED_BACKEND", "openvino-int8")
    embedder = embedder_for_index(path)
    assert embedder.model_id == INT8_ID
    with pytest.raises(IndexIncompatible) as e:
        open_store(path, expect_model_id=embedder.model_id)
    assert BUNDLED_EMBEDDER_ID in str(e.value) and INT8_ID in str(e.value)


def test_an_unknown_backend_in_the_environment_is_named(monkeypatch):
    monkeypatch.setenv("RAG_EMBED_BACKEND", "onnx")
    with pytest.raises(ValueError, match="RAG_EMBED_BACKEND.*'onnx'"):
        SentenceTransformerEmbedder()


def test_an_export_is_built_once_and_an_interrupted_one_leaves_nothing(tmp_path):
    calls = []

    def failing(folder):
        (folder / "model.xml").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_export(tmp_path, "m", failing, say=lambda m: None)
    assert list(tmp_path.iterdir()) == []

    def build(folder):
        calls.append(folder)
        (folder / "model.xml").write_text("whole")

    first = cached_export(tmp_path, "m", build, say=lambda m: None)
    second = cached_export(tmp_path, "m", build, say=lambda m: None)
    assert first == second and len(calls) == 1
    assert (first / "model.xml").read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.real
def test_openvino_int8_vectors_stay_close_to_torch_and_in_input_order():
    from rag.ingest.chunk import chunk_document
    from rag.ingest.clean import clean_text

    from conftest import SEEDS

    torch_embedder = SentenceTransformerEmbedder(backend="torch")
    int8 = SentenceTransformerEmbedder(backend="openvino-int8", batch_size=8)
    assert int8.model_id == INT8_ID != torch_embedder.model_id
    assert int8.dim == torch_embedder.dim and int8.max_tokens == torch_embedder.max_tokens
    texts = []
    for path in sorted(SEEDS.glob("*.txt")):
        clean = clean_text(path.read_text())
        texts += [c.text for c in chunk_document(path.stem, clean, torch_embedder.count_tokens,
                                                 torch_embedder.max_tokens, ChunkerSettings())]
    texts += ["Who is Xu Qiliang?", "a"]  # short ones sort into another batch than the chunks
    ref = torch_embedder.embed_batch(texts)
    vectors = int8.embed_batch(texts)
    assert vectors.shape == ref.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    cos = np.sum(vectors * ref, axis=1)
    assert cos.min() > 0.95, cos.min()
    # batched (sorted by length, padded) gives each text the vector it gets alone
    alone = np.concatenate([int8.embed_batch([t]) for t in texts[:3] + texts[-2:]])
    assert np.allclose(alone, vectors[[0, 1, 2, -2, -1]], atol=2e-2)
