"""What kind of answer a question asks for, as a pattern the answer's sentence must contain.

Pure functions. Evidence selection gives a sentence that holds the kind of thing
asked for (a weekday for "which day", a date for "when", a number for "how
many", a quoted word for "what word") a bonus, so the sentence that answers
outranks sentences that merely repeat the question's words.

>>> bool(expected_answer("On which day of the week did they meet?").search("They met on Wednesday."))
True
>>> expected_answer("Who is Xu Qiliang?") is None
True
"""
from __future__ import annotations

import re

from .support import same_word, stem, tokens

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
WEEKDAY = re.compile(r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
DATE = re.compile(rf"\b{_MONTH}\b|\b(?:1[89]|20)\d\d\b|\b\d{{4}}-\d\d-\d\d\b")
_NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|dozens|hundreds|thousands|millions|billions)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“”«»]|(?<!\w)'\w[^']*'(?!\w)")

# (question pattern, answer pattern, what is asked for), first match wins
RULES: tuple[tuple[re.Pattern, re.Pattern, str], ...] = (
    (re.compile(r"\bday of the week\b|\bwhich day\b|\bwhat day\b", re.I), WEEKDAY, "a weekday"),
    (re.compile(r"\bwhat date\b|\bwhich date\b|^\s*when\b|\band when\b|\bwhat year\b|\bwhich year\b|"
                r"\bwhich month\b|\bwhat month\b", re.I), DATE, "a date"),
    (re.compile(r"\bhow (?:many|much|long|old|far)\b|\bwhat (?:number|percentage|share|amount)\b|\bminimum\b|"
                r"\bmaximum\b|\bpopulation\b", re.I), _NUMBER, "a number"),
    (re.compile(r"\b(?:what|which) (?:single )?(?:word|words|term|phrase|adjective)\b|\bhow did .* describe\b|"
                r"\bdescribed? (?:it|them|this|the \w+) as\b", re.I), _QUOTED, "a quote"),
)
KINDS = {answer.pattern: kind for _, answer, kind in RULES}


def expected_answer(question: str) -> re.Pattern | None:
    """The pattern a sentence answering ``question`` should contain, or None when the question gives no hint.

    >>> expected_answer("How many warships took part?").pattern == _NUMBER.pattern
    True
    >>> bool(expected_answer("What single word described the cooperation?").search('an "unprecedented" level'))
    True
    """
    for asked, answer, _ in RULES:
        if asked.search(question):
            return answer
    return None


def missing_kind(question: str, answer: str) -> str:
    """What the question asks for ("a date", "a number", ...) when the answer holds none of it, else "".

    Quotes are not required: an answer may give the asked words without quotation marks.

    >>> missing_kind("What is the population of Russia?", "Russia and China built up cooperation.")
    'a number'
    >>> missing_kind("When did they meet?", "They met on April 16, 2023."), missing_kind("Who?", "x")
    ('', '')
    """
    pattern = expected_answer(question)
    if pattern is None or pattern is _QUOTED:
        return ""
    if pattern is _NUMBER and not counts(question, answer):
        return f"a number of {_HOW_MANY.search(question).group(1)}"
    return "" if pattern.search(answer) else KINDS[pattern.pattern]


_HOW_MANY = re.compile(r"\bhow many ([a-z]+)", re.I)


def counts(question: str, answer: str) -> bool:
    """For "how many <things>" questions: does the answer put a number right before the things (within three
    words)? True for other questions.

    >>> counts("How many warships will take part?", "The two sides agreed on the exercises.")
    False
    >>> counts("How many days passed?", "Two full days passed."), counts("Who?", "x")
    (True, True)
    """
    m = _HOW_MANY.search(question)
    if not m:
        return True
    thing = m.group(1).lower()
    words = tokens(answer)
    for i, w in enumerate(words):
        if _NUMBER.search(w) and any(stem(x) == stem(thing) or same_word(x, thing) for x in words[i + 1: i + 4]):
            return True
    return False


def fits(question: str, sentence: str) -> bool:
    """True when the sentence holds the kind of thing the question asks for (False when it gives no hint).

    >>> fits("When did Putin meet Zhang?", "The meeting took place on April 16, 2023."), fits("Who?", "x")
    (True, False)
    """
    pattern = expected_answer(question)
    return bool(pattern and pattern.search(sentence))
