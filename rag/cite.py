"""Pure citation handling: find [n] markers, keep those that resolve, drop the rest.

>>> resolve_markers("Xu is vice chairman [1][7], says TASS [2, 1].", 3)
('Xu is vice chairman [1], says TASS [2][1].', [1, 2])
"""
from __future__ import annotations

import re

from .prompt import ABSTAIN_TEXT
from .refusal import REFUSAL

# [1]  [1, 2]  [1][2]  [Passage 2]  [passages 1 and 3]  [1-2]
MARKER = re.compile(
    r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*(?:,|;|and|-|–|&)\s*(?:passage\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_NUM = re.compile(r"\d{1,3}")
_RANGE = re.compile(r"(\d{1,3})\s*[-–]\s*(\d{1,3})")

ABSTAIN_PATTERNS = re.compile(
    r"(articles?|passages?|texts?|context|sources?)\s+(do|does|did)\s+not\s+(say|mention|contain|state|provide|specify|include|give)"
    r"|(not|never)\s+(mentioned|stated|specified|provided|given|included)\s+in\s+the\s+(?:\w+\s+)?(articles?|passages?|texts?|context)"
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


def resolve_markers(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Rewrite markers as [n] for valid n only; return (text, cited numbers in order of first use)."""
    cited: list[int] = []

    def repl(m: re.Match) -> str:
        valid = [n for n in marker_numbers(m.group(1)) if 1 <= n <= n_passages]
        for n in valid:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in valid)

    out = MARKER.sub(repl, text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)  # "fact [9]." -> "fact."
    out = re.sub(r"[ \t]{2,}", " ", out).strip()
    return out, cited


def is_abstention(text: str, cited: list[int]) -> bool:
    """True when the model said the passages do not hold the answer.

    >>> is_abstention("The articles do not say.", [])
    True
    >>> is_abstention("Xu Qiliang is vice chairman [1].", [1])
    False
    """
    stripped = text.strip()
    if not stripped:
        return True
    if stripped.lower().startswith((ABSTAIN_TEXT.lower().rstrip("."), REFUSAL.lower())):
        return True
    return bool(ABSTAIN_PATTERNS.search(stripped)) and not cited


class StreamFilter:
    """Streams text while holding back a possible marker until it is complete.

    A complete marker is let through only with the numbers that resolve.

    >>> f = StreamFilter(2)
    >>> "".join(f.feed(t) for t in ["Xu [", "1", "][", "9] said"]) + f.flush()
    'Xu [1] said'
    """

    MAX_HOLD = 40

    def __init__(self, n_passages: int):
        self.n_passages = n_passages
        self._held = ""

    def feed(self, token: str) -> str:
        self._held += token
        out = []
        while self._held:
            start = self._held.find("[")
            if start < 0:
                out.append(self._held)
                self._held = ""
                break
            out.append(self._held[:start])
            self._held = self._held[start:]
            end = self._held.find("]")
            if end < 0 and len(self._held) <= self.MAX_HOLD:
                break  # maybe a marker still arriving
            piece = self._held[: end + 1] if end >= 0 else ""
            match = MARKER.fullmatch(piece) if piece else None
            if match is None:  # not a marker: let the "[" through and look again after it
                out.append("[")
                self._held = self._held[1:]
                continue
            self._held = self._held[end + 1 :]
            valid = [n for n in marker_numbers(match.group(1)) if 1 <= n <= self.n_passages]
            out.append("".join(f"[{n}]" for n in valid))
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


def strip_markers(text: str) -> str:
    """The answer without its [n] markers.

    >>> strip_markers("Xu is vice chairman [1][2].")
    'Xu is vice chairman.'
    """
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", text)).strip()

