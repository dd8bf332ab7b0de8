"""Loaders: what becomes a Document, and why everything else becomes a Skipped."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes import FakeEmbedder
from rag.ingest import loaders
from rag.ingest.pipeline import ingest
from rag.ingest.loaders import Loaded, content_hash, load_documents
from rag.types import Skipped

ARTICLE = "Talks In Moscow\n\n(VitalNews.org) – Officials met in Moscow on Wednesday. They agreed to meet again.\n"


def split(items):
    loaded = [i for i in items if isinstance(i, Loaded)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(loaded) + len(skipped) == len(items)
    return loaded, skipped


def load(*paths):
    return split(list(load_documents(paths)))


def write_jsonl(path: Path, rows) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---- text files ----------------------------------------------------------------
def test_txt_file_is_read_verbatim_with_metadata_from_its_text(tmp_path):
    f = tmp_path / "001_talks.txt"
    f.write_text(ARTICLE, encoding="utf-8")
    (loaded,), skipped = load(f)
    doc = loaded.document
    assert skipped == []
    assert doc.doc_id == "001_talks"
    assert doc.text == ARTICLE
    assert (doc.title, doc.outlet, doc.date, doc.url) == ("Talks In Moscow", "VitalNews.org", "", "")
    assert doc.source_path == str(f)
    assert doc.content_hash == content_hash(doc) and len(doc.content_hash) == 64


def test_a_byline_in_a_text_or_jsonl_article_becomes_its_author(tmp_path):
    text = "Harbour Reopens\n\nBy Jane Reporter\n\nThe harbour reopened on Monday after repairs.\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "b", "text": text}) + "\n"
                                      + json.dumps({"id": "c", "text": text, "author": "Field Author"}) + "\n")
    loaded, skipped = load(tmp_path)
    assert skipped == []
    assert {x.document.doc_id: x.document.author for x in loaded} == {"a": "Jane Reporter", "b": "Jane Reporter",
                                                                    "c": "Field Author"}


def test_md_file_takes_its_heading_as_title(tmp_path):
    f = tmp_path / "note.md"
    f.write_text("# The Heading\n\nSome body text here. More body text.\n", encoding="utf-8")
    (loaded,), _ = load(f)
    assert loaded.document.title == "The Heading"
    assert loaded.document.doc_id == "note"


def test_date_stamp_is_metadata_and_excluded_from_the_body(tmp_path):
    f = tmp_path / "stamped.txt"
    f.write_text(" date 2023-11-10 Home » China and Russia met. They talked.", encoding="utf-8")
    (loaded,), _ = load(f)
    assert loaded.document.date == "2023-11-10"
    excluded = "".join(f.read_text(encoding="utf-8")[a:b] for a, b in loaded.exclude)
    assert "2023-11-10" in excluded and "Home" in excluded


def test_folders_are_read_recursively_and_hidden_files_ignored(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "top.txt").write_text("Top level text here.", encoding="utf-8")
    (tmp_path / "a" / "b" / "deep.md").write_text("Deep text here.", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Hidden text.", encoding="utf-8")
    (tmp_path / ".git" / "inside.txt").write_text("Inside a hidden folder.", encoding="utf-8")
    loaded, skipped = load(tmp_path)
    assert sorted(x.document.doc_id for x in loaded) == ["deep", "top"]
    assert skipped == []  # hidden files are not even reported


def test_the_seed_folder_loads_five_documents(seeds_dir):
    loaded, skipped = load(seeds_dir)
    assert len(loaded) == 5 and skipped == []
    assert all(x.document.text.strip() for x in loaded)


# ---- JSON Lines ------------------------------------------------------------------
def test_jsonl_fields_win_over_metadata_found_in_the_text(tmp_path):
    body = "Title In Text\n\n(TextOutlet.org) – Something happened today. More followed."
    f = write_jsonl(tmp_path / "docs.jsonl", [
        {"id": "a1", "title": "Given Title", "text": body, "date": "2024-01-02", "source": "Given Outlet",
         "url": "https://example.org/a1"},
        {"id": 7, "text": body},
    ])
    loaded, skipped = load(f)
    assert skipped == []
    a1, seven = (x.document for x in loaded)
    assert (a1.doc_id, a1.title, a1.date, a1.outlet, a1.url) == (
        "a1", "Given Title", "2024-01-02", "Given Outlet", "https://example.org/a1")
    assert a1.text == body
    assert a1.source_path == f"{f}:1"
    # without fields, what the text states is used; ids may be numbers
    assert (seven.doc_id, seven.title, seven.outlet, seven.url) == ("7", "Title In Text", "TextOutlet.org", "")


@pytest.mark.parametrize("line, reason_part", [
    (json.dumps({"title": "no id", "text": "Body text."}), "missing 'id'"),
    (json.dumps({"id": "  ", "text": "Body text."}), "missing 'id'"),
    (json.dumps({"id": "x1", "title": "no text"}), "has no 'text'"),
    (json.dumps({"id": "x2", "text": "   "}), "has no 'text'"),
    ('{"id": "x3", "text": "unterminated', "invalid JSON"),
    (json.dumps(["x4", "a list"]), "JSON object"),
    (json.dumps("just a string"), "JSON object"),
])
def test_bad_jsonl_lines_are_skipped_naming_the_line(tmp_path, line, reason_part):
    good = json.dumps({"id": "ok", "text": "Good body text."})
    f = write_jsonl(tmp_path / "mixed.jsonl", [good, "", line, good.replace('"ok"', '"ok2"')])
    loaded, skipped = load(f)
    assert [x.document.doc_id for x in loaded] == ["ok", "ok2"]
    (skip,) = skipped
    assert skip.source == f"{f}:3"  # blank line 2 is counted, not reported
    assert reason_part in skip.reason


def test_an_unreadable_jsonl_file_is_skipped_as_a_whole(tmp_path):
    f = tmp_path / "latin1.jsonl"
    f.write_bytes(json.dumps({"id": "a", "text": "caf\u00e9"}, ensure_ascii=False).encode("latin-1"))
    loaded, (skip,) = load(f)
    assert loaded == [] and skip.source == str(f) and "UTF-8" in skip.reason


def test_a_jsonl_file_with_a_utf8_bom_loads(tmp_path):
    f = tmp_path / "bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "Body text."}).encode() + b"\n")
    loaded, skipped = load(f)
    assert skipped == [] and [x.document.doc_id for x in loaded] == ["a"]


def test_a_text_file_with_a_utf8_bom_has_a_clean_title(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes(b"\xef\xbb\xbf" + ARTICLE.encode())
    (loaded,), _ = load(f)
    assert loaded.document.title == "Talks In Moscow"


# ---- unusable inputs -------------------------------------------------------------
def test_binary_file_is_skipped(tmp_path):
    f = tmp_path / "image.txt"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    _, (skip,) = load(f)
    assert skip.source == str(f) and "binary" in skip.reason


def test_non_utf8_file_is_skipped_with_a_reason_naming_utf8(tmp_path):
    f = tmp_path / "old.txt"
    f.write_bytes("Caf\u00e9 society meets in Paris.".encode("latin-1"))
    _, (skip,) = load(f)
    assert "UTF-8" in skip.reason and "0xe9" in skip.reason


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  "])
def test_empty_or_whitespace_file_is_skipped(tmp_path, content):
    f = tmp_path / "empty.txt"
    f.write_bytes(content)
    loaded, (skip,) = load(f)
    assert loaded == [] and "empty" in skip.reason


def test_unsupported_extension_is_skipped_in_a_folder_and_given_directly(tmp_path):
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "README").write_text("no suffix", encoding="utf-8")
    (tmp_path / "page.html.gz").write_bytes(b"\x1f\x8b")
    _, skipped = load(tmp_path)
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert set(reasons) == {"report.docx", "README", "page.html.gz"}
    assert all("unsupported file type" in r and ".txt" in r and ".warc.gz" in r for r in reasons.values())
    assert "'.docx'" in reasons["report.docx"] and "(none)" in reasons["README"]
    assert "'.html.gz'" in reasons["page.html.gz"]
    _, (direct,) = load(tmp_path / "report.docx")
    assert "unsupported file type '.docx'" in direct.reason


def test_missing_path_is_skipped(tmp_path):
    missing = tmp_path / "nope.txt"
    _, (skip,) = load(missing)
    assert skip.source == str(missing) and "no such file" in skip.reason


def test_too_large_file_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.txt"
    big.write_text("word " * 50, encoding="utf-8")  # 250 bytes
    small = tmp_path / "small.txt"
    small.write_text("A short article.", encoding="utf-8")
    loaded, (skip,) = load(big, small)
    assert [x.document.doc_id for x in loaded] == ["small"]
    assert skip.source == str(big) and "limit" in skip.reason and "split" in skip.reason


# ---- duplicates and robustness -------------------------------------------------------
def test_duplicate_ids_keep_the_first(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "same.txt").write_text("The first version.", encoding="utf-8")
    (tmp_path / "two" / "same.txt").write_text("The second version.", encoding="utf-8")
    f = write_jsonl(tmp_path / "dups.jsonl", [{"id": "j", "text": "First j."}, {"id": "j", "text": "Second j."}])
    loaded, skipped = load(tmp_path / "one", tmp_path / "two", f)
    texts = {x.document.doc_id: x.document.text for x in loaded}
    assert texts == {"same": "The first version.", "j": "First j."}
    assert len(skipped) == 2 and all("duplicate document id" in s.reason for s in skipped)
    assert {s.source for s in skipped} == {str(tmp_path / "two" / "same.txt"), f"{f}:2"}


def test_the_same_file_given_twice_is_loaded_once(seeds_dir):
    one = sorted(seeds_dir.glob("*.txt"))[0]
    loaded, _ = load(seeds_dir, one)
    ids = [x.document.doc_id for x in loaded]
    assert len(ids) == len(set(ids)) == 5


def test_one_bad_file_never_stops_the_others(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Alpha article about river boats. Boats sail.", encoding="utf-8")
    (src / "b.bin.txt").write_bytes(b"\x00\x01\x02binary")
    (src / "c.txt").write_bytes("Caf\u00e9".encode("latin-1"))
    (src / "d.txt").write_text("  \n", encoding="utf-8")
    (src / "e.pdf").write_bytes(b"%PDF")
    write_jsonl(src / "f.jsonl", [{"id": "f1", "text": "Jsonl article about mountain goats."}, "{broken"])
    (src / "z.md").write_text("# Zed\n\nZed article about desert foxes. Foxes hunt.", encoding="utf-8")

    report = ingest([src, tmp_path / "missing"], tmp_path / "idx", FakeEmbedder())

    assert sorted(report.added) == ["a", "f1", "z"]
    reasons = {Path(s.source.rsplit(":", 1)[0]).name: s.reason for s in report.skipped}
    assert set(reasons) == {"b.bin.txt", "c.txt", "d.txt", "e.pdf", "f.jsonl", "missing"}
    assert "binary" in reasons["b.bin.txt"] and "UTF-8" in reasons["c.txt"] and "empty" in reasons["d.txt"]
    assert "invalid JSON" in reasons["f.jsonl"] and "no such file" in reasons["missing"]
