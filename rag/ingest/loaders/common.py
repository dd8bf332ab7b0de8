"""What every loader shares: the Loaded value, content hashes, safe document ids, reading bytes with limits."""
from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from rag.types import Document

MAX_ID_CHARS = 200


@dataclass(frozen=True)
class Loaded:
    """A document read from disk, with the ranges of its text that are metadata, not body."""

    document: Document
    exclude: tuple[tuple[int, int], ...] = ()


def content_hash(doc: Document) -> str:
    """A hash of everything ingest uses: the text and the stated metadata."""
    fields = [doc.text, doc.title, doc.date, doc.outlet, doc.url]
    extra = [doc.author, doc.crawl_date, list(doc.pages)]
    payload = json.dumps(fields + extra if any(extra) else fields, ensure_ascii=False)  # old hashes stay valid
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def with_hash(doc: Document) -> Document:
    return replace(doc, content_hash=content_hash(doc))


def id_problem(doc_id: str) -> str:
    """Why ``doc_id`` cannot name a document ("" when it can): ids appear in paths, URLs and commands.

    >>> id_problem("004_4f88f7a8625b6b03")
    ''
    >>> print(id_problem("../../etc/passwd"))
    unsafe document id '../../etc/passwd': ids may not contain '/', '\\', '..' or control characters; rename it
    """
    if not doc_id or not doc_id.strip():
        return "empty document id"
    if len(doc_id) > MAX_ID_CHARS:
        return f"document id of {len(doc_id)} characters, over the limit of {MAX_ID_CHARS}; shorten it"
    if ("/" in doc_id or "\\" in doc_id or ".." in doc_id or doc_id != doc_id.strip()
            or any(unicodedata.category(ch).startswith("C") for ch in doc_id)):
        return (f"unsafe document id {doc_id!r}: ids may not contain '/', '\\', '..' or control characters; "
                "rename it")
    return ""


def derived_id(stem: str, key: str) -> str:
    """A stable, safe id for one of many documents from one file: the file stem and a hash of ``key`` (a URL, an
    entry id or a record number).

    >>> derived_id("news", "https://example.org/a")
    'news_b5b10dd042'
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    safe_stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem).strip("._") or "doc"
    return f"{safe_stem[:80]}_{digest}"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; ValueError with a reason a user can act on (unreadable, too big, empty)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ValueError(f"file is {size / 1e6:.1f} MB, over the {max_bytes // 1_000_000} MB limit; split it")
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read file: {e.strerror or e}") from e
    if not data.strip():
        raise ValueError("empty file (no text)")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 text (a byte-order mark dropped); ValueError for binary or other encodings."""
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not a text article")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); convert it to UTF-8 first"
        ) from e
    if not text.strip():
        raise ValueError("empty file (no text)")
    return text


def need(module: str, package: str):
    """Import an optional format library, or fail with the command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ValueError(f"reading this format needs {package} ({e}); install it: pip install 'rag-news[formats]'") from e
