"""Anchoring dates and weekdays: the answer's date must stand near the question's words in some article."""
from __future__ import annotations

from rag.anchor import anchor_score, anchored, date_words, typed_values
from rag.types import Document

MEETING = Document(
    "003", "Putin hosted China's Defense Minister in Moscow. The meeting took place on April 16, 2023. "
    "Xu Qiliang, vice chairman of the Central Military Commission, was quoted by TASS.",
    title="Putin and China's Defense Minister Hold Key Meeting in Moscow",
)
VISIT = Document("002", "During Putin's visit to China, Xi Jinping urged the two countries to cherish their relationship.")
DATED = Document("001", "Russia announced a joint exercise called Interaction-2022.", date="2023-11-10")


def test_a_date_stated_next_to_the_questions_words_is_anchored():
    score = anchor_score("On what date did Putin meet China's Defense Minister in Moscow?",
                         "The meeting took place on April 16, 2023.", [MEETING, VISIT])
    assert score is not None and score >= 0.5


def test_a_date_of_another_event_is_not():
    question = "On what date did Putin's visit to China, during which Xi Jinping urged cherishing ties, take place?"
    answer = "Putin's visit to China took place on April 16, 2023."
    assert anchor_score(question, answer, [MEETING, VISIT]) < 0.3
    assert not anchored(question, answer, [MEETING, VISIT])


def test_the_articles_own_date_dates_the_whole_article():
    question = "What date is printed at the top of the article announcing the Interaction-2022 exercise?"
    assert anchored(question, "It is dated November 10, 2023.", [DATED])


def test_the_check_applies_only_to_dates_and_weekdays_the_answer_adds():
    assert anchor_score("Who is Xu Qiliang?", "He spoke on April 16, 2023.", [MEETING]) is None
    assert anchor_score("When did they meet in April 2023?", "They met in April 2023.", [MEETING]) is None
    assert typed_values("On which day of the week did they agree?", "On Tuesday and on Friday.") == ["Tuesday", "Friday"]


def test_date_words():
    assert date_words("2023-04-16") == "Sunday April 16, 2023 (2023-04-16)"
    assert date_words("") == ""


def test_another_articles_own_date_does_not_answer_for_what_only_one_article_names():
    question = "When was Xu Qiliang appointed vice chairman of China's Central Military Commission?"
    answer = "Xu Qiliang was appointed vice chairman on November 10, 2023."
    chairman = Document("001", "China's military chairman spoke. The commission met.", date="2023-11-10")
    assert anchored(question, answer, [chairman])  # the question's words alone: the article's date passes
    assert not anchored(question, answer, [chairman], specific={"xu", "qiliang"})
    assert anchored("What date is printed on the Interaction-2022 report?", "It is dated November 10, 2023.",
                    [DATED], specific={"interaction"})
