"""Syndicated copies: found by MinHash at ingest, kept as one document listing the other outlets."""
from __future__ import annotations

import shutil

from fakes import FakeEmbedder
from rag.ingest import syndication
from cli.main import format_sources
from rag.store import open_store
from rag.ingest.pipeline import ingest, remove_documents
from rag.retrieve.retriever import Retriever
from rag.types import Answer, Chunk, Citation, Copy, Document, Passage, Span, Timings

STORY = "004_4f88f7a8625b6b03"


def reprint(seeds_dir, outlet: str, headline: str) -> str:
    """Seed 004 as another outlet runs it: new headline, paragraphs reordered, a sentence added, its dateline."""
    paras = [p for p in (seeds_dir / f"{STORY}.txt").read_text(encoding="utf-8").splitlines() if p.strip()]
    body = paras[3:] + paras[:3]
    body[1] += " The report could not be independently verified."
    return "\n\n".join([headline, f"({outlet}) –", *body])


def test_the_two_seed_reports_of_the_same_meeting_are_not_copies(seeds_dir):
    a, b = (syndication.signature((seeds_dir / f"{n}.txt").read_text(encoding="utf-8"))
            for n in ("000_d9ac26facaa1f05c", "001_80ea79b3f3bb210f"))
    assert syndication.similarity(a, b) < 0.1
    docs = [Document(p.stem, p.read_text(encoding="utf-8"), signature=syndication.signature(p.read_text(encoding="utf-8")))
            for p in sorted(seeds_dir.glob("*.txt"))]
    assert syndication.find_copies(docs, {}) == []


def test_an_edited_copy_is_found_and_the_earliest_dated_version_is_kept():
    text = " ".join(f"Sentence number {i} tells part of the story about harbour ships and cranes." for i in range(12))
    edited = "A New Headline\n\n" + text.replace("number 3", "no. 3") + " One added sentence closes it."
    docs = [Document("late", edited, date="2024-02-02", signature=syndication.signature(edited)),
            Document("early", text, date="2024-02-01", signature=syndication.signature(text)),
            Document("other", "Completely different words " * 20, signature=syndication.signature("Completely different words " * 20))]
    (match,) = syndication.find_copies(docs, {})
    assert (match.doc_id, match.of) == ("late", "early") and match.similarity >= syndication.THRESHOLD
    # against stories already stored, the stored one is kept
    (match,) = syndication.find_copies(docs[1:2], {"late": docs[0].signature})
    assert (match.doc_id, match.of) == ("early", "late")


def test_short_texts_are_never_folded():
    brief = "Officials met in Moscow on Wednesday."
    docs = [Document(f"b{i}", brief, signature=syndication.signature(brief)) for i in range(3)]
    assert syndication.find_copies(docs, {}) == []


def test_ingest_folds_copies_into_one_document_listing_their_outlets(tmp_path, seeds_dir):
    src = tmp_path / "src"
    shutil.copytree(seeds_dir, src)
    (src / "zz_reprint_post.txt").write_text(reprint(seeds_dir, "Evening Post", "Russia and China Vow Closer Ties"),
                                             encoding="utf-8")
    (src / "zz_reprint_wire.txt").write_text(reprint(seeds_dir, "Wire Service", "Military Ties Deepen"),
                                             encoding="utf-8")
    embedder = FakeEmbedder()
    report = ingest([src], tmp_path / "idx", embedder)
    assert sorted(report.folded) == [("zz_reprint_post", STORY), ("zz_reprint_wire", STORY)]
    assert len(report.added) == 5  # the seeds; the copies are not indexed again
    store = open_store(tmp_path / "idx")
    infos = {d.doc_id: d for d in store.list_documents()}
    story = store.get_documents([STORY])[STORY]
    assert story.also_carried_by == ("Evening Post", "Wire Service")
    assert {c.doc_id for c in story.copies} == {"zz_reprint_post", "zz_reprint_wire"} == set(infos[STORY].copies)
    assert all(c.similarity >= syndication.THRESHOLD and c.content_hash for c in story.copies)
    # a copy is kept (text and metadata, nothing lost) as a document without chunks that names its story
    assert {d for d, i in infos.items() if i.chunks} == set(report.added)
    assert {d: i.copy_of for d, i in infos.items() if i.copy_of} == {"zz_reprint_post": STORY, "zz_reprint_wire": STORY}
    assert infos["zz_reprint_post"].chunks == 0 and infos["zz_reprint_post"].chars > 0
    passages = Retriever(store, embedder).retrieve("joint naval exercises in the Pacific Ocean and the Mediterranean", 5)
    assert [p.doc_id for p in passages].count(STORY) >= 1
    assert not any(p.doc_id.startswith("zz_") for p in passages)

    # re-ingesting changes nothing, copies included
    generation = store.info.generation
    again = ingest([src], tmp_path / "idx", embedder)
    assert again.folded == [] and again.added == again.replaced == []
    assert set(again.unchanged) == set(report.added) | {"zz_reprint_post", "zz_reprint_wire"}
    assert open_store(tmp_path / "idx").info.generation == generation

    # a copy rewritten into a different story leaves the list and is indexed on its own
    (src / "zz_reprint_wire.txt").write_text("Harbour News\n\n" + "Fishing boats returned to the harbour today. " * 20,
                                             encoding="utf-8")
    changed = ingest([src], tmp_path / "idx", embedder)
    assert changed.replaced == ["zz_reprint_wire"] and changed.folded == []  # stored as a copy, now a story
    store = open_store(tmp_path / "idx")
    assert store.get_documents([STORY])[STORY].also_carried_by == ("Evening Post",)
    assert store.document_infos(["zz_reprint_wire"])["zz_reprint_wire"].chunks > 0

    # removing a copy by its id takes it off the story's list
    removed, missing = remove_documents(tmp_path / "idx", ["zz_reprint_post"])
    assert removed == ["zz_reprint_post"] and missing == []
    store = open_store(tmp_path / "idx")
    assert store.get_documents([STORY])[STORY].copies == () and store.content_hashes(["zz_reprint_post"]) == {}


def test_a_copy_found_later_is_folded_into_the_stored_story(tmp_path, seeds_dir, fake_index, fake_embedder):
    extra = tmp_path / "later"
    extra.mkdir()
    (extra / "late_copy.txt").write_text(reprint(seeds_dir, "Late Gazette", "Late Headline"), encoding="utf-8")
    report = ingest([extra], fake_index, fake_embedder)
    assert report.folded == [("late_copy", STORY)] and report.chunks_embedded == 0
    assert open_store(fake_index).get_documents([STORY])[STORY].also_carried_by == ("Late Gazette",)


def test_sources_say_also_carried_by_the_author_and_the_page():
    doc = Document("r", "First page text.\n\nSecond page text.", title="Review", outlet="Wire", date="2023-11-08",
                   author="Ann Writer", pages=(0, 18), copies=(Copy("c1", outlet="Evening Post"), Copy("c2")))
    passage = Passage(Chunk("r:0", "r", "Second page text.", Span(18, 35)), doc, 0.5, 1)
    answer = Answer("q", "It says so. [1]", (Citation(1, passage),), (passage,), False, Timings(), "m")
    out = format_sources(answer)
    assert "Review | Wire | by Ann Writer | 2023-11-08 | p. 2" in out
    assert "also carried by Evening Post, c2" in out
    assert passage.to_dict()["also_carried_by"] == ["Evening Post", "c2"] and passage.to_dict()["page"] == "p. 2"
    from ui.render import source_card

    card = source_card(1, passage)
    assert "by Ann Writer" in card and "p. 2" in card and "also carried by Evening Post, c2" in card
