"""The store protocol, the same tests for every implementation: the index folder, a real Milvus 2.3 server (BM25
from the client's cache) and a Milvus Lite 2.5 file (BM25 on the engine).

What the engine, ingest, eval and the page rely on must hold whichever store is behind them.
"""
from __future__ import annotations

import numpy as np
import pytest

from fakes import FakeEmbedder
from rag.types import ChunkerSettings
from rag.errors import IndexIncompatible, RagError
from rag.store import EmbeddingInfo, Hit, Store, create_store, open_store, store_exists
from rag.types import Chunk, Document, Span

EMB = FakeEmbedder()
INFO = EmbeddingInfo(EMB.model_id, EMB.dim, EMB.max_tokens)


def make_doc(doc_id: str, sentences: list[str], title: str = "", outlet: str = "Outlet", date: str = "2024-01-01",
             text_suffix: str = ""):
    text = " ".join(sentences) + text_suffix
    chunks, pos = [], 0
    for n, s in enumerate(sentences):
        start = text.index(s, pos)
        pos = start + len(s)
        chunks.append(Chunk(f"{doc_id}:{n}", doc_id, s, Span(start, pos), (Span(start, pos),)))
    doc = Document(doc_id, text, title=title or f"Title {doc_id}", date=date, outlet=outlet,
                   url="https://x/" + doc_id, source_path=f"/src/{doc_id}.txt", content_hash="h-" + doc_id)
    return doc, chunks, EMB.embed_batch([c.text for c in chunks])


def put(store: Store, *docs) -> None:
    with store.writer() as w:
        for d in docs:
            w.put(*d)


DOCS = [
    ("a", ["Boats sail on the river.", "The river is wide. Fish swim."], {}),
    ("b", ["Goats climb the mountain.", "Snow falls on peaks."], {"outlet": "The Herald"}),
    ("c", ["Foxes hunt in the desert at night."], {"title": "Desert Foxes At Night", "date": "2023-05-06"}),
]


@pytest.fixture(params=["local", "milvus", "milvus-lite"])
def location(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "idx")
    if request.param == "milvus-lite":
        from milvus_server import _forget

        return _forget(request.getfixturevalue("milvus_lite_file")("contract"))
    return request.getfixturevalue("milvus_uri")


@pytest.fixture
def store(location) -> Store:
    s = create_store(location, INFO, ChunkerSettings(50, 10))
    put(s, *(make_doc(d, sentences, **kw) for d, sentences, kw in DOCS))
    yield s
    s.close()


def test_round_trip(store, location):
    assert isinstance(store, Store) and store_exists(location)
    opened = open_store(location, expect_model_id=EMB.model_id)
    info = opened.info
    assert (info.format, info.embedding, info.chunker) == ("rag-index", INFO, ChunkerSettings(50, 10))
    assert (info.documents, info.chunks, info.generation) == (3, 5, 1)
    assert [d.doc_id for d in opened.list_documents()] == ["a", "b", "c"]
    assert [d.doc_id for d in opened.list_documents(1, 1)] == ["b"]
    doc, chunks, vectors = make_doc("a", DOCS[0][1])
    assert opened.get_documents(["a", "zzz"]) == {"a": doc}
    assert opened.document_infos(["a"])["a"].chunks == 2 and opened.document_infos(["a"])["a"].chars == len(doc.text)
    assert opened.chunks_of("a") == chunks and opened.chunks_of("zzz") == []
    assert opened.get_chunks(["a:1", "nope"]) == {"a:1": chunks[1]}
    np.testing.assert_array_equal(opened.get_vectors(["a:1", "a:0"]), vectors[[1, 0]])
    with pytest.raises(KeyError, match="nope"):
        opened.get_vectors(["a:0", "nope"])
    assert opened.content_hashes(["a", "c", "x"]) == {"a": "h-a", "c": "h-c"}
    opened.close()


def test_long_text_and_unicode_survive(location):
    s = create_store(location, INFO, ChunkerSettings(50, 10))
    long_tail = " " + "Zürich – “quoted” 東京. " * 4000  # > 65,535 UTF-8 bytes: Milvus keeps it in pieces
    doc = make_doc('q"1', ["Zürich talks."], title="Zürich", text_suffix=long_tail)
    put(s, doc)
    assert s.get_documents(['q"1'])['q"1'] == doc[0]
    assert s.lexical_search("zürich", 3)[0].chunk_id == 'q"1:0'
    s.close()


def test_dense_search_gives_cosines_best_first(store):
    q = EMB.embed_batch(["Goats climb the mountain.", "desert foxes"])
    hits = store.dense_search(q, 10)
    assert len(hits[0]) == 5 and hits[0][0] == Hit("b:0", pytest.approx(1.0, abs=1e-5))
    assert [h.score for h in hits[0]] == sorted((h.score for h in hits[0]), reverse=True)
    assert hits[1][0].chunk_id == "c:0"
    assert store.dense_search(q, 0) == [[], []]
    with pytest.raises(IndexIncompatible, match="64-dim"):
        store.dense_search(np.zeros((1, 8), np.float32), 3)


