"""The verdict on a reply, as a pure function of question, reply, passages and articles (rag/judge.py)."""
from __future__ import annotations

from rag.judge import MIN_SUPPORT, judge
from rag.types import Chunk, Document, Passage, Span

TALKS = Document("talks", "Russian Defense Minister Sergei Shoigu met Colonel General Xu Qiliang in Moscow on "
                          "April 16, 2023. Xu Qiliang is vice chairman of China's Central Military Commission.",
                 outlet="The Moscow Times")
DRILLS = Document("drills", "Russia announced a joint exercise called Interaction-2022. It will be held next year.")
DOCS = (TALKS, DRILLS)


def passage(doc: Document, rank: int = 1) -> Passage:
    return Passage(Chunk(f"{doc.doc_id}:0", doc.doc_id, doc.text, Span(0, len(doc.text))), doc, 1.0, rank)


PASSAGES = (passage(TALKS), passage(DRILLS, 2))


def test_a_grounded_answer_stands():
    verdict = judge("Who is Xu Qiliang?", "Xu Qiliang is vice chairman of China's Central Military Commission [1].",
                    PASSAGES, DOCS)
    assert verdict.answered and verdict.reason == "" and verdict.support >= MIN_SUPPORT


def test_each_failed_check_names_itself():
    cases = {
        ("What is the population of Russia?", "Russia has 144 million people [1]."): "0% of what the answer adds",
        ("Who is Xu Qiliang?", "Xu Qiliang is the one who met Shoigu in Moscow in 1999 [1]."): "numbers not in",
        ("Who met Shoigu?", 'Xu Qiliang, "the vice chairman of Russia", met him [1].'): "quoted words not in",
        ("Where will the Interaction-2022 exercise be held?",
         "The Interaction-2022 exercise will be held next year [2]."): "the question asks where",
        ("Who is China's defence minister?", "China's defence minister is Sergei Shoigu [1]."): "a different title",
        ("Who is Xu Qiliang?", "NOT FOUND"): "the model said",
    }
    for (question, reply), reason in cases.items():
        verdict = judge(question, reply, PASSAGES, DOCS)
        assert not verdict.answered and reason in verdict.reason, (question, verdict)
