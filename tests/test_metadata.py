"""Metadata an article's own text states, by conventions of news text (made-up texts, no seed pinned)."""
import pytest

from rag.ingest.clean import clean_text
from rag.ingest.metadata import extract_metadata, parse_date

BODY = "Officials met in the capital on Wednesday. They agreed to meet again next year."


def meta(text, markdown=False):
    m = extract_metadata(text, markdown=markdown)
    return m.title, m.date, m.outlet


# ---- title ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, title", [
    (f"Harbour Talks End Without Deal\n\n{BODY}", "Harbour Talks End Without Deal"),
    (f"Will the harbour talks ever end?\n\n{BODY}", "Will the harbour talks ever end?"),  # set apart: a headline
    (f"Harbour talks end\n{BODY}", "Harbour talks end"),  # short, run into the body
    (f"{BODY}\n\nMore text.", ""),  # the first line is a sentence
    (f"Harbour talks end, officials say\n{BODY}", "Harbour talks end, officials say"),
    (f"Harbour talks ended without a deal after both sides refused to move on pay\n{BODY}", ""),  # long: prose
    ("Will the talks end?\n" + BODY, ""),  # a question run into the body is prose
    ("Officials met on Wednesday. They agreed\n\n" + BODY, ""),  # two sentences are not a headline
    ("The minister said “we are done.”\n\n" + BODY, ""),  # the stop inside the closing quote still ends it
    ("Just one line of text", ""),  # nothing follows: not a title
    (("Very long first line " * 12) + "\n\n" + BODY, ""),
])
def test_the_title_is_a_short_first_line_that_is_not_a_sentence(text, title):
    assert extract_metadata(text).title == title


def test_markdown_heading_and_front_matter_give_the_title():
    assert extract_metadata("# A Heading\n\nBody text.", markdown=True).title == "A Heading"
    md = "---\ntitle: Harbour Talks\ndate: 2023-11-08\nsource: Example Wire\nauthor: Ann Writer\n---\n" + BODY
    m = extract_metadata(md, markdown=True)
    assert (m.title, m.date, m.outlet, m.author) == ("Harbour Talks", "2023-11-08", "Example Wire", "Ann Writer")
    assert clean_text(md, m.exclude).text == BODY  # the block is metadata, not body


# ---- date -----------------------------------------------------------------------------------
@pytest.mark.parametrize("header, date", [
    ("date 2023-11-10", "2023-11-10"),
    ("Published: November 8, 2023", "2023-11-08"),
    ("Posted on Wed, Nov. 8, 2023 at 10:15 GMT", "2023-11-08"),
    ("First published on 8 November 2023", "2023-11-08"),
    ("Dated: 2023-11-08T10:00:00Z", "2023-11-08"),
    ("Wednesday, 8 November 2023", "2023-11-08"),  # a line that is only a full date
    ("Published: November 8", ""),  # no year: not taken
    ("Published: 2023-02-30", ""),  # no such day
])
def test_a_labelled_or_lone_date_in_the_header_is_the_date(header, date):
    assert extract_metadata(f"Harbour Talks End\n{header}\n\n{BODY}").date == date


def test_a_date_in_the_story_is_not_the_publication_date():
    assert extract_metadata(f"Harbour Talks\n\nThe talks took place on April 16, 2023. {BODY}").date == ""
    late = "\n".join(["Harbour Talks", BODY, BODY, BODY, BODY, BODY, "Published: November 8, 2023"])
    assert extract_metadata(late).date == ""  # past the header


def test_a_date_stamp_and_breadcrumb_opening_a_flattened_page_are_left_out_of_the_body():
    text = " date 2023-11-10 Home » World » Europe » Officials met on Wednesday. They talked."
    m = extract_metadata(text)
    assert m.date == "2023-11-10"
    assert clean_text(text, m.exclude).text == "Officials met on Wednesday. They talked."


def test_a_breadcrumb_line_is_navigation_not_the_title():
    text = f"Home > World > Europe\nHarbour Talks End\n\n{BODY}"
    m = extract_metadata(text)
    assert m.title == "Harbour Talks End" and "Europe" not in clean_text(text, m.exclude).text


