"""The question-answering handler: rewrite a follow-up, retrieve, stream the answer, render each step.

Everything a visitor's conversation holds travels in the ``turns`` argument (a
gr.State per browser session) and comes back as the last value yielded; nothing
is kept in globals.
"""
from __future__ import annotations

import logging
from dataclasses import replace as _replace
from typing import Iterator, Sequence

import gradio as gr

from rag.answer.engine import Done, Retrieved, Token
from rag.answer.followup import looks_like_followup, rewrite_question
from rag.errors import BadQuestion, RagError
from rag.retrieve.question import check_question

from .engines import Engines, generation_lock
from .render import Turn, conversation_html, sources_for_answer, sources_pending, sources_placeholder, timings_text

log = logging.getLogger(__name__)

# what the handler yields: (question box, conversation HTML, sources HTML, turns)
Step = tuple[str, str, str, list[Turn]]


def history_of(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """(question, answer) pairs for follow-up rewriting: the standalone questions, answers only when given.

    >>> history_of([Turn("Who is Xu?", "", "Vice chairman [1].")])
    [('Who is Xu?', 'Vice chairman [1].')]
    """
    return [(t.searched or t.question, "" if t.abstained else t.text) for t in turns if not t.error]


def ask(engines: Engines, turns: Sequence[Turn] | None, question: str, model: str | None = None,
        top_k: int | float | None = None) -> Iterator[Step]:
    """Answer ``question`` in the conversation ``turns``, yielding the page's state after each step."""
    turns = list(turns or [])
    try:
        question = check_question(question)
    except BadQuestion as e:  # the question stays in its box, to be edited
        notice = f"{str(e)[:1].upper()}{str(e)[1:]}"
        yield question or "", conversation_html(turns, notice=notice), sources_placeholder_if(turns), turns
        return
    turn = Turn(question, pending=True, status="Searching the articles…")
    sources = sources_placeholder("Searching the articles…")
    yield "", conversation_html([*turns, turn]), sources, turns
    try:
        engine = engines.get(model)
        history = history_of(turns)
        if history and looks_like_followup(question):
            turn = _replace(turn, status="Reading the follow-up in context…")
            yield "", conversation_html([*turns, turn]), sources, turns
            with generation_lock(engine):
                turn = _replace(turn, searched=rewrite_question(history, question, engine.llm))
        for event in engine.ask_stream(turn.searched or question, int(top_k) if top_k else None):
            if isinstance(event, Retrieved):
                turn = _replace(turn, status="Writing the answer…")
                sources = sources_pending(event.passages)
            elif isinstance(event, Token):
                turn = _replace(turn, text=turn.text + event.text)
            elif isinstance(event, Done):
                answer = event.answer
                turn = _replace(turn, text=answer.text, sentences=answer.sentences, abstained=answer.abstained,
                                reason=answer.abstain_reason, unverified=answer.unverified,
                                left_out=answer.left_out, pending=False,
                                meta=timings_text(answer), status="")
                sources = sources_for_answer(answer)
            yield "", conversation_html([*turns, turn]), sources, turns + ([] if turn.pending else [turn])
    except RagError as e:
        turn = _replace(turn, error=str(e), pending=False)
        yield "", conversation_html([*turns, turn]), sources, [*turns, turn]
    except Exception as e:  # never let one question take the page down
        log.exception("question failed: %r", question)
        turn = _replace(turn, error=f"Something went wrong answering this question ({type(e).__name__}: {e}).",
                        pending=False)
        yield "", conversation_html([*turns, turn]), sources, [*turns, turn]


def new_conversation() -> tuple[str, str, list[Turn]]:
    return conversation_html([]), sources_placeholder(), []


def sources_placeholder_if(turns: Sequence[Turn]):
    """Leave the sources panel as it is when there is an earlier answer; else the placeholder."""
    if turns:
        return gr.skip()
    return sources_placeholder()

