"""Follow-up questions rewritten into standalone questions before retrieval.

Retrieval sees one question at a time, so "And who is his Russian counterpart?"
after "Who is Xu Qiliang?" must become "Who is Xu Qiliang's Russian
counterpart?" first. The rewrite is asked of the LLM only when there is history
and the question looks like a follow-up; a rewrite that is empty or absurd
falls back to the question as asked, and one that brings in nothing from the
conversation (small models often just drop the "And") gets the previous
question attached as context, which is enough for retrieval.

>>> looks_like_followup("And who is his Russian counterpart?")
True
>>> looks_like_followup("Who is Xu Qiliang?")
False
"""
from __future__ import annotations

import re
from typing import Sequence

from rag.answer.cite import strip_markers
from rag.answer.llm import LLM

# (question, answer) pairs, oldest first; the answer may be "" (e.g. after an abstention)
History = Sequence[tuple[str, str]]

MAX_TURNS = 3
MAX_ANSWER_CHARS = 400
MAX_REWRITE_TOKENS = 60

_LEADING_CUE = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what of|and what|why not|same for|as for)\b", re.I
)
_REFERRING_WORD = re.compile(
    r"\b(he|him|his|himself|she|her|hers|herself|they|them|their|theirs|themselves|it|its|itself"
    r"|this|these|those|the same|the latter|the former|the other one|both)\b",
    re.I,
)
_PREFIX = re.compile(r"^\s*(standalone question|rewritten question|rewrite|question)\s*:\s*", re.I)

SYSTEM = (
    "You rewrite a follow-up question from a conversation into a standalone question "
    "that can be understood without the conversation. Replace pronouns and vague references "
    "with the names they refer to. Do not answer the question. Reply with the rewritten question only."
)
# One worked example, on a topic unrelated to the articles, so small models copy the form, not the facts.
EXAMPLE_USER = (
    "Conversation:\nQ: What does Acme Corp make?\nA: Acme Corp makes bicycles.\n\n"
    "Follow-up question: And where is it based?"
)
EXAMPLE_REPLY = "Where is Acme Corp based?"


def looks_like_followup(question: str) -> bool:
    """True when the question starts with a cue ("and", "what about", ...), refers back (pronouns) or is a bare "Why?".

    >>> looks_like_followup("What about Russia?")
    True
    >>> looks_like_followup("When did Putin meet China's Defense Minister in Moscow?")
    False
    """
    if len(re.findall(r"\w+", question)) <= 2:
        return True
    return bool(_LEADING_CUE.search(question) or _REFERRING_WORD.search(question))


def build_rewrite_messages(history: History, question: str) -> list[dict[str, str]]:
    """Chat messages asking for a standalone version of ``question``, given the last turns of ``history``.

    >>> m = build_rewrite_messages([("Who is Xu Qiliang?", "Vice chairman of the CMC [1].")], "And his age?")
    >>> m[-1]["content"].splitlines()[1:3]
    ['Q: Who is Xu Qiliang?', 'A: Vice chairman of the CMC.']
    """
    lines = ["Conversation:"]
    for q, a in list(history)[-MAX_TURNS:]:
        lines.append(f"Q: {_one_line(q)}")
        answer = _one_line(strip_markers(a))
        if len(answer) > MAX_ANSWER_CHARS:
            answer = answer[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
        if answer:
            lines.append(f"A: {answer}")
    user = "\n".join(lines) + f"\n\nFollow-up question: {_one_line(question)}"
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": EXAMPLE_USER},
        {"role": "assistant", "content": EXAMPLE_REPLY},
        {"role": "user", "content": user},
    ]


def _tidy(raw: str) -> str:
    lines = [ln.strip() for ln in raw.strip().splitlines() if ln.strip()]
    text = _PREFIX.sub("", lines[0]) if lines else ""
    return text.strip().strip("\"'“”‘’`").strip()


def _sensible(text: str, history: History, question: str) -> bool:
    """Not empty, not much longer than the inputs, not a refusal."""
    last_question = list(history)[-1][0] if history else ""
    longest_sensible = 2 * (len(question) + len(last_question)) + 20
    if len(text) < 3 or len(text) > longest_sensible or not re.search(r"\w", text):
        return False
    return not text.lower().startswith(("i ", "i'm", "sorry", "as an ai"))


def with_context(rewrite: str, history: History, question: str) -> str:
    """``rewrite`` as is when it brought in words from the conversation, else with the previous question attached.

    >>> h = [("Who is Xu Qiliang?", "")]
    >>> with_context("Who is his Russian counterpart?", h, "And who is his Russian counterpart?")
    'Who is his Russian counterpart? (context: Who is Xu Qiliang?)'
    >>> with_context("Who is Xu Qiliang's counterpart?", h, "And his counterpart?")
    "Who is Xu Qiliang's counterpart?"
    """
    words = lambda text: {w.lower() for w in re.findall(r"\w+", text)}  # noqa: E731
    conversation = set().union(*(words(q) | words(a) for q, a in history))
    if (words(rewrite) - words(question)) & conversation:
        return rewrite
    return f"{rewrite} (context: {_one_line(list(history)[-1][0])})"


def rewrite_question(history: History, question: str, llm: LLM, max_tokens: int = MAX_REWRITE_TOKENS) -> str:
    """A standalone version of ``question``; the question itself when there is no history or it is not a follow-up."""
    if not history or not looks_like_followup(question):
        return question
    raw = "".join(llm.stream(build_rewrite_messages(history, question), max_tokens))
    rewrite = _tidy(raw)
    if not _sensible(rewrite, history, question):
        return question
    return with_context(rewrite, history, question)


def _one_line(text: str) -> str:
    return " ".join(text.split())
