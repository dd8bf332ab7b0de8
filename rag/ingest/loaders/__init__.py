"""Read article files into documents; every unusable input becomes a Skipped with a reason.

One module per format, one entry point: ``load_documents(paths)`` yields ``Loaded | Skipped``.

| files | module | documents |
|---|---|---|
| .txt, .md | text | one per file; title, date, outlet where the text states them |
| .jsonl | jsonl | one per line: {"id", "title", "text", "date", "source", "url", "author"} |
| .html, .htm, .xhtml | html | one per page: main text, title, author, date, site name (trafilatura) |
| .rss, .atom, .xml | feed | one per entry: title, link, date, author, source (feedparser) |
| .warc, .warc.gz | warc | one per HTML page: its URL and crawl date kept (warcio) |
| .pdf | pdf | one per file, page starts kept for "p. N" (pypdf) |

Folders are read recursively (hidden files ignored). One bad file, line, entry or record never stops the
others. Every document id is checked: no "/", "\\", ".." or control characters.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

from rag.types import Skipped
from rag.ingest.loaders.common import Loaded, content_hash, id_problem
from rag.ingest.loaders.feed import load_feed
from rag.ingest.loaders.html import load_html_file
from rag.ingest.loaders.jsonl import load_jsonl
from rag.ingest.loaders.pdf import load_pdf
from rag.ingest.loaders.text import load_text_file
from rag.ingest.loaders.warc import is_warc, load_warc

__all__ = ["Loaded", "Skipped", "content_hash", "iter_files", "load_documents", "SUFFIXES", "MAX_FILE_BYTES"]

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
FEED_SUFFIXES = (".rss", ".atom", ".xml")
SUFFIXES = TEXT_SUFFIXES + (".jsonl",) + HTML_SUFFIXES + FEED_SUFFIXES + (".pdf", ".warc", ".warc.gz")
MAX_FILE_BYTES = 10 * 1024 * 1024  # one text, page or feed file
MAX_PDF_BYTES = 100 * 1024 * 1024
SUPPORTED = ".txt, .md, .jsonl, .html, .htm, .rss, .atom, .xml, .warc, .warc.gz or .pdf"

# progress(stage, done, total): a web archive reports the bytes read as it goes
Progress = Callable[[str, int, int], object]


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES or is_warc(path)


def _unsupported(path: Path) -> Skipped:
    suffix = "".join(path.suffixes[-2:]) if path.name.lower().endswith(".gz") else path.suffix
    return Skipped(str(path), f"unsupported file type {suffix or '(none)'!r}; use {SUPPORTED}")


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | Skipped]:
    """Files to read under ``paths`` (folders recursively, hidden files ignored)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield child if supported(child) else _unsupported(child)
        elif path.is_file():
            yield path if supported(path) else _unsupported(path)
        else:
            yield Skipped(str(path), "no such file or folder")


def read_file(path: Path, progress: Progress | None = None) -> Iterator[Loaded | Skipped]:
    """The documents in one supported file."""
    suffix = path.suffix.lower()
    if is_warc(path):
        yield from load_warc(path, progress)
    elif suffix == ".jsonl":
        yield from load_jsonl(path, MAX_FILE_BYTES)
    elif suffix in FEED_SUFFIXES:
        yield from load_feed(path, MAX_FILE_BYTES)
    else:
        single = {".pdf": lambda p: load_pdf(p, MAX_PDF_BYTES),
                  **{s: lambda p: load_html_file(p, MAX_FILE_BYTES) for s in HTML_SUFFIXES}}
        load = single.get(suffix, lambda p: load_text_file(p, MAX_FILE_BYTES))
        try:
            yield load(path)
        except ValueError as e:
            yield Skipped(str(path), str(e))


def load_documents(paths: Iterable[str | Path], progress: Progress | None = None) -> Iterator[Loaded | Skipped]:
    """Every document under ``paths``, or a Skipped for each input that cannot be used.

    A document id seen twice keeps its first occurrence; an unsafe id is refused.
    """
    seen: dict[str, str] = {}
    files_read: set[Path] = set()
    for item in iter_files(paths):
        if isinstance(item, Skipped):
            yield item
            continue
        if item.resolve() in files_read:
            continue  # the same file named twice (e.g. a folder and a file in it)
        files_read.add(item.resolve())
        for r in read_file(item, progress):
            if isinstance(r, Loaded):
                doc = r.document
                problem = id_problem(doc.doc_id)
                if problem:
                    yield Skipped(doc.source_path, problem)
                    continue
                first = seen.setdefault(doc.doc_id, doc.source_path)
                if first != doc.source_path:
                    yield Skipped(doc.source_path, f"duplicate document id {doc.doc_id!r} (first seen in {first})")
                    continue
            yield r
