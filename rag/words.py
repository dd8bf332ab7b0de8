"""Words as every later stage compares them: tokens, content words (stopwords out), a crude stem, two forms of one word.

Pure functions over text. The question analysis, evidence selection and the answer checks share them, so a
question's words and the words of a passage or a reply are cut the same way.
"""
from __future__ import annotations

import os
import re
from datetime import date as Date


_TOKEN = re.compile(r"[^\W_]+(?:[’'][^\W_]+)?", re.UNICODE)
NUMBER = re.compile(r"\d")
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself said says say according article articles passage passages one two
state states stated mention mentions mentioned describe describes described indicate indicates indicated note notes
noted report reports reported provide provides provided text texts source sources refer refers referred
name named person individual someone somebody specific certain
""".split())


def tokens(text: str) -> list[str]:
    """Lowercased word tokens, possessives folded ("China’s" -> "china").

    >>> tokens("China’s 2 U.S. drills")
    ['china', '2', 'u', 's', 'drills']
    """
    out = []
    for t in _TOKEN.findall(text.lower()):
        t = re.sub(r"[’']s$", "", t)
        out.append(t)
    return out


def cased_tokens(text: str) -> list[str]:
    """The words of ``tokens`` with their case kept, possessives folded ("China’s" -> "China").

    >>> cased_tokens("China’s Defence Minister")
    ['China', 'Defence', 'Minister']
    """
    return [re.sub(r"[’']s$", "", t) for t in _TOKEN.findall(text)]


def content_tokens(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())}


def stem(t: str) -> str:
    """A crude suffix stripper, enough to match "involves" with "involve" and "uses" with "use".

    >>> [stem(w) for w in ("involves", "involve", "uses", "use", "talks", "meeting")]
    ['involv', 'involv', 'use', 'use', 'talk', 'meet']
    >>> [stem(w) for w in ("unjustly", "unjust", "closely", "only", "early")]
    ['unjust', 'unjust', 'clos', 'only', 'early']
    """
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if len(t) > len(suffix) + 2 + (2 if suffix == "ly" else 0) and t.endswith(suffix):
            t = t[: -len(suffix)]
            break
    return t[:-1] if len(t) > 3 and t.endswith("e") else t


SUFFIX_LETTERS = 4  # what a word form adds to the shared start at most ("-ese", "-ian", "-ment"); a longer tail is
# another word built on the same start ("stars"/"starbucks", "spacex"/"spacecraft")


def same_word(a: str, b: str) -> bool:
    """Two forms of one word, by a long shared start ("china"/"chinese", "russia"/"russian") that leaves the
    longer word at most a suffix's letters more.

    >>> same_word("china", "chinese"), same_word("military", "militia"), same_word("tass", "tasks")
    (True, False, False)
    >>> same_word("spacex", "spacecraft"), same_word("stars", "starbucks"), same_word("economy", "economic")
    (False, False, True)
    """
    shared = len(os.path.commonprefix([a, b]))
    return (shared >= 4 and shared >= 0.75 * min(len(a), len(b))
            and max(len(a), len(b)) - shared <= SUFFIX_LETTERS)


MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def date_forms(iso: str) -> list[str]:
    """Ways a text may write an ISO date (lowercase).

    >>> date_forms("2023-11-10")
    ['2023-11-10', 'november 10, 2023', 'november 10 2023', '10 november 2023']
    >>> date_forms("2023-13-45"), date_forms("")
    (['2023-13-45'], [])
    """
    try:
        d = Date.fromisoformat(iso)
    except ValueError:
        return [iso.lower()] if iso else []
    month = MONTHS[d.month - 1]
    return [iso, f"{month} {d.day}, {d.year}", f"{month} {d.day} {d.year}", f"{d.day} {month} {d.year}"]


def spelled_dates(texts: list[str] | tuple[str, ...]) -> list[str]:
    """The ISO dates (YYYY-MM-DD) the texts hold, written out in words: a reply that gives a date it was shown as
    "2020-05-15" as "May 15, 2020" states what it was shown.

    >>> spelled_dates(["Article published by AP on 2020-05-15:", "no date here"])
    ['may 15, 2020']
    """
    out: list[str] = []
    for text in texts:
        for iso in _ISO_DATE.findall(text):
            out.extend(date_forms(iso)[1:2])
    return list(dict.fromkeys(out))
