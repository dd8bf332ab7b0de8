"""Ingest: incremental by content hash, replace on change, remove, manifest contents, one writer."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fakes import FakeEmbedder
from rag.types import ChunkerSettings, embedding_text
from rag.errors import IndexIncompatible, IndexNotFound, RagError
from rag.ingest.pipeline import ingest, remove_documents
from rag.store import open_store
from rag.store.folder.store import FORMAT_VERSION, MANIFEST
from rag.ingest.loaders import content_hash

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
    store = open_store(tmp_path / "idx")
    assert [d.doc_id for d in store.list_documents()] == SEED_IDS
    assert report.chunks_embedded == store.info.chunks > 5
    assert all(d.chunks == len(store.chunks_of(d.doc_id)) > 0 for d in store.list_documents())
    assert seen[-1] == ("embed", report.chunks_embedded, report.chunks_embedded)
    assert ("read", 5, 5) in seen
    assert report.seconds > 0 and json.dumps(report.to_dict())


def test_reingesting_unchanged_documents_embeds_nothing(fake_index, seeds_dir, fake_embedder):
    calls = len(fake_embedder.calls)
    generation = open_store(fake_index).info.generation
    report = ingest([seeds_dir], fake_index, fake_embedder)
    assert report.unchanged == SEED_IDS
    assert report.added == report.replaced == [] and report.chunks_embedded == 0
    assert len(fake_embedder.calls) == calls  # not even a probe
    assert open_store(fake_index).info.generation == generation  # nothing written


def test_a_changed_document_is_replaced_and_only_its_chunks_reembedded(tmp_path, seeds_copy, fake_embedder):
    idx = tmp_path / "idx"
    ingest([seeds_copy], idx, fake_embedder)
    before = open_store(idx)
    before_chunks = {c.chunk_id: c for d in SEED_IDS for c in before.chunks_of(d)}
    before_vectors = dict(zip(before_chunks, before.get_vectors(list(before_chunks))))
    before_hash, before_gen = before.content_hashes([CHANGED])[CHANGED], before.info.generation
    f = seeds_copy / f"{CHANGED}.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\nA brand new closing sentence about penguins.\n", encoding="utf-8")
    calls = len(fake_embedder.calls)

    report = ingest([seeds_copy], idx, fake_embedder)

    assert report.replaced == [CHANGED] and report.added == []
    assert report.unchanged == [d for d in SEED_IDS if d != CHANGED]
    after = open_store(idx)
    new_chunks = after.chunks_of(CHANGED)
    assert report.chunks_embedded == len(new_chunks)
    title = after.get_documents([CHANGED])[CHANGED].title
    assert embedded_texts(fake_embedder, calls) == [embedding_text(title, c.text) for c in new_chunks]
    assert any("penguins" in c.text for c in new_chunks)
    assert after.content_hashes([CHANGED])[CHANGED] != before_hash
    # the other documents' chunks and vectors are untouched
    kept = {c.chunk_id: c for d in SEED_IDS if d != CHANGED for c in after.chunks_of(d)}
    assert kept == {k: c for k, c in before_chunks.items() if c.doc_id != CHANGED}
    np.testing.assert_array_equal(after.get_vectors(list(kept)), np.stack([before_vectors[k] for k in kept]))
    assert after.info.generation == before_gen + 1


def test_remove_documents_reports_removed_and_missing(fake_index):
    removed, missing = remove_documents(fake_index, [SEED_IDS[4], "nope", SEED_IDS[4], SEED_IDS[0]])
    assert removed == [SEED_IDS[4], SEED_IDS[0]] and missing == ["nope"]
    store = open_store(fake_index)
    assert [d.doc_id for d in store.list_documents()] == SEED_IDS[1:4]
    assert store.info.chunks == sum(len(store.chunks_of(d)) for d in SEED_IDS[1:4])
    assert store.chunks_of(SEED_IDS[0]) == [] and not store.content_hashes([SEED_IDS[0], SEED_IDS[4]])


def test_removing_only_unknown_ids_changes_nothing(fake_index):
    before = open_store(fake_index).info
    assert remove_documents(fake_index, ["x", "y"]) == ([], ["x", "y"])
    assert open_store(fake_index).info == before


def test_remove_from_a_missing_index_is_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="rag ingest"):
        remove_documents(tmp_path / "none", ["a"])


def test_remove_from_a_missing_index_leaves_no_folder_behind(tmp_path):
    with pytest.raises(IndexNotFound, match="no index at"):
        remove_documents(tmp_path / "none", ["a"])
    assert not (tmp_path / "none").exists()


def test_manifest_records_hashes_model_chunker_and_version(fake_index, seeds_dir):
    from rag.ingest.loaders import load_documents

    m = json.loads((fake_index / MANIFEST).read_text(encoding="utf-8"))
    assert m["format"] == "rag-index" and m["format_version"] == FORMAT_VERSION
    assert m["embedding"] == {"model_id": "fake-embedder", "dim": 64, "max_tokens": 60}
    assert m["chunker"]["chunk_tokens"] == ChunkerSettings().chunk_tokens
    assert m["chunker"]["overlap_tokens"] == ChunkerSettings().overlap_tokens
    expected = {x.document.doc_id: content_hash(x.document) for x in load_documents([seeds_dir])}
    store = open_store(fake_index)
    assert store.content_hashes(expected) == expected
    assert all(d.chunks == len(store.chunks_of(d.doc_id)) for d in store.list_documents())


def test_duplicated_body_of_article_001_is_chunked_once(fake_index):
    store = open_store(fake_index)
    doc = store.get_documents([SEED_IDS[1]])[SEED_IDS[1]]
    sentence = "China and Russia are committed to sticking to the principle of no interference"
    first = doc.text.index(sentence)
    second = doc.text.index(sentence, first + 1)
    second_end = doc.text.index("\n", second)
    chunks = store.chunks_of(doc.doc_id)
    assert sum(c.text.count(sentence) for c in chunks) == 1
    assert sum(c.text.count("serious implications for the world") for c in chunks) == 1
    assert not [c for c in chunks if c.span.start < second_end and c.span.end > second]
    assert doc.date == "2023-11-10" and not any("Home »" in c.text for c in chunks)


def test_a_file_given_twice_is_ingested_once(tmp_path, seeds_dir, fake_embedder):
    report = ingest([seeds_dir, seeds_dir / f"{SEED_IDS[0]}.txt"], tmp_path / "idx", fake_embedder)
    assert report.added == SEED_IDS and report.replaced == []
    assert report.chunks_embedded == open_store(tmp_path / "idx").info.chunks


def test_settings_are_kept_and_checked(tmp_path, seeds_dir, fake_embedder):
    idx = tmp_path / "idx"
    ingest([seeds_dir], idx, fake_embedder, ChunkerSettings(30, 5))
    assert open_store(idx).info.chunker == ChunkerSettings(30, 5)
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
    before = open_store(fake_index).info

    class Broken(FakeEmbedder):
        def embed_batch(self, texts):
            raise RuntimeError("embedder crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        ingest([tmp_path / "new.txt"], fake_index, Broken())
    assert open_store(fake_index).info == before
    assert not open_store(fake_index).content_hashes(["new"])


def test_a_document_with_no_text_after_cleaning_is_skipped(tmp_path, fake_embedder):
    (tmp_path / "stamp.txt").write_text(" date 2023-11-10 Home » \n", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("A real article about owls. Owls hunt at night.", encoding="utf-8")
    report = ingest([tmp_path / "stamp.txt", tmp_path / "ok.txt"], tmp_path / "idx", fake_embedder)
    assert report.added == ["ok"]
    (skip,) = report.skipped
    assert skip.source.endswith("stamp.txt") and "no article text" in skip.reason


def test_the_index_lock_prevents_a_concurrent_writer(fake_index, seeds_dir, fake_embedder):
    with open_store(fake_index).writer():
        with pytest.raises(RagError, match="another process is writing"):
            ingest([seeds_dir], fake_index, fake_embedder)
        with pytest.raises(RagError, match="another process is writing"):
            remove_documents(fake_index, [SEED_IDS[0]])
    # released afterwards
    assert ingest([seeds_dir], fake_index, fake_embedder).unchanged == SEED_IDS
