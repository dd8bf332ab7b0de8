import pytest

from rag.ingest.metadata import extract_metadata
from rag.ingest.clean import clean_text, split_sentences


def test_whitespace_is_normalised_and_mapped_back():
    original = "Alpha   beta\tgamma.\n\n\n  Delta  epsilon zeta."
    c = clean_text(original)
    assert c.text == "Alpha beta gamma.\n\nDelta epsilon zeta."
    a, b = c.original_span(c.text.index("Delta"), len(c.text))
    assert original[a:b] == "Delta  epsilon zeta."


def test_every_cleaned_character_comes_from_the_original():
    original = "  One sentence here.Two is glued on.  Three\u00a0has nbsp.\n"
    c = clean_text(original)
    for i, ch in enumerate(c.text):
        if ch.strip():
            assert original[c.origin[i]] == ch


def test_glued_sentences_are_split_and_spaced():
    c = clean_text("He spoke at length.Then she replied calmly.")
    assert c.text == "He spoke at length. Then she replied calmly."
    assert len(c.sentences) == 2


def test_abbreviations_do_not_split():
    t = "The U.S. and Gen. Zhang met in Moscow. Talks went well."
    assert [t[a:b] for a, b in split_sentences(t)] == ["The U.S. and Gen. Zhang met in Moscow.", "Talks went well."]


def test_repeated_sentences_and_paragraphs_are_dropped_once():
    para = "The two countries agreed to hold naval drills next year. Officials praised the talks warmly."
    c = clean_text(f"{para}\n{para}\nA new closing sentence appears here.")
    assert c.text.count("naval drills") == 1
    assert c.text.endswith("A new closing sentence appears here.")


def test_short_repeats_are_kept():
    c = clean_text("Thank you.\nThe appeal continued for a while.\nThank you.")
    assert c.text.count("Thank you.") == 2


def test_article_001_duplicated_body_is_removed(seeds_dir):
    original = (seeds_dir / "001_80ea79b3f3bb210f.txt").read_text(encoding="utf-8")
    meta = extract_metadata(original)
    c = clean_text(original, meta.exclude)
    sentence = "It is important to expand cooperation with China"
    assert original.count(sentence) == 2
    assert c.text.count(sentence) == 1
    assert not c.text.startswith("date")  # the date stamp and breadcrumb are metadata
    assert "Home »" not in c.text


def test_original_span_rejects_bad_ranges():
    c = clean_text("Some text here.")
    with pytest.raises(ValueError, match="inside"):
        c.original_span(5, 100)
