"""The question, checked and analysed once.

Every later step reads this one object instead of re-reading the text: retrieval
(its words, for the titles it names), evidence selection (its words and the kind
of thing it asks for), the verdict (does the answer hold that kind of thing at
all? its numbers are given) and the check of each answer sentence (what the
answer adds to the question). Pure.

>>> q = analyse("On which day of the week did Putin meet Zhang?")
>>> sorted(q.words), q.kind, q.fits("They met on Wednesday."), q.fits("They met in Moscow.")
(['day', 'meet', 'putin', 'week', 'zhang'], 'weekday', True, False)
>>> analyse("Was the deal signed or postponed?").offers_choice, q.offers_choice
(True, False)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag.errors import BadQuestion
from rag.words import NUMBER as DIGIT, STOPWORDS, cased_tokens, content_tokens, same_word, stem, tokens

MAX_QUESTION_CHARS = 2000

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
WEEKDAY = re.compile(r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
# a month, a year (1000-2099), a decade ("1960s"), a century ("16th century"), an ISO date
DATE = re.compile(rf"\b{_MONTH}\b|\b(?:1\d|20)\d\d(?:s|'s)?\b|\b\d{{1,2}}(?:st|nd|rd|th) centur(?:y|ies)\b|"
                  r"\b\d{4}-\d\d-\d\d\b", re.IGNORECASE)
NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|dozens|hundreds|thousands|millions|billions)\b",
    re.IGNORECASE,
)
QUOTE = re.compile(r"[\"“”«»]|(?<!\w)'\w[^']*'(?!\w)")

# (kind, how a question asks for it, what a sentence holding it contains); the first match wins
KINDS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("weekday", re.compile(r"\bday of the week\b|\bwhich day\b|\bwhat day\b", re.I), WEEKDAY),
    ("date", re.compile(r"\bwhat date\b|\bwhich date\b|^\s*when\b|\band when\b|\b(?:what|which) (?:year|month|"
                        r"decade|century)\b", re.I), DATE),
    ("number", re.compile(r"\bhow (?:many|much|long|old|far)\b|\bwhat (?:number|percentage|share|amount)\b", re.I),
     NUMBER),
    ("quote", re.compile(r"\b(?:what|which) (?:word|words|term|phrase)\b|\bhow did .* describe\b|"
                         r"\bdescribed? (?:it|them|this|the \w+) as\b", re.I), QUOTE),
)
_HOLDS = {kind: pattern for kind, _, pattern in KINDS}
_ASKS_NAME = re.compile(r"^\s*(?:who|whom|whose)\b|\bwhat (?:is|was|are|were) the names? of\b|^\s*name\b", re.I)
_ASKS_WHO_SOMEONE_IS = re.compile(  # "Who is Xu Qiliang?" asks for a description, not for a name
    r"^\s*(?i:who (?:is|was|are|were))\s+(?:[A-Z][\w.'’-]*\s*)+\?*\s*$")
_OR = re.compile(r"\w\s+or\s+\w", re.I)
_NAMES = {"weekday": "a weekday", "date": "a date", "number": "a number", "name": "a name"}


@dataclass(frozen=True)
class Question:
    """A question as every step reads it."""

    text: str
    words: frozenset[str]   # content words (support.content_tokens)
    stems: frozenset[str]
    kind: str = ""          # what it asks for, when its wording says: "weekday", "date", "number", "quote"
    wants_name: bool = False  # who / whom / whose, "what is the name of"
    offers_choice: bool = False  # alternatives joined by "or" ("abstract or concrete?"): an answer may pick one
    numbers: frozenset[str] = frozenset()  # its tokens holding a digit ("2023"): an answer may repeat them

    def fits(self, sentence: str) -> bool:
        """True when ``sentence`` holds the kind of thing the question asks for (False when it does not say).

        >>> analyse("How many warships took part?").fits("Twelve warships took part.")
        True
        >>> analyse("When was the alliance formed?").fits("It dates from the 16th century.")
        True
        """
        pattern = _HOLDS.get(self.kind)
        return bool(pattern and pattern.search(sentence))

    def missing(self, answer: str) -> str:
        """What the question asks for ("a date", "a number", "a weekday", "a name") when ``answer`` holds none of
        it, else "". A quote is never required (the asked words may come without quotation marks); a name is a
        capitalised word the question does not have.

        >>> analyse("How many warships will take part?").missing("The sides agreed on naval exercises.")
        'a number'
        >>> analyse("When was it founded?").missing("In the 1960s."), analyse("Who spoke?").missing("Shoigu spoke.")
        ('', '')
        >>> analyse("Who is China's defence minister?").missing("China's defence minister is not named.")
        'a name'
        >>> analyse("Who is Xu Qiliang?").missing("He is vice chairman of the commission.")  # asks for a description
        ''
        """
        if self.kind in ("weekday", "date", "number") and not self.fits(answer):
            return _NAMES[self.kind]
        if self.wants_name and not self._names_someone(answer):
            return _NAMES["name"]
        return ""

    def _names_someone(self, answer: str) -> bool:
        for word in cased_tokens(answer):
            w = word.lower()
            if word[0].isupper() and w not in STOPWORDS and not any(w == a or same_word(w, a) for a in self.words):
                return True
        return False


def check_question(text: object) -> str:
    """A question as asked, whitespace normalised; BadQuestion when it is empty or too long.

    >>> check_question("  Who is   Xu Qiliang? ")
    'Who is Xu Qiliang?'
    """
    if not isinstance(text, str) or not text.strip():
        raise BadQuestion("the question is empty; ask something, e.g. “Who is Xu Qiliang?”")
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"the question is {len(text)} characters long; keep it under {MAX_QUESTION_CHARS}")
    return text


def analyse(text: str) -> Question:
    """The question ``text`` analysed: its content words and stems, and the kind of answer it asks for.

    >>> sorted(analyse("What happened in 2023 at 3 sites?").numbers)
    ['2023', '3']
    """
    words = frozenset(content_tokens(text))
    kind = next((kind for kind, asks, _ in KINDS if asks.search(text)), "")
    wants_name = bool(_ASKS_NAME.search(text)) and not _ASKS_WHO_SOMEONE_IS.search(text)
    numbers = frozenset(t for t in tokens(text) if DIGIT.search(t))
    return Question(text, words, frozenset(stem(w) for w in words), kind, wants_name, bool(_OR.search(text)),
                    numbers)
