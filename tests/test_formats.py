"""HTML pages, feeds, web archives and PDFs: what becomes a document with which metadata, and the reason for
everything that does not. Every input file is written by the test (tests/formatfiles.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from formatfiles import NAV_ONLY_PAGE, PAGE, STORY, blank_pdf_bytes, feed, pdf_bytes, warc_bytes, write
from rag.store import open_store
from rag.ingest.pipeline import ingest
from rag.ingest.loaders import Loaded, load_documents
from rag.types import Copy, Document, Skipped

PAGE_URL = "https://dailyplanet.example/world/defence-chiefs"
PDF_PAGES = [["Annual Defence Review", "",
              "The first page says that the two countries met in Moscow on Wednesday and",
              "agreed to hold joint naval exercises in the Pacific Ocean next year."],
             ["The second page says that the naval drills will take place near Vladivostok",
              "and that ships from both navies will sail together for two full weeks."]]


def load(*paths, progress=None):
    items = list(load_documents(paths, progress))
    return [i.document for i in items if isinstance(i, Loaded)], [i for i in items if isinstance(i, Skipped)]


def reasons(skipped) -> dict[str, str]:
    """File name → every reason given for it (or for its lines, entries or records), joined by " | "."""
    out: dict[str, list[str]] = {}
    for s in skipped:
        name = re.sub(r":\d+$", "", Path(s.source.split("#")[0]).name)
        out.setdefault(name, []).append(s.reason)
    return {name: " | ".join(r) for name, r in out.items()}


# ---- HTML ----------------------------------------------------------------------------
def test_a_saved_page_gives_its_story_and_metadata_without_menus_ads_scripts_or_comments(tmp_path):
    (doc,), skipped = load(write(tmp_path / "planet.html", PAGE))
    assert skipped == []
    assert (doc.doc_id, doc.title, doc.author, doc.date, doc.outlet, doc.url) == (
        "planet", "Defence chiefs meet in Moscow", "Jane Reporter", "2023-11-08", "Daily Planet", PAGE_URL)
    for paragraph in STORY:
        assert paragraph in doc.text
    for junk in ("MENUITEM", "ADVERT", "SCRIPTTEXT", "COMMENTTEXT", "FOOTERTEXT", "color: red"):
        assert junk not in doc.text


def test_a_page_with_no_article_is_skipped_with_its_reason(tmp_path):
    docs, (skip,) = load(write(tmp_path / "index.html", NAV_ONLY_PAGE))
    assert docs == [] and skip.source == str(tmp_path / "index.html")
    assert "article text" in skip.reason and "navigation or boilerplate" in skip.reason


def test_citation_spans_point_into_the_stored_extracted_text(tmp_path, fake_embedder):
    write(tmp_path / "src" / "planet.html", PAGE)
    ingest([tmp_path / "src"], tmp_path / "idx", fake_embedder)
    store = open_store(tmp_path / "idx")
    doc = store.get_documents(["planet"])["planet"]
    assert "<p>" not in doc.text and STORY[1] in doc.text
    for chunk in store.chunks_of("planet"):
        stored = doc.text[chunk.span.start : chunk.span.end]
        assert " ".join(stored.split()) == " ".join(chunk.text.split())


# ---- feeds ---------------------------------------------------------------------------
def test_a_feed_gives_one_document_per_entry_with_its_metadata(tmp_path):
    docs, skipped = load(write(tmp_path / "wire.rss", feed(3)))
    assert skipped == [] and len(docs) == 3
    assert [d.title for d in docs] == ["Entry 1 headline", "Entry 2 headline", "Entry 3 headline"]
    assert [d.url for d in docs] == [f"https://wire.example/story/{i}" for i in (1, 2, 3)]
    assert [d.date for d in docs] == ["2023-11-02", "2023-11-03", "2023-11-04"]
    assert {d.outlet for d in docs} == {"World Wire"} and {d.author for d in docs} == {"Wire Desk"}
    first = docs[0]
    assert STORY[0] in first.text and "bad()" not in first.text and "<p>" not in first.text  # content, not "short"
    assert docs[2].text == "Entry 3 summary: the ministers agreed on point number 3 of the joint plan."
    assert len({d.doc_id for d in docs}) == 3 and all(d.doc_id.startswith("wire_") for d in docs)


def test_feed_entry_ids_stay_the_same_when_the_feed_gains_an_entry(tmp_path):
    before, _ = load(write(tmp_path / "a" / "wire.xml", feed(3)))
    after, _ = load(write(tmp_path / "b" / "wire.xml", feed(3, extra_first=True)))
    assert len(after) == 4
    assert {d.doc_id: d.title for d in before}.items() <= {d.doc_id: d.title for d in after}.items()


def test_an_atom_feed_is_read_too(tmp_path):
    atom = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Desk</title>'
            '<id>urn:x</id><updated>2023-11-08T00:00:00Z</updated><entry><title>Atom story</title>'
            '<link href="https://atom.example/1"/><id>urn:x:1</id><updated>2023-11-08T09:00:00Z</updated>'
            '<author><name>Ann Writer</name></author>'
            f'<content type="html">&lt;p&gt;{STORY[0]}&lt;/p&gt;</content></entry></feed>')
    (doc,), skipped = load(write(tmp_path / "desk.atom", atom))
    assert skipped == []
    assert (doc.title, doc.url, doc.date, doc.outlet, doc.author, doc.text) == (
        "Atom story", "https://atom.example/1", "2023-11-08", "Atom Desk", "Ann Writer", STORY[0])


@pytest.mark.parametrize("content, part", [
    ("<rss><channel><title>x</title><item><title>cut", "not well-formed XML"),
    ("this is not XML at all", "not a readable RSS/Atom feed"),
    ('<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>', "no entries"),
])
def test_a_broken_feed_is_reported_and_the_other_files_still_load(tmp_path, content, part):
    write(tmp_path / "bad.xml", content)
    write(tmp_path / "good.txt", "A Good Article\n\nSomething happened in the town today. People watched.")
    docs, skipped = load(tmp_path)
    assert [d.doc_id for d in docs] == ["good"]
    assert part in reasons(skipped)["bad.xml"]


def test_a_feed_cut_short_keeps_the_entries_before_the_cut_and_says_so(tmp_path):
    text = feed(2)
    cut = text[: text.index("<item>", text.index("</item>"))] + "<item><title>Lost"
    docs, skipped = load(write(tmp_path / "cut.rss", cut))
    assert [d.title for d in docs] == ["Entry 1 headline"]
    assert any("not well-formed XML" in s.reason and "were read" in s.reason for s in skipped)


# ---- web archives --------------------------------------------------------------------
def test_a_web_archive_gives_its_html_pages_and_reports_the_image_and_the_broken_record(tmp_path):
    path = write(tmp_path / "crawl.warc.gz", warc_bytes([(PAGE_URL, PAGE)]))
    seen = []
    (doc,), skipped = load(path, progress=lambda *a: seen.append(a))
    assert (doc.url, doc.title, doc.outlet, doc.author, doc.date) == (
        PAGE_URL, "Defence chiefs meet in Moscow", "Daily Planet", "Jane Reporter", "2023-11-08")
    assert doc.crawl_date[:2] == "20" and doc.crawl_date.endswith("Z")  # the WARC-Date of the record
    assert doc.doc_id.startswith("crawl_") and "/" not in doc.doc_id
    assert STORY[2] in doc.text and "MENUITEM" not in doc.text
    by_reason = {s.reason.split(" (")[0]: s for s in skipped}
    assert "1 of 2 records are not HTML pages" in by_reason and "image/png" in by_reason[
        "1 of 2 records are not HTML pages"].reason
    (broken,) = [s for s in skipped if "truncated" in s.reason]
    assert broken.source == f"{path}#record-3" and "2 records before it were read" in broken.reason
    assert seen and seen[-1] == (f"warc {path.name}", path.stat().st_size, path.stat().st_size)


def test_failed_pages_in_an_archive_are_reported_one_by_one_and_never_stop_it(tmp_path):
    path = write(tmp_path / "mixed.warc", warc_bytes(
        [("https://a.example/menu", NAV_ONLY_PAGE), (PAGE_URL, PAGE)], image=False, broken=False))
    import gzip

    path.write_bytes(gzip.decompress(path.read_bytes()))  # a plain, uncompressed WARC
    (doc,), (skip,) = load(path)
    assert doc.url == PAGE_URL
    assert skip.source == f"{path}#record-1 https://a.example/menu" and "article text" in skip.reason


@pytest.mark.parametrize("name, data, part", [
    ("empty.warc", b"", "empty file"),
    ("cut.warc.gz", None, "damaged or truncated web archive"),
    ("text.warc", b"just some text, not an archive", "not a WARC file"),
    ("garbage.warc.gz", b"\x1f\x8b\x08\x00garbage", "not a WARC file"),
])
def test_bad_web_archives_get_a_one_line_reason_and_lose_nothing_else(tmp_path, name, data, part):
    if data is None:
        whole = warc_bytes([(PAGE_URL, PAGE)], image=False, broken=False)
        data = whole[: len(whole) // 2]  # a gzip member cut in the middle
    write(tmp_path / name, data)
    write(tmp_path / "page.html", PAGE)
    docs, skipped = load(tmp_path)
    assert [d.doc_id for d in docs] == ["page"]
    assert part in reasons(skipped)[name] and all("\n" not in s.reason for s in skipped)


# ---- PDF -----------------------------------------------------------------------------
def test_a_pdf_keeps_each_page_and_a_citation_can_name_its_page(tmp_path, fake_embedder):
    write(tmp_path / "src" / "review.pdf", pdf_bytes(PDF_PAGES))
    (doc,), skipped = load(tmp_path / "src")
    assert skipped == [] and (doc.title, doc.author) == ("Annual Defence Review", "Policy Institute")
    assert len(doc.pages) == 2 and doc.pages[0] == 0
    page1, page2 = doc.text[: doc.pages[1]], doc.text[doc.pages[1]:]
    assert "met in Moscow on Wednesday and agreed" in page1  # the layout's line break joined back
    assert "near Vladivostok and that ships" in page2 and "Vladivostok" not in page1
    at = doc.text.index("Vladivostok")
    assert doc.page_label(at, at + 11) == "p. 2" and doc.page_label(0, 10) == "p. 1"
    assert doc.page_label(0, len(doc.text)) == "pp. 1–2"
    ingest([tmp_path / "src"], tmp_path / "idx", fake_embedder)
    stored = open_store(tmp_path / "idx").get_documents(["review"])["review"]
    assert stored.pages == doc.pages and isinstance(stored.pages, tuple)  # round-trips through JSON


@pytest.mark.parametrize("data, part", [
    (blank_pdf_bytes(2), "no text layer in 2 page(s)"),
    (b"%PDF-1.4\n%broken and cut", "damaged or unreadable PDF"),
])
def test_a_pdf_without_text_or_damaged_is_skipped_with_what_to_do(tmp_path, data, part):
    write(tmp_path / "bad.pdf", data)
    write(tmp_path / "good.pdf", pdf_bytes(PDF_PAGES))
    docs, skipped = load(tmp_path)
    assert [d.doc_id for d in docs] == ["good"]
    assert part in reasons(skipped)["bad.pdf"]


# ---- ids -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "a/b", "..", "tab\there", "back\\slash", "x" * 300])
def test_an_unsafe_document_id_is_refused_and_the_other_lines_load(tmp_path, bad_id):
    rows = [{"id": "ok1", "text": "First body."}, {"id": bad_id, "text": "Hostile body."},
            {"id": "ok2", "text": "Second body."}]
    f = write(tmp_path / "docs.jsonl", "\n".join(json.dumps(r) for r in rows))
    docs, (skip,) = load(f)
    assert [d.doc_id for d in docs] == ["ok1", "ok2"]
    assert skip.source == f"{f}:2" and ("unsafe document id" in skip.reason or "over the limit" in skip.reason)


# ---- everything at once ------------------------------------------------------------------
def test_one_ingest_over_a_folder_of_every_type_indexes_each_with_its_metadata(tmp_path, fake_embedder):
    src = tmp_path / "inbox"
    write(src / "planet.html", PAGE)
    write(src / "wire.rss", feed(3, full_first=False))
    reprint = PAGE.replace("Daily Planet", "Other Post").replace("2023-11-08T10", "2023-11-09T10")  # a day later
    write(src / "crawl.warc.gz", warc_bytes([("https://other.example/page", reprint)]))
    write(src / "review.pdf", pdf_bytes(PDF_PAGES))
    write(src / "notes.txt", "Harbour Notes\n\nThe harbour opened a new pier for fishing boats this spring. Boats came.")
    write(src / "bad" / "scan.pdf", blank_pdf_bytes(1))
    write(src / "bad" / "empty.warc", b"")
    write(src / "bad" / "broken.xml", "<rss><channel><item>")
    write(src / "bad" / "hostile.jsonl", json.dumps({"id": "../../etc/passwd", "text": "x"}))
    report = ingest([src], tmp_path / "idx", fake_embedder)
    store = open_store(tmp_path / "idx")
    docs = store.get_documents(d.doc_id for d in store.list_documents())
    assert set(docs) >= {"planet", "review", "notes"}
    assert docs["planet"].outlet == "Daily Planet" and docs["review"].pages
    wire = [d for d in docs.values() if d.doc_id.startswith("wire_")]
    assert len(wire) == 3 and all(d.url and d.date for d in wire)
    # the archived page is the same story as planet.html from another outlet: one document, two outlets
    assert len(report.folded) == 1 and report.folded[0][1] == "planet"
    assert docs["planet"].also_carried_by == ("Other Post",)
    copy_id = report.folded[0][0]
    assert docs[copy_id].copy_of == "planet" and store.chunks_of(copy_id) == [], "the copy is kept, not indexed"
    why = reasons(report.skipped)
    assert {"scan.pdf", "empty.warc", "broken.xml", "hostile.jsonl", "crawl.warc.gz"} <= set(why)
    assert "no text layer" in why["scan.pdf"] and "empty" in why["empty.warc"]
    assert "unsafe document id" in why["hostile.jsonl"] and "not well-formed XML" in why["broken.xml"]


def test_old_index_rows_without_the_new_fields_still_load_and_new_fields_round_trip():
    old = {"doc_id": "a", "text": "t", "title": "", "date": "", "outlet": "", "url": "", "source_path": "",
           "content_hash": "h"}
    assert Document(**old) == Document("a", "t", content_hash="h")
    from dataclasses import asdict

    doc = Document("b", "one\n\ntwo", author="Ann", pages=(0, 5), signature="mh1:xx",
                   copies=(Copy("c", outlet="Post", similarity=0.9),))
    back = Document(**json.loads(json.dumps(asdict(doc))))
    assert back == doc and back.copies[0].outlet == "Post" and back.pages == (0, 5)


def test_an_answer_from_the_saved_page_cites_its_title_outlet_and_date(tmp_path, fake_embedder):
    from conftest import make_engine
    from cli.main import format_sources

    write(tmp_path / "src" / "planet.html", PAGE)
    write(tmp_path / "src" / "notes.txt", "Harbour Notes\n\nThe harbour opened a new pier for fishing boats. Boats came.")
    ingest([tmp_path / "src"], tmp_path / "idx", fake_embedder)
    engine = make_engine(tmp_path / "idx", fake_embedder,
                         ["Russian and Chinese defence officials met in Moscow on Wednesday [1]."], top_k=2)
    answer = engine.ask("Where did Russian and Chinese defence officials meet on Wednesday?")
    assert not answer.abstained, answer.abstain_reason
    cited = answer.citations[0].passage
    assert cited.doc_id == "planet"
    out = format_sources(answer)
    assert "Defence chiefs meet in Moscow | Daily Planet | by Jane Reporter | 2023-11-08" in out


def test_the_page_accepts_uploads_of_every_type_ingest_reads(tmp_path):
    from ui.articles import check_uploads

    names = ["a.html", "b.rss", "c.atom", "d.xml", "e.warc", "f.warc.gz", "g.pdf", "h.jsonl", "i.txt", "j.pptx", "k.gz"]
    files = [str(write(tmp_path / n, b"x")) for n in names]
    ok, refused = check_uploads(files)
    assert [p.name for p in ok] == names[:9]
    assert [s.source for s in refused] == ["j.pptx", "k.gz"] and all("unsupported" in s.reason for s in refused)
