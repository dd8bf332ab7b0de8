"""JSON Lines: one {"id", "title", "text", "date", "source", "url", "author"} object per line; each bad line is
reported by its number and the others still load."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from rag.ingest.metadata import extract_metadata
from rag.types import Document, Skipped
from rag.ingest.loaders.common import Loaded, decode_text, read_bytes, with_hash


def load_jsonl(path: Path, max_bytes: int) -> Iterator[Loaded | Skipped]:
    try:
        text = decode_text(read_bytes(path, max_bytes))
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
            author=_field(row, "author") or meta.author,
            source_path=where,
        )
        yield Loaded(with_hash(doc), meta.exclude)


def _field(row: dict, key: str) -> str:
    value = row.get(key)
    return str(value).strip() if value is not None else ""
