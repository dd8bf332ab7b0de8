"""Adding and removing articles from the page. Every bad upload is reported; none stops the others."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

from rag.errors import RagError
from rag.store import Store
from rag.ingest.pipeline import ingest, remove_documents
from rag.ingest.loaders import SUFFIXES, SUPPORTED
from rag.types import IngestReport, Skipped

from .engines import Engines
from .render import esc, message_html

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = SUFFIXES  # every type `rag ingest` reads (rag/ingest/loaders)
ARCHIVE_SUFFIXES = (".pdf", ".warc", ".warc.gz")
UPLOAD_FILE_TYPES = tuple(s for s in SUFFIXES if s != ".warc.gz") + (".gz",)  # the browser's file picker
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ARCHIVE_UPLOAD_BYTES = 50 * 1024 * 1024  # PDFs and web archives
MAX_FILES = 50
TABLE_HEADERS = ["doc id", "title", "outlet", "date", "chunks"]

# progress(fraction, desc): gr.Progress or any callable alike
Progress = Callable[..., object]


def upload_path(item: object) -> Path:
    """The path of one uploaded file as Gradio hands it over (str path or an object with .name/.path)."""
    if isinstance(item, (str, Path)):
        return Path(item)
    for attr in ("path", "name"):
        value = getattr(item, attr, None)
        if isinstance(value, str):
            return Path(value)
    raise ValueError(f"unexpected upload {item!r}")


def check_uploads(files: Sequence[object] | None, max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[list[Path], list[Skipped]]:
    """Split uploads into files to ingest and files refused (wrong type, too big, unreadable)."""
    ok: list[Path] = []
    refused: list[Skipped] = []
    for item in list(files or [])[: MAX_FILES]:
        try:
            path = upload_path(item)
        except ValueError as e:
            refused.append(Skipped(str(item), str(e)))
            continue
        name = path.name
        if not any(name.lower().endswith(s) for s in ALLOWED_SUFFIXES):
            refused.append(Skipped(name, f"unsupported file type {path.suffix or '(none)'!r}; upload {SUPPORTED} files"))
            continue
        limit = MAX_ARCHIVE_UPLOAD_BYTES if name.lower().endswith(ARCHIVE_SUFFIXES) else max_bytes
        try:
            size = path.stat().st_size
        except OSError as e:
            refused.append(Skipped(name, f"cannot read the upload ({e.strerror or e})"))
            continue
        if size > limit:
            refused.append(Skipped(name, f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit per file"))
            continue
        ok.append(path)
    for item in list(files or [])[MAX_FILES:]:
        refused.append(Skipped(str(item), f"more than {MAX_FILES} files in one upload; add the rest separately"))
    return ok, refused


def report_html(report: IngestReport | None, refused: Sequence[Skipped] = ()) -> str:
    """What an upload did, with a reason for every file not added."""
    skipped = [*refused, *(report.skipped if report else [])]
    lines = []
    if report is not None:
        counts = [f"{len(report.added)} added", f"{len(report.replaced)} replaced", f"{len(report.unchanged)} unchanged"]
        lines.append(f"<p><strong>{esc(', '.join(counts))}</strong>, {len(skipped)} refused "
                     f"({report.chunks_embedded} passages indexed in {report.seconds:.1f} s).</p>")
        for label, ids in (("Added", report.added), ("Replaced", report.replaced), ("Unchanged", report.unchanged)):
            if ids:
                lines.append(f"<p>{label}: {esc(', '.join(ids))}</p>")
    if skipped:
        items = "".join(f"<li><code>{esc(Path(s.source).name)}</code>: {esc(s.reason)}</li>" for s in skipped)
        lines.append(f'<div class="notice error">Not added:<ul>{items}</ul></div>')
    return f'<div class="ingest-report">{"".join(lines)}</div>'


MAX_ROWS = 1_000  # articles listed on the page (the first by doc id); rag list shows them all


def article_rows(store: Store, limit: int = MAX_ROWS) -> list[list[object]]:
    """One row per indexed article (the first ``limit`` by doc id): doc id, title, outlet, date, chunks."""
    return [[d.doc_id, d.title, d.outlet, d.date, d.chunks] for d in store.list_documents(0, limit)]


def doc_ids(store: Store, limit: int = MAX_ROWS) -> list[str]:
    return [d.doc_id for d in store.list_documents(0, limit)]


def add_articles(engines: Engines, files: Sequence[object] | None, progress: Progress | None = None,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, list[list[object]]]:
    """Ingest the uploaded files into the index, then reload every engine. Returns (report HTML, table rows)."""
    if not files:
        return message_html("Choose one or more article files first."), article_rows(engines.store)
    ok, refused = check_uploads(files, max_bytes)
    if not ok:
        return report_html(None, refused), article_rows(engines.store)

    def on_progress(stage: str, done: int, total: int) -> None:
        if progress is not None:
            label = {"read": "Reading files", "embed": "Indexing passages"}.get(stage, stage)
            progress((done, total), desc=label)

    try:
        report = ingest(ok, engines.index_path, engines.base.embedder, progress=on_progress)
        engines.reload()
    except RagError as e:
        return message_html(str(e), "error"), article_rows(engines.store)
    except Exception as e:  # a bad upload must never take the page down
        log.exception("ingest failed")
        return message_html(f"Adding the articles failed ({type(e).__name__}: {e}); the index is unchanged.",
                            "error"), article_rows(engines.store)
    return report_html(report, refused), article_rows(engines.store)


def remove_articles(engines: Engines, ids: Sequence[str] | str | None) -> tuple[str, list[list[object]]]:
    """Delete articles by doc id, then reload every engine. Returns (message HTML, table rows)."""
    ids = [ids] if isinstance(ids, str) else list(ids or [])
    if not ids:
        return message_html("Select the articles to remove first."), article_rows(engines.store)
    try:
        removed, missing = remove_documents(engines.index_path, ids, engines.base.embedder.model_id)
        engines.reload()
    except RagError as e:
        return message_html(str(e), "error"), article_rows(engines.store)
    parts = []
    if removed:
        parts.append(f"Removed {', '.join(removed)}.")
    if missing:
        parts.append(f"Not in the index: {', '.join(missing)}.")
    return message_html(" ".join(parts), "info" if removed else "error"), article_rows(engines.store)
