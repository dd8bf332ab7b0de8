"""The index folder (rag/store/folder/store.py): round trip, manifest checks, atomic writes, crash recovery, size."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder
from rag.types import ChunkerSettings
from rag.errors import IndexCorrupt, IndexIncompatible, IndexNotFound, RagError
from rag.store import Store, create_store, open_store, store_exists
from rag.store.folder import dense as dense_mod
from rag.store.folder import store as local_mod
from rag.store.fulltext import FullText
from rag.store.folder.store import DB, FORMAT_VERSION, MANIFEST, LocalStore
from rag.types import Chunk, Document
from test_store_contract import EMB, INFO, make_doc, put  # documents made the same way as the contract's

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path) -> LocalStore:
    s = create_store(tmp_path / "idx", INFO, ChunkerSettings(50, 10))
    put(s, make_doc("a", ["Boats sail on the river.", "The river is wide. Fish swim."]),
        make_doc("b", ["Goats climb the mountain.", "Snow falls on peaks."], outlet="The Herald"),
        make_doc("c", ["Foxes hunt in the desert at night."], title="Desert Foxes At Night", date="2023-05-06"))
    return s


def test_the_folder_store_says_what_to_do(store):
    """The folder's own wording (the behaviour itself is in the contract suite, run on this store too)."""
    with pytest.raises(RagError, match="already exists"):
        create_store(store.path, INFO, ChunkerSettings())
    with pytest.raises(IndexIncompatible, match="rag ingest"):
        open_store(store.path, expect_model_id="other-model")
    other = open_store(store.path)
    with store.writer() as w:
        with pytest.raises(RagError, match="another process is writing"):
            with other.writer():
                pass
        w.remove(["c"])
    assert open_store(store.path).info.generation == 2  # each commit is a new generation

def all_chunks(s: Store) -> dict[str, Chunk]:
    return {c.chunk_id: c for d in s.list_documents() for c in s.chunks_of(d.doc_id)}


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(str(path / DB))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# ---- round trip -----------------------------------------------------------------------------------
def test_the_folder_records_its_format_version(store):
    """The round trip itself is the contract suite's (run on this store too)."""
    assert open_store(store.path, expect_model_id=EMB.model_id).info.format_version == FORMAT_VERSION


# ---- manifest checks --------------------------------------------------------------------------------
def manifest_of(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def write_manifest(path: Path, manifest: dict) -> None:
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, None])
def test_an_unknown_format_version_is_incompatible(store, version):
    write_manifest(store.path, {**manifest_of(store.path), "format_version": version})
    with pytest.raises(IndexIncompatible, match=f"format version {version}"):
        open_store(store.path)


def test_a_manifest_of_another_format_is_incompatible(store):
    write_manifest(store.path, {**manifest_of(store.path), "format": "something-else"})
    with pytest.raises(IndexIncompatible, match="not a rag-index manifest"):
        open_store(store.path)


