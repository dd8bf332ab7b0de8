"""Ingest: incremental by content hash, replace on change, remove, manifest contents, one writer."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fakes import FakeEmbedder
from rag.chunking import ChunkerSettings, embedding_text
from rag.errors import IndexIncompatible, IndexNotFound, RagError
from rag.index import FORMAT_VERSION, MANIFEST, Index
from rag.ingest import index_lock, ingest, remove_documents
from rag.loaders import content_hash

SEED_IDS = ["000_d9ac26facaa1f05c", "001_80ea79b3f3bb210f", "002_668af276d21bc4e5", "003_7dbf0080c15e92d2",
            "004_4f88f7a8625b6b03"]
CHANGED = "002_668af276d21bc4e5"


@pytest.fixture
def seeds_copy(tmp_path, seeds_dir):
    dst = tmp_path / "seeds"
    shutil.copytree(seeds_dir, dst)
    return dst


def embedded_texts(embedder: FakeEmbedder, since: int = 0) -> list[str]:
    return [t for call in embedder.calls[since:] for t in call]


def test_seeds_are_added(tmp_path, seeds_dir, fake_embedder):
    seen = []
    report = ingest([seeds_dir], tmp_path / "idx", fake_embedder, progress=lambda *a: seen.append(a))
    assert report.added == SEED_IDS
    assert report.replaced == report.unchanged == report.removed == report.skipped == []
    index = Index.open(tmp_path / "idx")
    assert list(index.documents) == SEED_IDS
    assert report.chunks_embedded == len(index.chunks) == len(index.vectors) > 5
    assert all(index.count_chunks(d) > 0 for d in SEED_IDS)
    assert seen[-1] == ("embed", report.chunks_embedded, report.chunks_embedded)
    assert ("read", 5, 5) in seen
    assert report.seconds > 0 and json.dumps(report.to_dict())


def test_reingesting_unchanged_documents_embeds_nothing(fake_index, seeds_dir, fake_embedder):
    calls = len(fake_embedder.calls)
    manifest_before = (fake_index / MANIFEST).read_text(encoding="utf-8")
    report = ingest([seeds_dir], fake_index, fake_embedder)
    assert report.unchanged == SEED_IDS
    assert report.added == report.replaced == [] and report.chunks_embedded == 0
    assert len(fake_embedder.calls) == calls  # not even a probe
    assert (fake_index / MANIFEST).read_text(encoding="utf-8") == manifest_before  # nothing rewritten


def test_a_changed_document_is_replaced_and_only_its_chunks_reembedded(tmp_path, seeds_copy, fake_embedder):
    idx = tmp_path / "idx"
    ingest([seeds_copy], idx, fake_embedder)
    before = Index.open(idx)
    f = seeds_copy / f"{CHANGED}.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\nA brand new closing sentence about penguins.\n", encoding="utf-8")
    calls = len(fake_embedder.calls)

    report = ingest([seeds_copy], idx, fake_embedder)

    assert report.replaced == [CHANGED] and report.added == []
    assert report.unchanged == [d for d in SEED_IDS if d != CHANGED]
    after = Index.open(idx)
    new_chunks = [c for c in after.chunks if c.doc_id == CHANGED]
    assert report.chunks_embedded == len(new_chunks)
    title = after.documents[CHANGED].title
    assert embedded_texts(fake_embedder, calls) == [embedding_text(title, c.text) for c in new_chunks]
    assert any("penguins" in c.text for c in new_chunks)
    assert after.documents[CHANGED].content_hash != before.documents[CHANGED].content_hash
    # the other documents' chunks and vectors are untouched
    old = {c.chunk_id: (c, v) for c, v in zip(before.chunks, before.vectors) if c.doc_id != CHANGED}
    kept = {c.chunk_id: (c, v) for c, v in zip(after.chunks, after.vectors) if c.doc_id != CHANGED}
    assert old.keys() == kept.keys()
    for cid, (c, v) in kept.items():
        assert c == old[cid][0]
        np.testing.assert_array_equal(v, old[cid][1])
    assert after.generation == before.generation + 1


def test_remove_documents_reports_removed_and_missing(fake_index):
    removed, missing = remove_documents(fake_index, [SEED_IDS[4], "nope", SEED_IDS[4], SEED_IDS[0]])
    assert removed == [SEED_IDS[4], SEED_IDS[0]] and missing == ["nope"]
    index = Index.open(fake_index)
    assert list(index.documents) == SEED_IDS[1:4]
    assert {c.doc_id for c in index.chunks} == set(SEED_IDS[1:4])
    assert len(index.vectors) == len(index.chunks)
    assert set(json.loads((fake_index / MANIFEST).read_text(encoding="utf-8"))["documents"]) == set(SEED_IDS[1:4])


def test_removing_only_unknown_ids_changes_nothing(fake_index):
    before = (fake_index / MANIFEST).read_text(encoding="utf-8")
    assert remove_documents(fake_index, ["x", "y"]) == ([], ["x", "y"])
    assert (fake_index / MANIFEST).read_text(encoding="utf-8") == before


def test_remove_from_a_missing_index_is_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="rag ingest"):
        remove_documents(tmp_path / "none", ["a"])


def test_remove_from_a_missing_index_leaves_no_folder_behind(tmp_path):
    with pytest.raises(IndexNotFound, match="no index at"):
        remove_documents(tmp_path / "none", ["a"])
    assert not (tmp_path / "none").exists()


def test_manifest_records_hashes_model_chunker_and_version(fake_index, seeds_dir):
    from rag.loaders import load_documents

    m = json.loads((fake_index / MANIFEST).read_text(encoding="utf-8"))
    assert m["format"] == "rag-index" and m["format_version"] == FORMAT_VERSION
    assert m["embedding"] == {"model_id": "fake-embedder", "dim": 64, "max_tokens": 60}
    assert m["chunker"]["chunk_tokens"] == ChunkerSettings().chunk_tokens
    assert m["chunker"]["overlap_tokens"] == ChunkerSettings().overlap_tokens
    expected = {x.document.doc_id: content_hash(x.document) for x in load_documents([seeds_dir])}
    assert {d: v["content_hash"] for d, v in m["documents"].items()} == expected
    index = Index.open(fake_index)
    assert all(v["chunks"] == index.count_chunks(d) for d, v in m["documents"].items())


def test_duplicated_body_of_article_001_is_chunked_once(fake_index):
    index = Index.open(fake_index)
    doc = index.documents[SEED_IDS[1]]
    sentence = "China and Russia are committed to sticking to the principle of no interference"
    first = doc.text.index(sentence)
    second = doc.text.index(sentence, first + 1)
    second_end = doc.text.index("\n", second)
    chunks = [c for c in index.chunks if c.doc_id == doc.doc_id]
    assert sum(c.text.count(sentence) for c in chunks) == 1
    assert sum(c.text.count("serious implications for the world") for c in chunks) == 1
    assert not [c for c in chunks if c.span.start < second_end and c.span.end > second]
    assert doc.date == "2023-11-10" and not any("Home »" in c.text for c in chunks)


def test_a_file_given_twice_is_ingested_once(tmp_path, seeds_dir, fake_embedder):
    report = ingest([seeds_dir, seeds_dir / f"{SEED_IDS[0]}.txt"], tmp_path / "idx", fake_embedder)
    assert report.added == SEED_IDS and report.replaced == []
    assert report.chunks_embedded == len(Index.open(tmp_path / "idx").chunks)


def test_settings_are_kept_and_checked(tmp_path, seeds_dir, fake_embedder):
    idx = tmp_path / "idx"
    ingest([seeds_dir], idx, fake_embedder, ChunkerSettings(30, 5))
    assert Index.open(idx).chunker == ChunkerSettings(30, 5)
    assert ingest([seeds_dir], idx, fake_embedder).unchanged == SEED_IDS  # None: use the index's settings
    with pytest.raises(IndexIncompatible, match="chunk_tokens=30"):
        ingest([seeds_dir], idx, fake_embedder, ChunkerSettings(40, 5))


def test_another_embedding_model_cannot_write_to_the_index(fake_index, seeds_dir):
    other = FakeEmbedder()
    other.model_id = "other-embedder"
    with pytest.raises(IndexIncompatible, match="other-embedder"):
        ingest([seeds_dir], fake_index, other)
    assert other.calls == []


def test_a_failed_run_leaves_the_index_unchanged(fake_index, tmp_path, fake_embedder):
    (tmp_path / "new.txt").write_text("A new article about lighthouses. Keepers watch.", encoding="utf-8")
    before = (fake_index / MANIFEST).read_text(encoding="utf-8")

    class Broken(FakeEmbedder):
        def embed_batch(self, texts):
            raise RuntimeError("embedder crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        ingest([tmp_path / "new.txt"], fake_index, Broken())
    assert (fake_index / MANIFEST).read_text(encoding="utf-8") == before
    assert "new" not in Index.open(fake_index).documents


def test_a_document_with_no_text_after_cleaning_is_skipped(tmp_path, fake_embedder):
    (tmp_path / "stamp.txt").write_text(" date 2023-11-10 Home » \n", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("A real article about owls. Owls hunt at night.", encoding="utf-8")
    report = ingest([tmp_path / "stamp.txt", tmp_path / "ok.txt"], tmp_path / "idx", fake_embedder)
    assert report.added == ["ok"]
    (skip,) = report.skipped
    assert skip.source.endswith("stamp.txt") and "no article text" in skip.reason


def test_the_index_lock_prevents_a_concurrent_writer(fake_index, seeds_dir, fake_embedder):
    with index_lock(fake_index):
        with pytest.raises(RagError, match="another process is writing"):
            ingest([seeds_dir], fake_index, fake_embedder)
        with pytest.raises(RagError, match="another process is writing"):
            remove_documents(fake_index, [SEED_IDS[0]])
    # released afterwards
    assert ingest([seeds_dir], fake_index, fake_embedder).unchanged == SEED_IDS
