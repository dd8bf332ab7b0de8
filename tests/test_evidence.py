"""Evidence selection budgets: weak articles left out, a word budget (rag/evidence.py)."""
from __future__ import annotations

import pytest

from fakes import FakeEmbedder
from rag.evidence import EvidenceSettings, select_evidence
from rag.types import Chunk, Document, Passage, Span


def hit(doc_id: str, sentences: list[str], rank: int) -> Passage:
    text = " ".join(sentences)
    spans, at = [], 0
    for s in sentences:
        spans.append(Span(at, at + len(s)))
        at += len(s) + 1
    return Passage(Chunk(f"{doc_id}:0", doc_id, text, Span(0, len(text)), tuple(spans)), Document(doc_id, text), 1.0,
                   rank)


QUESTION = "Which seas held the joint naval drills of China and Russia?"
NAVAL = hit("naval", ["China and Russia held joint naval drills in the Sea of Japan.",
                      "The joint naval drills of China and Russia also took place in the East China Sea.",
                      "Officials called the drills routine."], 1)
OFF_TOPIC = hit("weather", ["Rain fell all week.", "Farmers were pleased."], 2)


def test_an_article_far_weaker_than_the_best_is_left_out():
    kept = select_evidence(QUESTION, [NAVAL, OFF_TOPIC], FakeEmbedder(), EvidenceSettings(min_source_relative=0.7))
    assert [p.doc_id for p in kept] == ["naval"]
    every = select_evidence(QUESTION, [NAVAL, OFF_TOPIC], FakeEmbedder(), EvidenceSettings(min_source_relative=0.0))
    assert [p.doc_id for p in every] == ["naval", "weather"]


def test_the_word_budget_keeps_the_best_sentences_and_each_articles_best():
    settings = EvidenceSettings(max_words=14, neighbours=0, min_relative=0.0, min_source_relative=0.0)
    kept = select_evidence(QUESTION, [NAVAL, OFF_TOPIC], FakeEmbedder(), settings)
    assert [p.doc_id for p in kept] == ["naval", "weather"], "each article keeps its best sentence"
    assert len(kept[0].chunk.sentences) == 1, "a second sentence would pass the 14-word budget"
    unlimited = select_evidence(QUESTION, [NAVAL, OFF_TOPIC], FakeEmbedder(),
                                EvidenceSettings(max_words=0, neighbours=0, min_relative=0.0, min_source_relative=0.0))
    assert len(unlimited[0].chunk.sentences) == 3


@pytest.mark.parametrize("name", ["max_words", "neighbours"])
def test_budgets_must_not_be_negative(name):
    with pytest.raises(ValueError, match=name):
        EvidenceSettings(**{name: -1})
