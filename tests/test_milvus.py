"""Milvus-specific behaviour: locations, errors, crash safety on the server, ingest and migrate through it.

The protocol itself is tested against both stores in test_store_contract.py.
"""
from __future__ import annotations

import doctest
import importlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder, ScriptedLLM
from rag.chunking import ChunkerSettings
from rag.errors import IndexIncompatible, IndexNotFound, RagError
from rag.ingest import ingest, remove_documents
from rag.migrate import migrate
from rag.retrieve import Retriever
from rag.store import EmbeddingInfo, create_store, open_store
from rag.store.milvus import MilvusStore, parse_location
from rag.store.milvus_embedded import free_port
from rag.types import Chunk, Document, Span

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
EMB = FakeEmbedder()
INFO = EmbeddingInfo(EMB.model_id, EMB.dim, EMB.max_tokens)
QUESTIONS = ["Who is Xu Qiliang?", "When did Putin meet China's Defense Minister in Moscow?",
             "Which outlet published the article about Interaction-2022?", "What is the population of Russia?"]


@pytest.mark.parametrize("module", ["rag.store", "rag.store.bm25", "rag.store.milvus_bm25",
                                    "rag.store.milvus_client", "rag.store.milvus_schema"])
def test_docstring_examples(module):
    assert doctest.testmod(importlib.import_module(module)).failed == 0


@pytest.mark.parametrize("location, message", [
    ("milvus://127.0.0.1:19530", "lacks a host or a collection"),
    ("milvus://:19530/x", "lacks a host or a collection"),
    ("milvus://h:port/x", "'port', not a number"),
    ("milvus://h:1/9bad", "collection name '9bad'"),
    ("milvus://h:1/a-b", "collection name 'a-b'"),
])
def test_a_bad_location_names_what_is_wrong(location, message):
    with pytest.raises(ValueError, match=message):
        parse_location(location)


def test_a_server_that_is_down_is_one_line_naming_the_address(capsys):
    from rag.cli import main

    port = free_port()  # nothing listens there
    started = time.perf_counter()
    assert main(["list", "--index", f"milvus://127.0.0.1:{port}/seeds"]) == 1
    err = capsys.readouterr().err.strip()
    assert time.perf_counter() - started < 30
    assert len(err.splitlines()) == 1 and f"127.0.0.1:{port}" in err and "Traceback" not in err, err


def test_a_missing_index_on_a_live_server_is_not_found(milvus_server):
    with pytest.raises(IndexNotFound, match="rag ingest"):
        open_store(milvus_server.uri("no_such_index"))


def test_another_layout_version_is_refused(milvus_uri):
    from rag.store.milvus import _get_meta, _meta_row

    store = create_store(milvus_uri, INFO, ChunkerSettings())
    manifest = json.loads(_get_meta(store._client, store.where, "manifest"))
    store._rpc("upsert", collection_name=store._meta, data=[_meta_row("manifest", {**manifest, "format_version": 99})])
    with pytest.raises(IndexIncompatible, match="version 99"):
        open_store(milvus_uri)
    store.close()


def test_ingest_skips_unchanged_documents_and_remove_deletes(milvus_uri, tmp_path):
    report = ingest([SEEDS], milvus_uri, EMB)
    assert len(report.added) == 5 and report.chunks_embedded > 5
    again = ingest([SEEDS], milvus_uri, EMB)
    assert len(again.unchanged) == 5 and again.chunks_embedded == 0 and not again.added
    changed = tmp_path / "004_4f88f7a8625b6b03.txt"
    changed.write_text((SEEDS / "004_4f88f7a8625b6b03.txt").read_text() + "\nA new closing line.", encoding="utf-8")
    assert ingest([changed], milvus_uri, EMB).replaced == ["004_4f88f7a8625b6b03"]
    removed, missing = remove_documents(milvus_uri, ["000_d9ac26facaa1f05c", "nope"])
    assert (removed, missing) == (["000_d9ac26facaa1f05c"], ["nope"])
    store = open_store(milvus_uri)
    assert store.info.documents == 4 and "000_d9ac26facaa1f05c" not in {d.doc_id for d in store.list_documents()}
    store.close()


