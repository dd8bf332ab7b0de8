"""Web archives (.warc, .warc.gz; warcio): one document per HTML page the archive holds.

Each page goes through the page extractor; its URL and the date it was crawled are kept. Records that
are not HTML pages (requests, metadata, images, …) are counted and reported in one line; a page with no
article text is reported on its own line; a damaged record ends the file with a reason, keeping the
pages read before it. Progress is reported in bytes of the archive as its records are read.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

from rag.types import Document, Skipped
from rag.ingest.loaders.common import Loaded, derived_id, need, with_hash
from rag.ingest.loaders.html import extract_page

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_RECORD_BYTES = 10 * 1024 * 1024
PAGE_RECORDS = ("response", "resource")

# progress(stage, done, total)
Progress = Callable[[str, int, int], object]


def is_warc(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".warc") or name.endswith(".warc.gz")


def warc_stem(path: Path) -> str:
    name = path.name
    return name[: -len(".warc.gz")] if name.lower().endswith(".warc.gz") else path.stem


def load_warc(path: Path, progress: Progress | None = None) -> Iterator[Loaded | Skipped]:
    try:
        size = path.stat().st_size
        archive = need("warcio.archiveiterator", "warcio")
    except OSError as e:
        yield Skipped(str(path), f"cannot read file: {e.strerror or e}")
        return
    except ValueError as e:
        yield Skipped(str(path), str(e))
        return
    if size == 0:
        yield Skipped(str(path), "empty file (0 bytes): not a web archive")
        return
    if not _starts_like_warc(path):
        yield Skipped(str(path), "not a WARC file (it does not start with a 'WARC/1.x' record, plain or gzipped)")
        return
    stage = f"warc {path.name}"
    other: Counter[str] = Counter()
    done = 0  # records read to the end
    damaged = False
    with open(path, "rb") as f:
        records_in = archive.ArchiveIterator(f)
        try:
            for record in records_in:
                kind = _page_kind(record)
                if kind is None:
                    yield _read_page(record, path, done + 1)
                else:
                    other[kind] += 1
                done += 1
                if progress:
                    progress(stage, min(f.tell(), size), size)
        except Exception as e:  # warcio and zlib raise many kinds on damaged input; each is reported the same way
            damaged = True
            read = f"the {done} records before it were read" if done else "nothing could be read"
            yield Skipped(f"{path}#record-{done + 1}", f"damaged or truncated web archive "
                                                      f"({type(e).__name__}: {e}); {read}")
        else:
            tail = size - records_in.offset
            if tail > 0:  # warcio stops quietly at a record cut short at the end of the file
                yield Skipped(f"{path}#record-{done + 1}", f"the archive ends with {tail} bytes that are not a "
                                                          "complete record (truncated file?); they were not read")
    if progress:
        progress(stage, size, size)
    if done == 0 and not other and not damaged:
        yield Skipped(str(path), "no WARC records found: not a web archive")
    elif other:
        kinds = ", ".join(f"{n} {k}" for k, n in other.most_common())
        yield Skipped(str(path), f"{sum(other.values())} of {done} records are not HTML pages ({kinds})")


def _page_kind(record) -> str | None:
    """None for an HTML page; else what the record is, for the report ("request", "image/png", …)."""
    if record.rec_type not in PAGE_RECORDS:
        return record.rec_type or "unknown"
    if record.rec_type == "response" and record.http_headers is not None:
        status = record.http_headers.get_statuscode()
        if status and not status.startswith("2"):
            return f"HTTP {status}"
        ctype = record.http_headers.get_header("Content-Type") or ""
    else:
        ctype = record.rec_headers.get_header("Content-Type") or ""
    mime = ctype.split(";")[0].strip().lower()
    return None if mime in HTML_TYPES else (mime or "no content type")


def _read_page(record, path: Path, n: int) -> Loaded | Skipped:
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    where = f"{path}#record-{n}" + (f" {url}" if url else "")
    body = record.content_stream().read(MAX_RECORD_BYTES + 1)
    missing = getattr(record.raw_stream, "limit", 0)
    if missing:  # the file ended inside this record
        raise EOFError(f"the file ends {missing} bytes before the end of this record")
    if len(body) > MAX_RECORD_BYTES:
        return Skipped(where, f"page over {MAX_RECORD_BYTES // 1_000_000} MB; not an article")
    try:
        page = extract_page(body, url=url)
    except ValueError as e:
        return Skipped(where, str(e))
    doc = Document(
        doc_id=derived_id(warc_stem(path), url or f"record-{n}"),
        text=page.text, title=page.title, date=page.date, outlet=page.outlet, url=url or page.url,
        author=page.author, crawl_date=record.rec_headers.get_header("WARC-Date") or "", source_path=where,
    )
    return Loaded(with_hash(doc))


def _starts_like_warc(path: Path) -> bool:
    import zlib

    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(31).decompress(head, 64)
        except zlib.error:
            return False
    return head.lstrip()[:6] == b"WARC/1"
