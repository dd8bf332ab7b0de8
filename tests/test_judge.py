"""The verdict, a pure function of the question, the reply, the evidence and the model's refusal (rag/answer/judge/verdict.py)."""
from __future__ import annotations

import pytest

from rag.answer.judge import calibrated_threshold, check_threshold, decide, reaches, refused, unverified
from rag.answer.judge.verify import SentenceCheck
from rag.retrieve.question import analyse

EVIDENCE = ["Article published by TASS:\nXu Qiliang is vice chairman of the commission. They met on Tuesday in 2023.",
            "Article:\nThe talks were called “constructive and fruitful”."]


def verdict(question: str, reply: str, cited=(1,)):
    return decide(analyse(question), reply, list(cited), EVIDENCE)


def test_a_reply_the_checks_find_nothing_against_stands():
    v = verdict("Who is Xu Qiliang?", "Xu Qiliang is vice chairman of the commission [1].")
    assert v.answered and v.reason == ""


@pytest.mark.parametrize("question, reply, reason", [
    ("Who is Xu Qiliang?", "NOT FOUND", "the model said the passages do not hold the answer"),
    ("Who is Xu Qiliang?", "The passages do not mention him.", "the model said the passages do not hold the answer"),
    ("When did they meet?", "They met in 1999 [1].", "numbers not in the passages: 1999"),
    ("How were the talks described?", 'As "cordial and useful" [2].', "quoted words not in the passages: cordial and useful"),
    ("When did they meet?", "They met in Moscow [1].", "the question asks for a date and the answer gives none"),
    ("How many ships sailed?", "Ships sailed [1].", "the question asks for a number and the answer gives none"),
    ("On which day of the week did they meet?", "In 2023 [1].", "the question asks for a weekday and the answer gives none"),
    ("Who chaired the commission?", "The vice chairman did [1].", "the question asks for a name and the answer gives none"),
    ("Who is Xu Qiliang?", "[1].", "the reply holds nothing but citation markers"),
    ("Who is Xu Qiliang?", "[1a] [2]", "the reply holds nothing but citation markers"),
    ("Who is China's defence minister?", "China's defence minister is Li Zhongliang [1].",
     "names not in the passages: Li, Zhongliang"),
    ("Who is Xu Qiliang?", "Xu Qiliang is mentioned in the article [1].", "the reply adds nothing to the question"),
    ("What did Xu Qiliang say?", "According to the sources, Xu Qiliang said so [1].",
     "the reply adds nothing to the question"),
])
def test_each_check_names_itself(question, reply, reason):
    v = verdict(question, reply)
    assert not v.answered and v.reason == reason


@pytest.mark.parametrize("question, reply", [
    ("When did they meet?", "They met on Tuesday in 2023 [1]."),
    ("How were the talks described?", "As “constructive and fruitful” [2]."),
    ("Who is the vice chairman?", "Xu Qiliang [1]."),
    ("Which agency published it?", "TASS [1]."),  # the source line is evidence too
    ("Which class is it?", "[P]"),  # a bracketed letter is text, not a garbled citation
    ("Which agency quoted him?", "TASS quoted Xu Qiliang [1]."),
    ("Was Xu Qiliang vice chairman or chairman?", "Vice chairman [1]."),  # a choice the question offers
    ("Who met on Tuesday in 2023 after the 15 rounds of talks?", "Xu Qiliang met after the 15 rounds [1]."),  # a name on the source line is evidence too
    ("Who is the vice chairman of the Russian commission?", "Xu Qiliang [1]."),
])
def test_answers_holding_what_was_asked_stand(question, reply):
    assert verdict(question, reply).answered


DATED = ["Article published by AP on 2020-05-15:\nThe Capitol was closed on Thursday as demonstrators gathered.",
         "Article:\nBlue Origin is suing NASA over the lunar lander contract."]


@pytest.mark.parametrize("question, reply", [
    ("Which Capitol was closed?", "The Capitol was closed on May 15, 2020 [1]."),  # the source line's date in words
    ("Which Capitol was closed?", "The Capitol was closed on 15 May [1]."),
])
def test_a_date_the_source_line_gives_may_be_written_out(question, reply):
    assert decide(analyse(question), reply, [1], DATED).answered


@pytest.mark.parametrize("question, reply, reason", [
    ("Which Capitol was closed?", "It closed on May 16, 2020 [1].", "numbers not in the passages: 16"),
    ("Which Capitol was closed?", "It closed on 15 June 2020 [1].", "names not in the passages: June"),
    ("Which company is suing NASA over its “Human Landing System” plans?",  # quoting the question is no exception
     'Blue Origin, over its "Human Landing System" [2].', "quoted words not in the passages: Human Landing System"),
])
def test_a_date_not_shown_or_a_quote_not_in_the_evidence_is_caught(question, reply, reason):
    v = decide(analyse(question), reply, [1], DATED)
    assert not v.answered and v.reason == reason


def test_the_refusal_decides_before_any_answer_text():
    early = refused(0.9, 0.8)
    assert early is not None and not early.answered and "90%" in early.reason
    assert refused(0.5, 0.8) is None and refused(0.99, None) is None and refused(None, 0.8) is None
    assert reaches(0.8, 0.8) and not reaches(None, 0.5) and not reaches(0.9, None)


def test_thresholds_are_calibrated_per_model_and_checked():
    assert calibrated_threshold("qwen2.5-coder-1.5b-instruct-q4_k_m") == 0.8
    assert 0 < calibrated_threshold("some-other.gguf") <= 1
    assert check_threshold(None) is None and check_threshold(0.4) == 0.4
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="refusal threshold must be in"):
            check_threshold(bad)


def test_a_reply_none_of_whose_sentences_is_supported_is_unverified():
    def check(supported: bool) -> SentenceCheck:
        return SentenceCheck("x [1].", (1,), 1.0 if supported else 0.0, supported)

    v = unverified([check(False), check(False)])
    assert v is not None and not v.answered and v.reason == "no sentence of the reply is stated by the passages it cites"
    assert unverified([check(False), check(True)]) is None
    assert unverified([]) is None


def test_a_later_sentence_stating_what_the_evidence_does_not_is_trimmed_and_only_then():
    from rag.answer.judge import trim

    q = analyse("Who is Xu Qiliang?")
    renumber = {1: 1, 2: 2}
    good = "Xu Qiliang is vice chairman of the commission [1]."
    cut = trim(q, f"{good} He joined in 1999 [1]. They met on Tuesday [1].", renumber, EVIDENCE)
    assert cut.reply == f"{good} They met on Tuesday [1]."
    assert [(x.text, x.reason) for x in cut.left_out] == [("He joined in 1999 [1].", "numbers not in the passages: 1999")]
    for whole in (good,                                               # one sentence: the verdict decides
                  f"He joined in 1999 [1]. {good}",                   # the first sentence invents: withdrawn whole
                  f"{good} They met on Tuesday in 2023 [1]."):        # nothing invented
        assert trim(q, whole, renumber, EVIDENCE).reply == whole and not trim(q, whole, renumber, EVIDENCE).left_out
    quoted = 'Xu Qiliang is vice chairman. The talks were "constructive and fruitful" [2].'
    assert trim(q, quoted, renumber, EVIDENCE).left_out == ()
