"""The index folder: round trip, manifest checks, atomic generations, and no pickles."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder
from rag import index as index_mod
from rag.chunking import ChunkerSettings
from rag.errors import IndexCorrupt, IndexIncompatible, IndexNotFound, RagError
from rag.index import FORMAT_VERSION, MANIFEST, EmbeddingInfo, Index
from rag.types import Chunk, Document, Span

EMB = FakeEmbedder()
INFO = EmbeddingInfo(EMB.model_id, EMB.dim, EMB.max_tokens)


def make_doc(doc_id: str, sentences: list[str]) -> tuple[Document, list[Chunk], np.ndarray]:
    text = " ".join(sentences)
    chunks, pos = [], 0
    for n, s in enumerate(sentences):
        start = text.index(s, pos)
        pos = start + len(s)
        chunks.append(Chunk(f"{doc_id}:{n}", doc_id, s, Span(start, pos), (Span(start, pos),)))
    doc = Document(doc_id, text, title=f"Title {doc_id}", date="2024-01-01", outlet="Outlet", url="https://x/" + doc_id,
                   source_path=f"/src/{doc_id}.txt", content_hash="h-" + doc_id)
    return doc, chunks, EMB.embed_batch([c.text for c in chunks])


@pytest.fixture
def small_index(tmp_path) -> Index:
    idx = Index.new(tmp_path / "idx", INFO, ChunkerSettings(50, 10))
    idx.put(*make_doc("a", ["Boats sail on the river.", "The river is wide. Fish swim."]))
    idx.put(*make_doc("b", ["Goats climb the mountain.", "Snow falls on peaks."]))
    idx.put(*make_doc("c", ["Foxes hunt in the desert at night."]))
    idx.save()
    return idx


def manifest_of(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def write_manifest(path: Path, manifest: dict) -> None:
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def data_files(path: Path) -> set[str]:
    return {p.name for p in path.iterdir() if p.name != ".lock"}


def contents(idx: Index):
    return dict(idx.documents), list(idx.chunks), np.array(idx.vectors)


# ---- round trip ------------------------------------------------------------------
def test_save_and_open_round_trip(small_index):
    opened = Index.open(small_index.path, expect_model_id=EMB.model_id)
    assert opened.documents == small_index.documents
    assert opened.chunks == small_index.chunks
    np.testing.assert_allclose(opened.vectors, small_index.vectors, rtol=0, atol=1e-6)
    assert opened.embedding == INFO and opened.chunker == ChunkerSettings(50, 10)
    assert opened.generation == small_index.generation == 1
    queries = EMB.embed_batch(["river boats", "mountain snow", "desert foxes"])
    assert opened.search(queries, 3) == small_index.search(queries, 3)
    best = [hits[0][0] for hits in opened.search(queries, 1)]
    assert [opened.chunks[i].doc_id for i in best] == ["a", "b", "c"]


def test_search_returns_inner_products_best_first(small_index):
    q = EMB.embed_batch(["Goats climb the mountain."])
    hits = small_index.search(q, 10)[0]
    assert len(hits) == len(small_index.chunks)  # k is capped at the number of chunks
    assert small_index.chunks[hits[0][0]].text == "Goats climb the mountain." and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert small_index.search(q, 0) == [[]]


def test_put_checks_the_vector_shape(small_index):
    doc, chunks, vectors = make_doc("d", ["One.", "Two."])
    with pytest.raises(ValueError, match=r"\(2, 64\)"):
        small_index.put(doc, chunks, vectors[:1])


def test_put_replaces_a_document_with_the_same_id(small_index):
    small_index.put(*make_doc("a", ["Only one sentence now."]))
    assert small_index.count_chunks("a") == 1
    assert [c.text for c in small_index.chunks if c.doc_id == "a"] == ["Only one sentence now."]
    assert len(small_index.vectors) == len(small_index.chunks) == 4


def test_remove_drops_the_documents_chunks_and_vectors(small_index):
    before = {c.chunk_id: v for c, v in zip(small_index.chunks, small_index.vectors)}
    assert small_index.remove(["a", "zzz", "a"]) == ["a"]
    assert set(small_index.documents) == {"b", "c"}
    assert [c.doc_id for c in small_index.chunks] == ["b", "b", "c"]
    assert len(small_index.vectors) == 3
    for c, v in zip(small_index.chunks, small_index.vectors):
        np.testing.assert_array_equal(v, before[c.chunk_id])
    assert small_index.remove(["zzz"]) == []
    q = EMB.embed_batch(["Boats sail on the river."])
    assert all(small_index.chunks[i].doc_id != "a" for i, _ in small_index.search(q, 5)[0])
    small_index.save()
    reopened = Index.open(small_index.path)
    assert set(reopened.documents) == {"b", "c"} and len(reopened.chunks) == 3


def test_an_emptied_index_round_trips(small_index):
    assert small_index.remove(["a", "b", "c"]) == ["a", "b", "c"]
    small_index.save()
    opened = Index.open(small_index.path)
    assert opened.documents == {} and opened.chunks == [] and opened.vectors.shape == (0, EMB.dim)
    assert opened.search(EMB.embed_batch(["anything"]), 3) == [[]]


# ---- manifest checks -----------------------------------------------------------------
def test_another_embedding_model_is_incompatible_naming_both(small_index):
    with pytest.raises(IndexIncompatible) as e:
        Index.open(small_index.path, expect_model_id="other-model")
    assert "'fake-embedder'" in str(e.value) and "'other-model'" in str(e.value)
    assert "rag ingest" in str(e.value)


@pytest.mark.parametrize("change", [{"format_version": FORMAT_VERSION + 1}, {"format_version": None}])
def test_format_version_mismatch_is_incompatible(small_index, change):
    m = manifest_of(small_index.path)
    m.update(change)
    write_manifest(small_index.path, m)
    with pytest.raises(IndexIncompatible, match="format version") as e:
        Index.open(small_index.path)
    assert str(change["format_version"]) in str(e.value)


def test_a_manifest_of_another_format_is_incompatible(small_index):
    m = manifest_of(small_index.path)
    m["format"] = "something-else"
    write_manifest(small_index.path, m)
    with pytest.raises(IndexIncompatible, match="not a rag-index manifest"):
        Index.open(small_index.path)


def test_missing_folder_is_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="rag ingest") as e:
        Index.open(tmp_path / "nowhere")
    assert isinstance(e.value, RagError)
    assert not Index.exists(tmp_path / "nowhere")


def test_folder_without_manifest_is_not_found(tmp_path):
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(IndexNotFound, match="not an index"):
        Index.open(tmp_path)


@pytest.mark.parametrize("garbage", ["{not json", "", '{"format": "rag-index"'])
def test_unreadable_manifest_is_corrupt(small_index, garbage):
    (small_index.path / MANIFEST).write_text(garbage, encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index.open(small_index.path)


@pytest.mark.parametrize("key", ["embedding", "chunker", "files", "generation"])
def test_manifest_lacking_a_key_is_corrupt(small_index, key):
    m = manifest_of(small_index.path)
    del m[key]
    write_manifest(small_index.path, m)
    with pytest.raises(IndexCorrupt, match=repr(key)):
        Index.open(small_index.path)


@pytest.mark.parametrize("embedding", [{}, "garbage"])
def test_manifest_with_a_malformed_embedding_entry_is_corrupt(small_index, embedding):
    m = manifest_of(small_index.path)
    m["embedding"] = embedding
    write_manifest(small_index.path, m)
    with pytest.raises(IndexCorrupt):
        Index.open(small_index.path)


@pytest.mark.parametrize("which", ["documents", "chunks", "vectors"])
def test_missing_data_file_is_corrupt(small_index, which):
    (small_index.path / manifest_of(small_index.path)["files"][which]).unlink()
    with pytest.raises(IndexCorrupt, match="damaged"):
        Index.open(small_index.path)


def test_garbled_chunks_file_is_corrupt(small_index):
    (small_index.path / manifest_of(small_index.path)["files"]["chunks"]).write_text("{oops\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt):
        Index.open(small_index.path)


def test_vector_count_mismatch_is_corrupt(small_index):
    chunks_file = small_index.path / manifest_of(small_index.path)["files"]["chunks"]
    lines = chunks_file.read_text(encoding="utf-8").splitlines()
    chunks_file.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match=f"{len(lines)} vectors .* for {len(lines) - 1} chunks"):
        Index.open(small_index.path)


def test_vector_dimension_mismatch_is_corrupt(small_index):
    m = manifest_of(small_index.path)
    m["embedding"]["dim"] = 32
    write_manifest(small_index.path, m)
    with pytest.raises(IndexCorrupt, match="dim"):
        Index.open(small_index.path)


def test_chunks_of_unknown_documents_are_corrupt(small_index):
    docs_file = small_index.path / manifest_of(small_index.path)["files"]["documents"]
    rows = [json.loads(x) for x in docs_file.read_text(encoding="utf-8").splitlines()]
    docs_file.write_text("\n".join(json.dumps(r) for r in rows if r["doc_id"] != "c") + "\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="unknown documents"):
        Index.open(small_index.path)


# ---- generations ---------------------------------------------------------------------
def test_interrupted_vector_write_leaves_the_previous_generation(small_index, monkeypatch):
    import faiss

    before = contents(Index.open(small_index.path))
    small_index.remove(["a"])
    small_index.put(*make_doc("d", ["New document text."]))

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(OSError, match="disk full"):
        small_index.save()
    after = Index.open(small_index.path)
    assert after.generation == 1
    assert contents(after)[:2] == before[:2]
    np.testing.assert_array_equal(after.vectors, before[2])


def test_interrupted_jsonl_write_leaves_the_previous_generation(small_index, monkeypatch):
    before = contents(Index.open(small_index.path))
    small_index.remove(["b"])
    real = index_mod._write_jsonl
    calls = []

    def fail_second(path, rows):
        calls.append(path.name)
        if len(calls) == 2:  # documents written, chunks not
            raise KeyboardInterrupt
        real(path, rows)

    monkeypatch.setattr(index_mod, "_write_jsonl", fail_second)
    with pytest.raises(KeyboardInterrupt):
        small_index.save()
    assert calls == ["documents.2.jsonl", "chunks.2.jsonl"]
    after = Index.open(small_index.path)
    assert set(after.documents) == set(before[0]) == {"a", "b", "c"}
    assert after.chunks == before[1]

    monkeypatch.setattr(index_mod, "_write_jsonl", real)  # the next good save cleans up the leftovers
    small_index.save()
    assert data_files(small_index.path) == {MANIFEST, "documents.2.jsonl", "chunks.2.jsonl", "vectors.2.faiss"}
    assert set(Index.open(small_index.path).documents) == {"a", "c"}


def test_a_good_save_switches_generation_and_deletes_old_files(small_index):
    assert data_files(small_index.path) == {MANIFEST, "documents.1.jsonl", "chunks.1.jsonl", "vectors.1.faiss"}
    small_index.remove(["c"])
    small_index.save()
    assert small_index.generation == 2
    assert manifest_of(small_index.path)["files"] == {
        "documents": "documents.2.jsonl", "chunks": "chunks.2.jsonl", "vectors": "vectors.2.faiss"}
    assert data_files(small_index.path) == {MANIFEST, "documents.2.jsonl", "chunks.2.jsonl", "vectors.2.faiss"}
    assert Index.open(small_index.path).generation == 2


def test_a_stale_in_memory_index_does_not_reuse_a_generation(small_index):
    other = Index.open(small_index.path)
    small_index.save()  # generation 2 written by someone else
    other.save()
    assert other.generation == 3 and manifest_of(small_index.path)["generation"] == 3


def test_manifest_lists_documents_and_settings(small_index):
    m = manifest_of(small_index.path)
    assert m["format"] == "rag-index" and m["format_version"] == FORMAT_VERSION
    assert m["embedding"] == {"model_id": "fake-embedder", "dim": 64, "max_tokens": 60}
    assert m["chunker"]["chunk_tokens"] == 50 and m["chunker"]["overlap_tokens"] == 10
    assert m["documents"]["a"] == {"content_hash": "h-a", "chunks": 2, "title": "Title a"}
    assert m["created_at"] and m["updated_at"]


def test_nothing_is_pickled(fake_index):
    import faiss

    names = data_files(fake_index)
    assert names == {MANIFEST, "documents.1.jsonl", "chunks.1.jsonl", "vectors.1.faiss"}
    assert not any(n.endswith((".pkl", ".pickle", ".npy", ".npz")) for n in names)
    m = json.loads((fake_index / MANIFEST).read_text(encoding="utf-8"))
    assert set(m["files"].values()) == names - {MANIFEST}
    for name in ("documents.1.jsonl", "chunks.1.jsonl"):
        lines = (fake_index / name).read_text(encoding="utf-8").splitlines()
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    raw = (fake_index / "vectors.1.faiss").read_bytes()
    assert not raw.startswith(b"\x80")  # pickle protocol 2+ header
    assert faiss.read_index(str(fake_index / "vectors.1.faiss")).ntotal == sum(
        1 for _ in (fake_index / "chunks.1.jsonl").open(encoding="utf-8"))
