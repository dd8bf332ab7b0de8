"""The web page around a fake engine: rendering, handlers, uploads, wiring. No real model, no browser."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conftest import SEEDS, make_engine
from fakes import FakeEmbedder, ScriptedLLM
from rag.answer.engine import NOT_IN_ARTICLES, Engine
from rag.errors import ModelError
from rag.retrieve.evidence import Evidence, EvidenceSettings
from rag.store import open_store
from rag.ingest.pipeline import ingest
from rag.types import Answer, Chunk, Citation, Document, Passage, Span, Timings
from ui import app as ui_app
from ui import articles, chat
from ui.engines import Engines, as_engines, generation_lock
from rag.answer.judge import SentenceCheck
from ui.highlight import Mark, card_marks
from ui.render import (
    Turn, answer_html, conversation_html, highlight, sentences_html, source_card, sources_for_answer, sources_pending,
    timings_text,
)

XU_ANSWER = "Xu Qiliang is vice chairman of China's Central Military Commission [1]."
XU_DOC = "004_4f88f7a8625b6b03"


def passage(text="First sentence here. Xu Qiliang is vice chairman. Last one.", title="", doc_id="d1", score=0.5,
            rank=1, sentences=None):
    doc = Document(doc_id, "HEADER\n" + text + "\nFOOTER", title=title, outlet="Wire", date="2023-11-10")
    start = len("HEADER\n")
    chunk = Chunk(f"{doc_id}:0", doc_id, text, Span(start, start + len(text)), sentences or ())
    return Passage(chunk, doc, score, rank)


def answer(text, citations=(), passages=(), abstained=False, sentences=(), question="q"):
    timings = Timings(0.01, 0.5, 1.0, 1.5, 10, 5)
    return Answer(question, text, tuple(citations), tuple(passages), abstained, timings, "m", sentences=tuple(sentences))


# offsets in passage()'s article: "HEADER\nFirst sentence here. Xu Qiliang is vice chairman. Last one.\nFOOTER"
FIRST, XU, LAST = Span(7, 27), Span(28, 56), Span(57, 66)


@pytest.fixture
def fake_embedder():
    return FakeEmbedder(max_tokens=200)


@pytest.fixture
def fake_index(tmp_path, fake_embedder):
    """The seeds ingested with the fake embedder (room for long titles in each chunk)."""
    path = tmp_path / "idx"
    assert len(ingest([SEEDS], path, fake_embedder).added) == 5
    return path


@pytest.fixture
def engines(fake_index, fake_embedder):
    return as_engines(make_engine(fake_index, fake_embedder, [XU_ANSWER]))


@pytest.mark.parametrize("module", ["ui.render", "ui.highlight", "ui.chat", "ui.style", "rag.answer.followup"])
def test_docstring_examples(module):
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(module)).failed == 0


# ---- pure rendering -----------------------------------------------------------------------------------------
def test_highlight_escapes_and_marks():
    assert highlight("<b>x</b> & y", [(0, 8)]) == "<mark>&lt;b&gt;x&lt;/b&gt;</mark> &amp; y"


def test_highlight_merges_overlaps_clips_and_ignores_empty_spans():
    assert highlight("abcdef", [(1, 3), (2, 4), (5, 5), (9, 12)]) == "a<mark>bcd</mark>ef"
    assert highlight("cdef", [Span(0, 4)], offset=2) == "<mark>cd</mark>ef"


def test_highlight_marks_region_and_spans_with_proper_nesting():
    out = highlight("aa bb cc", [(3, 5)], regions=[(3, 6), (6, 8)])
    assert out == 'aa <span class="in-passage"><mark>bb</mark></span><span class="in-passage"> cc</span>'


def test_answer_links_markers_and_escapes():
    html = answer_html('He said "<script>alert(1)</script>" [1][2].\nNext line [3].')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a class="cite" href="#src-1"' in html and 'href="#src-3"' in html and "<br>" in html
    assert 'href="#' not in answer_html("x [1].", link_markers=False)


def test_card_escapes_untrusted_article_text_and_title():
    p = passage(text='Evil <img src=x onerror=alert(1)> "quoted". Xu Qiliang is vice chairman.', title="<i>T</i>")
    html = source_card(2, p, [Span(7, 11)], cited=True)
    assert "<img" not in html and "<i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;i&gt;T&lt;/i&gt;" in html
    assert 'id="src-2"' in html and 'class="src-card cited"' in html and 'data-doc-id="d1"' in html
    assert "Wire" in html and "2023-11-10" in html and "relevance 0.50" in html
    assert "<mark>" in html and "<details" in html and "FOOTER" in html  # the full article, on demand


def test_card_of_untitled_article_shows_doc_id():
    html = source_card(1, passage(doc_id="007_abc"))
    assert '<span class="src-title">007_abc</span>' in html


def test_sources_for_answer_puts_cited_first_and_others_collapsed():
    ps = [passage(doc_id=f"d{i}", rank=i) for i in (1, 2, 3)]
    html = sources_for_answer(answer("Xu Qiliang is vice chairman [2].", [Citation(2, ps[1], (XU,))], ps))
    cited, others = html.split('<details class="src-others">')
    assert 'id="src-2"' in cited and 'id="src-1"' not in cited
    assert 'id="src-1"' in others and 'id="src-3"' in others and "Other retrieved passages (2)" in others
    assert "<mark>Xu Qiliang is vice chairman.</mark>" in cited and "<mark" not in others


def test_sources_for_abstention_shows_closest_passages():
    ps = [passage(doc_id="d1"), passage(doc_id="d2", rank=2)]
    html = sources_for_answer(answer(NOT_IN_ARTICLES, passages=ps, abstained=True))
    assert "Closest passages" in html and 'id="src-1"' in html and 'id="src-2"' in html
    assert "src-others" not in html


def test_pending_sources_show_every_retrieved_passage():
    html = sources_pending([passage(doc_id="d1"), passage(doc_id="d2", rank=2)])
    assert "answer in progress" in html and html.count('class="src-card"') == 2


def test_conversation_links_only_the_current_turn_and_shows_notices():
    turns = [Turn("Who is Xu?", text="Xu [1]."), Turn("And his age?", searched="What is Xu's age?", abstained=True,
                                                      meta="m · total 1.0 s")]
    html = conversation_html(turns, notice="<bad>")
    assert 'href="#src-1"' not in html  # earlier turn: markers shown, not linked
    assert "Searched for: “What is Xu&#x27;s age?”" in html and "Not in the articles" in html
    assert "&lt;bad&gt;" in html and "m · total 1.0 s" in html


def test_timings_text():
    assert timings_text(answer("x")) == "m · retrieval 0.01 s · first token 0.5 s · total 1.5 s"


# ---- sentences and their highlights ----------------------------------------------------------------------
def check(text, citations=(1,), supported=True, repaired_from=(), highlights=()):
    return SentenceCheck(text, tuple(citations), 1.0 if supported else 0.1, supported, tuple(repaired_from),
                         tuple(highlights))


def test_unsupported_sentence_is_flagged_and_supported_ones_are_not():
    html = sentences_html([check("Xu Qiliang is vice chairman [1]."), check("He likes penguins [1].", supported=False)])
    first, second = html.split('</span> <span class="sent')
    assert first.startswith('<span class="sent s1">') and "unverified" not in first
    assert second.startswith(' s2 unverified" title="no cited passage states this">He likes penguins')
    assert second.count('<span class="badge-unverified">unverified</span>') == 1


def test_repaired_citation_carries_a_note():
    html = sentences_html([check("Xu is vice chairman [1].", repaired_from=(3,)), check("He spoke [2].", (2,))])
    assert '<a class="cite repaired" href="#src-1" title="citation corrected from [3]">[1]</a>' in html
    assert '<a class="cite" href="#src-2" title="Show source 2">[2]</a>' in html
    earlier = sentences_html([check("Xu [1].", repaired_from=(3, 4))], link_markers=False)
    assert earlier == ('<span class="sent">Xu <span class="cite repaired" title="citation corrected from [3][4]">[1]</span>'
                       ".</span>")


def test_citation_added_by_the_check_is_shown_even_without_a_marker_in_the_text():
    html = sentences_html([check("Xu is vice chairman.", (2,))])
    assert 'href="#src-2" title="citation added: the model cited no passage here">[2]</a>' in html


def test_sentence_text_is_escaped():
    html = sentences_html([check('He said "<script>alert(1)</script>" & left [1].\nThen <b>more</b> [2].', (1, 2),
                                 supported=False)])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp; left" in html and "&lt;b&gt;more" in html
    assert '<a class="cite" href="#src-1"' in html and "<br>" in html


def test_conversation_renders_sentences_once_the_answer_is_done():
    sentences = (check("Xu Qiliang is vice chairman [1]."), check("He likes penguins [1].", supported=False))
    text = " ".join(c.text for c in sentences)
    done = conversation_html([Turn("Who is Xu?", text=text, sentences=sentences)])
    assert '<span class="sent s1">' in done and "badge-unverified" in done
    streaming = conversation_html([Turn("Who is Xu?", text=text, pending=True)])
    assert 'class="sent' not in streaming and 'href="#src-1"' in streaming and 'class="cursor"' in streaming
    earlier = conversation_html([Turn("Who is Xu?", text=text, sentences=sentences), Turn("And?", pending=True)])
    assert '<span class="sent">' in earlier and "s1" not in earlier and "badge-unverified" in earlier


def test_cards_mark_exactly_the_verified_highlights_tied_to_their_sentences():
    p1, p2 = passage(doc_id="d1"), passage(doc_id="d2", rank=2)
    sentences = [check("Xu Qiliang is vice chairman [1].", highlights=[(1, XU)]),
                 check("Someone said something first [2][1].", (2, 1), highlights=[(2, FIRST), (1, XU), (1, LAST)])]
    citations = [Citation(1, p1, (XU, LAST)), Citation(2, p2, (FIRST,))]
    a = answer(" ".join(c.text for c in sentences), citations, [p1, p2], sentences=sentences)
    assert card_marks(a, citations[0]) == (Mark(28, 56, (1, 2)), Mark(57, 66, (2,)))
    html = sources_for_answer(a)
    card1, card2 = html.split('id="src-2"')
    excerpt1 = card1.split('<div class="src-passage">')[1].split("</div>")[0]
    assert excerpt1 == ('First sentence here. <mark class="s1 s2" title="backs answer sentences 1, 2">Xu Qiliang is '
                        'vice chairman.</mark> <mark class="s2" title="backs answer sentence 2">Last one.</mark>')
    excerpt2 = card2.split('<div class="src-passage">')[1].split("</div>")[0]
    assert excerpt2 == ('<mark class="s2" title="backs answer sentence 2">First sentence here.</mark> '
                        "Xu Qiliang is vice chairman. Last one.")
    assert "guess" not in html


def test_a_citation_without_verified_highlights_marks_nothing():
    p = passage(sentences=(FIRST, XU, LAST))
    a = answer("Xu [1].", [Citation(1, p)], [p], sentences=[check("Xu [1].")], question="Who is Xu Qiliang?")
    assert card_marks(a, a.citations[0]) == ()
    assert "<mark" not in sources_for_answer(a).split('class="src-article"')[0]
    verified = answer("Xu [1].", [Citation(1, p, (LAST,))], [p], question="Who is Xu Qiliang?")
    assert card_marks(verified, verified.citations[0]) == (Mark(57, 66),)  # verified highlights, even unlabelled


def test_checked_answer_through_the_handler(fake_index, fake_embedder):
    engine = make_engine(fake_index, fake_embedder, ["NOT FOUND"])
    engine.evidence = EvidenceSettings(neighbours=4, max_words=500)  # the sentence after each article's best: the drills are in
    evidence = Evidence.of(engine.ask("Who is Xu Qiliang?").passages)
    xu = next(s for s in evidence.sentences if "Xu Qiliang, vice chairman" in s.text)
    drills = next(s for s in evidence.sentences if "Sea of Japan" in s.text)
    wrong = next(s for s in evidence.sentences if s.passage != xu.passage)
    engine.llm.replies[:] = [f"Xu Qiliang is vice chairman of China's Central Military Commission [{wrong.number}]. "
                             f"China and Russia held joint naval drills in the Sea of Japan [{drills.number}]. "
                             f"He also likes <b>penguins</b> and glaciers [{xu.number}]."]
    engines = as_engines(engine)
    _, conv, sources, turns = list(chat.ask(engines, [], "Who is Xu Qiliang?"))[-1]
    a = turns[0]
    assert [c.supported for c in a.sentences] == [True, True, False]
    assert a.sentences[0].repaired_from == (wrong.passage,)
    assert f'title="citation corrected from [{wrong.passage}]">[{xu.passage}]</a>' in conv
    assert ('<span class="sent s3 unverified" title="no cited passage states this">He also likes &lt;b&gt;penguins'
            in conv)
    assert "<b>" not in conv
    xu_card = sources.split(f'data-doc-id="{XU_DOC}"')[1].split("</article>")[0]
    assert '<mark class="s1" title="backs answer sentence 1">' in xu_card and "Central Military Commission" in xu_card
    assert 'class="s3' not in sources, "an unverified sentence marks no source"


# ---- the ask handler ----------------------------------------------------------------------------------------
def test_ask_streams_sources_before_the_answer_ends(engines):
    steps = list(chat.ask(engines, [], "  Who is   Xu Qiliang? "))
    box, conv, sources, turns = steps[-1]
    assert box == "" and len(turns) == 1 and turns[0].question == "Who is Xu Qiliang?"
    assert 'href="#src-1"' in conv and "vice chairman" in conv
    assert f'data-doc-id="{XU_DOC}"' in sources and '<mark class="s1"' in sources
    first_with_cards = next(i for i, s in enumerate(steps) if "src-card" in s[2])
    assert "answer in progress" in steps[first_with_cards][2]
    assert first_with_cards < len(steps) - 2 and "vice chairman" not in steps[first_with_cards][1]
    assert all(s[3] == [] for s in steps[:-1])  # the conversation state only changes once the answer is done


def test_empty_question_is_reported_without_calling_the_model(engines):
    (box, conv, sources, turns), = chat.ask(engines, [], "   ")
    assert "The question is empty; ask something" in conv and turns == []
    assert engines.base.llm.prompts == []


def test_overlong_question_is_reported(engines):
    (_, conv, _, turns), = chat.ask(engines, [], "why " * 1000)
    assert "keep it under" in conv and turns == []


def test_abstention_renders_notice_and_closest_passages(fake_index, fake_embedder):
    engines = as_engines(make_engine(fake_index, fake_embedder, ["The articles do not say."]))
    _, conv, sources, turns = list(chat.ask(engines, [], "What is the population of Russia?"))[-1]
    assert "Not in the articles" in conv and turns[0].abstained
    assert '<div class="reason">Why: the model said the passages do not hold the answer</div>' in conv
    assert "Closest passages" in sources and "src-card" in sources


class FailingLLM(ScriptedLLM):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def stream(self, messages, max_tokens=256, refusal=None, not_first=()):
        raise self.error
        yield  # pragma: no cover


@pytest.mark.parametrize("error, shown", [
    (ModelError("model file x is missing; run: rag models fetch quality"), "rag models fetch quality"),
    (RuntimeError("boom"), "Something went wrong answering this question (RuntimeError: boom)"),
])
def test_errors_render_in_the_page(fake_index, fake_embedder, error, shown):
    engine = Engine(open_store(fake_index), fake_embedder, FailingLLM(error))
    _, conv, sources, turns = list(chat.ask(as_engines(engine), [], "Who is Xu Qiliang?"))[-1]
    assert 'class="notice error"' in conv and shown in conv
    assert "src-card" in sources  # retrieval worked; its passages stay visible
    assert turns[0].error


def test_followup_is_rewritten_before_retrieval_and_shown(fake_index, fake_embedder):
    engine = make_engine(fake_index, fake_embedder,
                         [XU_ANSWER, "Who is Xu Qiliang's Russian counterpart?", "Sergei Shoigu [1]."])
    engines = as_engines(engine)
    turns = list(chat.ask(engines, [], "Who is Xu Qiliang?"))[-1][3]
    _, conv, _, turns = list(chat.ask(engines, turns, "And who is his Russian counterpart?"))[-1]
    prompts = engine.llm.prompts
    assert len(prompts) == 3 and "Follow-up question: And who is his Russian counterpart?" in prompts[1][-1]["content"]
    assert "Question: Who is Xu Qiliang's Russian counterpart?" in prompts[2][-1]["content"]
    assert "Searched for: “Who is Xu Qiliang&#x27;s Russian counterpart?”" in conv
    assert [t.question for t in turns] == ["Who is Xu Qiliang?", "And who is his Russian counterpart?"]


def test_rewrite_holds_the_engine_generation_lock(fake_index, fake_embedder):
    seen = []

    class LockCheckingLLM(ScriptedLLM):
        def stream(self, messages, max_tokens=256, refusal=None, not_first=()):
            seen.append(generation_lock(engine).locked())
            yield from super().stream(messages, max_tokens)

    engine = Engine(open_store(fake_index), fake_embedder, LockCheckingLLM([XU_ANSWER, "Who is Shoigu?", "x [1]."]))
    history = [Turn("Who is Xu Qiliang?", text=XU_ANSWER)]
    list(chat.ask(as_engines(engine), history, "And his counterpart?"))
    assert seen == [True, True]  # the rewrite and the answer both ran under the lock


def test_sessions_do_not_share_conversations(fake_index, fake_embedder):
    engines = as_engines(make_engine(fake_index, fake_embedder, [XU_ANSWER]))
    a = list(chat.ask(engines, [], "Who is Xu Qiliang?"))[-1][3]
    b = list(chat.ask(engines, [], "What is the population of Russia?"))[-1][3]
    assert [t.question for t in a] == ["Who is Xu Qiliang?"]
    assert [t.question for t in b] == ["What is the population of Russia?"]


def test_concurrent_sessions_get_their_own_answers(fake_index, fake_embedder):
    class EchoLLM(ScriptedLLM):  # answers with the name asked about and words of passage [1], slowly
        def stream(self, messages, max_tokens=256, refusal=None, not_first=()):
            prompt = messages[-1]["content"]
            name = prompt.rsplit("Question: What do the articles say about ", 1)[1].rstrip("?")
            grounded = " ".join(prompt.split("[1] ", 1)[1].split()[:6])
            for word in f"{name}: {grounded} [1].".split(" "):
                time.sleep(0.01)
                yield word + " "

    engines = as_engines(Engine(open_store(fake_index), fake_embedder, EchoLLM()))
    names = ["Xu Qiliang", "Sergei Shoigu", "Zhang Youxia", "Vladimir Putin"]
    results = {}

    def run(name):
        results[name] = [t.text for t in list(chat.ask(engines, [], f"What do the articles say about {name}?"))[-1][3]]

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(names)
    for name, texts in results.items():
        assert len(texts) == 1 and texts[0].startswith(f"{name}:") and texts[0].endswith("[1].")


def test_new_conversation_clears_state():
    conv, sources, turns = chat.new_conversation()
    assert turns == [] and "Ask a question" in conv and "Sources" in sources


# ---- articles ---------------------------------------------------------------------------------------------
def write(path: Path, data: bytes | str) -> str:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def test_bad_uploads_are_reported_and_good_ones_added(engines, tmp_path):
    files = [
        write(tmp_path / "good_article.md", "# Shoigu visits Beijing\n\nSergei Shoigu met Xu Qiliang in Beijing on Monday."),
        write(tmp_path / "slides.pptx", b"PK\x03\x04"),
        write(tmp_path / "huge.txt", "word " * 500_000),
        write(tmp_path / "latin1.txt", "Caf\xe9 news".encode("latin-1")),
        write(tmp_path / "empty.txt", ""),
    ]
    calls = []
    report, rows = articles.add_articles(engines, files, progress=lambda *a, **k: calls.append((a, k)))
    assert "1 added" in report
    for name, reason in [("slides.pptx", "unsupported file type"), ("huge.txt", "over the 2 MB limit"),
                         ("latin1.txt", "not UTF-8"), ("empty.txt", "empty file")]:
        assert f"<code>{name}</code>: " in report and reason in report
    assert ["good_article", "Shoigu visits Beijing", "", "", 1] in rows
    assert calls and calls[-1][1]["desc"] == "Indexing passages"
    assert any(p.doc_id == "good_article" for p in engines.get().retrieve("Shoigu met Xu Qiliang in Beijing"))


def test_upload_with_nothing_usable_leaves_the_index_alone(engines, tmp_path):
    generation = open_store(engines.index_path).info.generation
    report, rows = articles.add_articles(engines, [write(tmp_path / "x.exe", b"MZ")])
    assert "unsupported file type" in report and len(rows) == 5
    assert open_store(engines.index_path).info.generation == generation
    assert "Choose one or more" in articles.add_articles(engines, None)[0]


def test_ingest_errors_are_reported_not_raised(engines, tmp_path, monkeypatch):
    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(articles, "ingest", broken)
    report, rows = articles.add_articles(engines, [write(tmp_path / "a.txt", "Some news.")])
    assert "disk full" in report and "the index is unchanged" in report and len(rows) == 5


def test_remove_articles(engines):
    message, rows = articles.remove_articles(engines, [XU_DOC, "nope"])
    assert f"Removed {XU_DOC}." in message and "Not in the index: nope." in message
    assert XU_DOC not in [r[0] for r in rows]
    assert all(p.doc_id != XU_DOC for p in engines.get().retrieve("Who is Xu Qiliang?"))
    assert "Select the articles" in articles.remove_articles(engines, [])[0]


def test_article_rows_have_metadata(engines):
    rows = {r[0]: r for r in articles.article_rows(engines.store)}
    assert rows["000_d9ac26facaa1f05c"][1:3] == ["Putin Looks to China for Closer Military Collaboration", "VitalNews.org"]
    assert rows["001_80ea79b3f3bb210f"][3] == "2023-11-10" and all(r[4] > 0 for r in rows.values())


# ---- engines and app ----------------------------------------------------------------------------------------
def test_engines_create_other_models_once_and_reload_them_all(fake_index, fake_embedder):
    loaded = []
    base = make_engine(fake_index, fake_embedder, [XU_ANSWER])
    engines = Engines(base, "quality", ("quality", "fast"), load_llm=lambda name: loaded.append(name) or ScriptedLLM())
    fast = engines.get("fast")
    assert engines.get("fast") is fast and loaded == ["fast"] and engines.get() is base
    with pytest.raises(ValueError, match="unknown model 'huge'"):
        engines.get("huge")
    articles.remove_articles(engines, [XU_DOC])
    assert not fast.store.content_hashes([XU_DOC]) and not base.store.content_hashes([XU_DOC])


def test_build_app_lays_out_and_wires_the_page(engines):
    import gradio as gr

    app = ui_app.build_app(engines)
    assert isinstance(app, gr.Blocks)
    ids = {b.elem_id for b in app.blocks.values() if getattr(b, "elem_id", None)}
    assert {"question", "ask-btn", "conversation", "sources", "model", "top-k", "upload", "add-btn", "articles",
            "remove-ids", "remove-btn"} <= ids
    ask = next(f for f in app.fns.values() if f.api_name == "ask")
    assert ask.concurrency_limit == 1 and ask.concurrency_id == "llm" and len(ask.targets) == 2
    assert any(isinstance(b, gr.State) for b in app.blocks.values())  # per-session conversation


def test_serve_warns_when_not_bound_to_localhost(monkeypatch, capsys, engines):
    import rag.answer.engine

    opened = []
    monkeypatch.setattr(rag.answer.engine, "open_engine", lambda *a, **k: opened.append(k) or engines.base)
    warmed = []
    monkeypatch.setattr(Engine, "warm_up_in_background", lambda engine: warmed.append(engine))
    monkeypatch.setattr(Engine, "warm_up", lambda engine: pytest.fail("the page must not wait for the warm-up"))
    launched = []
    monkeypatch.setattr(ui_app, "launch", lambda app, host, port: launched.append((host, port)))
    assert ui_app.serve("idx", model="fast", host="0.0.0.0", port=9999) == 0
    assert "warning: serving on 0.0.0.0" in capsys.readouterr().err
    assert ui_app.serve("idx", model="fast", top_k=3, max_tokens=120) == 0
    assert "warning" not in capsys.readouterr().err
    assert launched == [("0.0.0.0", 9999), ("127.0.0.1", 7860)]
    assert opened == [{"top_k": 8, "max_tokens": 200}, {"top_k": 3, "max_tokens": 120}]
    assert warmed == [engines.base, engines.base]


def test_a_withdrawn_reply_is_not_in_the_articles_with_the_models_text_collapsed():
    from ui.render import turn_html

    turn = Turn("Who won?", text=NOT_IN_ARTICLES, abstained=True,
                reason="no sentence of the reply is stated by the passages it cites",
                unverified="The <b>penguins</b> won [1].")
    page = turn_html(turn, current=True)
    assert "Not in the articles" in page and "Why: no sentence of the reply" in page
    assert '<details class="unverified-reply">' in page and "<details open" not in page
    assert "The &lt;b&gt;penguins&lt;/b&gt; won.<" in page, "escaped, markers dropped"
    assert 'class="a"' not in page, "the reply is not shown as an answer"
    plain = turn_html(Turn("Who won?", text=NOT_IN_ARTICLES, abstained=True, reason="r"), current=True)
    assert "unverified-reply" not in plain


def test_the_handler_passes_a_withdrawn_reply_to_the_page(fake_index, fake_embedder):
    engine = make_engine(fake_index, fake_embedder, ["Russia won the hockey tournament [1]."])
    _, html, sources, turns = list(chat.ask(as_engines(engine), [], "Who won the hockey tournament?"))[-1]
    assert turns[-1].abstained and "Russia won the hockey tournament" in turns[-1].unverified
    assert "unverified-reply" in html and "Closest passages" in sources


def test_sentences_left_out_of_an_answer_are_shown_collapsed_with_why():
    from rag.types import LeftOut
    from ui.render import turn_html

    sentences = (check("Xu Qiliang is vice chairman [1]."),)
    turn = Turn("Who is Xu?", text=sentences[0].text, sentences=sentences,
                left_out=(LeftOut("He was born in <b>1950</b> [1].", "numbers not in the passages: 1950"),))
    page = turn_html(turn, current=True)
    assert '<span class="sent s1">' in page and '<details class="left-out">' in page and "<details open" not in page
    assert "“He was born in &lt;b&gt;1950&lt;/b&gt;.”" in page and "(numbers not in the passages: 1950)" in page
    assert "left-out" not in turn_html(Turn("Who is Xu?", text=sentences[0].text, sentences=sentences), current=True)


def test_the_handler_passes_the_sentences_left_out_to_the_page(fake_index, fake_embedder):
    probe = make_engine(fake_index, fake_embedder, ["NOT FOUND"])
    question = "Who won the hockey tournament?"
    first = Evidence.of(probe.ask(question).passages).sentences[0]
    reply = f"{first.text.rstrip('.')} [{first.number}]. It was the 1887th such event [{first.number}]."
    engine = make_engine(fake_index, fake_embedder, [reply])
    _, html, _, turns = list(chat.ask(as_engines(engine), [], question))[-1]
    assert not turns[-1].abstained and [x.reason for x in turns[-1].left_out] == ["numbers not in the passages: 1887th"]
    assert '<details class="left-out">' in html and "1887th such event" in html
