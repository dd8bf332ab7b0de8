"""A deterministic synthetic news corpus: the scale benchmark's articles (bench/scale.py) and the texts the
int8 embedder is calibrated on (rag/embed/openvino.py).

Articles are recombined from a generated vocabulary: invented people, places,
outlets and organisations, dates, numbers, and sentences of 8-34 words built from
a few templates and a Zipf-distributed word list. Nothing is copied from real text.
Same seed, same corpus.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

import numpy as np

SYLLABLES = ["ka", "ro", "vin", "tal", "mer", "so", "dra", "lin", "ve", "nor", "ash", "bel", "cor", "dun", "el",
             "fa", "gor", "hal", "is", "jor", "kel", "lum", "mar", "nes", "ol", "pra", "quin", "ras", "sel", "tor",
             "ul", "var", "wen", "yor", "zan", "bri", "cla", "fen", "gal", "hir"]
COMMON = ("minister president government officials said talks agreement trade security economy market prices "
          "company workers union city council police court election vote parliament party leader report "
          "military exercise border defence energy gas oil bank rates inflation budget tax health hospital "
          "school students university research climate storm flood water farmers harvest exports imports "
          "meeting summit visit cooperation partnership sanctions investigation charges trial judge ruling "
          "statement spokesperson announced plans project construction bridge railway airport port shipping "
          "technology data internet startup investors shares profit losses growth jobs unemployment strike "
          "protest rally crowd festival museum film music team match season coach players fans record").split()
TEMPLATES = [
    "{person}, the {role} of {place}, said on {weekday} that {clause}.",
    "According to {outlet}, {org} {verb} {number} {noun} in {place} last {period}.",
    "{clause}, {person} told reporters in {place}.",
    "The {noun} in {place} {verb} after {org} {verb2} the {noun2} on {date}.",
    "{org} expects {noun} to reach {number} by {year}, {person} said.",
    "{clause}; critics in {place} called the move {adjective}.",
]
ROLES = ["minister of trade", "mayor", "chief executive", "head of the council", "defence minister", "governor",
         "spokesperson", "president", "chair of the committee", "foreign minister"]
VERBS = ["announced", "reported", "opened", "closed", "approved", "rejected", "signed", "delayed", "expanded", "cut"]
ADJECTIVES = ["premature", "overdue", "unprecedented", "risky", "historic", "modest", "controversial", "welcome"]
PERIODS = ["week", "month", "year", "quarter", "spring", "autumn"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Article:
    doc_id: str
    title: str
    outlet: str
    date: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """As a .txt file would hold it: title, a dateline naming the outlet, the body."""
        return f"{self.title}\n\n({self.outlet}) – " + "\n\n".join(self.paragraphs) + "\n"


class Corpus:
    """``articles(n)`` yields n articles; ``words_per_chunk`` paragraphs make one chunk of about 200 tokens."""

    def __init__(self, seed: int = 0, vocabulary: int = 30_000):
        self.rng = np.random.default_rng(seed)
        r = self.rng
        self.names = [self._word(2, 3).capitalize() for _ in range(4_000)]
        self.places = [self._word(2, 4).capitalize() for _ in range(1_500)]
        self.outlets = [f"The {p} {kind}" for p, kind in zip(self.places[:120], np.resize(
            ["Times", "Herald", "Post", "Courier", "Observer", "Daily", "Tribune", "Gazette"], 120).tolist())]
        self.orgs = [f"{self._word(2, 3).capitalize()} {kind}" for kind in np.resize(
            ["Group", "Bank", "Union", "Agency", "Institute", "Holdings", "Council", "Partners"], 800).tolist()]
        rare = [self._word(2, 4) for _ in range(vocabulary)]
        self.words = COMMON + rare
        p = 1.0 / np.arange(1, len(self.words) + 1) ** 1.05
        self.cdf = np.cumsum(p / p.sum())
        r.shuffle(self.names)

    def _word(self, lo: int, hi: int) -> str:
        return "".join(SYLLABLES[i] for i in self.rng.integers(0, len(SYLLABLES), int(self.rng.integers(lo, hi + 1))))

    def _pick(self, items: list):
        return items[int(self.rng.integers(len(items)))]

    def _person(self) -> str:
        return f"{self._pick(self.names)} {self._pick(self.names)}"

    def _zipf_words(self, n: int) -> list[str]:
        idx = np.searchsorted(self.cdf, self.rng.random(n))
        return [self.words[min(i, len(self.words) - 1)] for i in idx]

    def _clause(self) -> str:
        return " ".join(self._zipf_words(int(self.rng.integers(6, 18)))).capitalize()

    def sentence(self, date: dt.date) -> str:
        r, pick = self.rng, self._pick
        template = pick(TEMPLATES)
        return template.format(
            person=self._person(), role=pick(ROLES), place=pick(self.places), weekday=pick(WEEKDAYS),
            clause=self._clause(), outlet=pick(self.outlets), org=pick(self.orgs), verb=pick(VERBS),
            verb2=pick(VERBS), number=f"{int(r.integers(2, 9_999)):,}", noun=pick(COMMON[:40]),
            noun2=pick(COMMON), period=pick(PERIODS), date=date.isoformat(), year=int(r.integers(2024, 2031)),
            adjective=pick(ADJECTIVES))

    def articles(self, n: int, prefix: str = "a") -> Iterator[Article]:
        r = self.rng
        start = dt.date(2023, 1, 1)
        for i in range(n):
            date = start + dt.timedelta(days=int(r.integers(0, 730)))
            title = " ".join(w.capitalize() for w in [self._pick(self.places), *(self._pick(self.words[:200]) for _ in range(5))])
            paragraphs = []
            for _ in range(int(r.integers(4, 12))):  # 4-11 paragraphs of 2-5 sentences: ~300-1000 words
                paragraphs.append(" ".join(self.sentence(date) for _ in range(int(r.integers(2, 6)))))
            yield Article(f"{prefix}{i:07d}", title, self._pick(self.outlets), date.isoformat(), tuple(paragraphs))
