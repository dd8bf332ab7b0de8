"""Title, date, outlet and byline where an article's own text states them by a convention of news text.

Only what the text states is taken; anything unknown stays empty, never guessed. Each rule is a convention
many outlets share, read where that convention puts it:

- the header (the first few non-blank lines): a title (the first short line that is not a sentence; a
  Markdown "# heading"), a labelled date ("date 2023-11-10", "Published: 8 November 2023", "Posted on
  Nov. 8, 2023") or a line that is only a full date, a byline ("By Jane Reporter"), a breadcrumb
  ("Home » World »");
- the lead (the first paragraph after the title): an agency credit, alone or after a dateline:
  "(Reuters) -", "MOSCOW, Nov 8 (AP) —", "(VitalNews.org) –", "Washington (CNN)The president ...";
- the tail (the last few non-blank lines): a copyright line ("Copyright 2023, Example News",
  "© 2023 Example News. All rights reserved.");
- in Markdown, a front-matter block ("---" / "title: ..." / "date: ..." / "---").

A date without a year is not taken. Markers that are metadata rather than prose (a date stamp, a breadcrumb,
front matter) are reported as ranges to leave out of the body.

>>> m = extract_metadata("Talks End\\n\\nMOSCOW, Nov 8 (Reuters) - Officials met. They talked.")
>>> (m.title, m.outlet, m.date)
('Talks End', 'Reuters', '')
>>> extract_metadata("Published: November 8, 2023\\nBy Jane Reporter\\nOfficials met. They talked.").date
'2023-11-08'
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MAX_TITLE_CHARS = 200
MAX_TITLE_WORDS = 25
RUN_IN_TITLE_CHARS = 70  # a headline not set apart by a blank line is no longer than headlines are written
HEADER_LINES = 5  # title, breadcrumb, byline, date line, lead: where a header's conventions are found
TAIL_LINES = 3  # where a closing copyright line is found

_MONTHS = {m: i for i, names in enumerate([
    "jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
    "sep sept september", "oct october", "nov november", "dec december"], 1) for m in names.split()}
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?" \
         r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_WEEKDAY = r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+)?"
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,4}\b)?)?"
_ISO_TIME = r"(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
_DATE = (
    rf"{_WEEKDAY}(?:(?P<iy>\d{{4}})-(?P<im>\d{{2}})-(?P<id>\d{{2}}){_ISO_TIME}"
    rf"|(?P<am>{_MONTH})\.?\s+(?P<ad>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<ay>\d{{4}})"
    rf"|(?P<bd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<bm>{_MONTH})\.?,?\s+(?P<by>\d{{4}})){_TIME}"
)
_LABEL = r"(?:date[d]?|published|posted|first published)(?:\s+on)?\s*:?\s*"
_LABELLED_DATE = re.compile(rf"(?i:{_LABEL})(?:{_DATE})")
_WHOLE_DATE = re.compile(rf"\s*(?:{_DATE})\s*")
_NAME = r"[A-Z][\w'’.-]+(?:\s+(?:[A-Z][\w'’.-]*|de|da|van|von|der|al|bin|el|la|le)){1,4}"
_BYLINE = re.compile(rf"\s*By\s+(?!The\s)(?P<a>{_NAME}(?:(?:\s+and\s+|\s*&\s*){_NAME})*)"
                     r"\s*(?:[,|•·–—-]\s*\S.*)?")
_CRUMB = re.compile(r"\s*Home\s*(?P<sep>[»›>|/])\s*")
_CREDIT = re.compile(
    r"\s*(?:(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3}|[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})"  # MOSCOW / Moscow
    rf"(?:,\s*(?:{_MONTH}\.?\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTH}\.?)(?:,?\s+\d{{4}})?)?\s*)?"  # , Nov 8
    r"\((?P<o>[A-Z][\w.&'’ -]{1,60}?)\)(?:\s*[–—-]+|(?=[A-Z“\"]))"  # (Reuters) -   or   (CNN)The
)
_OWNER = r"[A-Z][\w.&'’ -]{1,60}?"
_COPYRIGHT = re.compile(
    r"\s*(?i:copyright\s*(?:©|\(c\))?|©|\(c\))\s*"
    rf"(?:\d{{4}}(?:\s*[-–]\s*\d{{4}})?\s*,?\s+(?P<o>{_OWNER})|(?P<o2>{_OWNER}),?\s+\d{{4}})"
    r"\s*\.?\s*(?i:all rights reserved\.?)?\s*"
)
_FRONT_MATTER = re.compile(r"---[ \t]*\r?\n(?P<body>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_SENTENCE_BREAK = re.compile(r"[a-z0-9)][.!?][\"'”’]?\s+[A-Z“\"]")  # "... season eight. Hear what ..."
_LINE = re.compile(r"[^\n\r\u2028\u2029]+")


@dataclass(frozen=True)
class Metadata:
    title: str = ""
    date: str = ""
    outlet: str = ""
    author: str = ""
    exclude: tuple[tuple[int, int], ...] = ()


def extract_metadata(text: str, markdown: bool = False) -> Metadata:
    """Title, date, outlet and byline as stated by the text, and ranges to leave out of the body."""
    found: dict[str, str] = {}
    exclude: list[tuple[int, int]] = []
    start = 0
    if markdown and (fm := _FRONT_MATTER.match(text)):
        found.update(_front_matter(fm.group("body")))
        exclude.append((fm.start(), fm.end()))
        start = fm.end()
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text, start) if m.group().strip()]
    content: list[tuple[int, int]] = []  # header lines that are not metadata markers
    for n, (a, b) in enumerate(lines[:HEADER_LINES]):
        a = _skip_space(text, a, b)
        stamp = _LABELLED_DATE.match(text, a, b)
        # a stamp shares its line with the text only on the first line (a page flattened to one line)
        if stamp and (n == 0 or not text[stamp.end():b].strip()) and (iso := _iso(stamp)):
            found.setdefault("date", iso)
            exclude.append((stamp.start(), stamp.end()))
            a = _skip_space(text, stamp.end(), b)
        if (crumb_end := _breadcrumb_end(text, a, b)) > a:
            exclude.append((a, crumb_end))
            a = _skip_space(text, crumb_end, b)
        line = text[a:b].strip()
        if not line:
            continue
        if byline := _BYLINE.fullmatch(line):
            found.setdefault("author", byline.group("a"))
            continue
        if (whole := _WHOLE_DATE.fullmatch(line)) and (iso := _iso(whole)):
            found.setdefault("date", iso)
            continue
        content.append((a, b))
    title = _title(text, content, lines, markdown)
    lead = content[1:2] if title else content[:1]
    return Metadata(
        title=found.get("title") or title,
        date=found.get("date", ""),
        outlet=found.get("outlet") or _credit(text, lead) or _copyright(text, lines[-TAIL_LINES:]),
        author=found.get("author", ""),
        exclude=tuple(exclude),
    )


def parse_date(value: str) -> str:
    """An ISO date for a full written date ("" when there is no year or no such day).

    >>> parse_date("Wednesday, November 8, 2023"), parse_date("8 Nov. 2023"), parse_date("2023-11-08T10:00Z")
    ('2023-11-08', '2023-11-08', '2023-11-08')
    >>> parse_date("November 8"), parse_date("2023-02-30")
    ('', '')
    """
    m = _WHOLE_DATE.fullmatch(value)
    return _iso(m) if m else ""


def _iso(m: re.Match) -> str:
    g = m.groupdict()
    if g["iy"]:
        y, mo, d = int(g["iy"]), int(g["im"]), int(g["id"])
    elif g["am"]:
        y, mo, d = int(g["ay"]), _MONTHS[g["am"].lower()], int(g["ad"])
    else:
        y, mo, d = int(g["by"]), _MONTHS[g["bm"].lower()], int(g["bd"])
    try:
        return dt.date(y, mo, d).isoformat()
    except ValueError:
        return ""


def _skip_space(text: str, a: int, b: int) -> int:
    while a < b and text[a].isspace():
        a += 1
    return a


def _breadcrumb_end(text: str, a: int, b: int) -> int:
    """The end of a "Home » World » Europe" trail starting at ``a`` (``a`` when there is none): each crumb is
    followed by the separator; a short last crumb closing its line is part of the trail too."""
    m = _CRUMB.match(text, a, b)
    if not m:
        return a
    sep, pos = m.group("sep"), m.end()
    while (nxt := text.find(sep, pos, b)) >= 0 and nxt - pos <= 40 and not re.search(r"[.!?]\s", text[pos:nxt]):
        pos = _skip_space(text, nxt + 1, b)
    rest = text[pos:b].strip()
    if rest and len(rest.split()) <= 6 and rest[-1] not in ".!?,;:":
        return b
    return pos


def _title(text: str, content: list[tuple[int, int]], lines: list[tuple[int, int]], markdown: bool) -> str:
    """The first content line when it reads as a headline and more text follows it."""
    if not content or content[0][1] >= lines[-1][1]:
        return ""
    a, b = content[0]
    line = text[a:b].strip()
    if markdown and line.startswith("#"):
        return line.lstrip("#").strip()
    if len(line) > MAX_TITLE_CHARS or len(line.split()) > MAX_TITLE_WORDS:
        return ""
    bare = line.rstrip("\"'”’)]»")
    if bare.endswith((".", ",", ";", ":")) or _SENTENCE_BREAK.search(line) or _CREDIT.match(line):
        return ""  # a sentence, or two: prose
    if not re.match(r"[ \t]*\r?\n[ \t]*\r?\n", text[b:]):  # run straight into the body, not set apart
        if bare[-1:] in "!?" or len(line) > RUN_IN_TITLE_CHARS:
            return ""  # a question, an exclamation or a long unpunctuated line there is prose (a standfirst)
    return line


def _credit(text: str, lead: list[tuple[int, int]]) -> str:
    for a, b in lead:
        if m := _CREDIT.match(text, a, b):
            return m.group("o").strip()
    return ""


def _copyright(text: str, tail: list[tuple[int, int]]) -> str:
    for a, b in reversed(tail):
        if m := _COPYRIGHT.fullmatch(text, a, b):
            return (m.group("o") or m.group("o2")).strip()
    return ""


def _front_matter(body: str) -> dict[str, str]:
    """title, date, author and outlet from a Markdown front-matter block's "key: value" lines."""
    keys = {"title": "title", "date": "date", "author": "author", "source": "outlet", "outlet": "outlet",
            "publisher": "outlet"}
    out: dict[str, str] = {}
    for line in body.splitlines():
        key, sep, value = line.partition(":")
        value = value.strip().strip("'\"")
        field = keys.get(key.strip().lower())
        if sep and field and value and field not in out:
            out[field] = parse_date(value) if field == "date" else value
    return {k: v for k, v in out.items() if v}