def test_a_labelled_date_inside_a_later_paragraph_is_left_in_the_prose():
    text = f"Harbour Talks\n\nDated 1 May 2020, the letter was signed by both sides. {BODY}"
    m = extract_metadata(text)
    assert m.date == "" and m.exclude == ()


# ---- outlet -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lead, outlet", [
    ("(Reuters) - Officials met on Wednesday.", "Reuters"),
    ("MOSCOW, Nov 8 (Reuters) - Officials met on Wednesday.", "Reuters"),
    ("WASHINGTON (AP) — Officials met on Wednesday.", "AP"),
    ("Moscow (AFP) – Officials met on Wednesday.", "AFP"),
    ("Washington (CNN)Officials met on Wednesday.", "CNN"),
    ("(Example News.org) – Officials met on Wednesday.", "Example News.org"),
    ("Officials (who declined to be named) met on Wednesday.", ""),
    ("Officials met on Wednesday (local time) - and talked.", ""),
])
def test_an_agency_credit_opening_the_story_is_the_outlet(lead, outlet):
    assert extract_metadata(f"Harbour Talks End\n\n{lead} {BODY}").outlet == outlet
    assert extract_metadata(f"{lead} {BODY}").outlet == outlet  # with no title line too


def test_a_credit_later_in_the_story_is_not_the_outlet():
    text = f"Harbour Talks End\n\n{BODY}\n\n{BODY}\n\n(Reuters) - A quoted wire report said more."
    assert extract_metadata(text).outlet == ""


@pytest.mark.parametrize("footer, outlet", [
    ("Copyright 2023, Example News", "Example News"),
    ("© 2023 Example News. All rights reserved.", "Example News"),
    ("Copyright © 2020-2023 The Example Gazette", "The Example Gazette"),
    ("(c) Example Wire 2023", "Example Wire"),
    ("Copyright law was discussed at length by the panel.", ""),
])
def test_a_closing_copyright_line_names_the_outlet(footer, outlet):
    assert extract_metadata(f"{BODY}\n\n{footer}").outlet == outlet


def test_a_credit_opening_the_story_wins_over_the_copyright_line():
    assert extract_metadata(f"(AP) - {BODY}\n\nCopyright 2023 Example News").outlet == "AP"


def test_lines_that_only_name_a_publisher_in_prose_are_not_its_credit():
    # a reader appeal, a "Source:" line under a chart: not conventions that state who published the text
    text = (f"Harbour Talks End\n\n{BODY}\n\nA Message from Example Times:\nPlease support us.\n\n"
            "Source: World Bank")
    assert extract_metadata(text).outlet == ""


# ---- byline -----------------------------------------------------------------------------------
@pytest.mark.parametrize("line, author", [
    ("By Jane Reporter", "Jane Reporter"),
    ("By JANE REPORTER", "JANE REPORTER"),
    ("By Jane Reporter and John Smith, Example Wire", "Jane Reporter and John Smith"),
    ("By Jane Reporter | Published: November 8, 2023", "Jane Reporter"),
    ("By supporting Example Times, you defend journalism.", ""),
    ("By Wednesday, officials had agreed.", ""),
])
def test_a_byline_in_the_header_is_the_author_and_never_the_title(line, author):
    m = extract_metadata(f"Harbour Talks End\n{line}\n\n{BODY}")
    assert m.author == author and m.title == "Harbour Talks End"
    assert extract_metadata(f"By Jane Reporter\n\n{BODY}").title == ""


# ---- nothing stated ----------------------------------------------------------------------------
def test_plain_paragraphs_state_nothing():
    text = "\n".join([BODY] * 6)
    m = extract_metadata(text)
    assert (m.title, m.date, m.outlet, m.author, m.exclude) == ("", "", "", "", ())


def test_parse_date_needs_a_full_date():
    assert parse_date("8 Nov 2023") == "2023-11-08" and parse_date("Nov 2023") == "" and parse_date("") == ""
