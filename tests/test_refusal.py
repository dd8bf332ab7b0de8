"""The model's own refusal probability: read from the first-step logits, used by the engine, calibrated by the eval."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from conftest import make_engine
from fakes import FakeEmbedder, ScriptedLLM
from rag.answer.engine import NOT_IN_ARTICLES, Done, Engine, Token
from rag.store import open_store
from rag.answer.prompt import INSTRUCTIONS
from rag.answer.refusal import REFUSAL, RefusalProbe

QUESTION = "Who is Zhang Youxia?"
GROUNDED = "Zhang Youxia is China's second highest ranking military official [1]."  # sentence 1 states it


def test_the_probe_reads_the_refusal_share_of_the_first_distribution_only():
    probe = RefusalProbe(token_ids=(2,))
    probe.read(np.log(np.array([0.1, 0.2, 0.7], dtype=np.float32)))
    assert probe.probability == pytest.approx(0.7, abs=1e-6)
    probe.read(np.log(np.array([0.9, 0.05, 0.05], dtype=np.float32)))  # later steps do not count
    assert probe.probability == pytest.approx(0.7, abs=1e-6)


def test_the_probe_handles_large_logits_without_overflow():
    probe = RefusalProbe(token_ids=(0,))
    probe.read(np.array([1000.0, 999.0], dtype=np.float32))
    assert probe.probability == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_a_probe_without_token_ids_reads_nothing():
    probe = RefusalProbe()
    probe.read(np.zeros(3, dtype=np.float32))
    assert probe.probability is None


def test_the_instructions_ask_for_the_refusal():
    assert REFUSAL in INSTRUCTIONS


def engine_with(fake_index, replies, probabilities, threshold=0.5) -> Engine:
    return Engine(open_store(fake_index), FakeEmbedder(), ScriptedLLM(replies, probabilities), top_k=5,
                  refusal_threshold=threshold)


def test_a_likely_refusal_abstains_before_any_answer_text_is_shown(fake_index):
    engine = engine_with(fake_index, [GROUNDED], [0.8])
    events = list(engine.ask_stream(QUESTION))
    assert not [e for e in events if isinstance(e, Token)], "nothing of the suppressed answer is streamed"
    answer = events[-1].answer
    assert isinstance(events[-1], Done) and answer.abstained and answer.text == NOT_IN_ARTICLES
    assert answer.refusal_p == 0.8 and "80%" in answer.abstain_reason
    assert answer.passages and answer.citations == ()
    assert engine.llm.pieces_sent == 1, "generation stops at the first piece"


def test_an_unlikely_refusal_lets_the_answer_through(fake_index):
    answer = engine_with(fake_index, [GROUNDED], [0.2]).ask(QUESTION)
    assert not answer.abstained, answer.abstain_reason
    assert answer.refusal_p == 0.2 and answer.to_dict()["refusal_p"] == 0.2


def test_with_the_threshold_off_the_probability_is_reported_but_not_used(fake_index):
    answer = engine_with(fake_index, [GROUNDED], [0.99], threshold=None).ask(QUESTION)
    assert not answer.abstained and answer.refusal_p == 0.99


def test_an_llm_that_cannot_tell_is_judged_by_the_other_checks(fake_index):
    engine = make_engine(fake_index, FakeEmbedder(), [GROUNDED])
    answer = engine.ask(QUESTION)
    assert answer.refusal_p is None and not answer.abstained


def test_the_model_replying_the_refusal_itself_abstains(fake_index):
    answer = engine_with(fake_index, [REFUSAL], [0.3]).ask(QUESTION)
    assert answer.abstained and "passages do not hold" in answer.abstain_reason


def test_engines_for_other_models_keep_a_given_threshold(fake_index):
    engine = engine_with(fake_index, [GROUNDED], [0.1], threshold=0.3)
    assert engine.with_llm(ScriptedLLM([GROUNDED])).refusal_threshold == 0.3


def test_the_cli_threshold_flags():
    from cli.main import build_parser, threshold

    assert threshold("off") is None and threshold("0.4") == 0.4 and threshold("calibrated") == "calibrated"
    for bad in ("0", "2", "high"):
        with pytest.raises(argparse.ArgumentTypeError, match=repr(bad)):
            threshold(bad)
    assert build_parser().parse_args(["ask", "q", "--index", "i"]).refusal_threshold == "calibrated"
    assert build_parser().parse_args(["ask", "q", "--index", "i", "--refusal-threshold", "off"]).refusal_threshold is None


def test_the_llama_cpp_processor_reads_once_and_rules_the_refusal_out_at_every_step():
    from rag.answer.llm import _refusal_reader

    probe = RefusalProbe(token_ids=(1,))
    process = _refusal_reader(probe, prompt_length=3, later=(2,))
    first = process(np.zeros(3), np.log(np.array([0.25, 0.5, 0.25], dtype=np.float32)))
    assert probe.probability == pytest.approx(0.5) and np.isneginf(first[1]) and np.isneginf(first[2])
    later = process(np.zeros(4), np.zeros(3, dtype=np.float32))
    assert probe.probability == pytest.approx(0.5) and np.isneginf(later[1]) and later[0] == 0


def test_the_first_step_ban_rules_out_every_best_token_that_starts_with_a_banned_text_at_the_first_step_only():
    from rag.answer.llm import _first_step_ban

    pieces = {0: "[", 1: " [T", 2: "The", 3: "\n[c", 4: "Xu"}
    process = _first_step_ban(prompt_length=3, banned=("[",), piece=pieces.__getitem__)
    scores = np.array([5.0, 4.0, 1.0, 3.0, 2.0], dtype=np.float32)
    first = process(np.zeros(3), scores.copy())
    assert np.isneginf(first[[0, 1, 3]]).all(), "a token that starts with a bracket, after a space or newline too"
    assert int(first.argmax()) == 4 and first[2] == 1.0, "the best token left is chosen, lower ones kept"
    later = process(np.zeros(4), scores.copy())
    assert not np.isneginf(later).any()


def test_the_engine_asks_for_an_answer_that_starts_with_words(fake_index):
    engine = engine_with(fake_index, [GROUNDED], [0.1])
    engine.ask(QUESTION)
    assert engine.llm.not_first == ("[",)
