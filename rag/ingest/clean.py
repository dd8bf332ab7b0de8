"""Pure text cleaning that keeps a map back to the original characters.

The cleaned text is what gets chunked, embedded and shown to the LLM; every
cleaned character remembers where it came from, so chunks and sentences can be
highlighted in the original article.

>>> c = clean_text("The talks  were fruitful.They ended.\\n\\nThe talks were fruitful.")
>>> c.text
'The talks were fruitful. They ended.'
>>> c.original_span(0, 24)
(0, 25)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

SENTENCE_END = ".!?。！？"
CLOSERS = "\"'”’)]»"
OPENERS = "\"'“‘(["
ABBREVIATIONS = frozenset(
    "mr mrs ms dr gen col lt sgt sen rep gov st jr sr inc ltd co corp vs no prof rev maj capt adm".split()
)
MIN_DEDUP_CHARS = 20  # shorter repeated sentences ("Thank you.") are kept


@dataclass(frozen=True)
class CleanText:
    """Cleaned text plus, for each cleaned character, its index in the original.

    ``sentences`` are (start, end) ranges in cleaned coordinates.
    """

    text: str
    origin: tuple[int, ...]
    sentences: tuple[tuple[int, int], ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a cleaned range [start, end) to the original text's range."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"cleaned range must be inside 0..{len(self.text)}, got ({start}, {end})")
        return self.origin[start], self.origin[end - 1] + 1


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence ranges of text[start:end], trimmed of surrounding whitespace.

    Handles sentences glued without a space ("stage.He said") and leaves
    initials and common abbreviations ("U.S. officials", "Gen. Zhang") alone.

    >>> t = 'He spoke.She left. The U.S. agreed.'
    >>> [t[a:b] for a, b in split_sentences(t)]
    ['He spoke.', 'She left.', 'The U.S. agreed.']
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    i = s = start
    while i < end:
        if text[i] in SENTENCE_END:
            j = i + 1
            while j < end and text[j] in SENTENCE_END + CLOSERS:
                j += 1
            if _is_boundary(text, i, j, end):
                _append_trimmed(out, text, s, j)
                s = j
            i = j
        else:
            i += 1
    _append_trimmed(out, text, s, end)
    return out


def _is_boundary(text: str, dot: int, after: int, end: int) -> bool:
    if after >= end:
        return True
    k = after
    while k < end and text[k].isspace():
        k += 1
    if k >= end:
        return True
    nxt = text[k]
    glued = k == after
    if text[dot] == ".":
        word_start = dot
        while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
            word_start -= 1
        word = text[word_start:dot]
        if (len(word) == 1 and word.isupper()) or "." in word or word.lower() in ABBREVIATIONS:
            return False  # "U.S.", "J. Smith", "Gen. Zhang"
        if glued and text[dot - 1 : dot].isdigit() and nxt.isdigit():
            return False  # "3.5"
    if text[dot] in "。！？":
        return True
    return nxt.isupper() or nxt in OPENERS or (not glued and nxt.isdigit())


def _append_trimmed(out: list[tuple[int, int]], text: str, a: int, b: int) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        out.append((a, b))


def sentence_key(sentence: str) -> str:
    """The form under which two sentences count as the same: case and spacing folded."""
    return " ".join(sentence.split()).casefold()


def clean_text(original: str, exclude: Iterable[tuple[int, int]] = ()) -> CleanText:
    """Normalise whitespace and drop exact repeated sentences, keeping the origin map.

    Paragraphs are lines of the original; within a paragraph, sentences are
    joined by one space (a missing space after a full stop is restored);
    paragraphs are separated by a blank line. Ranges in ``exclude`` (such as a
    "date 2023-11-10" marker already taken into metadata) are left out.
    """
    masked = _mask(original, exclude)
    seen: set[str] = set()
    chars: list[str] = []
    origin: list[int] = []
    sentences: list[tuple[int, int]] = []
    for p_start, p_end in _lines(masked):
        kept = []
        for a, b in split_sentences(masked, p_start, p_end):
            key = sentence_key(masked[a:b])
            if len(key) >= MIN_DEDUP_CHARS and key in seen:
                continue
            seen.add(key)
            kept.append((a, b))
        if not kept:
            continue
        if chars:
            _emit_separator(chars, origin, "\n\n")
        for n, (a, b) in enumerate(kept):
            if n:
                _emit_separator(chars, origin, " ")
            s0 = len(chars)
            _emit_collapsed(chars, origin, masked, a, b)
            sentences.append((s0, len(chars)))
    return CleanText("".join(chars), tuple(origin), tuple(sentences))


def _mask(text: str, exclude: Iterable[tuple[int, int]]) -> str:
    out = list(text)
    for a, b in exclude:
        for i in range(max(a, 0), min(b, len(text))):
            if out[i] != "\n":
                out[i] = " "
    return "".join(out)


def _lines(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for i, ch in enumerate(text):
        if ch in "\n\r\u2028\u2029":
            out.append((start, i))
            start = i + 1
    out.append((start, len(text)))
    return [(a, b) for a, b in out if text[a:b].strip()]


def _emit_separator(chars: list[str], origin: list[int], sep: str) -> None:
    anchor = origin[-1] if origin else 0
    for ch in sep:
        chars.append(ch)
        origin.append(anchor)


def _emit_collapsed(chars: list[str], origin: list[int], text: str, a: int, b: int) -> None:
    in_space = False
    for i in range(a, b):
        ch = text[i]
        if ch.isspace() or ch in "\u200b\ufeff":
            if not in_space:
                chars.append(" ")
                origin.append(i)
            in_space = True
        else:
            chars.append(ch)
            origin.append(i)
            in_space = False


def spans_overlapping(ranges: Sequence[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``ranges`` that fall inside [start, end).

    >>> spans_overlapping([(0, 5), (6, 12)], 3, 8)
    [(3, 5), (6, 8)]
    """
    return [(max(a, start), min(b, end)) for a, b in ranges if a < end and b > start]
