"""PDFs (pypdf): the text of each page, with where each page starts, so a citation can say "p. 3".

Lines broken by the page layout are joined back into paragraphs; a PDF without a text layer (a scan) is
refused with what to do.
"""
from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

from rag.ingest.metadata import extract_metadata
from rag.types import Document
from rag.ingest.loaders.common import Loaded, need, read_bytes, with_hash

PAGE_BREAK = "\n\n"
SHORT_LINE = 0.6  # a line under this share of the page's longest line ends its paragraph
_SENTENCE_END = re.compile(r"[.!?:;\"”’)\]]$")


def unwrap_lines(page_text: str) -> str:
    """Join lines the layout broke mid-sentence. A line ends its paragraph when it ends a sentence, or when it
    is much shorter than the page's longest line (a heading, the last line of a paragraph).

    >>> unwrap_lines("Talks in Moscow\\nOfficials from both countries met in\\nMoscow on Wednesday and agreed to\\n"
    ...              "meet again.\\nThe next round of talks is due in\\nBeijing.")
    'Talks in Moscow\\nOfficials from both countries met in Moscow on Wednesday and agreed to meet again.\\nThe next round of talks is due in Beijing.'
    >>> unwrap_lines("defence co-\\noperation grew.")
    'defence co-operation grew.'
    """
    lines = [" ".join(line.split()) for line in page_text.splitlines()]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    joining = False
    for line in lines:
        if not line:
            joining = False
            continue
        if joining and out:
            sep = "" if out[-1].endswith("-") and line[:1].isalpha() else " "
            out[-1] = out[-1] + sep + line
        else:
            out.append(line)
        joining = not _SENTENCE_END.search(line) and len(line) >= SHORT_LINE * width
    return "\n".join(out)


def load_pdf(path: Path, max_bytes: int) -> Loaded:
    pypdf = need("pypdf", "pypdf")
    data = read_bytes(path, max_bytes)
    import io

    with _quiet("pypdf"):
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ValueError("the PDF is encrypted with a password; save an unencrypted copy and ingest that")
            texts = [unwrap_lines(page.extract_text() or "") for page in reader.pages]
            info = reader.metadata
            title, author = _info(info, "title"), _info(info, "author")
        except ValueError:
            raise
        except Exception as e:  # pypdf raises many kinds on damaged files; each is reported the same way
            raise ValueError(f"damaged or unreadable PDF ({type(e).__name__}: {e})") from e
    if not texts:
        raise ValueError("the PDF has no pages")
    if not any(t.strip() for t in texts):
        raise ValueError(f"no text layer in {len(texts)} page(s) (a scanned PDF?); run OCR first "
                         "(e.g. ocrmypdf IN.pdf OUT.pdf) and ingest the result")
    starts, parts, pos = [], [], 0
    for t in texts:
        starts.append(pos)
        parts.append(t)
        pos += len(t) + len(PAGE_BREAK)
    text = PAGE_BREAK.join(parts)
    meta = extract_metadata(text)
    doc = Document(doc_id=path.stem, text=text, title=title or meta.title, date=meta.date, outlet=meta.outlet,
                   author=author or meta.author, pages=tuple(starts), source_path=str(path))
    return Loaded(with_hash(doc), meta.exclude)


def _info(info, name: str) -> str:
    with contextlib.suppress(Exception):
        value = getattr(info, name, None) if info is not None else None
        return " ".join(str(value).split()) if value else ""
    return ""


@contextlib.contextmanager
def _quiet(logger_name: str):
    """pypdf logs every oddity of a damaged file; the loader reports one line instead."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