def test_missing_folder_or_manifest_is_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="rag ingest") as e:
        open_store(tmp_path / "nowhere")
    assert isinstance(e.value, RagError) and not store_exists(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(IndexNotFound, match="not an index"):
        open_store(tmp_path)


@pytest.mark.parametrize("garbage", ["{not json", "", '{"format": "rag-index"'])
def test_unreadable_manifest_is_corrupt(store, garbage):
    (store.path / MANIFEST).write_text(garbage, encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        open_store(store.path)


@pytest.mark.parametrize("embedding", [{}, "garbage"])
def test_a_malformed_embedding_entry_is_corrupt(store, embedding):
    write_manifest(store.path, {**manifest_of(store.path), "embedding": embedding})
    with pytest.raises(IndexCorrupt):
        open_store(store.path)


def test_a_missing_or_garbled_database_is_corrupt(store):
    store.close()
    (store.path / DB).write_bytes(b"this is not a database" * 100)
    for p in store.path.glob(DB + "-*"):
        p.unlink()
    with pytest.raises(IndexCorrupt, match="damaged"):
        open_store(store.path)
    (store.path / DB).unlink()
    with pytest.raises(IndexCorrupt, match=f"{DB} is missing"):
        open_store(store.path)


# ---- old format: refusal and upgrade ------------------------------------------------------------------
def write_v1_index(path: Path) -> list[tuple[Document, list[Chunk], np.ndarray]]:
    """An index as version 1 wrote it: JSON Lines, one FAISS file, a manifest naming them."""
    import faiss

    docs = [make_doc("a", ["Boats sail on the river.", "Fish swim."]), make_doc("b", ["Goats climb the mountain."])]
    path.mkdir(parents=True)
    with open(path / "documents.3.jsonl", "w", encoding="utf-8") as f:
        for d, _, _ in docs:
            f.write(json.dumps(d.__dict__) + "\n")
    with open(path / "chunks.3.jsonl", "w", encoding="utf-8") as f:
        for _, chunks, _ in docs:
            for c in chunks:
                f.write(json.dumps({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "text": c.text,
                                    "span": [c.span.start, c.span.end],
                                    "sentences": [[s.start, s.end] for s in c.sentences]}) + "\n")
    flat = faiss.IndexFlatIP(EMB.dim)
    flat.add(np.vstack([v for _, _, v in docs]))
    faiss.write_index(flat, str(path / "vectors.3.faiss"))
    write_manifest(path, {"format": "rag-index", "format_version": 1, "generation": 3, "embedding": INFO.__dict__,
                          "chunker": ChunkerSettings(50, 10).to_dict(),
                          "files": {"documents": "documents.3.jsonl", "chunks": "chunks.3.jsonl",
                                    "vectors": "vectors.3.faiss"}})
    return docs


def test_a_version_1_index_is_refused_with_the_upgrade_command(tmp_path):
    write_v1_index(tmp_path / "old")
    with pytest.raises(IndexIncompatible, match=r"format version 1 .*rag upgrade --index"):
        open_store(tmp_path / "old")


def test_upgrade_keeps_documents_chunks_and_vectors(tmp_path):
    from cli.main import main

    docs = write_v1_index(tmp_path / "old")
    assert main(["upgrade", "--index", str(tmp_path / "old")]) == 0
    store = open_store(tmp_path / "old", expect_model_id=EMB.model_id)
    for doc, chunks, vectors in docs:
        assert store.get_documents([doc.doc_id])[doc.doc_id] == doc
        assert store.chunks_of(doc.doc_id) == chunks
        np.testing.assert_array_equal(store.get_vectors([c.chunk_id for c in chunks]), vectors)
    assert store.lexical_search("goats", 1)[0].chunk_id == "b:0"
    assert not list((tmp_path / "old").glob("*.jsonl")) and not (tmp_path / "old" / ".upgrade").exists()
    with pytest.raises(IndexIncompatible, match="only version 1"):
        main_upgrade(tmp_path / "old")


def main_upgrade(path):
    from rag.store.folder.upgrade import upgrade

    return upgrade(path)


def test_an_interrupted_upgrade_leaves_the_version_1_index(tmp_path, monkeypatch):
    from rag.store.folder import upgrade as upgrade_mod

    write_v1_index(tmp_path / "old")
    before = manifest_of(tmp_path / "old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(upgrade_mod, "atomic_write", boom)
    with pytest.raises(KeyboardInterrupt):
        main_upgrade(tmp_path / "old")
    assert manifest_of(tmp_path / "old") == before
    monkeypatch.undo()
    assert "upgraded" in main_upgrade(tmp_path / "old")  # a rerun finishes the job
    assert open_store(tmp_path / "old").info.documents == 2


# ---- the BM25 terms ---------------------------------------------------------------------------------
def test_questions_and_titles_meet_on_the_same_terms(store):
    put(store, make_doc("m", ["Editors met readers in the newsroom."], title="The Moscow Times"))
    assert store.lexical_search("Which newspaper is The Moscow Times?", 1)[0].chunk_id == "m:0"
    assert store.lexical_search("Which newsrooms did editors meet?", 1)[0].chunk_id == "m:0"


# ---- atomic writes and crashes ----------------------------------------------------------------------------
def test_a_crash_before_the_fulltext_sync_is_repaired_on_open(store, monkeypatch):
    def crash(self, delete, add):
        raise KeyboardInterrupt  # the process dies after the SQLite commit, before tantivy has the chunks

    monkeypatch.setattr(FullText, "apply", crash)
    with pytest.raises(KeyboardInterrupt):
        put(store, make_doc("z", ["Zebras graze near the lake."]))
    monkeypatch.undo()
    assert sqlite_rows(store.path, "SELECT count(*) FROM fulltext_todo") == [(1,)]
    reopened = open_store(store.path)  # sees the unsynced chunks and gives them to tantivy
    assert reopened.lexical_search("zebras", 1)[0].chunk_id == "z:0"
    assert sqlite_rows(store.path, "SELECT count(*) FROM fulltext_todo") == [(0,)]


KILLED_INGEST = """
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from fakes import FakeEmbedder
import importlib
ingest_mod = importlib.import_module("rag.ingest.pipeline")

class Slow(FakeEmbedder):
    def embed_batch(self, texts):
        if len(self.calls) > 2:
            print("committed", flush=True)
            time.sleep(60)
        return super().embed_batch(texts)

ingest_mod.EMBED_GROUP = 4
ingest_mod.COMMIT_CHUNKS = 4
ingest_mod.ingest([{src!r}], {idx!r}, Slow())
"""


def test_a_killed_ingest_leaves_a_good_index_and_a_rerun_resumes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for n in range(12):
        (src / f"doc{n:02d}.txt").write_text(f"Article {n} about topic {n}. " * 6 + f"Number {n} closes it.",
                                            encoding="utf-8")
    idx = tmp_path / "idx"
    code = KILLED_INGEST.format(root=str(ROOT), tests=str(ROOT / "tests"), src=str(src), idx=str(idx))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "committed"
        time.sleep(0.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = open_store(idx)
    done = [d.doc_id for d in store.list_documents()]
    assert 0 < len(done) < 12
    for d in done:
        assert store.chunks_of(d) and store.dense_search(store.get_vectors([f"{d}:0"]), 1)[0][0].chunk_id == f"{d}:0"
    from rag.ingest.pipeline import ingest

    report = ingest([src], idx, FakeEmbedder())
    assert sorted(report.unchanged) == done and len(report.added) == 12 - len(done)
    assert open_store(idx).info.documents == 12


# ---- at size: the FAISS file, incremental writes ----------------------------------------------------------------
def bulk(n_docs: int, per_doc: int = 3, seed: int = 0, prefix: str = "d"):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(400)]
    for n in range(n_docs):
        sentences = [" ".join(rng.choice(words, 12)) + "." for _ in range(per_doc)]
        yield make_doc(f"{prefix}{n:05d}", sentences)


def exact_top(store: Store, q: np.ndarray, k: int) -> list[list[str]]:
    chunks = list(all_chunks(store))
    scores = q @ store.get_vectors(chunks).T
    return [[chunks[i] for i in np.argsort(-row, kind="stable")[:k]] for row in scores]


def test_at_size_the_faiss_file_is_built_and_writes_stay_incremental(tmp_path, monkeypatch):
    monkeypatch.setattr(local_mod, "DELTA_MAX", 500)
    monkeypatch.setattr(dense_mod, "EXACT_MAX", 1_000)  # so that a few thousand chunks take the IVF path
    store = create_store(tmp_path / "big", INFO, ChunkerSettings(50, 10))
    with store.writer() as w:
        for d in bulk(1_000):
            w.put(*d)
    store.optimize()
    name = manifest_files(store.path)
    assert len(name) == 1 and store.info.chunks == 3_000
    base = dense_mod.read(store.path / name[0])
    assert dense_mod.kind_of(base) == "ivf" and base.ntotal == 3_000

    q = EMB.embed_batch([" ".join(f"w{i}" for i in range(j, j + 12)) for j in range(0, 400, 20)])
    monkeypatch.setattr(base, "nprobe", base.nlist)  # every list scanned: exactly the exact search's answers
    store.dense_base.nprobe = base.nlist
    found = store.dense_search(q, 10)
    assert [[h.chunk_id for h in hits] for hits in found] == exact_top(store, q, 10)
    for row, hits in enumerate(found):  # L2 distances turned back into cosines
        cosines = store.get_vectors([h.chunk_id for h in hits]) @ q[row]
        np.testing.assert_allclose([h.score for h in hits], cosines, atol=1e-4)

    ids_before = dict(sqlite_rows(store.path, "SELECT chunk_id, id FROM chunks"))
    with store.writer() as w:  # add 20 documents, remove 10, replace 5
        for d in bulk(20, seed=1, prefix="new"):
            w.put(*d)
        w.remove([f"d{n:05d}" for n in range(10)])
        for n in range(100, 105):
            w.put(*make_doc(f"d{n:05d}", [f"Replaced text number {n}."]))
    store.optimize()  # under the thresholds: the FAISS file stays as it is
    assert manifest_files(store.path) == name
    ids_after = dict(sqlite_rows(store.path, "SELECT chunk_id, id FROM chunks"))
    untouched = {c for c in ids_before if not c.startswith(("d0000", "d0010"))}
    assert all(ids_after[c] == ids_before[c] for c in untouched)  # other rows were not rewritten
    assert store.info.chunks == 3_000 + 60 - 30 - 15 + 5
    assert store.chunks_of("d00100")[0].text == "Replaced text number 100."
    assert store.dense_search(EMB.embed_batch(["Replaced text number 100."]), 1)[0][0].chunk_id == "d00100:0"

    removed = EMB.embed_batch([c.text for c in bulk_chunks(10)])
    assert not any(h.chunk_id.startswith("d0000") for hits in store.dense_search(removed, 5) for h in hits)
    new_q = EMB.embed_batch([c.text for _, cs, _ in bulk(20, seed=1, prefix="new") for c in cs[:1]])
    assert [hits[0].chunk_id for hits in store.dense_search(new_q, 1)] == [f"new{n:05d}:0" for n in range(20)]
    assert store.lexical_search(bulk_chunks(1, seed=1, prefix="new")[0].text, 1)[0].chunk_id == "new00000:0"

    monkeypatch.setattr(local_mod, "DELTA_MAX", 10)
    store.optimize()  # over the threshold now: rebuilt, removed chunks gone from the file
    (rebuilt,) = manifest_files(store.path)
    assert rebuilt != name[0] and dense_mod.read(store.path / rebuilt).ntotal == store.info.chunks


def bulk_chunks(n: int, seed: int = 0, prefix: str = "d") -> list[Chunk]:
    return [c for _, cs, _ in bulk(n, seed=seed, prefix=prefix) for c in cs]


def manifest_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.glob("dense.*.faiss"))


def test_nothing_is_pickled(fake_index):
    import faiss

    names = {p.name for p in fake_index.iterdir() if p.name != ".lock"}
    assert {MANIFEST, DB, "fulltext"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".npy", ".npz")) for n in names)
    for p in fake_index.rglob("*"):
        if p.is_file():
            assert not p.read_bytes()[:2].startswith(b"\x80"), p  # pickle protocol 2+ header
    for p in fake_index.glob("dense.*.faiss"):
        assert faiss.read_index(str(p)).ntotal > 0
