"""Milvus-specific behaviour: locations, errors, crash safety on the server, ingest and migrate through it, on
the Milvus 2.3 server (BM25 from the client's cache) and on Milvus Lite 2.5 (BM25 on the engine), as a file
and as a server.

The protocol itself is tested against every store in test_store_contract.py.
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
from rag.types import ChunkerSettings
from rag.errors import IndexIncompatible, IndexNotFound, RagError
from rag.ingest.pipeline import ingest, remove_documents
from rag.store.migrate import migrate
from rag.retrieve.retriever import Retriever
from rag.store import EmbeddingInfo, create_store, open_store
from rag.store.milvus.rows import IndexRows
from rag.store.milvus.store import MilvusStore, parse_location
from bench.milvus_embedded import free_port
from rag.types import Chunk, Document, Span

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
EMB = FakeEmbedder()
INFO = EmbeddingInfo(EMB.model_id, EMB.dim, EMB.max_tokens)
QUESTIONS = ["Who is Xu Qiliang?", "When did Putin meet China's Defense Minister in Moscow?",
             "Which outlet published the article about Interaction-2022?", "What is the population of Russia?"]


@pytest.mark.parametrize("module", ["rag.store", "rag.store.terms", "rag.store.milvus.bm25",
                                    "rag.store.milvus.client", "rag.store.milvus.schema"])
def test_docstring_examples(module):
    assert doctest.testmod(importlib.import_module(module)).failed == 0


@pytest.mark.parametrize("location, message", [
    ("milvus://127.0.0.1:19530", "lacks a host or a collection"),
    ("milvus://:19530/x", "lacks a host or a collection"),
    ("milvus://h:port/x", "'port', not a number"),
    ("milvus://h:1/9bad", "collection name '9bad'"),
    ("milvus://h:1/a-b", "collection name 'a-b'"),
    ("milvus-lite://indexes/news.db", "milvus-lite:PATH.db for a file relative"),
    ("milvus-lite:indexes/news", "file name ending in .db"),
    ("milvus-lite:indexes/news.db?coll=x", "has 'coll=x'"),
    ("milvus-lite:indexes/news.db?collection=9x", "collection name '9x'"),
])
def test_a_bad_location_names_what_is_wrong(location, message):
    with pytest.raises(ValueError, match=message):
        parse_location(location)


def test_a_server_that_is_down_is_one_line_naming_the_address(capsys):
    from cli.main import main

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
    store = create_store(milvus_uri, INFO, ChunkerSettings())
    manifest = json.loads(store.rows.get_meta("manifest"))
    store.rows.put_meta("manifest", {**manifest, "format_version": 99})
    with pytest.raises(IndexIncompatible, match="version 99"):
        open_store(milvus_uri)
    store.close()


def test_an_index_with_the_old_title_words_field_keeps_working(any_milvus_uri, monkeypatch):
    """Indexes made before issue 21 have a title_words array in their docs collection; writes fill it empty."""
    from pymilvus import DataType, MilvusClient

    create = MilvusClient.create_collection

    def with_title_words(self, name, schema=None, **kwargs):
        if name.endswith("__docs"):
            schema.add_field("title_words", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=512,
                             max_length=256)
        return create(self, name, schema=schema, **kwargs)

    MilvusStore.drop(any_milvus_uri)  # the module's collections, made without the field
    monkeypatch.setattr(MilvusClient, "create_collection", with_title_words)
    store = create_store(any_milvus_uri, INFO, ChunkerSettings())
    monkeypatch.undo()
    store.close()
    try:
        store = open_store(any_milvus_uri)
        assert store.layout.title_words
        with store.writer() as w:
            w.put(*_one_doc("a", "Antelopes graze on the plain."))
        with store.writer() as w:
            w.remove(["a"])
            w.put(*_one_doc("b", "Bears fish for salmon."))
        assert [d.doc_id for d in store.list_documents()] == ["b"]
        assert [h.chunk_id for h in store.lexical_search("bears", 3)] == ["b:0"]
        store.close()
    finally:
        MilvusStore.drop(any_milvus_uri)  # the next tests make their collections anew


def test_milvus_lite_locations_read_as_file_paths(tmp_path):
    where = parse_location("milvus-lite:indexes/news.db")
    assert (where.collection, where.path) == ("news", str(Path("indexes/news.db").absolute()))
    assert parse_location("milvus-lite:///srv/a.db?collection=b").uri == "milvus-lite:/srv/a.db?collection=b"
    assert parse_location(str(Path("milvus-lite:///srv/a.db"))) == parse_location("milvus-lite:///srv/a.db")
    with pytest.raises(IndexNotFound, match="rag ingest"):
        open_store(f"milvus-lite:{tmp_path}/none.db")


def test_ingest_skips_unchanged_documents_and_remove_deletes(any_milvus_uri, tmp_path):
    milvus_uri = any_milvus_uri
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


def test_a_writer_killed_mid_write_leaves_the_last_good_index(shared_milvus_uri):
    milvus_uri = shared_milvus_uri
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


def test_a_removal_cut_short_after_the_switch_is_hidden_then_finished(any_milvus_uri, monkeypatch):
    milvus_uri = any_milvus_uri
    store = create_store(milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze."))
        w.put(*_one_doc("b", "Bears fish."))

    def crash(self, state):
        if state.get("removing"):
            raise KeyboardInterrupt  # the state row says "removing a", the rows of a are still there
    monkeypatch.setattr(IndexRows, "finish_removal", crash)
    with pytest.raises(KeyboardInterrupt):
        with store.writer() as w:
            w.remove(["a"])
    assert [d.doc_id for d in store.list_documents()] == ["b"] and store.lexical_search("antelopes", 3) == []
    assert store.get_chunks(["a:0"]) == {} and store.info.documents == 1
    monkeypatch.undo()
    with store.writer():
        pass  # the next writer finishes the deletion
    assert store.rows.state()["removing"] is None
    assert store.rows.rpc("query", collection_name=store.rows.chunks, filter='doc_id == "a"', output_fields=["pk"],
                          consistency_level="Strong") == []
    store.close()


def test_bm25_follows_the_server_and_scores_as_the_folder_does(milvus_uri, tmp_path, monkeypatch):
    """Each client's BM25 cache (rag/store/milvus/bm25.py): the same scores as the index folder; another client's
    additions and removals show in the next search; deleting the cache loses nothing."""
    monkeypatch.setattr("rag.store.milvus.bm25.APPLY_ROWS", 2)  # several batches and fetches per sync
    monkeypatch.setattr("rag.store.milvus.bm25.FETCH_IDS", 1)
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
    from rag.answer.engine import Engine

    store = create_store(milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze."))
    built = store._lexical.folder / "rows.sqlite"
    assert not built.exists()
    Engine(store, EMB, ScriptedLLM(["x"])).warm_up(sentences=0)
    assert built.exists()
    store.close()


def test_a_new_index_in_the_same_collection_does_not_inherit_the_bm25_cache(milvus_index, monkeypatch):
    monkeypatch.setattr("rag.store.milvus.store.utc_now", lambda: "2026-01-01T00:00:00Z")  # both created in one second
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


def test_migrate_copies_both_ways_without_loss(tmp_path, any_milvus_uri):
    milvus_uri = any_milvus_uri
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
    assert _retrieved(folder) == _retrieved(tmp_path / "back")
    if "lite" in milvus_uri:  # BM25 scored by the engine, on exact chunk lengths (tantivy: a one-byte code): near
        # ties may swap places, the passages are the same
        assert [sorted(x) for x in _retrieved(milvus_uri)] == [sorted(x) for x in _retrieved(folder)]
    else:
        assert _retrieved(milvus_uri) == _retrieved(folder)
    assert migrate(folder, milvus_uri).unchanged == 5  # a rerun copies nothing


def test_migrate_refuses_a_destination_of_another_model(tmp_path, milvus_uri):
    ingest([SEEDS], tmp_path / "faiss", EMB)
    create_store(milvus_uri, EmbeddingInfo("other-model", EMB.dim, EMB.max_tokens), ChunkerSettings()).close()
    with pytest.raises(IndexIncompatible, match="other-model"):
        migrate(tmp_path / "faiss", milvus_uri)
    with pytest.raises(RagError, match="same index"):
        migrate(tmp_path / "faiss", tmp_path / "faiss")


def test_the_bm25_layout_follows_the_engine(any_milvus_uri, capsys, monkeypatch):
    """Milvus >= 2.5 (here Milvus Lite): BM25 on the engine, no cache; 2.3: the client's cache, said in one line."""
    monkeypatch.setattr("rag.store.milvus.store._NOTICED", set())
    store = create_store(any_milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze on the plain."))
        w.put(*_one_doc("b", "Bears fish for salmon."))
    assert [h.chunk_id for h in store.lexical_search("Which antelopes graze?", 3)] == ["a:0"]
    err = capsys.readouterr().err
    if "lite" not in any_milvus_uri:  # the 2.3 server
        assert store.info.format_version == 1 and store._lexical.folder.exists()
        assert len(err.splitlines()) == 1 and "no full-text search" in err and "cache" in err, err
    else:
        assert store.info.format_version == 2 and store._lexical is None and err == ""
        fields = {f["name"] for f in store.rows.rpc("describe_collection", collection_name=store.rows.chunks)["fields"]}
        assert {"bm25_text", "bm25"} <= fields and "terms" not in fields
    store.close()


WRITER_WAITING = """
import os, sys, time
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
from rag.store import open_store
from rag.types import Chunk, Document, Span
store = open_store({uri!r})
text = "Zebras run across the savanna."
with store.writer() as w:
    w.put(Document("z", text), [Chunk("z:0", "z", text, Span(0, len(text)))], FakeEmbedder().embed_batch([text]))
    open({written!r}, "w").close()
    while not os.path.exists({go!r}):
        time.sleep(0.05)
store.close()
"""


def test_a_writer_and_a_reader_at_once(shared_milvus_uri, tmp_path):
    """Another process writes while this one reads: nothing of the write shows before its commit, all of it after."""
    store = create_store(shared_milvus_uri, INFO, ChunkerSettings())
    with store.writer() as w:
        w.put(*_one_doc("a", "Antelopes graze."))
    written, go = tmp_path / "written", tmp_path / "go"
    child = subprocess.Popen([sys.executable, "-c", WRITER_WAITING.format(
        tests=str(ROOT / "tests"), uri=shared_milvus_uri, written=str(written), go=str(go))], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not written.exists():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert store.lexical_search("zebras savanna", 3) == [] and store.get_chunks(["z:0"]) == {}
        assert [h.chunk_id for h in store.dense_search(EMB.embed_batch(["Zebras run across the savanna."]), 3)[0]] \
            == ["a:0"] and store.info.documents == 1
        go.touch()
        assert child.wait(timeout=120) == 0
    finally:
        child.kill()
    assert [h.chunk_id for h in store.lexical_search("zebras savanna", 3)] == ["z:0"]
    assert store.info.documents == 2 and store.get_chunks(["z:0"])
    store.close()


KILLED_INGEST = """
import os, sys
sys.path.insert(0, {tests!r})
import importlib
from fakes import FakeEmbedder
run = importlib.import_module("rag.ingest.pipeline")
run.COMMIT_CHUNKS, run.EMBED_GROUP = 4, 4

class Dying(FakeEmbedder):
    calls = 0
    def embed_batch(self, texts):
        Dying.calls += 1
        if Dying.calls == 4:
            os._exit(9)  # mid-ingest: after some commits, with rows written since the last one
        return super().embed_batch(texts)

run.ingest([{seeds!r}], {uri!r}, Dying())
"""


def test_an_ingest_killed_mid_run_on_milvus_lite_resumes(tmp_path):
    """A Milvus Lite file: the process that dies takes its server with it; the next run sees only whole committed
    documents, and the same command resumes and ends with the index a clean run makes."""
    uri = f"milvus-lite:{tmp_path}/news.db"
    code = subprocess.run([sys.executable, "-c", KILLED_INGEST.format(tests=str(ROOT / "tests"), seeds=str(SEEDS),
                                                                       uri=uri)], cwd=ROOT, timeout=300).returncode
    assert code == 9
    ingest([SEEDS], tmp_path / "folder", EMB)
    folder = open_store(tmp_path / "folder")
    store = open_store(uri)
    kept = [d.doc_id for d in store.list_documents()]
    assert 0 < len(kept) < 5
    assert sum(len(store.chunks_of(d)) for d in kept) == store.info.chunks
    for d in kept:
        assert store.chunks_of(d) == folder.chunks_of(d)
    others = [c.chunk_id for d in folder.list_documents() if d.doc_id not in kept for c in folder.chunks_of(d.doc_id)]
    assert store.get_chunks(others) == {} and store.lexical_search("Xu Qiliang Putin Moscow", 50)
    assert {h.chunk_id.split(":")[0] for h in store.lexical_search("Xu Qiliang Putin Moscow China", 50)} <= set(kept)
    store.close()
    report = ingest([SEEDS], uri, EMB)
    assert sorted(report.unchanged) == sorted(kept) and len(report.added) == 5 - len(kept)
    store = open_store(uri)
    ids = [c.chunk_id for d in folder.list_documents() for c in folder.chunks_of(d.doc_id)]
    assert store.info.chunks == folder.info.chunks and store.get_chunks(ids) == folder.get_chunks(ids)
    store.close()
    folder.close()


def test_a_milvus_lite_file_open_in_another_process_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("rag.store.milvus.client.LITE_START_S", 1)
    uri = f"milvus-lite:{tmp_path}/held.db"
    create_store(uri, INFO, ChunkerSettings()).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); "
                               f"from rag.store import open_store; s = open_store({uri!r}); print('open', flush=True); "
                               "time.sleep(60)"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(RagError, match="another process has it open"):
            open_store(uri)
    finally:
        holder.kill()
        holder.wait()
