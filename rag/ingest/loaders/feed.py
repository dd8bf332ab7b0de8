"""RSS and Atom feeds (feedparser): one document per entry, with its title, link, date, author and source.

The entry's full content, or else its summary, is the text; HTML inside it goes through the page extractor.
Ids are the file stem plus a hash of the entry's id or link, so they stay put when a feed gains entries.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

from rag.types import Document, Skipped
from rag.ingest.loaders.common import Loaded, derived_id, need, read_bytes, with_hash
from rag.ingest.loaders.html import extract_fragment


def load_feed(path: Path, max_bytes: int) -> Iterator[Loaded | Skipped]:
    try:
        data = read_bytes(path, max_bytes)
        feedparser = need("feedparser", "feedparser")
    except ValueError as e:
        yield Skipped(str(path), str(e))
        return
    parsed = feedparser.parse(data)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = parsed.get("entries") or []
    if not entries:
        why = f"not a readable RSS/Atom feed ({_describe(problem)})" if problem else "a feed with no entries"
        yield Skipped(str(path), why)
        return
    if problem is not None and "SAX" in type(problem).__name__:
        yield Skipped(str(path), f"not well-formed XML ({_describe(problem)}); the {len(entries)} entries before "
                                 "the error were read, anything after it is lost")
    source = _clean(parsed.get("feed", {}).get("title", ""))
    for n, entry in enumerate(entries, 1):
        where = f"{path}#entry-{n}"
        key = entry.get("id") or entry.get("link") or f"entry-{n}"
        try:
            text = _entry_text(entry)
        except ValueError as e:
            yield Skipped(where, str(e))
            continue
        if not text:
            yield Skipped(where, f"entry {_clean(entry.get('title', '')) or n!r} has no content or summary")
            continue
        entry_source = entry.get("source", {}).get("title", "") if isinstance(entry.get("source"), dict) else ""
        doc = Document(
            doc_id=derived_id(path.stem, key),
            text=text,
            title=_clean(entry.get("title", "")),
            date=_iso_date(entry.get("published_parsed") or entry.get("updated_parsed")),
            outlet=_clean(entry_source) or source,
            url=entry.get("link", "") or "",
            author=_clean(entry.get("author", "")),
            source_path=where,
        )
        yield Loaded(with_hash(doc))


def _entry_text(entry) -> str:
    for content in entry.get("content") or []:
        value = content.get("value", "")
        if value.strip():
            return extract_fragment(value)
    summary = entry.get("summary", "")
    return extract_fragment(summary) if summary.strip() else ""


def _iso_date(parsed: time.struct_time | None) -> str:
    """2023-11-08 for a parsed feed date; "" when the entry states none.

    >>> _iso_date(time.strptime("2023-11-08", "%Y-%m-%d")), _iso_date(None)
    ('2023-11-08', '')
    """
    return time.strftime("%Y-%m-%d", parsed) if parsed else ""


def _clean(value: str) -> str:
    return " ".join(str(value).split())


def _describe(problem: Exception) -> str:
    line = getattr(problem, "getLineNumber", lambda: None)()
    return f"{problem}" + (f" at line {line}" if line else "")
