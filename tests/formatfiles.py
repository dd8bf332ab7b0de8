"""Small input files of every supported format, written by the tests that need them (no binary fixtures)."""
from __future__ import annotations

import io
from pathlib import Path

STORY = [
    "Russian and Chinese defence officials met in Moscow on Wednesday to discuss military cooperation between "
    "the two countries, according to officials who attended the talks.",
    "The talks covered joint naval exercises planned for next year in the Pacific Ocean and the Mediterranean "
    "Sea, a statement from the Russian defence ministry said after the meeting.",
    "\u201cThe strategic partnership has entered a new stage,\u201d a senior Chinese general was quoted as saying "
    "by the state news agency as the delegations left the building.",
]

PAGE = """<!doctype html><html><head><title>Defence chiefs meet in Moscow | Daily Planet</title>
<meta property="og:site_name" content="Daily Planet">
<meta property="og:title" content="Defence chiefs meet in Moscow">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2023-11-08T10:00:00Z">
<link rel="canonical" href="https://dailyplanet.example/world/defence-chiefs">
<script>var tracking = "SCRIPTTEXT should never be indexed";</script>
<style>.ad { color: red }</style>
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/sport">MENUITEM Sport</a></li></ul></nav></header>
<aside class="advertisement"><p>ADVERT: buy cheap watches now, limited offer!</p></aside>
<main><article><h1>Defence chiefs meet in Moscow</h1>
<p class="byline">By Jane Reporter</p>
""" + "".join(f"<p>{p}</p>\n" for p in STORY) + """</article></main>
<section id="comments" class="comments"><h3>Comments</h3>
<div class="comment"><p>COMMENTTEXT: first! great article by troll123</p></div></section>
<footer><p>FOOTERTEXT Copyright 2023 Daily Planet. Privacy policy. Cookie settings.</p></footer>
</body></html>"""

NAV_ONLY_PAGE = """<html><head><title>Section index</title></head><body><nav><a href="/">Home</a>
<a href="/world">World</a><a href="/sport">Sport</a></nav><footer>Copyright 2023</footer></body></html>"""


def feed(n: int = 3, extra_first: bool = False, full_first: bool = True) -> str:
    """An RSS 2.0 feed with ``n`` entries: the first with the full story as HTML content (unless not
    ``full_first``), the others with one-sentence summaries."""
    items = []
    if extra_first:
        items.append(_item(99, "A newer story at the top", "<p>Officials announced a brand new schedule of talks for "
                                                           "the coming winter season.</p>"))
    for i in range(1, n + 1):
        body = ("<div><p>" + "</p><p>".join(STORY) + "</p><script>bad()</script></div>") if i == 1 and full_first else \
            f"<p>Entry {i} summary: the ministers agreed on point number {i} of the joint plan.</p>"
        items.append(_item(i, f"Entry {i} headline", body, content=i == 1 and full_first))
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" "
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
            "<channel><title>World Wire</title><link>https://wire.example</link>"
            + "".join(items) + "</channel></rss>")


def _item(i: int, title: str, html: str, content: bool = False) -> str:
    from xml.sax.saxutils import escape

    body = f"<content:encoded>{escape(html)}</content:encoded><description>short</description>" if content else \
        f"<description>{escape(html)}</description>"
    return (f"<item><title>{title}</title><link>https://wire.example/story/{i}</link>"
            f"<guid>https://wire.example/story/{i}</guid><pubDate>Wed, 0{i % 9 + 1} Nov 2023 10:00:00 GMT</pubDate>"
            f"<dc:creator>Wire Desk</dc:creator>{body}</item>")


def warc_bytes(pages: list[tuple[str, str]], image: bool = True, broken: bool = True) -> bytes:
    """A gzipped WARC: an HTML response per (url, html), an image, and (broken) a last record cut in half."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)

    def response(url: str, body: bytes, ctype: str) -> None:
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))

    for url, html in pages:
        response(url, html.encode("utf-8"), "text/html; charset=utf-8")
    if image:
        response("https://dailyplanet.example/logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
    whole = buf.getvalue()
    if not broken:
        return whole
    response("https://dailyplanet.example/cut", PAGE.encode("utf-8"), "text/html")
    last = buf.getvalue()[len(whole):]
    return whole + last[: len(last) // 2]


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A PDF with a text layer: one page per list of lines (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle("Annual Defence Review")
    c.setAuthor("Policy Institute")
    for lines in pages:
        y = 800
        for line in lines:
            c.drawString(50, y, line)
            y -= 16
        c.showPage()
    c.save()
    return buf.getvalue()


def blank_pdf_bytes(pages: int = 2) -> bytes:
    """A PDF whose pages carry no text at all (what a scan without OCR looks like to a text extractor)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path
