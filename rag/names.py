"""The names an answer gives, checked against the question and the articles (pure functions).

- ``names_anchored``: the names must stand in the articles next to what the question names (below);
- ``asks_for_a_name`` / ``gives_a_name`` and ``asks_for_a_place`` / ``gives_a_place``: who- and
  where-questions need a name or a place the question does not already hold;
- ``title_conflicts``: the person named must not be titled in the articles for something else
  ("Russian Defense Minister Sergei Shoigu" is no answer to "Who is China's defence minister?").

Name anchoring: the names an answer gives must stand in the articles next to what the question names.

Small models lift a name from one story into another: asked for the exercise held
with Iran, they give "Interaction-2022", which the articles name for a different
exercise; asked where Interaction-2022 will be held, they give the seas of another
agreement; asked for a report's title, they give the article's own headline. Every
word of such an answer is in the passages, so the lexical grounding check passes it.

This check asks more, when the question names something specific, i.e. a name only
one article uses ("Iran", "Interaction-2022", "Congress"): each name the answer adds
(a run of capitalised words, or a quoted phrase) must stand within a sentence of one
of those specific names in some article. An answer none of whose names does is not
anchored. The article's outlet and date count for the whole article (they
date and sign every sentence of it). Pure functions.

>>> answer_names("Where will Interaction-2022 be held?", "It will be held in the Pacific Ocean [3].")
['Pacific Ocean']
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

from .answer_type import DATE, WEEKDAY
from .cite import strip_markers
from .support import STOPWORDS, cased_tokens, same_word, tokens
from .textclean import split_sentences
from .types import Document

_QUOTE = re.compile(r"[\"“«]([^\"”»]{2,200})[\"”»]")
_CAPITALISED = re.compile(r"(?<!\w)[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*)*")
_ASKS = re.compile(r"^\s*(?:who|whom|whose)\b|\bwhat (?:is|was|are|were) the names? of\b|^\s*name\b", re.I)
# "where will it be held", "in which sea"; not "where does he rank / stand"
_ASKS_PLACE = re.compile(r"^\s*where\b(?!.*\b(?:rank|ranks|ranked|stand|stands|stood|fit|fits)\b)|"
                         r"\b(?:in|at|to|from) (?:which|what) (?:sea|city|country|region|place|location|port)\b",
                         re.I)
_PLACE_WORDS = frozenset(
    "sea seas ocean waters coast border borders city capital region island islands port base strait gulf "
    "territory province country abroad".split()
)


def _words(text: str) -> list[str]:
    """Content words, months and weekdays left out (dates are anchor.py's business)."""
    return [t for t in tokens(DATE.sub(" ", WEEKDAY.sub(" ", text))) if t not in STOPWORDS and not t.isdigit()]


def answer_names(question: str, answer: str, quotes: bool = True) -> list[str]:
    """Names the answer adds to the question: quoted phrases (with ``quotes``), then runs of capitalised words
    (leading "The" and the like dropped) with a word the question does not have."""
    text = strip_markers(answer)
    asked = set(tokens(question))

    def new(words: list[str]) -> bool:  # a word the question lacks in every form ("China" is in "Chinese")
        return any(w not in asked and not any(same_word(w, a) for a in asked) for w in words)

    names: list[str] = []
    rest = text
    if quotes:
        names = [m.group(1).strip() for m in _QUOTE.finditer(text)]
        names = [n for n in names if new(_words(n))]
        rest = _QUOTE.sub(" ", text)
    for m in _CAPITALISED.finditer(rest):
        run = m.group(0).split()
        while run and not _words(run[0]):  # "The", "According", ...
            run.pop(0)
        if new(_words(" ".join(run))):
            names.append(" ".join(run).strip(" .,;:"))
    return [n for n in dict.fromkeys(names) if n]


def specific_names(question: str, documents: Sequence[Document]) -> set[str]:
    """Words of the question's capitalised names that exactly one of ``documents`` uses."""
    words: set[str] = set()
    for m in _CAPITALISED.finditer(question):
        words |= set(_words(m.group(0)))
    if len(documents) < 2:
        return set()
    bags = [_bag(d) for d in documents]
    return {w for w in words if sum(1 for bag in bags if w in bag) == 1}


@lru_cache(maxsize=4096)
def _bag(doc: Document) -> frozenset[str]:
    return frozenset(tokens(doc.text)) | frozenset(tokens(doc.title))


@lru_cache(maxsize=4096)
def _windows(doc: Document) -> list[set[str]]:
    """Word sets of each run of three sentences; the first holds the outlet and date with the whole article."""
    body = [set(tokens(doc.text[a:b])) for a, b in split_sentences(doc.text)]
    whole = set().union(*body) if body else set()
    out = [whole | set(tokens(f"{doc.outlet} {doc.date}"))]
    out += [set().union(*body[max(0, i - 1): i + 2]) for i in range(len(body))]
    return out


def name_anchor(question: str, answer: str, documents: Iterable[Document],
                specific: set[str] | None = None) -> float | None:
    """Share of the answer's names that stand within a sentence of a specific name of the question; None when
    the check does not apply (no specific name asked about, or no name given). ``specific``: the question's
    ``specific_names`` over these documents, when the caller has them already."""
    documents = list(documents)
    if specific is None:
        specific = specific_names(question, documents)
    names = answer_names(question, answer)
    if not specific or not names:
        return None
    anchored = 0
    for name in names:
        need = set(_words(name)) or set(tokens(name))
        for doc in documents:
            windows = _windows(doc)
            outlet_or_date = need <= set(tokens(f"{doc.outlet} {doc.date}"))
            candidates = windows[:1] if outlet_or_date else windows[1:]
            if any(need <= w and w & specific for w in candidates):
                anchored += 1
                break
    return anchored / len(names)


def names_anchored(question: str, answer: str, documents: Iterable[Document],
                   specific: set[str] | None = None) -> bool:
    """False only when the question names something specific and none of the answer's names stands near it."""
    score = name_anchor(question, answer, documents, specific)
    return score is None or score > 0


def asks_for_a_name(question: str) -> bool:
    """Who / whom / whose questions, "what is the name of", "name the".

    >>> asks_for_a_name("Who is Xu Qiliang?"), asks_for_a_name("What is the name of the exercise?")
    (True, True)
    >>> asks_for_a_name("Which sea?")
    False
    """
    return bool(_ASKS.search(question))


def gives_a_name(question: str, answer: str) -> bool:
    """True when the answer holds a capitalised name (quoted or not) whose head, its last word, the question
    lacks ("Russian President Vladimir Putin" only says more of the question's "Putin"; "General Zhang Youxia"
    names someone new even where the question says "general").

    >>> gives_a_name("What is the name of the minister Putin met?", "Putin met the minister named in passage 1.")
    False
    >>> gives_a_name("Who wrote it for Putin?", "Vladimir Putin wrote it."), gives_a_name("Who?", "Li Shangfu.")
    (False, True)
    """
    asked = set(tokens(question))
    heads = [_words(name)[-1] for name in answer_names(question, answer, quotes=False) if _words(name)]
    return any(h not in asked and not any(same_word(h, a) for a in asked) for h in heads)


def asks_for_a_place(question: str) -> bool:
    """Where-questions that ask for a place ("where will it be held", "in which sea"); "where does he rank" asks
    for a position, not a place.

    >>> asks_for_a_place("Where will the exercise be held?"), asks_for_a_place("Where does Zhang rank?")
    (True, False)
    """
    return bool(_ASKS_PLACE.search(question))


def gives_a_place(question: str, answer: str) -> bool:
    """True when the answer adds a capitalised name to the question (places are proper names: "the Sea of Japan",
    "Moscow") or a word for a place the question lacks ("sea", "border", "waters").

    >>> gives_a_place("Where will Interaction-2022 be held?", "Interaction-2022 will be held next year.")
    False
    >>> gives_a_place("Where will it be held?", "In the Sea of Japan."), gives_a_place("Where?", "Near the border.")
    (True, True)
    """
    if answer_names(question, answer, quotes=False):
        return True
    asked = set(tokens(question))
    return any(w in _PLACE_WORDS and w not in asked for w in tokens(strip_markers(answer)))


_TITLE_BEFORE = r"((?:[A-Z][\w’'-]*\s+){{1,4}}){}\b"


def title_conflicts(question: str, answer: str, documents: Iterable[Document]) -> list[str]:
    """Names the answer gives whom the articles title differently from the question: the capitalised words right
    before the name in an article ("Russian Defense Minister Sergei Shoigu") end in the question's role word
    ("minister") but lack the capitalised word that qualifies it there ("China's defence minister").

    >>> docs = [Document("d", "Russian Defense Minister Sergei Shoigu spoke.")]
    >>> title_conflicts("Who is China's defence minister?", "It is Sergei Shoigu [1].", docs)
    ['Sergei Shoigu']
    >>> title_conflicts("Who is Russia's defence minister?", "It is Sergei Shoigu [1].", docs)
    []
    >>> title_conflicts("Who is the Russian Defence Minister Putin praised?", "Sergei Shoigu [1].", docs)
    []
    >>> title_conflicts("Which Chinese leader met Putin in China?", "Xi Jinping [1].",
    ...                 [Document("d", "Chinese President Xi Jinping met him.")])
    []
    """
    words = [(w.lower(), w[0].isupper()) for w in cased_tokens(question)]
    documents = list(documents)
    out = []
    for name in answer_names(question, answer, quotes=False):
        for doc in documents:
            if any(_conflicts(words, _words(m.group(1)))
                   for m in re.finditer(_TITLE_BEFORE.format(re.escape(name)), doc.text)):
                out.append(name)
                break
    return out


def _conflicts(question: list[tuple[str, bool]], title: list[str]) -> bool:
    """Does the question hold the title's head, its last word (the role: "minister" of "Russian Defense
    Minister"), with a capitalised qualifier (up to three words before it) that the title lacks?"""
    if not title:
        return False

    def in_title(w: str) -> bool:  # "defence" is "defense"
        return any(w == t or same_word(w, t) or _one_letter_apart(w, t) for t in title)
    head = title[-1]
    for i, (word, _) in enumerate(question):
        if word == head or same_word(word, head):
            if any(cap and w not in STOPWORDS and not in_title(w) for w, cap in question[max(0, i - 3): i]):
                return True
    return False


def _one_letter_apart(a: str, b: str) -> bool:
    return len(a) == len(b) >= 5 and sum(x != y for x, y in zip(a, b)) == 1
