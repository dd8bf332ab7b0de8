from rag.ingest.metadata import extract_metadata


def meta_of(seeds_dir, stem):
    return extract_metadata((seeds_dir / f"{stem}.txt").read_text(encoding="utf-8"))


def test_seed_metadata_is_what_the_text_states(seeds_dir):
    m = meta_of(seeds_dir, "000_d9ac26facaa1f05c")
    assert (m.title, m.outlet, m.date) == ("Putin Looks to China for Closer Military Collaboration", "VitalNews.org", "")
    m = meta_of(seeds_dir, "001_80ea79b3f3bb210f")
    assert (m.title, m.outlet, m.date) == ("", "", "2023-11-10")
    m = meta_of(seeds_dir, "002_668af276d21bc4e5")
    assert (m.title, m.outlet, m.date) == ("", "", "")
    m = meta_of(seeds_dir, "003_7dbf0080c15e92d2")
    assert m.title.startswith("Putin and China’s Defense Minister Hold Key Meeting in Moscow")
    assert m.date == ""  # the meeting date in the body is not a publication date
    m = meta_of(seeds_dir, "004_4f88f7a8625b6b03")
    assert (m.title, m.outlet) == ("", "The Moscow Times")


def test_markdown_heading_is_the_title():
    assert extract_metadata("# A Heading\n\nBody text.", markdown=True).title == "A Heading"


def test_a_lone_line_is_not_a_title():
    assert extract_metadata("Just one line of text").title == ""


def test_copyright_line_gives_outlet():
    assert extract_metadata("Body text here.\n\nCopyright 2023, Example News").outlet == "Example News"
