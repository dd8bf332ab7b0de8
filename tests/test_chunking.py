"""Chunking: token limits (title included), overlap, and spans that map back to the original text."""
from __future__ import annotations

import pytest

from conftest import SEEDS
from fakes import FakeEmbedder
from rag.ingest.chunk import ChunkTooLong, chunk_document
from rag.types import ChunkerSettings, embedding_text
from rag.ingest.loaders import load_documents
from rag.ingest.clean import clean_text

EMB = FakeEmbedder()
SPAN_SEEDS = ["000_d9ac26facaa1f05c", "002_668af276d21bc4e5", "003_7dbf0080c15e92d2", "004_4f88f7a8625b6b03"]


def norm(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture(scope="module")
def seed_docs():
    return {x.document.doc_id: x for x in load_documents([SEEDS])}


def chunks_of(loaded, settings=ChunkerSettings(), max_tokens=EMB.max_tokens):
    doc = loaded.document
    clean = clean_text(doc.text, loaded.exclude)
    return clean, chunk_document(doc.doc_id, clean, EMB.count_tokens, max_tokens, settings, doc.title)


def word_text(n_sentences: int) -> str:
    """Many short distinct sentences, with messy whitespace, so the splitter has room to overlap."""
    return "\n".join(f"Sentence  number{i} talks\tabout topic{i}." for i in range(n_sentences))


@pytest.mark.parametrize("settings, max_tokens", [
    (ChunkerSettings(), 60), (ChunkerSettings(30, 10), 60), (ChunkerSettings(200, 40), 40),
])
def test_every_chunk_with_its_title_fits_the_embedder(seed_docs, settings, max_tokens):
    for loaded in seed_docs.values():
        _, chunks = chunks_of(loaded, settings, max_tokens)
        assert chunks
        limit = min(max_tokens, settings.chunk_tokens + EMB.count_tokens(loaded.document.title))
        for c in chunks:
            assert EMB.count_tokens(embedding_text(loaded.document.title, c.text)) <= limit


def test_chunk_ids_and_texts_come_from_the_cleaned_text(seed_docs):
    for doc_id, loaded in seed_docs.items():
        clean, chunks = chunks_of(loaded)
        assert [c.chunk_id for c in chunks] == [f"{doc_id}:{n}" for n in range(len(chunks))]
        assert all(c.doc_id == doc_id and c.text in clean.text and c.text == c.text.strip() for c in chunks)
        assert [c.span.start for c in chunks] == sorted(c.span.start for c in chunks)


def test_consecutive_chunks_overlap():
    original = word_text(40)
    clean = clean_text(original)
    chunks = chunk_document("d", clean, EMB.count_tokens, 60, ChunkerSettings(30, 10))
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert b.span.start < a.span.end  # b starts inside a
        assert a.span.start < b.span.start  # and still moves forward
    # every sentence of the text is in some chunk
    joined = " ".join(c.text for c in chunks)
    assert all(f"number{i} " in joined for i in range(40))


def test_no_overlap_when_overlap_is_zero():
    clean = clean_text(word_text(40))
    chunks = chunk_document("d", clean, EMB.count_tokens, 60, ChunkerSettings(30, 0))
    assert len(chunks) > 3
    assert all(b.span.start >= a.span.end for a, b in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("doc_id", SPAN_SEEDS)
def test_chunk_spans_map_to_the_original_text(seed_docs, doc_id):
    loaded = seed_docs[doc_id]
    _, chunks = chunks_of(loaded)
    text = loaded.document.text
    for c in chunks:
        assert norm(text[c.span.start : c.span.end]) == norm(c.text)


def test_spans_map_through_messy_whitespace():
    original = word_text(30)
    clean = clean_text(original)
    chunks = chunk_document("d", clean, EMB.count_tokens, 60, ChunkerSettings(30, 10))
    for c in chunks:
        assert norm(original[c.span.start : c.span.end]) == norm(c.text)
        assert original[c.span.start] == c.text[0] and original[c.span.end - 1] == c.text[-1]


def test_sentence_spans_lie_inside_their_chunk_span(seed_docs):
    for loaded in seed_docs.values():
        _, chunks = chunks_of(loaded)
        for c in chunks:
            assert c.sentences
            for s in c.sentences:
                assert c.span.start <= s.start < s.end <= c.span.end


def test_sentence_spans_are_the_sentences_of_the_original():
    original = "Alpha  said hello.\n\nBeta\treplied quickly. Gamma left the room."
    chunks = chunk_document("d", clean_text(original), EMB.count_tokens, 60)
    (chunk,) = chunks
    assert [norm(original[s.start : s.end]) for s in chunk.sentences] == [
        "Alpha said hello.", "Beta replied quickly.", "Gamma left the room."]


def test_title_is_prefixed_only_when_the_chunk_does_not_start_with_it():
    assert embedding_text("Headline", "Body.") == "Headline\nBody."
    assert embedding_text("Headline", "Headline\n\nBody.") == "Headline\n\nBody."
    assert embedding_text("", "Body.") == "Body."


@pytest.mark.parametrize("kwargs, bad", [
    ({"chunk_tokens": 0}, "got 0"),
    ({"chunk_tokens": -5}, "got -5"),
    ({"chunk_tokens": 50, "overlap_tokens": 50}, "got 50"),
    ({"chunk_tokens": 50, "overlap_tokens": -1}, "got -1"),
])
def test_settings_validation_names_the_bad_value(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        ChunkerSettings(**kwargs)


def test_settings_describe_themselves():
    assert ChunkerSettings(120, 20).to_dict() == {
        "splitter": "langchain RecursiveCharacterTextSplitter", "chunk_tokens": 120, "overlap_tokens": 20}


def test_a_title_too_long_for_the_budget_raises():
    title = " ".join(f"word{i}" for i in range(50))
    clean = clean_text("Some body text. More body text.")
    with pytest.raises(ChunkTooLong, match=r"'long-doc'.*50 of the embedder's 60 tokens"):
        chunk_document("long-doc", clean, EMB.count_tokens, 60, title=title)
    assert issubclass(ChunkTooLong, ValueError)


def test_a_title_that_fits_shrinks_the_chunks():
    title = " ".join(f"head{i}" for i in range(30))
    clean = clean_text(word_text(40))
    chunks = chunk_document("d", clean, EMB.count_tokens, 60, title=title)
    assert all(EMB.count_tokens(c.text) <= 30 for c in chunks)
    assert all(EMB.count_tokens(embedding_text(title, c.text)) <= 60 for c in chunks)
