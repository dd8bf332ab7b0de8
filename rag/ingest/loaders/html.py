"""Web pages: the main text and the page's own metadata, extracted by trafilatura.

Menus, ads, comments, scripts and footers are dropped; the extracted text is what the index stores, so
citation spans point into it. A page with no article text left is refused with the reason.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

from rag.types import Document
from rag.ingest.loaders.common import Loaded, need, read_bytes, with_hash

MIN_PAGE_WORDS = 20  # less than this after extraction is a menu, a cookie wall or an index page, not an article


@dataclass(frozen=True)
class Page:
    """What the extractor found in one page (empty strings where the page does not say)."""

    text: str
    title: str = ""
    author: str = ""
    date: str = ""
    outlet: str = ""
    url: str = ""


def extract_page(markup: str | bytes, url: str = "", min_words: int = MIN_PAGE_WORDS) -> Page:
    """The article in a whole HTML page; ValueError when none can be found."""
    trafilatura = need("trafilatura", "trafilatura and lxml_html_clean")
    try:
        found = trafilatura.bare_extraction(
            markup, url=url or None, with_metadata=True, include_comments=False, include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as e:  # the extractor's own failures on hostile markup: report, never crash the run
        raise ValueError(f"the HTML could not be parsed ({type(e).__name__}: {e})") from e
    text = _text(found)
    words = len(text.split())
    if words < min_words:
        why = "no article text found" if not words else f"only {words} words of article text found"
        raise ValueError(f"{why} (the page holds navigation or boilerplate only); nothing to index")
    return Page(
        text=text,
        title=_attr(found, "title"),
        author=_attr(found, "author"),
        date=_attr(found, "date"),
        outlet=_attr(found, "sitename") or _attr(found, "hostname"),
        url=_attr(found, "url") or url,
    )


def extract_fragment(markup: str) -> str:
    """The text of an HTML fragment (a feed entry's content or summary), through the same extractor.

    >>> extract_fragment("<p>Talks <b>ended</b> &amp; resumed.</p><script>x()</script>")
    'Talks ended & resumed.'
    """
    if "<" not in markup:
        return " ".join(markup.split()) if "&" not in markup else _unescape(markup)
    trafilatura = need("trafilatura", "trafilatura and lxml_html_clean")
    config = _fragment_config(trafilatura)
    try:
        text = trafilatura.extract(f"<html><body>{markup}</body></html>", include_comments=False,
                                   include_tables=True, config=config)
    except Exception as e:
        raise ValueError(f"the entry's HTML could not be parsed ({type(e).__name__}: {e})") from e
    return (text or "").strip()


def load_html_file(path: Path, max_bytes: int) -> Loaded:
    page = extract_page(read_bytes(path, max_bytes))
    doc = Document(doc_id=path.stem, text=page.text, title=page.title, date=page.date, outlet=page.outlet,
                   url=page.url, author=page.author, source_path=str(path))
    return Loaded(with_hash(doc))


def _text(found) -> str:
    text = _attr(found, "text")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _attr(found, name: str) -> str:
    value = getattr(found, name, None) if found is not None else None
    return str(value).strip() if value else ""


def _unescape(text: str) -> str:
    import html

    return " ".join(html.unescape(text).split())


@functools.cache
def _fragment_config(trafilatura):
    """The extractor's settings with its minimum sizes lowered: an entry summary is one sentence, not a page."""
    config = copy.deepcopy(trafilatura.settings.DEFAULT_CONFIG)
    config["DEFAULT"]["MIN_EXTRACTED_SIZE"] = "1"
    config["DEFAULT"]["MIN_OUTPUT_SIZE"] = "1"
    return config
