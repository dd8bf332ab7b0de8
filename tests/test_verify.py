"""Sentence-level checks: each answer sentence against the evidence sentences it cites (rag/answer/judge/verify.py)."""
from __future__ import annotations

from rag.retrieve.evidence import Evidence
from rag.answer.judge import answer_sentences, check_sentence, verify_answer
from rag.retrieve.question import analyse
from rag.ingest.clean import split_sentences
from rag.types import Chunk, Document, Passage, Span

XU = ("Xu Qiliang is vice chairman of the Central Military Commission. The weather in Moscow was cold. "
      "Shoigu met Xu in Moscow on Tuesday.")
DRILLS = "The navies will hold joint drills in the Mediterranean Sea next year."


def passage(doc_id: str, text: str, offset: int = 0, rank: int = 1, **meta) -> Passage:
    full = "x" * offset + " " + text  # the chunk sits somewhere inside its article
    start = offset + 1
    sentences = tuple(Span(a, b) for a, b in split_sentences(full, start))
    return Passage(Chunk(f"{doc_id}:0", doc_id, text, Span(start, len(full)), sentences),
                   Document(doc_id, full, **meta), 0.5, rank)


# sentences [1] Xu ..., [2] weather, [3] Shoigu ... (passage 1); [4] drills (passage 2)
EVIDENCE = Evidence.of([passage("a", XU, offset=7), passage("b", DRILLS, rank=2, outlet="TASS")])
NO_QUESTION = analyse("")


def test_the_evidence_numbers_sentences_across_passages():
    assert [(s.number, s.passage) for s in EVIDENCE.sentences] == [(1, 1), (2, 1), (3, 1), (4, 2)]
    assert EVIDENCE.sentence(4).text == DRILLS and EVIDENCE.sentence(5) is None and EVIDENCE.sentence(0) is None


def test_markers_after_the_full_stop_stay_with_their_sentence():
    assert answer_sentences("Xu is a general. [1] He spoke to TASS [2].") == ["Xu is a general. [1]", "He spoke to TASS [2]."]


def test_a_supported_sentence_cites_its_passage_and_highlights_the_cited_sentence():
    check = check_sentence("Xu Qiliang is vice chairman of the Central Military Commission [1].", EVIDENCE, NO_QUESTION)
    assert check.supported and check.citations == (1,) and check.repaired_from == ()
    assert check.highlights == ((1, EVIDENCE.sentence(1).span),)
    article = EVIDENCE.passages[0].document.text
    span = EVIDENCE.sentence(1).span
    assert article[span.start:span.end] == "Xu Qiliang is vice chairman of the Central Military Commission."


def test_the_reader_sees_passage_numbers():
    check = check_sentence("The navies will hold joint drills in the Mediterranean Sea [4].", EVIDENCE, NO_QUESTION)
    assert check.citations == (2,) and check.text == "The navies will hold joint drills in the Mediterranean Sea [2]."


def test_a_wrong_sentence_number_is_repaired_when_another_sentence_clearly_supports_it():
    check = check_sentence("The navies will hold joint drills in the Mediterranean Sea [2].", EVIDENCE, NO_QUESTION)
    assert check.citations == (2,) and check.repaired_from == (1,)
    assert check.supported and check.highlights == ((2, EVIDENCE.sentence(4).span),)


def test_an_uncited_supported_sentence_gets_its_citation_added():
    check = check_sentence("The navies will hold joint drills in the Mediterranean Sea.", EVIDENCE, NO_QUESTION)
    assert check.citations == (2,) and check.text.endswith("[2].")


def test_a_sentence_nothing_supports_is_flagged_and_highlights_nothing():
    check = check_sentence("Penguins dance on glaciers every winter [1].", EVIDENCE, NO_QUESTION)
    assert not check.supported and check.citations == (1,) and check.highlights == ()


def test_a_sentence_naming_only_one_thing_the_cited_sentence_names_is_not_supported():
    question = analyse("Who won the ice hockey world championship?")
    check = check_sentence("Moscow won the hockey tournament [2].", EVIDENCE, question)
    assert not check.supported and check.highlights == ()


def test_a_number_the_cited_sentence_does_not_state_is_not_supported():
    check = check_sentence("Xu Qiliang is vice chairman of the commission since 1999 [1].", EVIDENCE, NO_QUESTION)
    assert not check.supported


def test_the_source_line_supports_what_it_states():
    check = check_sentence("TASS published it [4].", EVIDENCE, analyse("Which outlet published the drills report?"))
    assert check.supported


def test_verify_answer_checks_each_sentence():
    checks = verify_answer("Xu Qiliang is vice chairman [1]. Penguins dance on glaciers [4].", EVIDENCE, "")
    assert [c.supported for c in checks] == [True, False]
    assert checks[0].to_dict()["citations"] == [1]


def test_what_the_sentence_adds_to_the_question_decides_which_sentence_supports_it():
    evidence = Evidence.of([passage("a", "Russia and China held military exercises against US interests."),
                            passage("c", "China and Russia partnered with Iran in military exercises.", rank=2)])
    question = analyse("Which third country have China and Russia partnered with in military exercises?")
    check = check_sentence("Russia and China have partnered with Iran in military exercises [1].", evidence, question)
    assert check.citations == (2,) and check.repaired_from == (1,)


def test_an_uncited_claim_joining_two_facts_is_repaired_with_both_sentences():
    from rag.retrieve.evidence import Evidence, EvidenceSentence
    from rag.types import Chunk, Document, Passage, Span

    texts = ["The border conflicts of 1969 nearly led to war.", "The weather was mild.",
             "AUKUS was created in 2021 by three countries."]
    passage = Passage(Chunk("c", "d", " ".join(texts), Span(0, 1)), Document("d", " ".join(texts)), 1.0, 1)
    evidence = Evidence((passage,), tuple(EvidenceSentence(i + 1, 1, Span(10 * i, 10 * i + 5), t)
                                          for i, t in enumerate(texts)))
    check = check_sentence("The conflicts nearly led to war in 1969, and AUKUS was created in 2021.", evidence,
                           analyse("When did the conflicts nearly lead to war, and when was AUKUS created?"))
    assert check.supported and [s for _, s in check.highlights] == [Span(0, 5), Span(20, 25)]


def test_a_reply_restating_a_long_question_is_supported_by_a_sentence_on_what_was_asked():
    from rag.retrieve.evidence import Evidence, EvidenceSentence

    texts = ["Sinn Féin edged out the Democratic Unionist Party to become the single largest party.",
             "Sinn Féin held a rally."]
    passage = Passage(Chunk("c", "d", " ".join(texts), Span(0, 1)), Document("d", " ".join(texts)), 1.0, 1)
    evidence = Evidence((passage,), tuple(EvidenceSentence(i + 1, 1, Span(10 * i, 10 * i + 5), t)
                                          for i, t in enumerate(texts)))
    question = analyse("Which party became the largest at Stormont for the first time after the 2022 assembly elections?")
    restated = "Sinn Féin became the largest party at Stormont for the first time after the 2022 assembly elections [1]."
    assert check_sentence(restated, evidence, question).supported
    unrelated = "Sinn Féin became the largest party at Stormont for the first time after the 2022 assembly elections [2]."
    assert check_sentence(unrelated, evidence, question).citations == (1,), "repaired to the sentence on the party"
    bare = check_sentence("Sinn Féin won the chess championship [2].", evidence, analyse("Who won the chess championship?"))
    assert not bare.supported, "a sentence naming the entity alone does not state what was asked"
