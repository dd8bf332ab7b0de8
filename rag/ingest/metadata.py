"""Pure extraction of title, date and outlet from an article's own text.

Only what the text states is taken; anything unknown stays empty, never guessed.
Markers that are metadata rather than prose (a "date 2023-11-10" stamp, a
"Home »" breadcrumb) are reported as ranges to leave out of the body.

>>> m = extract_metadata("Big News Today\\n\\n(VitalNews.org) – Something happened.")
>>> (m.title, m.outlet, m.date)
('Big News Today', 'VitalNews.org', '')
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TITLE_CHARS = 200
MAX_TITLE_WORDS = 25

_DATE_STAMP = re.compile(r"^\s*(?:date|published|posted|updated)\s*:?\s*(\d{4}-\d{2}-\d{2})\b", re.I)
_BREADCRUMB = re.compile(r"\s*Home\s*[»>›]\s*")
_FRONT_DATE = re.compile(r"^\s*(?:date|published)\s*:\s*(\d{4}-\d{2}-\d{2})\s*$", re.I | re.M)
_DATELINE_OUTLET = re.compile(r"^\s*\((?P<o>[A-Z][\w.&' -]{1,60}?)\)\s*[–—-]", re.M)
_MESSAGE_FROM = re.compile(r"^\s*A Message from (?P<o>[A-Z][\w.&' -]{1,60}?)\s*:?\s*$", re.M)
_COPYRIGHT = re.compile(r"^\s*(?:Copyright|©)\s*(?:©\s*)?\d{4},?\s+(?P<o>[A-Z][\w.&' -]{1,60}?)\.?\s*$", re.M)
_SOURCE_LINE = re.compile(r"^\s*Source\s*:\s*(?P<o>[A-Z][\w.&' -]{1,60}?)\s*$", re.M)


@dataclass(frozen=True)
class Metadata:
    title: str = ""
    date: str = ""
    outlet: str = ""
    exclude: tuple[tuple[int, int], ...] = ()


def extract_metadata(text: str, markdown: bool = False) -> Metadata:
    """Title, date and outlet as stated by the text, and ranges to leave out of the body."""
    exclude: list[tuple[int, int]] = []
    date = ""
    first_line_end = _line_end(text, 0)
    stamp = _DATE_STAMP.match(text, 0, first_line_end)
    if stamp:
        date = stamp.group(1)
        exclude.append((stamp.start(), stamp.end()))
        crumb = _BREADCRUMB.match(text, stamp.end(), first_line_end)
        if crumb:
            exclude.append((crumb.start(), crumb.end()))
    elif markdown and (m := _FRONT_DATE.search(text[:500])):
        date = m.group(1)
    return Metadata(
        title=_title(text, markdown),
        date=date,
        outlet=_outlet(text),
        exclude=tuple(exclude),
    )


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _title(text: str, markdown: bool) -> str:
    lines = text.splitlines()
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if len(nonblank) < 2:
        return ""
    first = nonblank[0]
    line = lines[first].strip()
    if markdown and line.startswith("#"):
        return line.lstrip("#").strip()
    if len(line) > MAX_TITLE_CHARS or len(line.split()) > MAX_TITLE_WORDS:
        return ""
    if line.endswith((".", ",", ";", ":")) or _DATE_STAMP.match(line):
        return ""
    followed_by_blank = first + 1 < len(lines) and not lines[first + 1].strip()
    if not followed_by_blank and line[-1:] in "!?":
        return ""
    return line


def _outlet(text: str) -> str:
    for pattern in (_DATELINE_OUTLET, _MESSAGE_FROM, _COPYRIGHT, _SOURCE_LINE):
        m = pattern.search(text)
        if m:
            return m.group("o").strip()
    return ""
