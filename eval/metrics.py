"""Pure scoring functions: answer text, retrieval ranks, citation markers, and aggregates.

Nothing here reads files or models. Every aggregate returns ``None`` when it has
nothing to average over (no answerable question, no citation...), never divides by zero.

>>> answer_correct("They agreed to stage Interaction-2022 [1].", ["Interaction 2022", "Interaction-2022"], "any")
True
>>> answer_correct("Putin visited Russia [2].", ["US"], "any")
False
"""
from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from typing import Iterable, Sequence

from rag.answer.cite import MARKER, cited_numbers

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)


# ---- answer text -------------------------------------------------------------------
_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}")  # u.s. -> us
_DIGIT_SEP = re.compile(r"(?<=\d)[.,](?=\d)")  # 1,000 -> 1000
_APOSTROPHE = re.compile(r"['’](?:s\b)?")  # general's -> general, don't -> dont


def _punct_to_space(ch: str) -> str:
    return " " if ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P") else ch


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, strip punctuation, drop a/an/the, collapse whitespace.

    Punctuation becomes a space rather than vanishing, so words the text glues together
    ("G20.When", "General's") keep their boundaries; curly quotes count as punctuation,
    dotted acronyms and digit groups stay whole, and a possessive 's is dropped.

    >>> normalize_answer("The “no-limits” friendship of the U.S.,  1,000 G20.When General's!")
    'no limits friendship of us 1000 g20 when general'
    """
    text = _DIGIT_SEP.sub("", text.lower())
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    text = "".join(_punct_to_space(ch) for ch in _APOSTROPHE.sub("", text))
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    """Normalised tokens.

    >>> answer_tokens("An Asia-Pacific region")
    ['asia', 'pacific', 'region']
    """
    return normalize_answer(text).split()


def strip_markers(text: str) -> str:
    """Replace citation markers by a space, so "fire[1]" scores as "fire".

    >>> strip_markers("play with fire[1][2].")
    'play with fire  .'
    """
    return MARKER.sub(" ", text)


def contains(prediction: str, gold: str) -> bool:
    """True when gold's normalised tokens appear as a whole-word run in the prediction's.

    >>> contains("They met in Russia", "us"), contains("The US and Russia", "us")
    (False, True)
    """
    needle = " ".join(answer_tokens(gold))
    if not needle:
        return False
    return f" {needle} " in f" {' '.join(answer_tokens(strip_markers(prediction)))} "


def answer_correct(prediction: str, answers: Sequence[str], match: str = "any") -> bool:
    """Normalised containment: one gold answer ("any") or every one ("all") appears in the prediction."""
    if not answers:
        return False
    hits = [contains(prediction, a) for a in answers]
    return all(hits) if match == "all" else any(hits)


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals some normalised gold answer.

    >>> exact_match("The Financial Times [1].", ["Financial Times"])
    1.0
    """
    pred = normalize_answer(strip_markers(prediction))
    return float(any(pred == normalize_answer(a) for a in answers))


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD token F1 against each gold answer; the best one counts.

    >>> round(token_f1("SCO and CSTO", ["SCO"]), 2)
    0.5
    """
    pred = answer_tokens(strip_markers(prediction))
    return max((_f1(pred, answer_tokens(a)) for a in answers), default=0.0)


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


# ---- retrieval ---------------------------------------------------------------------
def unique_in_order(ids: Iterable[str]) -> list[str]:
    """The ids without repeats, first occurrence first.

    >>> unique_in_order(["b", "a", "b", "c"])
    ['b', 'a', 'c']
    """
    return list(dict.fromkeys(ids))


def hit(found: Iterable[str], gold: Iterable[str]) -> bool:
    """Any gold document among those found."""
    return bool(set(found) & set(gold))


def recall(found: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of the gold documents found; None without gold documents."""
    gold = set(gold)
    return len(gold & set(found)) / len(gold) if gold else None


def reciprocal_rank(ranked_docs: Sequence[str], gold: Iterable[str], depth: int = 10) -> float:
    """1/position of the first gold document among the first ``depth`` unique documents (0 if none).

    >>> reciprocal_rank(["a", "b", "c"], ["c", "x"])
    0.3333333333333333
    """
    gold = set(gold)
    for pos, doc in enumerate(unique_in_order(ranked_docs)[:depth], 1):
        if doc in gold:
            return 1.0 / pos
    return 0.0


# ---- citations ---------------------------------------------------------------------
def markers(raw_text: str, n_sources: int) -> list[tuple[int, bool]]:
    """Every number cited in ``raw_text`` (first use order) and whether it names one of the ``n_sources`` things
    given to the model (its numbered evidence sentences).

    >>> markers("Yes [1], no [2, 7] and [1].", 5)
    [(1, True), (2, True), (7, False)]
    """
    return [(n, 1 <= n <= n_sources) for n in cited_numbers(raw_text)]


def citation_precision(cited: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of cited documents that are gold; None when nothing was cited."""
    cited = set(cited)
    return len(cited & set(gold)) / len(cited) if cited else None


# ---- aggregates --------------------------------------------------------------------
def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when whole is 0.

    >>> ratio(1, 4), ratio(0, 0)
    (0.25, None)
    """
    return part / whole if whole else None


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None if there are none."""
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """Linear-interpolated percentile (as numpy's default), ignoring None; None if empty.

    >>> percentile([1, 2, 3, 4], 50), percentile([], 95)
    (2.5, None)
    """
    vals = sorted(float(v) for v in values if v is not None)
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def f1_score(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean; None if either is None, 0.0 if both are 0."""
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def abstention_scores(answerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Abstention as a classifier whose positive class is "unanswerable question, abstained".

    >>> abstention_scores([True, False, False], [True, True, False])
    {'abstention_precision': 0.5, 'abstention_recall': 0.5, 'abstention_f1': 0.5, 'false_abstention_rate': 1.0}
    """
    pairs = list(zip(answerable, abstained))
    true_pos = sum(1 for ans, abst in pairs if not ans and abst)
    false_abst = sum(1 for ans, abst in pairs if ans and abst)
    precision = ratio(true_pos, sum(1 for _, abst in pairs if abst))
    rec = ratio(true_pos, sum(1 for ans, _ in pairs if not ans))
    return {
        "abstention_precision": precision,
        "abstention_recall": rec,
        "abstention_f1": f1_score(precision, rec),
        "false_abstention_rate": ratio(false_abst, sum(1 for ans, _ in pairs if ans)),
    }
