"""Anchoring: a date or weekday given as the answer must stand near what the question asks about.

Small models attach a date from one event to another ("Putin's visit to China
took place on April 16, 2023", a date the articles give for a different
meeting). The words of such an answer are all in the passages, so the lexical
grounding check passes it. This check asks more: some article must state the
answer's date or weekday within a sentence of a good share of the question's
own words. Pure functions.
"""
from __future__ import annotations

import datetime as dt
from typing import Collection, Iterable

from .answer_type import DATE, WEEKDAY, expected_answer
from .support import content_tokens, support_score, tokens
from .textclean import split_sentences
from .types import Document

MIN_ANCHOR = 0.3  # share of the question's content words that must stand within a sentence of the answer's date


def typed_values(question: str, answer: str) -> list[str]:
    """The dates or weekdays in the answer that the question did not already name ([] for other questions).

    >>> typed_values("When did Putin meet Zhang in 2023?", "They met on April 16, 2023 [1].")
    ['April']
    >>> typed_values("Who is Xu Qiliang?", "He met Putin on April 16.")
    []
    """
    pattern = expected_answer(question)
    if pattern is not DATE and pattern is not WEEKDAY:
        return []
    asked = question.casefold()
    values = []
    for m in pattern.finditer(answer):
        if m.group(0).casefold() not in asked:
            values.append(m.group(0))
    return values


def date_words(iso: str) -> str:
    """An ISO date as the words an answer would use.

    >>> date_words("2023-11-10")
    'Friday November 10, 2023 (2023-11-10)'
    >>> date_words("not a date")
    ''
    """
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return ""
    return f"{d:%A %B} {d.day}, {d.year} ({iso})"


def anchor_score(question: str, answer: str, documents: Iterable[Document],
                 specific: Collection[str] = ()) -> float | None:
    """Best share of the question's content words within a sentence of a sentence giving the answer's
    date or weekday; None when the check does not apply (no date or weekday asked for or given).

    ``specific``: words of what the question names that only one article uses (names.specific_names); when
    given, a window counts only if it holds one of them (the article's outlet and title count for all of it),
    so that another article's date cannot answer for "Xu Qiliang"."""
    values = typed_values(question, answer)
    if not values:
        return None
    folded = [v.casefold() for v in values]
    asked = " ".join(sorted(t for t in content_tokens(question) if t not in folded))
    if not asked:
        return None
    key = next((v for v in folded if not v.isdigit()), folded[0])  # the weekday or month if any, else the year
    best = 0.0
    for doc in documents:
        header, body = _header(doc), [doc.text[a:b] for a, b in split_sentences(doc.text)]
        windows = []
        if key in header.casefold():  # the article's own date: it dates the whole article
            windows.append(" ".join([header, *body]))
        windows += [" ".join(body[max(0, i - 1) : i + 2]) for i, s in enumerate(body) if key in s.casefold()]
        signed = set(tokens(f"{doc.title} {doc.outlet}"))
        for window in windows:
            if specific and not (set(specific) & (set(tokens(window)) | signed)):
                continue
            best = max(best, support_score(asked, [window]))
    return best


def _header(doc: Document) -> str:
    """The article's title and date as the model saw them in its source line, the date also in words."""
    return " ".join(x for x in (doc.title, date_words(doc.date)) if x)


def anchored(question: str, answer: str, documents: Iterable[Document], specific: Collection[str] = ()) -> bool:
    """False only when the answer gives a date or weekday that no article states near the question's words."""
    score = anchor_score(question, answer, documents, specific)
    return score is None or score >= MIN_ANCHOR
