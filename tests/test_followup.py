"""Follow-up rewriting: when it asks the LLM, what it asks, and the fallbacks."""
from __future__ import annotations

import pytest

from fakes import ScriptedLLM
from rag.answer.followup import (
    MAX_ANSWER_CHARS, MAX_TURNS, build_rewrite_messages, looks_like_followup, rewrite_question,
)

HISTORY = [("Who is Xu Qiliang?", "Xu Qiliang is vice chairman of China's Central Military Commission [1].")]
FOLLOWUP = "And who is his Russian counterpart?"


@pytest.mark.parametrize("question", [
    FOLLOWUP, "What about Russia?", "how about the navy?", "When did they meet?", "What did she say?",
    "Is it true?", "Why?", "And Shoigu?", "Where were those drills held?",
])
def test_followups_are_recognised(question):
    assert looks_like_followup(question)


@pytest.mark.parametrize("question", [
    "Who is Xu Qiliang?", "When did Putin meet China's Defense Minister in Moscow?",
    "What did the Chinese Communist Party warn the US not to do?", "What is the population of Russia?",
    "Where is Andover located?",
])
def test_standalone_questions_are_not_followups(question):
    assert not looks_like_followup(question)


def test_prompt_holds_recent_history_without_markers_and_the_question():
    history = [(f"Question {i}?", f"Answer {i} [2].") for i in range(5)]
    messages = build_rewrite_messages(history, FOLLOWUP)
    assert messages[0]["role"] == "system"
    user = messages[-1]["content"]
    assert user.endswith(f"Follow-up question: {FOLLOWUP}")
    kept = [f"Question {i}?" for i in range(5 - MAX_TURNS, 5)]
    assert all(q in user for q in kept) and "Question 0?" not in user
    assert "[2]" not in user and "A: Answer 4." in user


def test_prompt_cuts_long_answers_and_skips_empty_ones():
    history = [("Who?", "word " * 500), ("Where?", "")]
    user = build_rewrite_messages(history, "And when?")[-1]["content"]
    answer_line = next(line for line in user.splitlines() if line.startswith("A: "))
    assert len(answer_line) <= MAX_ANSWER_CHARS + 10 and answer_line.endswith("…")
    assert "Q: Where?\n\nFollow-up" in user  # no "A:" line for an empty answer


def test_rewrites_a_followup_with_the_llm():
    llm = ScriptedLLM(["Who is Xu Qiliang's Russian counterpart?"])
    assert rewrite_question(HISTORY, FOLLOWUP, llm) == "Who is Xu Qiliang's Russian counterpart?"
    assert len(llm.prompts) == 1 and FOLLOWUP in llm.prompts[0][-1]["content"]
    assert "Who is Xu Qiliang?" in llm.prompts[0][-1]["content"]


@pytest.mark.parametrize("history, question", [([], FOLLOWUP), (HISTORY, "Who is Sergei Shoigu?")])
def test_no_llm_call_without_history_or_for_standalone_questions(history, question):
    llm = ScriptedLLM(["should not be used"])
    assert rewrite_question(history, question, llm) == question
    assert llm.prompts == []


@pytest.mark.parametrize("reply", ["", "   ", "?", "x " * 200, "I'm sorry, I cannot help with that."])
def test_empty_or_absurd_rewrites_fall_back_to_the_question(reply):
    assert rewrite_question(HISTORY, FOLLOWUP, ScriptedLLM([reply])) == FOLLOWUP


@pytest.mark.parametrize("reply", [
    'Standalone question: "Who is Xu Qiliang\'s Russian counterpart?"',
    "“Who is Xu Qiliang's Russian counterpart?”",
    "Who is Xu Qiliang's Russian counterpart?\nXu Qiliang's counterpart is Sergei Shoigu.",
])
def test_rewrites_are_tidied(reply):
    assert rewrite_question(HISTORY, FOLLOWUP, ScriptedLLM([reply])) == "Who is Xu Qiliang's Russian counterpart?"


@pytest.mark.parametrize("reply", ["Who is his Russian counterpart?", "And who is his Russian counterpart?"])
def test_rewrite_that_resolves_nothing_gets_the_previous_question_as_context(reply):
    assert rewrite_question(HISTORY, FOLLOWUP, ScriptedLLM([reply])) == f"{reply} (context: Who is Xu Qiliang?)"
