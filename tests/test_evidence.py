"""Evidence selection (rag/retrieve/evidence.py): the sentences of every retrieved chunk compete for a word budget, so the
sentence that answers reaches the prompt for a corpus of short items and for long articles alike."""
from __future__ import annotations

import pytest

from fakes import FakeEmbedder
from rag.retrieve.evidence import Evidence, EvidenceFinder, EvidenceSettings, select_evidence
from rag.types import Chunk, Document, Passage, Span


def hit(doc_id: str, sentences: list[str], rank: int, chunk: int = 0) -> Passage:
    text = " ".join(sentences)
    spans, at = [], 0
    for s in sentences:
        spans.append(Span(at, at + len(s)))
        at += len(s) + 1
    return Passage(Chunk(f"{doc_id}:{chunk}", doc_id, text, Span(0, len(text)), tuple(spans)), Document(doc_id, text),
                   1.0, rank)


def shown(passages: list[Passage]) -> str:
    return " ".join(" ".join(p.document.text[s.start:s.end].split()) for p in passages for s in p.chunk.sentences)


QUESTION = "Which seas held the joint naval drills of China and Russia?"
NAVAL = hit("naval", ["China and Russia held joint naval drills in the Sea of Japan.",
                      "The joint naval drills of China and Russia also took place in the East China Sea.",
                      "Officials called the drills routine."], 1)
OFF_TOPIC = hit("weather", ["Rain fell all week.", "Farmers were pleased."], 2)


def briefs(n: int) -> list[Passage]:
    """``n`` short news items on elections in different years, each naming the winner; all share the question's
    common words, so none stands out by them."""
    items = []
    for i in range(n):
        year = 2010 + i
        items.append(hit(f"brief{i}", [f"The {year} election in the republic drew a record turnout.",
                                       f"Voters chose candidate{i} as president after a long count."], i + 1))
    return items


def test_the_answering_item_among_many_short_ones_reaches_the_prompt():
    """On a corpus of short items the one that answers is often the fourth or fifth retrieved: no fixed number of
    articles keeps it out, the budget decides."""
    items = briefs(6)
    question = "Who won the 2014 election in the republic?"
    kept = select_evidence(question, items, FakeEmbedder(), EvidenceSettings(max_words=120))
    assert "candidate4" in shown(kept)
    assert "brief4" in [p.doc_id for p in kept]


def test_a_rare_shared_word_outweighs_the_names_every_sentence_repeats():
    """In a long article every sentence names the same actors; the one sharing the question's rarer words answers."""
    sentences = [f"Russia and China discussed item {w} at length." for w in ("trade", "energy", "visas", "grain")]
    sentences.append("Both sides said they would promote common interests in the UN and the G20.")
    sentences += [f"Russia and China agreed on point {w}." for w in ("rail", "ports", "space")]
    article = hit("long", sentences, 1)
    question = "In which forums will Russia and China promote common interests?"
    kept = select_evidence(question, [article], FakeEmbedder(), EvidenceSettings(max_words=12, neighbours=0))
    assert "G20" in shown(kept)


def test_the_word_budget_bounds_the_evidence_and_keeps_the_best_sentence():
    kept = select_evidence(QUESTION, [NAVAL, OFF_TOPIC], FakeEmbedder(), EvidenceSettings(max_words=14, neighbours=0))
    assert [p.doc_id for p in kept] == ["naval"]
    assert len(kept[0].chunk.sentences) == 1, "a second sentence would pass the 14-word budget"
    tiny = select_evidence(QUESTION, [NAVAL], FakeEmbedder(), EvidenceSettings(max_words=1, neighbours=0))
    assert len(tiny[0].chunk.sentences) == 1, "the best sentence is kept even when it alone passes the budget"
    roomy = select_evidence(QUESTION, [NAVAL, OFF_TOPIC], FakeEmbedder(), EvidenceSettings(max_words=500))
    assert sum(len(p.chunk.sentences) for p in roomy) == 5


def test_the_sentence_after_the_best_one_comes_along():
    article = hit("a", ["Who chairs the commission was asked at the briefing in Beijing today.",
                        "The answer was Zhang."], 1)
    kept = select_evidence("Who chairs the commission asked at the briefing in Beijing?", [article], FakeEmbedder(),
                           EvidenceSettings(max_words=12, neighbours=1))
    assert "Zhang" in shown(kept)
    alone = select_evidence("Who chairs the commission asked at the briefing in Beijing?", [article], FakeEmbedder(),
                            EvidenceSettings(max_words=12, neighbours=0))
    assert "Zhang" not in shown(alone)


def test_overlapping_chunks_send_a_sentence_once_and_articles_are_one_passage_each():
    first = hit("naval", ["China and Russia held joint naval drills in the Sea of Japan.",
                          "Officials called the drills routine."], 1, chunk=0)
    second = hit("naval", ["China and Russia held joint naval drills in the Sea of Japan.",
                           "Officials called the drills routine."], 2, chunk=1)
    kept = select_evidence(QUESTION, [first, second], FakeEmbedder(), EvidenceSettings(max_words=500))
    assert len(kept) == 1 and len(kept[0].chunk.sentences) == 2
    numbers = [s.number for s in Evidence.of(kept).sentences]
    assert numbers == [1, 2]


def test_the_finder_retrieves_then_selects():
    class Retriever:
        def __init__(self):
            self.asked = []

        def retrieve(self, question, k):
            self.asked.append((question.text, k))
            return briefs(6)[:k]

    retriever = Retriever()
    found = EvidenceFinder(retriever, FakeEmbedder(), EvidenceSettings(max_words=200), top_k=6).find(
        "Who won the 2014 election in the republic?")
    assert retriever.asked == [("Who won the 2014 election in the republic?", 6)]
    assert len(found.hits) == 6 and "candidate4" in shown(list(found.evidence.passages))
    with pytest.raises(ValueError, match="top_k"):
        EvidenceFinder(retriever, FakeEmbedder(), top_k=0)


@pytest.mark.parametrize("name", ["max_words", "per_source"])
def test_budgets_must_be_positive(name):
    with pytest.raises(ValueError, match=name):
        EvidenceSettings(**{name: 0})


def test_neighbours_must_not_be_negative():
    with pytest.raises(ValueError, match="neighbours"):
        EvidenceSettings(neighbours=-1)
