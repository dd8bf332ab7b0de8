"""Pure lexical grounding: how much of an answer the passages actually say.

Used to check each answer sentence against the sentences it cites
(rag/answer/judge/verify.py) and to catch numbers, names and quotations the
evidence does not state (rag/answer/judge/verdict.py).

>>> support_score("Xu Qiliang is vice chairman.", ["Xu Qiliang, vice chairman of the commission"])
1.0
"""
from __future__ import annotations

import re
from typing import Iterable

from rag.retrieve.question import Question, analyse
from rag.words import NUMBER, STOPWORDS, cased_tokens, content_tokens, same_word, stem, tokens


def support_score(claim: str, sources: Iterable[str]) -> float:
    """Share of the claim's content words found in the sources (numbers must match exactly).

    Returns 1.0 for a claim with no content words.
    """
    claim_tokens = content_tokens(claim)
    if not claim_tokens:
        return 1.0
    source_tokens: set[str] = set()
    for s in sources:
        source_tokens |= content_tokens(s)
    source_stems = {stem(t) for t in source_tokens}
    found = sum(1 for t in claim_tokens if t in source_tokens or (not NUMBER.search(t) and stem(t) in source_stems))
    return found / len(claim_tokens)


def novel_tokens(answer: str, asked: Question | str) -> set[str]:
    """Content words of the answer that the question (analysed, or its text) does not already hold.

    >>> sorted(novel_tokens("Xu Qiliang is vice chairman.", "Who is Xu Qiliang?"))
    ['chairman', 'vice']
    """
    q = analyse(asked) if isinstance(asked, str) else asked
    return {t for t in content_tokens(answer)
            if t not in q.words and stem(t) not in q.stems and not any(same_word(t, a) for a in q.words)}


def adds_nothing(answer: str, asked: Question | str) -> bool:
    """True when the answer holds no content word the question (analysed, or its text) does not already hold, in
    any form ("China" for "Chinese"): it restates the question, or only talks about its sources.

    >>> adds_nothing("Russia and China have made a point of backing each other [1].",
    ...              "How do Russia and China back each other?")
    False
    >>> adds_nothing("The article mentions China's backing.", "What about China's backing?"), adds_nothing("P", "Which?")
    (True, False)
    """
    q = analyse(asked) if isinstance(asked, str) else asked
    new = {t for t in tokens(answer) if t not in STOPWORDS and t not in q.words and stem(t) not in q.stems}
    return all(any(same_word(t, a) for a in q.words) for t in new)


def unsupported_numbers(claim: str, sources: Iterable[str]) -> list[str]:
    """Numbers in the claim that no source contains.

    >>> unsupported_numbers("about 144 million in 2023", ["in 2023 the talks"])
    ['144']
    """
    source_tokens: set[str] = set()
    for s in sources:
        source_tokens |= set(tokens(s))
    return [t for t in tokens(claim) if NUMBER.search(t) and t not in source_tokens]


_QUOTED = re.compile(r"[\"“«]([^\"”»]{2,300})[\"”»]")


def misquoted(claim: str, sources: Iterable[str]) -> list[str]:
    """Quoted phrases of two or more words in the claim that no source states word for word (case and
    punctuation aside): a quotation mark promises the source's own words, so a made-up title or quote is not
    grounded even when each of its words is.

    >>> misquoted('The report was titled "The US War Against Russia".', ["a report warning of a US war against Russia"])
    ['The US War Against Russia']
    >>> misquoted('They warned it not to "play with fire" [1].', ["warning the US not to “play with fire”"])
    []
    """
    texts = [" " + " ".join(tokens(s)) + " " for s in sources]
    out = []
    for m in _QUOTED.finditer(claim):
        words = tokens(m.group(1))
        if len(words) >= 2 and not any(f" {' '.join(words)} " in t for t in texts):
            out.append(m.group(1).strip())
    return out


def names(text: str) -> list[str]:
    """The capitalised words of ``text`` that name something: a capitalised word inside a sentence, or one that
    starts a sentence and is followed by another capitalised word ("Li Zhongliang is …"); stopwords aside.

    >>> names("Li Zhongliang is the minister. He met Sergei Shoigu in Moscow on Monday [1].")
    ['Li', 'Zhongliang', 'Sergei', 'Shoigu', 'Moscow', 'Monday']
    >>> names("Officials said so. The Kremlin agreed.")
    ['Kremlin']
    """
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        words = cased_tokens(sentence)
        for i, word in enumerate(words):
            if not word[0].isupper() or word.lower() in STOPWORDS:
                continue
            starts = i == 0
            if starts and not (i + 1 < len(words) and words[i + 1][0].isupper()):
                continue
            out.append(word)
    return out


def unsupported_names(claim: str, asked: str, sources: Iterable[str]) -> list[str]:
    """Names in the claim that neither the question nor any source contains, in any form of the word ("Russian"
    for "Russia"); an acronym counts as stated when the initials of a run of capitalised words give it.

    >>> unsupported_names("Li Zhongliang is the minister [1].", "Who is China's defence minister?",
    ...                   ["Colonel General Xu Qiliang met Shoigu."])
    ['Li', 'Zhongliang']
    >>> unsupported_names("The Russian side and the UN agreed.", "What did they agree?",
    ...                   ["Russia and the United Nations agreed."])
    []
    """
    known: set[str] = set()
    initials: set[str] = set()
    for text in (asked, *sources):
        known |= set(tokens(text))
        for run in re.findall(r"(?:\b[A-Z][\w’'-]*(?:\s+(?:of|the|and|for)\s+|\s+))+", text + " "):
            letters = "".join(w[0] for w in run.split() if w[0].isupper())
            if len(letters) >= 2:
                initials.add(letters.lower())
    out = []
    for name in names(claim):
        w = name.lower()
        if w in known or any(same_word(w, k) for k in known if k[:1] == w[:1]):
            continue
        if name.isupper() and w in initials:
            continue
        out.append(name)
    return list(dict.fromkeys(out))
