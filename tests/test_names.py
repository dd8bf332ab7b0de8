"""Name anchoring: an answer's names must stand near what the question names specifically (rag/names.py)."""
from __future__ import annotations

from rag.names import (answer_names, asks_for_a_name, asks_for_a_place, gives_a_name, gives_a_place, name_anchor,
                       names_anchored, specific_names, title_conflicts)
from rag.types import Document

EXERCISE = Document("001", "Russia announced a joint exercise with China called Interaction-2022. It will be held "
                           "next year. Analysts expect more. The two armies train often.", date="2023-11-10")
NAVAL = Document("004", "The two sides agreed to hold joint naval exercises in the Pacific Ocean and the "
                        "Mediterranean Sea. Russian Defense Minister Sergei Shoigu spoke to TASS.",
                 outlet="The Moscow Times")
IRAN = Document("002", "China and Russia have also partnered with Iran in military exercises. Trade grew.")
REPORT = Document("000", "Putin Looks to China for Closer Military Collaboration\n\nPutin spoke on Wednesday. "
                         "Many things happened. Others followed. Still more came. A bipartisan report issued by the US Congress in October warned "
                         "of war.", title="Putin Looks to China for Closer Military Collaboration",
                  outlet="VitalNews.org")
DOCS = [EXERCISE, NAVAL, IRAN, REPORT]


def test_names_are_quoted_phrases_and_capitalised_runs_the_question_lacks():
    assert answer_names("Where will Interaction-2022 be held?",
                        "The Interaction-2022 exercise will be held in the Pacific Ocean and the Mediterranean "
                        "Sea [2].") == ["Pacific Ocean", "Mediterranean Sea"]
    assert answer_names("x?", 'It was titled "Putin Looks to China" by TASS.') == ["Putin Looks to China", "TASS"]
    assert answer_names("Who spoke to TASS?", "On Wednesday, TASS reported it.") == []  # weekdays: anchor.py


def test_specific_names_are_those_only_one_article_uses():
    assert specific_names("Where will the Interaction-2022 exercise with China be held?", DOCS) == {"interaction"}
    assert specific_names("Who is China's defence minister?", DOCS) == set()
    assert specific_names("What did Interaction-2022 involve?", [EXERCISE]) == set()


def test_a_name_from_another_story_is_not_anchored():
    question = "Where will the Interaction-2022 joint exercise be held?"
    answer = "Interaction-2022 will be held in the Pacific Ocean and the Mediterranean Sea [2]."
    assert name_anchor(question, answer, DOCS) == 0.0 and not names_anchored(question, answer, DOCS)
    iran = "What is the name of the military exercise China and Russia held together with Iran?"
    assert not names_anchored(iran, 'The exercise with Iran is "Interaction-2022" [1].', DOCS)


def test_a_name_stated_next_to_the_specific_name_is_anchored():
    question = "Which news agency did Sergei Shoigu speak to?"
    assert name_anchor(question, "Shoigu spoke to TASS [1].", DOCS) == 1.0


def test_a_headline_is_not_the_title_of_a_report_inside_the_article():
    question = "What was the title of the bipartisan report the US Congress issued in October?"
    answer = 'The report was titled "Putin Looks to China for Closer Military Collaboration" [1].'
    assert not names_anchored(question, answer, DOCS)


def test_the_outlet_signs_the_whole_article():
    question = "Which outlet reported the bipartisan report of the US Congress?"
    assert names_anchored(question, "VitalNews.org reported it [1].", DOCS)


def test_the_check_does_not_apply_without_a_specific_name_or_a_given_name():
    assert name_anchor("Who is China's defence minister?", "Sergei Shoigu [1].", DOCS) is None
    assert name_anchor("Where will Interaction-2022 be held?", "It will be held next year [1].", DOCS) is None


def test_one_anchored_name_of_several_is_enough_for_two_part_questions():
    question = "Which agency did Shoigu speak to, and where will Interaction-2022 be held?"
    answer = "Shoigu spoke to TASS; the exercise will be held in Kazan."  # Kazan: in no article
    assert name_anchor(question, answer, DOCS) == 0.5 and names_anchored(question, answer, DOCS)


def test_questions_asking_for_a_name_need_a_new_name_in_the_answer():
    q = "What is the name of the Chinese Defense Minister whom Putin hosted in Moscow?"
    assert asks_for_a_name(q) and asks_for_a_name("Who wrote it?") and not asks_for_a_name("Where is it?")
    assert not gives_a_name(q, 'The Chinese Defense Minister is the one the passage calls "China\'s Defense Minister".')
    assert gives_a_name(q, "The minister is Li Shangfu [1].")


def test_where_questions_need_a_place_in_the_answer():
    q = "Where will the Interaction-2022 joint exercise be held?"
    assert asks_for_a_place(q) and asks_for_a_place("In which sea did they sail?")
    assert not asks_for_a_place("Where does General Zhang Youxia rank in China's military hierarchy?")
    assert not asks_for_a_place("Who is Xu Qiliang?")
    assert not gives_a_place(q, "The Interaction-2022 joint exercise will be held next year [1].")
    assert gives_a_place(q, "It will be held in the Sea of Japan [1].")
    assert gives_a_place(q, "It will be held near the border [1].")


def test_a_person_the_articles_title_for_another_country_is_not_the_one_asked_for():
    docs = [Document("a", "Citing difficulties, Russian Defense Minister Sergei Shoigu said cooperation grows."),
            Document("b", "During his visit, Chinese President Xi Jinping stressed the ties.")]
    assert title_conflicts("Who is China's defence minister?", "China's Defence Minister is Sergei Shoigu [1].",
                           docs) == ["Sergei Shoigu"]
    assert title_conflicts("Who is Russia's Defence Minister?", "It is Sergei Shoigu [1].", docs) == []
    # the title's head ("president") is not the question's role word: no conflict
    assert title_conflicts("Which Chinese leader stressed the ties during Putin's visit?", "Xi Jinping [2].",
                           docs) == []
    assert title_conflicts("Who is China's president?", "Xi Jinping [2].", docs) == []
