"""Plain-text and Markdown articles: the file is the text; title, date and outlet where the text states them."""
from __future__ import annotations

from pathlib import Path

from rag.ingest.metadata import extract_metadata
from rag.types import Document
from rag.ingest.loaders.common import Loaded, decode_text, read_bytes, with_hash


def load_text_file(path: Path, max_bytes: int) -> Loaded:
    text = decode_text(read_bytes(path, max_bytes))
    meta = extract_metadata(text, markdown=path.suffix.lower() == ".md")
    doc = Document(
        doc_id=path.stem, text=text, title=meta.title, date=meta.date, outlet=meta.outlet, author=meta.author,
        source_path=str(path),
    )
    return Loaded(with_hash(doc), meta.exclude)
