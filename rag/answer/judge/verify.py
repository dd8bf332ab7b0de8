"""Each answer sentence checked against the evidence sentences it cites (pure, after generation).

The model cites evidence sentences by number ([n] in ``Evidence``). A sentence is
supported when the sentences it cites (with their article's source line) state
what it adds to the question (its new content words, numbers exactly) and what
it says as a whole (its content words, the question's included: "Russia won the
tournament" is not stated by a sentence that only names Russia); a reply that
restates a long question is not held to the whole when its sentences share two
words with the question (they speak of what was asked). A sentence
whose citation does not support it while other evidence clearly does gets its
citation repaired (one sentence, or two when the claim joins two facts); one
nothing supports is flagged, and flagged sentences highlight nothing: a source
is only marked where it backs the claim.
The reader sees passage numbers (one passage per article); the highlights are
the cited sentences themselves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Sequence

from rag.answer.cite import cited_numbers, leading_markers, strip_markers
from rag.answer.judge.support import novel_tokens, support_score, unsupported_numbers
from rag.answer.prompt import source_line
from rag.ingest.clean import split_sentences
from rag.retrieve.evidence import Evidence, EvidenceSentence
from rag.retrieve.question import Question, analyse
from rag.types import Span
from rag.words import content_tokens, stem

SUPPORTED = 0.5      # share of a sentence's new content words its cited sentences must state
REPAIR_MARGIN = 0.25  # another sentence must beat the cited ones by this much to take their place


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence: the passages it cites (after repair), whether its sentences support it, and where."""

    text: str                      # the sentence with its markers as the reader sees them (passage numbers)
    citations: tuple[int, ...]     # passage numbers
    support: float                 # share of its new content words that its cited sentences state
    supported: bool
    repaired_from: tuple[int, ...] = ()  # the passages the model cited, when the citation was replaced
    highlights: tuple[tuple[int, Span], ...] = ()  # (passage number, cited sentence's span in the article)

    def to_dict(self) -> dict:
        return {"text": self.text, "citations": list(self.citations), "support": round(self.support, 3),
                "supported": self.supported, "repaired_from": list(self.repaired_from),
                "highlights": [[n, s.start, s.end] for n, s in self.highlights]}


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, with markers that trail a full stop kept on their sentence.

    >>> answer_sentences("Xu is a general. [1] He spoke to TASS [2].")
    ['Xu is a general. [1]', 'He spoke to TASS [2].']
    """
    out: list[str] = []
    for a, b in split_sentences(text):
        part = text[a:b]
        lead = leading_markers(part)
        if out and lead:
            out[-1] = f"{out[-1]} {lead.strip()}"
            part = part[len(lead):].strip()
        if part and (strip_markers(part) or not out):
            out.append(part)
        elif part:
            out[-1] = f"{out[-1]} {part}"
    return out


def with_markers(sentence: str, numbers: Sequence[int]) -> str:
    """``sentence`` with its markers replaced by ``numbers``, placed before its final punctuation.

    >>> with_markers("Xu is vice chairman [3][4].", [1])
    'Xu is vice chairman [1].'
    """
    body = strip_markers(sentence)
    marks = "".join(f"[{n}]" for n in numbers)
    if not marks:
        return body
    m = re.search(r"([.!?]+[\"”’']?)$", body)
    return f"{body[: m.start()]} {marks}{m.group(1)}" if m else f"{body} {marks}"


def support_of(claim: str, sentences: Sequence[EvidenceSentence], evidence: Evidence,
               asked_numbers: Collection[str] = ()) -> float:
    """Share of ``claim``'s content words that ``sentences`` (with their articles' source lines) state; 0.0 when
    the claim has a number that neither they nor the question (``asked_numbers``: Question.numbers) state."""
    if not sentences:
        return 0.0
    lines = {source_line(evidence.passages[s.passage - 1]) for s in sentences}
    given = [*(s.text for s in sentences), *lines]
    if any(n not in asked_numbers for n in unsupported_numbers(claim, given)):
        return 0.0
    return support_score(claim, given)


def check_sentence(sentence: str, evidence: Evidence, question: Question) -> SentenceCheck:
    """Check one answer sentence whose markers are evidence sentence numbers."""
    claim = strip_markers(sentence)
    cited = [s for s in map(evidence.sentence, cited_numbers(sentence)) if s is not None]
    if not content_tokens(claim):
        return _check(sentence, cited, cited, 1.0, True)
    new = novel_tokens(claim, question)
    numbers = " ".join(t for t in claim.split() if any(ch.isdigit() for ch in t))
    focus = f"{' '.join(sorted(new)) if new else claim} {numbers}"

    def support(sentences: list[EvidenceSentence]) -> float:  # the weaker of: what it adds, what it says
        adds = support_of(focus, sentences, evidence, question.numbers)
        whole = support_of(claim, sentences, evidence, question.numbers)
        if whole < adds and _linked(sentences, question):  # the sentences speak of what was asked: the answer's
            whole = adds                                    # restatement of the question is not held against it
        return min(adds, whole)

    score = support(cited)
    chosen = cited
    if score < SUPPORTED:
        repair = _best_repair(evidence.sentences, support)
        repair_score = support(repair) if repair else 0.0
        if repair_score >= SUPPORTED and repair_score >= score + REPAIR_MARGIN:
            chosen, score = repair, repair_score
    return _check(sentence, cited, chosen, score, score >= SUPPORTED)


LINK_WORDS = 2  # content words the cited sentences must share with the question to speak of what was asked


def _linked(sentences: Sequence[EvidenceSentence], question: Question) -> bool:
    """True when the sentences share ``LINK_WORDS`` content words (in any form) with the question: they speak of
    what was asked, not only of the entity the answer names ("Russia" for "who won the tournament?")."""
    said = {stem(w) for s in sentences for w in content_tokens(s.text)}
    return len(said & question.stems) >= LINK_WORDS


def _best_repair(sentences: Sequence[EvidenceSentence], support) -> list[EvidenceSentence]:
    """The evidence sentence that best supports a claim, or, when none alone does, the pair that does best (a
    claim joining two facts, "in 1969, and AUKUS in 2021", is stated by two sentences); first sentences win ties."""
    best = max(sentences, key=lambda s: (support([s]), -s.number), default=None)
    if best is None or support([best]) >= SUPPORTED:
        return [best] if best is not None else []
    pair = max(([best, s] for s in sentences if s is not best), key=lambda p: (support(p), -p[1].number),
               default=[best])
    return sorted(pair, key=lambda s: s.number) if support(pair) > support([best]) else [best]


def _check(sentence: str, cited: list[EvidenceSentence], chosen: list[EvidenceSentence], support: float,
           supported: bool) -> SentenceCheck:
    passages = list(dict.fromkeys(s.passage for s in chosen))
    before = list(dict.fromkeys(s.passage for s in cited))
    repaired = tuple(before) if chosen != cited and before else ()
    highlights = tuple((s.passage, s.span) for s in chosen) if supported else ()
    return SentenceCheck(with_markers(sentence, passages), tuple(passages), support, supported, repaired, highlights)


def verify_answer(text: str, evidence: Evidence, question: Question | str) -> list[SentenceCheck]:
    """Check every sentence of an answer (markers: evidence sentence numbers) against what it cites."""
    question = analyse(question) if isinstance(question, str) else question
    return [check_sentence(s, evidence, question) for s in answer_sentences(text)]
