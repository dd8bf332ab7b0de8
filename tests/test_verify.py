"""Sentence-level citation checks: support, repair of wrong numbers, flags, highlights by alignment."""
from __future__ import annotations

from rag.textclean import split_sentences
from rag.types import Chunk, Document, Passage, Span
from rag.verify import answer_sentences, check_sentence, verify_answer

XU = ("Xu Qiliang is vice chairman of the Central Military Commission. The weather in Moscow was cold. "
      "Shoigu met Xu in Moscow on Tuesday.")
DRILLS = "The navies will hold joint drills in the Mediterranean Sea next year."


def passage(doc_id: str, text: str, offset: int = 0, rank: int = 1) -> Passage:
    full = "x" * offset + " " + text  # the chunk sits somewhere inside its article
    start = offset + 1
    sentences = tuple(Span(a, b) for a, b in split_sentences(full, start))
    return Passage(Chunk(f"{doc_id}:0", doc_id, text, Span(start, len(full)), sentences),
                   Document(doc_id, full), 0.5, rank)


PASSAGES = [passage("a", XU, offset=7), passage("b", DRILLS, rank=2)]


def test_markers_after_the_full_stop_stay_with_their_sentence():
    assert answer_sentences("Xu is a general. [1] He spoke to TASS [2].") == ["Xu is a general. [1]", "He spoke to TASS [2]."]


def test_a_supported_sentence_keeps_its_citation_and_highlights_the_backing_sentence():
    check = check_sentence("Xu Qiliang is vice chairman of the Central Military Commission [1].", PASSAGES)
    assert check.supported and check.citations == (1,) and check.repaired_from == ()
    article = PASSAGES[0].document.text
    assert [article[s.start:s.end] for n, s in check.highlights] == [
        "Xu Qiliang is vice chairman of the Central Military Commission."]
    assert all(n == 1 for n, _ in check.highlights)


def test_a_wrong_citation_number_is_repaired_when_another_passage_clearly_supports_it():
    check = check_sentence("The navies will hold joint drills in the Mediterranean Sea [1].", PASSAGES)
    assert check.citations == (2,) and check.repaired_from == (1,)
    assert check.supported and check.text == "The navies will hold joint drills in the Mediterranean Sea [2]."


def test_an_uncited_supported_sentence_gets_its_citation_added():
    check = check_sentence("The navies will hold joint drills in the Mediterranean Sea.", PASSAGES)
    assert check.citations == (2,) and check.text.endswith("[2].")


def test_a_sentence_no_passage_supports_is_flagged_not_repaired():
    check = check_sentence("Penguins dance on glaciers every winter [1].", PASSAGES)
    assert not check.supported and check.citations == (1,) and check.highlights == ()


def test_a_number_the_passage_does_not_state_is_not_supported():
    check = check_sentence("Xu Qiliang is vice chairman of the commission since 1999 [1].", PASSAGES)
    assert not check.supported


def test_verify_answer_checks_each_sentence():
    checks = verify_answer("Xu Qiliang is vice chairman [1]. Penguins dance on glaciers [2].", PASSAGES)
    assert [c.supported for c in checks] == [True, False]
    assert checks[0].to_dict()["citations"] == [1]


def test_what_the_sentence_adds_to_the_question_decides_which_passage_supports_it():
    iran = passage("c", "China and Russia partnered with Iran in military exercises.", rank=3)
    passages = [passage("a", "Russia and China held military exercises against US interests."), iran]
    question = "Which third country have China and Russia partnered with in military exercises?"
    check = check_sentence("Russia and China have partnered with Iran in military exercises [1].", passages, question)
    assert check.citations == (2,) and check.repaired_from == (1,)