KILLED_WRITER = """
import os, sys
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
from rag.store import open_store
from rag.types import Chunk, Document, Span
store = open_store({uri!r})
e = FakeEmbedder()
with store.writer() as w:
    w.remove(["a"])
    w.put(Document("z", "Zebras run."), [Chunk("z:0", "z", "Zebras run.", Span(0, 11))], e.embed_batch(["Zebras run."]))
    os._exit(9)  # dies mid-write: no commit, no cleanup, the lock row left behind
"""


def _one_doc(doc_id: str, text: str):
    return Document(doc_id, text, content_hash="h" + doc_id), [Chunk(f"{doc_id}:0", doc_id, text, Span(0, len(text)))], \
        EMB.embed_batch([text])


def test_a_writer_killed_mid_write_leaves_the_last_good_index(milvus_uri):
    store = create_store(milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze."))
    code = subprocess.run([sys.executable, "-c", KILLED_WRITER.format(tests=str(ROOT / "tests"), uri=milvus_uri)],
                          cwd=ROOT, timeout=300).returncode
    assert code == 9
    assert [d.doc_id for d in store.list_documents()] == ["a"] and store.lexical_search("zebras", 3) == []
    with store.writer() as w:  # the dead process's lock is taken over, its rows deleted
        w.put(*_one_doc("b", "Bears fish."))
    assert [d.doc_id for d in store.list_documents()] == ["a", "b"] and store.info.chunks == 2
    assert store.lexical_search("zebras", 3) == [] and store.get_chunks(["z:0"]) == {}
    store.close()


def test_a_removal_cut_short_after_the_switch_is_hidden_then_finished(milvus_uri, monkeypatch):
    store = create_store(milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze."))
        w.put(*_one_doc("b", "Bears fish."))

    def crash(self, state):
        if state.get("removing"):
            raise KeyboardInterrupt  # the state row says "removing a", the rows of a are still there
    monkeypatch.setattr(MilvusStore, "_finish_removal", crash)
    with pytest.raises(KeyboardInterrupt):
        with store.writer() as w:
            w.remove(["a"])
    assert [d.doc_id for d in store.list_documents()] == ["b"] and store.lexical_search("antelopes", 3) == []
    assert store.get_chunks(["a:0"]) == {} and store.info.documents == 1
    monkeypatch.undo()
    with store.writer():
        pass  # the next writer finishes the deletion
    assert store._state()["removing"] is None
    assert store._rpc("query", collection_name=store._chunks, filter='doc_id == "a"', output_fields=["pk"],
                      consistency_level="Strong") == []
    store.close()


def test_bm25_follows_the_server_and_scores_as_the_folder_does(milvus_uri, tmp_path, monkeypatch):
    """Each client's BM25 cache (rag/store/milvus_bm25.py): the same scores as the index folder; another client's
    additions and removals show in the next search; deleting the cache loses nothing."""
    monkeypatch.setattr("rag.store.milvus_bm25.APPLY_ROWS", 2)  # several batches and fetches per sync
    monkeypatch.setattr("rag.store.milvus_bm25.FETCH_IDS", 1)
    docs = [_one_doc("a", "Antelopes graze on the plain."), _one_doc("b", "Bears fish for salmon in the river."),
            _one_doc("c", "Salmon swim up the river to spawn, and bears wait.")]
    reader, folder = create_store(milvus_uri, INFO, ChunkerSettings()), create_store(tmp_path / "f", INFO,
                                                                                      ChunkerSettings())
    for store in (reader, folder):
        with store.writer() as w:
            for d in docs:
                w.put(*d)
    for q in ["salmon river", "antelopes", "Do bears fish for salmon?"]:
        there, here = reader.lexical_search(q, 5), folder.lexical_search(q, 5)
        assert [h.chunk_id for h in there] == [h.chunk_id for h in here] and there
        assert [h.score for h in there] == pytest.approx([h.score for h in here], rel=1e-6)
    folder.close()
    other = open_store(milvus_uri)
    with other.writer() as w:
        w.remove(["a"])
        w.put(*_one_doc("d", "Zebras graze beside antelopes."))
    other.close()
    assert [h.chunk_id for h in reader.lexical_search("antelopes", 3)] == ["d:0"]
    assert [h.chunk_id for h in reader.lexical_search("zebras", 3)] == ["d:0"]
    cache = reader._lexical.folder
    reader.close()
    shutil.rmtree(cache)
    again = open_store(milvus_uri)
    assert {h.chunk_id for h in again.lexical_search("antelopes salmon", 5)} == {"d:0", "b:0", "c:0"}
    assert cache.exists()
    again.close()


def test_the_engines_warm_up_builds_the_bm25_cache_before_the_first_question(milvus_uri):
    from rag.engine import Engine

    store = create_store(milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze."))
    built = store._lexical.folder / "rows.sqlite"
    assert not built.exists()
    Engine(store, EMB, ScriptedLLM(["x"])).warm_up(sentences=0)
    assert built.exists()
    store.close()


def test_a_new_index_in_the_same_collection_does_not_inherit_the_bm25_cache(milvus_index, monkeypatch):
    monkeypatch.setattr("rag.store.milvus._now", lambda: "2026-01-01T00:00:00Z")  # both created in one second
    uri = milvus_index("bm25_cache_reuse")
    old = create_store(uri, INFO, ChunkerSettings())
    with old.writer() as w:
        w.put(*_one_doc("z", "Zebras run."))
    assert old.lexical_search("zebras", 3)  # cached at generation 1
    old.close()
    uri = milvus_index("bm25_cache_reuse")  # that index forgotten: its collections now hold a new one
    new = create_store(uri, INFO, ChunkerSettings())
    with new.writer() as w:
        w.put(*_one_doc("g", "Goats climb."))  # generation 1 again
    assert new.lexical_search("zebras", 3) == [] and [h.chunk_id for h in new.lexical_search("goats", 3)] == ["g:0"]
    new.close()


def _retrieved(location, questions=QUESTIONS):
    store = open_store(location)
    retriever = Retriever(store, EMB)
    try:
        return [[(p.chunk.chunk_id, round(p.score, 4)) for p in retriever.retrieve(q, 5)] for q in questions]
    finally:
        store.close()


def test_migrate_copies_both_ways_without_loss(tmp_path, milvus_uri):
    folder = tmp_path / "faiss"
    ingest([SEEDS], folder, EMB)
    there = migrate(folder, milvus_uri)
    back = migrate(milvus_uri, tmp_path / "back")
    assert (there.documents, back.documents) == (5, 5) and there.chunks == back.chunks > 5
    stores = [open_store(x) for x in (folder, milvus_uri, tmp_path / "back")]
    try:
        infos = [s.info for s in stores]
        assert len({(i.documents, i.chunks, i.embedding, i.chunker) for i in infos}) == 1
        ids = [c.chunk_id for d in stores[0].list_documents() for c in stores[0].chunks_of(d.doc_id)]
        for s in stores[1:]:
            assert s.get_documents(d.doc_id for d in s.list_documents()) == \
                stores[0].get_documents(d.doc_id for d in stores[0].list_documents())
            assert s.get_chunks(ids) == stores[0].get_chunks(ids)
            np.testing.assert_array_equal(s.get_vectors(ids), stores[0].get_vectors(ids))
    finally:
        for s in stores:
            s.close()
    assert _retrieved(milvus_uri) == _retrieved(folder) == _retrieved(tmp_path / "back")
    assert migrate(folder, milvus_uri).unchanged == 5  # a rerun copies nothing


def test_migrate_refuses_a_destination_of_another_model(tmp_path, milvus_uri):
    ingest([SEEDS], tmp_path / "faiss", EMB)
    create_store(milvus_uri, EmbeddingInfo("other-model", EMB.dim, EMB.max_tokens), ChunkerSettings()).close()
    with pytest.raises(IndexIncompatible, match="other-model"):
        migrate(tmp_path / "faiss", milvus_uri)
    with pytest.raises(RagError, match="same index"):
        migrate(tmp_path / "faiss", tmp_path / "faiss")
