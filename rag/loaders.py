"""Read article files into documents; every unusable input becomes a Skipped with a reason.

Supported: .txt and .md files, folders (recursively), and .jsonl files with one
{"id", "title", "text", "date", "source", "url"} object per line. One bad file
never stops the others.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .metadata import extract_metadata
from .types import Document, Skipped

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = TEXT_SUFFIXES + (".jsonl",)
MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Loaded:
    """A document read from disk, with the ranges of its text that are metadata, not body."""

    document: Document
    exclude: tuple[tuple[int, int], ...] = ()


def content_hash(doc: Document) -> str:
    """A hash of everything ingest uses: the text and the stated metadata."""
    payload = json.dumps([doc.text, doc.title, doc.date, doc.outlet, doc.url], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | Skipped]:
    """Files to read under ``paths`` (folders recursively, hidden files ignored)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts):
                    if child.suffix.lower() in SUFFIXES:
                        yield child
                    else:
                        yield Skipped(str(child), f"unsupported file type {child.suffix or '(none)'!r}; use .txt, .md or .jsonl")
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                yield path
            else:
                yield Skipped(str(path), f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md or .jsonl")
        else:
            yield Skipped(str(path), "no such file or folder")


def read_text(path: Path) -> str:
    """The file's text as UTF-8; raises ValueError with a reason a user can act on."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit; split it")
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read file: {e.strerror or e}") from e
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not a text article")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is not text
    except UnicodeDecodeError as e:
        raise ValueError(
            f"not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); convert it to UTF-8 first"
        ) from e
    if not text.strip():
        raise ValueError("empty file (no text)")
    return text


def load_text_file(path: Path) -> Loaded:
    text = read_text(path)
    meta = extract_metadata(text, markdown=path.suffix.lower() == ".md")
    doc = Document(
        doc_id=path.stem, text=text, title=meta.title, date=meta.date, outlet=meta.outlet,
        source_path=str(path),
    )
    return Loaded(_with_hash(doc), meta.exclude)


def load_jsonl(path: Path) -> Iterator[Loaded | Skipped]:
    try:
        text = read_text(path)
    except ValueError as e:
        yield Skipped(str(path), str(e))
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield Skipped(where, f"invalid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(row, dict):
            yield Skipped(where, "each line must be a JSON object with 'id' and 'text'")
            continue
        doc_id, body = row.get("id"), row.get("text")
        if not isinstance(doc_id, (str, int)) or not str(doc_id).strip():
            yield Skipped(where, "missing 'id'")
            continue
        if not isinstance(body, str) or not body.strip():
            yield Skipped(where, f"document {doc_id!r} has no 'text'")
            continue
        meta = extract_metadata(body)
        doc = Document(
            doc_id=str(doc_id).strip(),
            text=body,
            title=_field(row, "title") or meta.title,
            date=_field(row, "date") or meta.date,
            outlet=_field(row, "source") or _field(row, "outlet") or meta.outlet,
            url=_field(row, "url"),
            source_path=where,
        )
        yield Loaded(_with_hash(doc), meta.exclude)


def _field(row: dict, key: str) -> str:
    value = row.get(key)
    return str(value).strip() if value is not None else ""


def _with_hash(doc: Document) -> Document:
    from dataclasses import replace

    return replace(doc, content_hash=content_hash(doc))


def load_documents(paths: Iterable[str | Path]) -> Iterator[Loaded | Skipped]:
    """Every document under ``paths``, or a Skipped for each input that cannot be used.

    A document id seen twice keeps its first occurrence.
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
        if item.suffix.lower() == ".jsonl":
            results: Iterable[Loaded | Skipped] = load_jsonl(item)
        else:
            try:
                results = [load_text_file(item)]
            except ValueError as e:
                results = [Skipped(str(item), str(e))]
        for r in results:
            if isinstance(r, Loaded):
                first = seen.setdefault(r.document.doc_id, r.document.source_path)
                if first != r.document.source_path:
                    yield Skipped(r.document.source_path, f"duplicate document id {r.document.doc_id!r} (first seen in {first})")
                    continue
            yield r
