"""Pure citation handling: find [n] markers, keep those that resolve, drop the rest, renumber.

``MARKER`` is the one definition of a citation marker: the answer checks, the follow-up rewriter and the UI
find markers with it (or with the functions here).

The model cites evidence sentences by number; the reader sees passage numbers (one passage per article). A
``renumber`` map takes a sentence number to its passage number; a plain count n means "1..n stay as they are".

>>> resolve_markers("Xu is vice chairman [1][7], says TASS [2, 1].", 3)
('Xu is vice chairman [1], says TASS [2][1].', [1, 2])
>>> resolve_markers("Xu is vice chairman [3], says TASS [1][2].", {1: 1, 2: 1, 3: 2})
('Xu is vice chairman [2], says TASS [1].', [2, 1])
"""
from __future__ import annotations

import re
from typing import Mapping, Union

from rag.answer.refusal import REFUSAL

Renumber = Union[int, Mapping[int, int]]  # n: markers 1..n are valid as they are; a map: valid number -> shown number

# [1]  [1, 2]  [1][2]  [Passage 2]  [passages 1 and 3]  [1-2]
MARKER = re.compile(
    r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*(?:,|;|and|-|–|&)\s*(?:passage\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_NUM = re.compile(r"\d{1,3}")
_ADJACENT = re.compile(r"(?:\[\d{1,3}\]){2,}")
_RANGE = re.compile(r"(\d{1,3})\s*[-–]\s*(\d{1,3})")

ABSTAIN_PATTERNS = re.compile(
    r"(articles?|passages?|sentences?|texts?|context|sources?)\s+(do|does|did)\s+not\s+(say|mention|contain|state|provide|specify|include|give)"
    r"|(not|never)\s+(mentioned|stated|specified|provided|given|included)\s+in\s+the\s+(?:\w+\s+)?(articles?|passages?|sentences?|texts?|context)"
    r"|no\s+information\s+(about|on|regarding)"
    r"|(cannot|can't|can not)\s+be\s+(determined|found|answered)\s+from",
    re.IGNORECASE,
)


def marker_numbers(body: str) -> list[int]:
    """Numbers inside one marker's brackets, ranges expanded.

    >>> marker_numbers("1-3, 5")
    [1, 2, 3, 5]
    """
    out: list[int] = []
    rest = body
    for m in _RANGE.finditer(body):
        a, b = int(m.group(1)), int(m.group(2))
        if 0 < b - a < 20:
            out.extend(range(a, b + 1))
            rest = rest.replace(m.group(0), " ")
    out.extend(int(x) for x in _NUM.findall(rest))
    return list(dict.fromkeys(out))


def cited_numbers(text: str) -> list[int]:
    """Every number the markers in ``text`` name, valid or not, in order of first use.

    >>> cited_numbers("Yes [1], no [2, 7] and [1].")
    [1, 2, 7]
    """
    return list(dict.fromkeys(n for m in MARKER.finditer(text) for n in marker_numbers(m.group(1))))


_LIST = re.compile(rf"{MARKER.pattern}(?:\s*(?:,\s*and|,|;|&|and)\s*{MARKER.pattern})+", re.IGNORECASE)


def join_marker_lists(text: str) -> str:
    """Markers written as a list ("[3], [5], and [7]") made one run of markers ("[3][5][7]"), so that no
    separator is left behind when markers are resolved or moved to their sentence.

    >>> join_marker_lists("It is India. [1], [2], and [6]")
    'It is India. [1][2][6]'
    >>> join_marker_lists("Russia [1] and China [2] agreed [3]; [4, 5].")
    'Russia [1] and China [2] agreed [3][4, 5].'
    """
    return _LIST.sub(lambda m: "".join(f"[{b.group(1)}]" for b in MARKER.finditer(m.group(0))), text)


_AFTER_STOP = re.compile(rf"\s*([.!?;,:])\s*((?:{MARKER.pattern}\s*)+)", re.IGNORECASE)  # "claim. [1]": after the stop
_LEADING = re.compile(rf"(?:\s*{MARKER.pattern})+", re.IGNORECASE)


def leading_markers(text: str) -> str:
    """The markers ``text`` starts with (whitespace included), or "".

    >>> leading_markers(" [1] [2, 3] He spoke [4]."), leading_markers("He spoke [4].")
    (' [1] [2, 3]', '')
    """
    m = _LEADING.match(text)
    return m.group(0) if m else ""


def same_answer(a: str, b: str) -> bool:
    """Whether two versions of an answer say the same with the same markers, wherever a sentence's markers
    stand around its full stop (the model writes "claim. [1]", the checked answer "claim [1].").

    >>> same_answer("Xu is vice chairman. [1]", "Xu is vice chairman [1].")
    True
    >>> same_answer("Xu is vice chairman. He met Shoigu.", "Xu is vice chairman [1]. He met Shoigu.")
    False
    """
    def norm(text: str) -> str:
        moved = _AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", text)
        return re.sub(r"\s+", " ", moved).strip()

    return norm(a) == norm(b)


def shown_numbers(numbers: list[int], renumber: Renumber) -> list[int]:
    """The valid ``numbers`` as the reader sees them, each once, in order.

    >>> shown_numbers([2, 9, 3], 3), shown_numbers([2, 9, 3], {2: 1, 3: 1})
    ([2, 3], [1])
    """
    if isinstance(renumber, int):
        return list(dict.fromkeys(n for n in numbers if 1 <= n <= renumber))
    return list(dict.fromkeys(renumber[n] for n in numbers if n in renumber))


def resolve_markers(text: str, renumber: Renumber) -> tuple[str, list[int]]:
    """Rewrite markers with valid numbers only, renumbered; return (text, cited numbers in order of first use)."""
    cited: list[int] = []

    def repl(m: re.Match) -> str:
        valid = shown_numbers(marker_numbers(m.group(1)), renumber)
        for n in valid:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in valid)

    out = _ADJACENT.sub(lambda m: "".join(f"[{n}]" for n in dict.fromkeys(map(int, _NUM.findall(m.group(0))))),
                        MARKER.sub(repl, text))  # "[1][1]" (two sentences of one passage) -> "[1]"
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)  # "fact [9]." -> "fact."
    out = re.sub(r"[ \t]{2,}", " ", out).strip()
    return out, cited


