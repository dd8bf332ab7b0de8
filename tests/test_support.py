"""Lexical grounding: tokens, support, what an answer adds, numbers, best sentences."""
from __future__ import annotations

import pytest

from rag.answer.judge.support import adds_nothing, misquoted, novel_tokens, support_score, unsupported_numbers
from rag.retrieve.question import analyse
from rag.words import content_tokens, tokens

SOURCE = "Xu Qiliang, vice chairman of the commission, met Shoigu in Moscow in 2023."


def test_tokens_are_lowercased_with_possessives_folded():
    assert tokens("China’s 2 U.S. drills") == ["china", "2", "u", "s", "drills"]
    assert tokens("Russia's navy_base, 3.5%") == ["russia", "navy", "base", "3", "5"]
    assert tokens("") == []


def test_content_tokens_drop_stopwords_and_single_letters():
    assert content_tokens("The articles say that a U.S. envoy met 5 officials") == {"envoy", "met", "5", "officials"}


def test_support_score():
    assert support_score("Xu Qiliang is vice chairman.", [SOURCE]) == 1.0
    assert support_score("Xu Qiliang met leaders", ["Xu Qiliang meets leader"]) == 0.75  # "met" is not "meet"
    assert support_score("Penguins dance", [SOURCE]) == 0.0
    assert support_score("the of and", [SOURCE]) == 1.0  # nothing to check
    assert support_score("Xu met Shoigu", ["Xu spoke.", "Shoigu met him."]) == 1.0  # sources are pooled


def test_support_matches_stems_but_numbers_exactly():
    assert support_score("Chairmen meeting", ["chairman meets"]) == 0.5  # "chairmen" is not a suffix form
    assert support_score("talks continued", ["the talk continues"]) == 1.0
    assert support_score("in 2024", [SOURCE]) == 0.0
    assert support_score("in 2023", [SOURCE]) == 1.0


def test_novel_tokens_are_what_the_question_did_not_ask():
    assert novel_tokens("Xu Qiliang is vice chairman.", "Who is Xu Qiliang?") == {"vice", "chairman"}
    assert novel_tokens("Talks happened", "Did the talk happen?") == set()  # stems count as asked


def test_an_answer_that_only_echoes_the_question_adds_nothing():
    assert adds_nothing("Xu Qiliang is Xu Qiliang.", "Who is Xu Qiliang?")
    assert not adds_nothing("Xu Qiliang is vice chairman.", "Who is Xu Qiliang?")


def test_a_name_built_on_a_question_word_is_something_the_answer_adds():
    assert not adds_nothing("The company that built the spacecraft is SpaceX.", "Which company built the spacecraft?")
    assert adds_nothing("Chinese officials backed it.", "Did China's officials back it?")  # a form of "China"


def test_what_an_answer_adds_is_what_its_sources_must_state():
    q = analyse("Who is Xu Qiliang?")
    assert novel_tokens("Xu Qiliang is vice chairman.", q) == novel_tokens("Xu Qiliang is vice chairman.", q.text)
    assert support_score(" ".join(novel_tokens("Xu Qiliang is vice chairman.", q)), [SOURCE]) == 1.0
    assert support_score(" ".join(novel_tokens("Xu Qiliang is a famous poet.", q)), [SOURCE]) == 0.0
    assert support_score(" ".join(novel_tokens("Xu Qiliang is a vice chairman and poet.", q)), [SOURCE]) == \
        pytest.approx(2 / 3)


def test_unsupported_numbers():
    assert unsupported_numbers("about 144 million in 2023", ["in 2023 the talks"]) == ["144"]
    assert unsupported_numbers("in 2023", [SOURCE]) == []
    assert unsupported_numbers("no numbers at all", []) == []
    assert unsupported_numbers("3.5 percent", ["3 of 5"]) == []  # tokens, not numbers with decimals


def test_another_form_of_a_question_word_is_not_new():
    question = "On which day of the week did the two cities agree to hold a joint festival?"
    answer = "The two cities agreed to hold a joint festival on Tuesday."
    assert novel_tokens(answer, question) == {"tuesday"}
    assert support_score("tuesday", ["Their agreement on Tuesday to hold a joint festival"]) == 1.0


def test_a_quotation_must_be_word_for_word_in_a_source():
    sources = ["a bipartisan report issued by the US Congress warning of a US war against both Russia and China."]
    made_up = 'The report was titled "The US War Against Russia and China Simultaneously" [1].'
    assert misquoted(made_up, sources) == ["The US War Against Russia and China Simultaneously"]
    assert misquoted('It warned of "a US war against both Russia and China" [1].', sources) == []
    assert misquoted('It was "bipartisan" [1].', ["nothing alike"]) == []  # one word: the sentence check's business
    assert misquoted("No quotes here.", sources) == []