def test_lexical_search_is_bm25_over_title_and_text(store):
    assert store.lexical_search("Which goats climb mountains?", 3)[0].chunk_id == "b:0"
    assert {h.chunk_id for h in store.lexical_search("Desert Foxes", 5)} == {"c:0"}
    assert store.lexical_search("title", 10) and store.lexical_search("zebra", 3) == []
    assert store.lexical_search("the of and", 3) == []  # stopwords only
    scores = [h.score for h in store.lexical_search("river fish goats", 5)]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_put_checks_shapes_and_doc_ids(store, location):
    doc, chunks, vectors = make_doc("d", ["One.", "Two."])
    with pytest.raises(ValueError, match=r"\(2, 64\)"):
        put(store, (doc, chunks, vectors[:1]))
    with pytest.raises(ValueError, match="doc_id"):
        put(store, (doc, [chunks[0], Chunk("x:0", "x", "Two.", Span(0, 1))], vectors))
    assert open_store(location).info.documents == 3  # the failed writes left nothing


def test_put_replaces_a_document_with_the_same_id(store):
    put(store, make_doc("a", ["Only one sentence now."]))
    assert [c.text for c in store.chunks_of("a")] == ["Only one sentence now."]
    assert (store.info.documents, store.info.chunks) == (3, 4)
    assert store.dense_search(EMB.embed_batch(["Boats sail on the river."]), 4)[0][0].chunk_id != "a:1"
    assert not any(h.chunk_id.startswith("a:") for h in store.lexical_search("boats river", 5))


def test_remove_drops_documents_chunks_vectors_and_search_hits(store):
    with store.writer() as w:
        assert w.remove(["a", "zzz", "a"]) == ["a"]
        assert w.remove(["zzz"]) == []
    assert [d.doc_id for d in store.list_documents()] == ["b", "c"] and store.info.chunks == 3
    hits = store.dense_search(EMB.embed_batch(["Boats sail on the river."]), 5)[0]
    assert hits and not any(h.chunk_id.startswith("a:") for h in hits)
    assert store.lexical_search("boats", 5) == [] and store.get_documents(["a"]) == {}


def test_put_then_remove_in_one_writer_leaves_nothing(store):
    with store.writer() as w:
        w.put(*make_doc("d", ["Dogs bark loudly."]))
        assert w.remove(["d"]) == ["d"]
    assert store.info.documents == 3 and store.lexical_search("dogs bark", 3) == []


def test_an_exception_inside_a_write_leaves_the_last_good_index(store, location):
    with pytest.raises(RuntimeError, match="boom"):
        with store.writer() as w:
            w.put(*make_doc("d", ["Dogs bark loudly."]))
            w.remove(["a"])
            reader = open_store(location)  # another reader sees nothing of it before the commit
            assert reader.info.documents == 3 and reader.get_documents(["d"]) == {} and reader.get_documents(["a"])
            reader.close()
            raise RuntimeError("boom")
    again = open_store(location)
    assert [d.doc_id for d in again.list_documents()] == ["a", "b", "c"] and again.info.generation == 1
    assert again.lexical_search("dogs bark", 3) == [] and again.lexical_search("boats", 3)
    again.close()


def test_commit_inside_a_writer_is_a_checkpoint(store, location):
    with pytest.raises(RuntimeError):
        with store.writer() as w:
            w.put(*make_doc("d", ["Dogs bark loudly."]))
            w.commit()
            w.put(*make_doc("e", ["Eels swim."]))
            raise RuntimeError("stop")
    again = open_store(location)
    assert [d.doc_id for d in again.list_documents()] == ["a", "b", "c", "d"]
    assert again.lexical_search("dogs", 3)[0].chunk_id == "d:0" and again.lexical_search("eels", 3) == []
    again.close()


def test_one_writer_at_a_time(store, location):
    other = open_store(location)
    with store.writer():
        with pytest.raises(RagError, match="writing to index"):
            with other.writer():
                pass
    with other.writer() as w:  # free again
        w.remove(["c"])
    assert store.info.documents == 2
    other.close()


def test_another_embedding_model_is_incompatible_naming_both(store, location):
    with pytest.raises(IndexIncompatible, match=f"{EMB.model_id}.*other-model"):
        open_store(location, expect_model_id="other-model")


def test_creating_over_an_existing_index_is_refused(store, location):
    with pytest.raises(RagError):
        create_store(location, INFO, ChunkerSettings())


def test_an_emptied_index_round_trips(store, location):
    with store.writer() as w:
        w.remove(["a", "b", "c"])
    again = open_store(location)
    assert (again.info.documents, again.info.chunks) == (0, 0)
    assert again.list_documents() == [] and again.lexical_search("boats", 3) == []
    assert again.dense_search(EMB.embed_batch(["boats"]), 3) == [[]]
    again.close()