def is_abstention(text: str, cited: list[int]) -> bool:
    """True when the model said the passages do not hold the answer.

    >>> is_abstention("The articles do not say.", [])
    True
    >>> is_abstention("NOT FOUND", []), is_abstention("Xu Qiliang is vice chairman [1].", [1])
    (True, False)
    """
    stripped = text.strip()
    if not stripped:
        return True
    if stripped.lower().startswith(REFUSAL.lower()):
        return True
    m = ABSTAIN_PATTERNS.search(stripped)
    return bool(m) and (not cited or len(stripped[: m.start()].split()) <= 1)  # "The articles do not say …"


class StreamFilter:
    """Streams text while holding back a possible marker until it is complete.

    A complete marker is let through only with the numbers that resolve.

    >>> f = StreamFilter(2)
    >>> "".join(f.feed(t) for t in ["Xu [", "1", "][", "9] said"]) + f.flush()
    'Xu [1] said'
    >>> f = StreamFilter({1: 1, 2: 1, 3: 2})
    >>> "".join(f.feed(t) for t in ["Xu [", "3", "][1", "] said [2]"]) + f.flush()
    'Xu [2][1] said [1]'
    """

    MAX_HOLD = 40

    def __init__(self, renumber: Renumber):
        self.renumber = renumber
        self._held = ""
        self._run: set[int] = set()  # numbers of the markers just streamed, with no text after them yet

    def feed(self, token: str) -> str:
        self._held += token
        out: list[str] = []
        while self._held:
            start = self._held.find("[")
            if start < 0:
                self._text(out, self._held)
                self._held = ""
                break
            self._text(out, self._held[:start])
            self._held = self._held[start:]
            end = self._held.find("]")
            if end < 0 and len(self._held) <= self.MAX_HOLD:
                break  # maybe a marker still arriving
            piece = self._held[: end + 1] if end >= 0 else ""
            match = MARKER.fullmatch(piece) if piece else None
            if match is None:  # not a marker: let the "[" through and look again after it
                self._text(out, "[")
                self._held = self._held[1:]
                continue
            self._held = self._held[end + 1 :]
            valid = shown_numbers(marker_numbers(match.group(1)), self.renumber)
            fresh = [n for n in valid if n not in self._run]  # "[1][1]": two sentences of one passage
            self._run.update(fresh)
            out.append("".join(f"[{n}]" for n in fresh))
        return "".join(out)

    def _text(self, out: list[str], text: str) -> None:
        if text.strip():
            self._run = set()
        out.append(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


# "[1a]", "[-3]", "[#2]", "[]", "[,]": a citation gone wrong (a number with a stray sign or letter, or no content);
# "[P]" or "[the]" is text the model wrote, kept
_GARBLED = re.compile(r"\[\s*[-+#]?\d{1,3}\s*[A-Za-z]?\s*\]|\[[^\[\]\w]*\]")


def strip_markers(text: str) -> str:
    """The answer without its [n] markers (nor short bracketed leftovers of garbled ones).

    >>> strip_markers("Xu is vice chairman [1][2].")
    'Xu is vice chairman.'
    >>> strip_markers("Xu is vice chairman [1a], says [the] TASS [-3].")
    'Xu is vice chairman, says [the] TASS.'
    >>> strip_markers("[P] [1]"), strip_markers("[] [2b] [1]")
    ('[P]', '')
    """
    return re.sub(r"\s+([.,;:!?])", r"\1", _GARBLED.sub("", MARKER.sub("", text))).strip()

