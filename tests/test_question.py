"""The question analysed once: its words and the kind of answer it asks for; evidence selection preferring it."""
from __future__ import annotations

import pytest

from fakes import FakeEmbedder
from rag.retrieve.evidence import EvidenceSettings, select_evidence
from rag.retrieve.question import analyse
from rag.types import Chunk, Document, Passage, Span


@pytest.mark.parametrize("question, sentence", [
    ("On which day of the week did they agree?", "They agreed on Tuesday to hold drills."),
    ("When did Putin meet the minister?", "The meeting took place on April 16, 2023."),
    ("In what year was the alliance formed?", "AUKUS was created in 2021."),
    ("How many warships took part?", "Twelve warships took part, officials said."),
    ("How many days passed?", "Two days passed."),
    ("How many warships took part?", "About 12 warships took part."),
    ("What is the minimum monthly contribution asked for?", "Support us monthly starting from just $2."),
    ("What single word described the cooperation?", "He called it “unprecedented.”"),
    ("How did the Kremlin describe the talks?", 'The Kremlin called the talks "constructive".'),
    ("When was the theory developed?", "It grew out of work in the 1960s."),
    ("In which century did the practice start?", "It started in the 16th century."),
    ("When was the paper published?", "The paper appeared in 1936."),
])
def test_sentences_holding_the_asked_kind_fit(question, sentence):
    assert analyse(question).fits(sentence)


@pytest.mark.parametrize("question, sentence", [
    ("On which day of the week did they agree?", "They agreed to hold drills next year."),
    ("When did Putin meet the minister?", "Putin met the minister in Moscow."),
    ("How many warships took part?", "Warships of both navies took part."),
    ("What single word described the cooperation?", "He described the cooperation at length."),
])
def test_sentences_without_it_do_not(question, sentence):
    assert not analyse(question).fits(sentence)


@pytest.mark.parametrize("question", ["Who is Xu Qiliang?", "Why did Russia turn to China?", "What is AUKUS?"])
def test_questions_without_a_hint_expect_nothing(question):
    q = analyse(question)
    assert q.kind == "" and not q.fits("On Tuesday, 12 “ships” sailed in 2023.")


def test_the_analysis_holds_the_question_words_once():
    q = analyse("Which sea did the Russian navies sail?")
    assert q.text == "Which sea did the Russian navies sail?"
    assert q.words == {"sea", "russian", "navies", "sail"} and "navi" in q.stems


def test_evidence_prefers_the_sentence_with_the_asked_weekday():
    text = ("The two sides agreed to hold joint naval exercises next year. "
            "Officials described the naval exercises as routine. "
            "The agreement was reached on Tuesday in Beijing.")
    starts = [0, text.index("Officials"), text.index("The agreement")]
    spans = tuple(Span(a, b - 1 if b < len(text) else b) for a, b in zip(starts, starts[1:] + [len(text)]))
    doc = Document("d", text)
    hit = Passage(Chunk("d:0", "d", text, Span(0, len(text)), spans), doc, 1.0, 1)
    settings = EvidenceSettings(max_words=1, neighbours=0)
    (passage,) = select_evidence("On which day of the week did they agree to hold naval exercises?", [hit],
                                 FakeEmbedder(), settings)
    assert passage.text == "The agreement was reached on Tuesday in Beijing."


def test_neighbours_must_not_be_negative():
    with pytest.raises(ValueError, match="neighbours"):
        EvidenceSettings(neighbours=-1)
