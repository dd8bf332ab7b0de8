"""Does the model's reply stand as an answer? The checks that turn a reply into "Not in the articles".

One pure function, ``judge``, run on the full reply after generation. Each check
names what failed, so the reader (and the eval harness) can see why an answer was
withheld. In order: the model said it does not know; what the answer adds to the
question is not in the passages (support.py); a number or a quotation is not in
them; the answer lacks the kind of thing the question asks for (answer_type.py);
its date stands next to another event (anchor.py); a name is missing, a place is
missing, a name comes from another story, or the person named is titled for
something else (names.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .anchor import anchored, typed_values
from .answer_type import missing_kind
from .cite import is_abstention, resolve_markers, strip_markers
from .names import (answer_names, asks_for_a_name, asks_for_a_place, gives_a_name, gives_a_place, names_anchored,
                    specific_names, title_conflicts)
from .prompt import as_given
from .support import grounding, misquoted, unsupported_numbers
from .types import Document, Passage

MIN_SUPPORT = 0.6  # below this share of its new words found in the passages, an answer is not grounded


@dataclass(frozen=True)
class Verdict:
    """Whether a reply stands as an answer (grounded in the passages), and if not, why."""

    answered: bool
    support: float
    reason: str               # why the reply became an abstention ("" when answered)


def judge(question: str, raw: str, passages: Sequence[Passage], documents: Sequence[Document]) -> Verdict:
    """The verdict on the model's reply ``raw`` to ``question`` given ``passages``; ``documents`` are all the
    index's articles (names are anchored, and titles looked up, across all of them)."""
    text, cited = resolve_markers(raw, len(passages))
    claim = strip_markers(text)
    sources = [as_given(p) for p in passages]
    support = grounding(claim, question, sources)  # 0.0 when the answer only echoes the question

    def no(reason: str) -> Verdict:
        return Verdict(False, support, reason)

    if is_abstention(text, cited):
        return no("the model said the passages do not hold the answer")
    if support < MIN_SUPPORT:
        return no(f"{support:.0%} of what the answer adds to the question is in the passages "
                  f"(needs {MIN_SUPPORT:.0%})")
    numbers = unsupported_numbers(claim, sources)
    if numbers:
        return no(f"numbers not in the passages: {', '.join(sorted(numbers))}")
    quotes = misquoted(claim, sources)
    if quotes:
        return no(f"quoted words not in the passages: {'; '.join(quotes)}")
    kind = missing_kind(question, claim)
    if kind:
        return no(f"the question asks for {kind} and the answer gives none")
    specific = specific_names(question, documents)
    if not anchored(question, claim, list({p.doc_id: p.document for p in passages}.values()), specific):
        return no(f"the articles give {', '.join(typed_values(question, claim))} "
                  "for something other than what the question asks about")
    if asks_for_a_name(question) and not gives_a_name(question, claim):
        return no("the question asks for a name and the answer gives none")
    if asks_for_a_place(question) and not gives_a_place(question, claim):
        return no("the question asks where and the answer names no place")
    if not names_anchored(question, claim, documents, specific):
        return no(f"the articles name {', '.join(answer_names(question, claim))} "
                  "in connection with something other than what the question asks about")
    conflicts = title_conflicts(question, claim, documents)
    if conflicts:
        return no(f"the articles give {', '.join(conflicts)} a different title from the one the question asks about")
    return Verdict(True, support, "")
