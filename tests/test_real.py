"""The whole pipeline with the real models: the bundled embedder, FAISS and the default (quality) LLM.

Few and small on purpose: each answer takes a few seconds on 2 cores.
"""
from __future__ import annotations

import json

import pytest

from conftest import require_model

pytestmark = pytest.mark.real

XU = "004_4f88f7a8625b6b03"


@pytest.fixture(scope="module")
def engine(real_seeds_index, real_embedder):
    from rag import open_engine

    require_model("quality")
    return open_engine(real_seeds_index, "quality", embedder=real_embedder)


@pytest.mark.parametrize("question, expected, doc_id", [
    ("Who is Xu Qiliang?", ["vice chairman", "central military commission"], XU),
    ("What did the Chinese Communist Party warn the US not to do?", ["play with fire"], "000_d9ac26facaa1f05c"),
    ("On what date did Putin meet China's Defense Minister in Moscow?", ["april 16, 2023"], "003_7dbf0080c15e92d2"),
    ('Which third country have China and Russia partnered with in military exercises, aligning against US interests?', ["iran"],
     "002_668af276d21bc4e5"),
    ("What joint military exercise did Russia announce after the meeting between Putin and Zhang Youxia?",
     ["interaction-2022"], "001_80ea79b3f3bb210f"),
])
def test_answers_name_the_fact_and_cite_the_right_article(engine, question, expected, doc_id):
    answer = engine.ask(question)
    assert not answer.abstained, answer.raw_text
    text = answer.text.lower()
    assert any(e in text for e in expected), answer.text
    assert doc_id in answer.cited_doc_ids, (answer.text, answer.cited_doc_ids)
    cited = next(c for c in answer.citations if c.passage.doc_id == doc_id)
    article = cited.passage.document.text
    assert cited.highlights, "a citation highlights the sentences that back it"
    assert all(0 <= h.start < h.end <= len(article) for h in cited.highlights)
    assert answer.timings.first_token_s > 0 and answer.timings.total_s >= answer.timings.first_token_s
    assert answer.timings.prompt_tokens > 0


@pytest.mark.parametrize("question, why", [  # unanswerable dev questions (eval/gold/seeds.jsonl) and why each abstains
    # its refusal probability (0.82 in 2026-12) is near the 0.8 threshold: either check may catch it
    ("What is the population of Russia?", ("the model judged", "numbers not in the passages")),
    ('What is the name of the Chinese Defense Minister whom Putin hosted in Moscow on April 16, 2023?',
     "names not in the passages"),
    ("On what date did Russia's Prosecutor General's Office designate The Moscow Times an undesirable organization?",
     "quoted words not in"),
    ('Which Kremlin spokesperson described Putin\'s April 2023 talks with China\'s Defense Minister as "constructive and fruitful"?',
     "the reply adds nothing"),
])
def test_question_not_answered_by_the_articles_abstains(engine, question, why):
    answer = engine.ask(question)
    assert answer.abstained, answer.raw_text
    assert answer.abstain_reason.startswith(why), answer.abstain_reason
    assert answer.citations == () and answer.abstain_reason
    assert "not in the articles" in answer.text.lower()
    assert answer.passages, "the closest passages are still returned"


def test_an_off_topic_question_gets_no_answer_and_no_highlighted_source(engine):
    answer = engine.ask("Who won the 2018 Tour de France?")
    assert answer.abstained, answer.raw_text
    assert all(not c.highlights for c in answer.citations)


def test_the_model_reports_its_own_refusal_probability(engine):
    """Read from llama.cpp's first-step logits (rag/answer/refusal.py); never the refusal itself as the answer."""
    answer = engine.ask("Who is Xu Qiliang?")
    assert answer.refusal_p is not None and 0.0 <= answer.refusal_p < engine.refusal_threshold
    assert "NOT FOUND" not in answer.raw_text


def test_cli_ask_json_and_streaming(real_seeds_index, capsys):
    from cli.main import main

    require_model("fast")
    assert main(["ask", "Who is Xu Qiliang?", "--index", str(real_seeds_index), "--model", "fast", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"answer", "citations", "passages", "abstained", "timings", "model_id"} <= result.keys()
    assert result["model_id"].startswith("qwen2.5-coder-0.5b")
    assert main(["ask", "Who is Xu Qiliang?", "--index", str(real_seeds_index), "--model", "fast"]) == 0
    out = capsys.readouterr().out
    assert ("Sources:" in out) or ("Closest passages found:" in out)
    assert "first token" in out


def test_a_reply_never_starts_with_a_bracket_even_when_the_model_wants_it_to():
    """The 0.5B model opened replies with "[T3]" or "[N2]": tokens that start with a bracket but are not "[" itself."""
    from rag.answer.llm import LlamaCppLLM
    from rag.answer.models import resolve_model

    require_model("fast")
    llm = LlamaCppLLM(resolve_model("fast")[0])
    messages = [{"role": "user", "content": "Repeat this text exactly: [T3] Twitch said."}]
    assert "".join(llm.stream(messages, 8)).lstrip().startswith("["), "without the rule the model starts with one"
    first = llm.llama.detokenize(llm.tokenize("[T3]")[:1]).decode()
    assert first.startswith("[") and first != "[", "the bracket is part of a longer token"
    reply = "".join(llm.stream(messages, 8, not_first=("[",)))
    assert reply.strip() and not reply.lstrip().startswith("["), reply
