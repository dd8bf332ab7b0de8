"""The question analysed once: its words and the kind of answer it asks for; evidence selection preferring it."""
from __future__ import annotations

import pytest

from fakes import FakeEmbedder
from rag.retrieve.evidence import EvidenceSettings, select_evidence
from rag.retrieve.question import analyse
from rag.types import Chunk, Document, Passage, Span


@pytest.mark.parametrize("question, sentence", [
    ("On which day of the week was the treaty signed?", "The treaty was signed on Tuesday."),
    ("When did the minister arrive?", "The minister arrived on April 16, 2023."),
    ("In what year was the alliance formed?", "The alliance was formed in 2021."),
    ("How many ships took part?", "Twelve ships took part, officials said."),
    ("How many days passed?", "Two days passed."),
    ("How many ships took part?", "About 12 ships took part."),
    ("How much did the bridge cost?", "The bridge cost $2 billion."),
    ("What percentage of voters turned out?", "Turnout was 64%."),
    ("What word did the minister use for the agreement?", "He called it “historic.”"),
    ("How did the ministry describe the talks?", 'The ministry called the talks "constructive".'),
    ("When was the theory developed?", "It grew out of work in the 1960s."),
    ("In which century did the practice start?", "It started in the 16th century."),
    ("When was the paper published?", "The paper appeared in 1936."),
])
def test_sentences_holding_the_asked_kind_fit(question, sentence):
    assert analyse(question).fits(sentence)


@pytest.mark.parametrize("question, sentence", [
    ("On which day of the week was the treaty signed?", "The treaty will be signed next year."),
    ("When did the minister arrive?", "The minister arrived in Moscow."),
    ("How many ships took part?", "Ships of both navies took part."),
    ("What word did the minister use for the agreement?", "He spoke about the agreement at length."),
])
def test_sentences_without_it_do_not(question, sentence):
    assert not analyse(question).fits(sentence)


@pytest.mark.parametrize("question, kind", [
    ("Which day of the week is the vote?", "weekday"),
    ("What date was chosen?", "date"), ("When does the summit open?", "date"), ("Which month did it rain?", "date"),
    ("How long did the strike last?", "number"), ("How old is the bridge?", "number"),
    ("What number of seats did it win?", "number"), ("What share of the budget goes to defence?", "number"),
    ("Which phrase did the mayor use?", "quote"), ("What words did she use?", "quote"),
    ("What did the report describe it as?", "quote"),
])
def test_general_question_forms_ask_for_a_kind(question, kind):
    assert analyse(question).kind == kind


@pytest.mark.parametrize("question", ["Who is the mayor?", "Why did the talks fail?", "What is the treaty about?",
                                      "What is the population of the city?", "What is the maximum fine?"])
def test_questions_without_a_hint_expect_nothing(question):
    q = analyse(question)
    assert q.kind == "" and not q.fits("On Tuesday, 12 “ships” sailed in 2023.")


def test_the_analysis_holds_the_question_words_once():
    q = analyse("Which sea did the two navies sail?")
    assert q.text == "Which sea did the two navies sail?"
    assert q.words == {"sea", "navies", "sail"} and "navi" in q.stems


def test_evidence_prefers_the_sentence_with_the_asked_weekday():
    text = ("The two cities agreed to hold a joint festival next year. "
            "Officials described the festival as routine. "
            "The agreement was reached on Tuesday in Lyon.")
    starts = [0, text.index("Officials"), text.index("The agreement")]
    spans = tuple(Span(a, b - 1 if b < len(text) else b) for a, b in zip(starts, starts[1:] + [len(text)]))
    doc = Document("d", text)
    hit = Passage(Chunk("d:0", "d", text, Span(0, len(text)), spans), doc, 1.0, 1)
    settings = EvidenceSettings(max_words=1, neighbours=0)
    (passage,) = select_evidence("On which day of the week did they agree to hold the festival?", [hit],
                                 FakeEmbedder(), settings)
    assert passage.text == "The agreement was reached on Tuesday in Lyon."


def test_neighbours_must_not_be_negative():
    with pytest.raises(ValueError, match="neighbours"):
        EvidenceSettings(neighbours=-1)
