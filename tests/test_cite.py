"""Citation markers: parsing, resolving, streaming without ever showing an invalid one."""
from __future__ import annotations

import pytest

from rag.answer.cite import StreamFilter, is_abstention, marker_numbers, resolve_markers, strip_markers


def stream(filter_: StreamFilter, pieces) -> list[str]:
    return [filter_.feed(p) for p in pieces] + [filter_.flush()]


# ---- resolve_markers -------------------------------------------------------------
def test_valid_markers_are_kept():
    assert resolve_markers("Xu is vice chairman [1].", 2) == ("Xu is vice chairman [1].", [1])


def test_out_of_range_markers_are_dropped_from_the_text():
    assert resolve_markers("Xu is vice chairman [9].", 3) == ("Xu is vice chairman.", [])
    assert resolve_markers("A fact [0] and [4], then [2].", 3) == ("A fact and, then [2].", [2])
    assert resolve_markers("Mixed [1, 7].", 2) == ("Mixed [1].", [1])


@pytest.mark.parametrize("raw, text, cited", [
    ("A [1, 2].", "A [1][2].", [1, 2]),
    ("A [Passage 2].", "A [2].", [2]),
    ("A [passages 1 and 3].", "A [1][3].", [1, 3]),
    ("A [1-3].", "A [1][2][3].", [1, 2, 3]),
    ("A [1][2].", "A [1][2].", [1, 2]),
    ("A [ 2 ; 1 ].", "A [2][1].", [2, 1]),
])
def test_marker_forms(raw, text, cited):
    assert resolve_markers(raw, 3) == (text, cited)


def test_cited_numbers_are_in_order_of_first_use():
    text, cited = resolve_markers("First [3]. Then [1][3]. Last [2, 1].", 3)
    assert cited == [3, 1, 2]
    assert text == "First [3]. Then [1][3]. Last [2][1]."


def test_brackets_that_are_not_markers_are_left_alone():
    assert resolve_markers("He said [sic] it [a].", 2) == ("He said [sic] it [a].", [])


def test_marker_numbers_expand_ranges_once():
    assert marker_numbers("1-3, 5") == [1, 2, 3, 5]
    assert marker_numbers("2, 2, 1") == [2, 1]
    assert marker_numbers("3-1") == [3, 1]  # a backwards "range" is two numbers


# ---- StreamFilter ----------------------------------------------------------------
def test_a_marker_split_over_several_tokens_comes_out_whole():
    out = stream(StreamFilter(3), ["Xu", " [", "Pass", "age ", "2", "]", " said."])
    assert "".join(out) == "Xu [2] said."
    assert "[2]" in out  # released in one piece, once complete
    assert not any(o in ("[", "[Pass", "2") for o in out)


def test_an_invalid_marker_is_never_emitted():
    out = stream(StreamFilter(2), ["Xu [", "1", "][", "9", "] said [1", "2] more [3]."])
    assert "".join(out) == "Xu [1] said  more ."
    assert not any(ch in o for o in out for ch in ("9", "12", "3"))


def test_brackets_that_are_not_markers_pass_through():
    out = stream(StreamFilter(2), ["He said [", "sic", "] and [a] ", "[1]."])
    assert "".join(out) == "He said [sic] and [a] [1]."


def test_an_unclosed_bracket_is_released_after_max_hold():
    f = StreamFilter(2)
    long = "[" + "a" * StreamFilter.MAX_HOLD
    assert f.feed(long) == long
    assert f.feed(" rest") == " rest" and f.flush() == ""


def test_flush_returns_what_is_held():
    f = StreamFilter(2)
    assert f.feed("The end [") == "The end "
    assert f.feed("1") == ""
    assert f.flush() == "[1"
    assert f.flush() == ""


def test_streamed_text_equals_resolved_text_for_simple_answers():
    raw = "Xu is vice chairman [1][4]. Shoigu met him [2, 3]."
    pieces = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    streamed = "".join(stream(StreamFilter(2), pieces))
    assert streamed.replace(" .", ".") == resolve_markers(raw, 2)[0]


def test_an_invalid_marker_after_a_stray_bracket_is_not_emitted():
    out = "".join(stream(StreamFilter(2), ["see [note ", "[9] here"]))
    assert "[9]" not in out


# ---- abstention and stripping -------------------------------------------------------
@pytest.mark.parametrize("text, cited, expected", [
    ("The articles do not say.", [], True),
    ("The articles do not say who won [1].", [1], True),
    ("", [], True),
    ("   ", [], True),
    ("The passages do not mention his age.", [], True),
    ("The passages do not mention his age [1].", [1], True),  # a reply that opens by saying so
    ("Xu met Shoigu; the passages do not mention his age [1].", [1], False),  # an answer with a caveat
    ("The sentences do not say.", [], True),
    ("It is not mentioned in the articles.", [], True),
    ("There is no information about that.", [], True),
    ("This cannot be determined from the text.", [], True),
    ("NOT FOUND", [], True),
    ("NOT FOUND.", [], True),
    ("Xu Qiliang is vice chairman [1].", [1], False),
    ("Xu Qiliang is vice chairman.", [], False),
])
def test_is_abstention(text, cited, expected):
    assert is_abstention(text, cited) is expected


def test_strip_markers():
    assert strip_markers("Xu is vice chairman [1][2].") == "Xu is vice chairman."
    assert strip_markers("A [1], b [Passage 2]. c [1-2]") == "A, b. c"
    assert strip_markers("No markers here.") == "No markers here."
