"""The engine with a fake embedder and a scripted LLM: prompts, citations, abstention, streaming, errors."""
from __future__ import annotations

import json
import os

import pytest

from conftest import make_engine
from fakes import FakeEmbedder, ScriptedLLM
from rag.engine import NOT_IN_ARTICLES, Done, Engine, Retrieved, Token
from rag.errors import BadQuestion, RagError
from rag.evidence import EvidenceSettings
from rag.store import open_store
from rag.ingest import ingest
from rag.prompt import INSTRUCTIONS, SYSTEM_PROMPT

QUESTION = "Who is Zhang Youxia?"


def grounded_reply(engine: Engine, question: str = QUESTION, n: int = 2) -> str:
    """A reply that copies the first sentence of passage n (so it is grounded) and cites it."""
    passages = engine.ask(question).passages
    assert len(passages) >= n
    sentence = passages[n - 1].text.split(" … ")[0].rstrip(".。")
    engine.llm.replies[:] = [f"{sentence} [{n}]."]
    return sentence


@pytest.fixture(scope="module")
def seeds_index(tmp_path_factory):
    """The seeds ingested once for the read-only tests of this module (fake_index builds one per test)."""
    from conftest import SEEDS

    path = tmp_path_factory.mktemp("engine") / "idx"
    ingest([SEEDS], path, FakeEmbedder())
    return path


@pytest.fixture
def engine(seeds_index) -> Engine:
    return make_engine(seeds_index, FakeEmbedder(), ["The articles do not say."])


def test_prompt_holds_the_numbered_passages_and_the_question(engine):
    answer = engine.ask(QUESTION)
    (messages,) = engine.llm.prompts
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert answer.passages
    for n, p in enumerate(answer.passages, 1):
        assert f"[{n}] {p.text}" in user
    assert user.rstrip().endswith(f"Question: {QUESTION}")
    assert user.index("[1] ") < user.index("Question:")


def test_the_system_message_is_the_same_for_every_question(engine):
    engine.ask(QUESTION)
    engine.ask("What did the Chinese Communist Party warn the US about?")
    first, second = engine.llm.prompts
    assert first[0] == second[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert first[1] != second[1]


def test_the_instructions_come_before_the_passages_so_the_cached_prefix_covers_them(engine):
    engine.ask(QUESTION)
    engine.ask("What did the Chinese Communist Party warn the US about?")
    first, second = (m[1]["content"] for m in engine.llm.prompts)
    shared = os.path.commonprefix([first, second])
    assert shared.startswith(INSTRUCTIONS) and shared.endswith("Passages:\n\n[1] ")


def test_the_source_line_names_the_publisher_as_such(engine):
    answer = engine.ask(QUESTION)
    user = engine.llm.prompts[0][1]["content"]
    with_outlet = [p for p in answer.passages if p.document.outlet]
    assert with_outlet
    for p in with_outlet:
        assert f"published by {p.document.outlet}" in user


def test_the_source_line_reads_as_a_phrase_with_or_without_a_title():
    from rag.prompt import source_line
    from rag.types import Chunk, Document, Passage, Span

    def line(**meta):
        doc = Document("d", "Body text.", **meta)
        return source_line(Passage(Chunk("d:0", "d", "Body text.", Span(0, 10)), doc, 1.0, 1))
    assert line(outlet="The Moscow Times") == "(From an article published by The Moscow Times)"
    assert line(title="Ties", date="2023-04-16") == "(From the article “Ties” on 2023-04-16)"
    assert line() == ""


def test_an_abstention_says_why(engine):
    engine.llm.replies[:] = ["Russia has 144 million people [1]."]
    answer = engine.ask("What is the population of Russia?")
    assert answer.abstained and answer.abstain_reason.startswith("0% of what the answer adds")
    assert answer.to_dict()["abstain_reason"] == answer.abstain_reason


def test_a_made_up_quotation_abstains(engine):
    sentence = grounded_reply(engine)
    words = sentence.split()
    engine.llm.replies[:] = [f'{sentence}, in the words "{" ".join(reversed(words[:4]))}" [2].']
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.abstain_reason.startswith("quoted words not in the passages: "), answer.abstain_reason
    engine.llm.replies[:] = [f'{sentence}, in the words "{" ".join(words[:4])}" [2].']
    assert not engine.ask(QUESTION).abstained


def test_citations_map_markers_to_the_nth_passage(engine):
    sentence = grounded_reply(engine)
    answer = engine.ask(QUESTION)
    assert not answer.abstained
    assert answer.text == f"{sentence} [2]."
    (citation,) = answer.citations
    p = answer.passages[1]
    assert citation.number == 2 and citation.passage == p
    cited = citation.passage
    assert (cited.doc_id, cited.chunk.span, cited.score) == (p.doc_id, p.chunk.span, p.score)
    assert answer.cited_doc_ids == [p.doc_id]
    text = p.document.text
    assert citation.highlights
    assert all(p.chunk.span.start <= h.start < h.end <= p.chunk.span.end for h in citation.highlights)
    assert " ".join(text[citation.highlights[0].start : citation.highlights[0].end].split()).startswith(sentence[:40])
    assert 0.6 <= answer.support <= 1.0


def test_an_invalid_marker_is_dropped_from_text_and_citations(engine):
    sentence = grounded_reply(engine)
    engine.llm.replies[:] = [f"{sentence} [2][9]. It is so [9]."]
    answer = engine.ask(QUESTION)
    assert not answer.abstained
    assert "[9]" not in answer.text and answer.text.endswith("It is so.")
    assert [c.number for c in answer.citations] == [2]
    assert "[9]" in answer.raw_text  # the model's own text is kept for inspection


def test_an_answer_not_found_in_the_passages_abstains_but_keeps_the_passages(engine):
    engine.llm.replies[:] = ["Russia has 144 million people [1]."]
    answer = engine.ask("What is the population of Russia?")
    assert answer.abstained
    assert answer.text == NOT_IN_ARTICLES and answer.citations == ()
    assert answer.passages and answer.raw_text == "Russia has 144 million people [1]."
    assert answer.support < 0.6


def test_an_answer_with_an_unsupported_number_abstains(engine):
    sentence = grounded_reply(engine)
    engine.llm.replies[:] = [f"{sentence} since 1987 [2]."]
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.text == NOT_IN_ARTICLES


def test_an_answer_that_only_echoes_the_question_abstains(engine):
    engine.llm.replies[:] = ["Zhang Youxia is Zhang Youxia [1]."]
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.support == 0.0


def test_the_model_saying_the_articles_do_not_say_abstains(engine):
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.text == NOT_IN_ARTICLES
    assert answer.raw_text == "The articles do not say." and answer.passages


def test_ask_stream_yields_retrieved_then_tokens_then_done(engine):
    sentence = grounded_reply(engine)
    engine.llm.replies[:] = [f"{sentence} [2][9]."]
    events = list(engine.ask_stream(QUESTION))
    assert isinstance(events[0], Retrieved) and isinstance(events[-1], Done)
    middle = events[1:-1]
    assert middle and all(isinstance(e, Token) for e in middle)
    assert len(middle) > 3  # streamed piece by piece
    streamed = "".join(e.text for e in middle)
    assert "[9]" not in streamed and streamed.replace(" .", ".").strip() == events[-1].answer.text
    assert events[0].passages == events[-1].answer.passages and events[0].seconds >= 0


def test_the_llm_is_not_called_before_retrieval_is_reported(engine):
    stream = engine.ask_stream(QUESTION)
    assert isinstance(next(stream), Retrieved)
    assert engine.llm.prompts == []
    list(stream)
    assert len(engine.llm.prompts) == 1


@pytest.mark.parametrize("question", ["", "   \n\t", None])
def test_an_empty_question_is_a_bad_question(engine, question):
    with pytest.raises(BadQuestion, match="question is empty") as e:
        engine.ask(question)
    assert isinstance(e.value, RagError) and isinstance(e.value, ValueError)
    with pytest.raises(BadQuestion):
        list(engine.ask_stream(question))
    assert engine.llm.prompts == []


def test_a_too_long_question_is_a_bad_question(engine):
    with pytest.raises(BadQuestion, match="keep it under"):
        engine.ask("why " * 1000)


def test_the_question_is_normalised(engine):
    answer = engine.ask("  Who is\n Zhang   Youxia? ")
    assert answer.question == QUESTION
    assert engine.llm.prompts[0][1]["content"].endswith(f"Question: {QUESTION}")


@pytest.mark.parametrize("top_k", [0, -3])
def test_engine_top_k_must_be_positive(seeds_index, top_k):
    with pytest.raises(ValueError, match=f"top_k must be > 0, got {top_k}"):
        make_engine(seeds_index, FakeEmbedder(), ["x"], top_k=top_k)


def test_max_tokens_must_be_positive(seeds_index):
    with pytest.raises(ValueError, match="max_tokens must be > 0, got 0"):
        Engine(open_store(seeds_index), FakeEmbedder(), ScriptedLLM(), max_tokens=0)


def test_a_negative_top_k_per_question_is_refused(engine):
    with pytest.raises(ValueError, match="got -2"):
        engine.ask(QUESTION, top_k=-2)
    with pytest.raises(ValueError, match="got -1"):
        engine.retrieve(QUESTION, top_k=-1)


def test_a_zero_top_k_per_question_is_refused(engine):
    with pytest.raises(ValueError, match="got 0"):
        engine.ask(QUESTION, top_k=0)


def test_top_k_limits_the_retrieved_chunks(engine):
    hits = engine.retrieve(QUESTION, top_k=2)
    assert [p.rank for p in hits] == [1, 2]
    assert len(engine.retrieve(QUESTION)) == engine.top_k == 5


def test_timings_are_filled(engine):
    grounded_reply(engine)
    t = engine.ask(QUESTION).timings
    assert t.total_s >= t.retrieve_s > 0
    assert t.total_s >= t.first_token_s > 0
    assert t.prompt_tokens > 0 and t.completion_tokens > 1


def test_answer_to_dict_is_json_serialisable(engine):
    grounded_reply(engine)
    answer = engine.ask(QUESTION)
    d = json.loads(json.dumps(answer.to_dict()))
    assert d["question"] == QUESTION and d["answer"] == answer.text and d["abstained"] is False
    assert [c["number"] for c in d["citations"]] == [2]
    assert d["citations"][0]["doc_id"] == answer.passages[1].doc_id
    assert len(d["passages"]) == len(answer.passages) and d["model_id"] == "scripted-llm"
    assert set(d["timings"]) >= {"retrieve_s", "total_s", "prompt_tokens"}


def test_reload_sees_documents_ingested_after_the_engine_was_built(fake_index, fake_embedder, tmp_path):
    engine = make_engine(fake_index, fake_embedder, ["x"])
    engine.retrieve("anything")  # the search structures are read on first use
    new = tmp_path / "zebra.txt"
    new.write_text("Zebras Of Kenya\n\nThe zebra herd crossed the Mara river in Kenya. Zebras graze.", encoding="utf-8")
    ingest([new], fake_index, fake_embedder)
    question = "Where did the zebra herd cross the river?"
    assert all(p.doc_id != "zebra" for p in engine.retrieve(question))
    engine.reload()
    assert engine.store.content_hashes(["zebra"])
    assert engine.retrieve(question)[0].doc_id == "zebra"


def test_an_empty_index_abstains_without_calling_the_llm(tmp_path, fake_embedder):
    (tmp_path / "bad.txt").write_bytes(b"")
    report = ingest([tmp_path / "bad.txt"], tmp_path / "idx", fake_embedder)
    assert report.added == [] and len(report.skipped) == 1
    engine = make_engine(tmp_path / "idx", fake_embedder, ["Anything [1]."])
    events = list(engine.ask_stream(QUESTION))
    assert [type(e) for e in events] == [Retrieved, Done]
    answer = events[-1].answer
    assert answer.abstained and answer.text == NOT_IN_ARTICLES and answer.passages == ()
    assert engine.llm.prompts == []


def test_with_llm_shares_the_index_and_embedder(engine):
    other = engine.with_llm(ScriptedLLM(["x"]))
    assert other.store is engine.store and other.embedder is engine.embedder and other.llm is not engine.llm
    assert other.top_k == engine.top_k and other.model_id == "scripted-llm"


def test_warm_up_embeds_the_articles_sentences_so_questions_embed_only_themselves(seeds_index):
    embedder = FakeEmbedder()
    engine = make_engine(seeds_index, embedder, ["The articles do not say."])
    engine.warm_up()
    warmed = len(engine.vectors)
    assert warmed > 50  # the seeds' sentences
    embedder.calls.clear()
    engine.ask(QUESTION)
    engine.ask("What did Putin say about AUKUS?")
    assert embedder.calls == [[QUESTION], ["What did Putin say about AUKUS?"]]


def test_engines_for_other_models_share_the_sentence_vectors(engine):
    other = engine.with_llm(ScriptedLLM(["x"]))
    assert other.vectors is engine.vectors and other.retriever.embedder is engine.vectors


def test_a_date_the_articles_give_for_another_event_abstains(tmp_path):
    (tmp_path / "meeting.txt").write_text(
        "Putin hosted China's Defense Minister in Moscow. The meeting took place on April 16, 2023.\n\n"
        "Observers watched the talks closely. Analysts expect more such talks.\n\n"
        "Xu Qiliang is vice chairman of China's Central Military Commission.\n", encoding="utf-8")
    embedder = FakeEmbedder()
    ingest([tmp_path / "meeting.txt"], tmp_path / "idx", embedder)
    engine = make_engine(tmp_path / "idx", embedder, ["Putin met the minister in Moscow on April 16, 2023 [1]."])
    engine.evidence = EvidenceSettings(min_relative=0.0, min_source_relative=0.0, max_words=0)  # every sentence goes to the model: all words are grounded
    assert not engine.ask("On what date did Putin meet China's Defense Minister in Moscow?").abstained
    engine.llm.replies[:] = ["Xu Qiliang was appointed vice chairman on April 16, 2023 [1]."]
    moved = engine.ask("When was Xu Qiliang appointed vice chairman of China's Central Military Commission?")
    assert moved.abstained and "April" in moved.abstain_reason


def test_an_answer_without_the_kind_of_thing_asked_for_abstains(engine):
    sentence = grounded_reply(engine, "What is the population of Russia?", n=1)
    answer = engine.ask("What is the population of Russia?")
    assert answer.abstained and answer.abstain_reason == "the question asks for a number and the answer gives none"
    assert sentence in answer.raw_text


def test_a_name_from_another_story_abstains(tmp_path):
    (tmp_path / "exercise.txt").write_text(
        "Russia announced a joint exercise with China called Interaction-2022. It will be held next year.\n\n"
        "Analysts expect more drills. The armies train often.\n", encoding="utf-8")
    (tmp_path / "naval.txt").write_text(
        "The two sides agreed to hold joint naval exercises in the Pacific Ocean and the Mediterranean Sea.\n",
        encoding="utf-8")
    embedder = FakeEmbedder()
    ingest([tmp_path / "exercise.txt", tmp_path / "naval.txt"], tmp_path / "idx", embedder)
    engine = make_engine(tmp_path / "idx", embedder, ["It will be held in the Pacific Ocean [1][2]."])
    engine.evidence = EvidenceSettings(min_relative=0.0, min_source_relative=0.0, max_words=0)
    answer = engine.ask("Where will the Interaction-2022 exercise be held?")
    assert answer.abstained and "Pacific Ocean" in answer.abstain_reason, answer.abstain_reason
    engine.llm.replies[:] = ["The naval exercises will be held in the Pacific Ocean [1][2]."]
    assert not engine.ask("Where will the naval exercises be held?").abstained
    engine.llm.replies[:] = ["The Interaction-2022 exercise will be held next year [1]."]
    when = engine.ask("Where will the Interaction-2022 exercise be held?")
    assert when.abstained and when.abstain_reason == "the question asks where and the answer names no place"


def one_article_engine(tmp_path, text: str, reply: str) -> Engine:
    """An engine over a single article ``text`` whose scripted model replies ``reply``."""
    (tmp_path / "article.txt").write_text(text + "\n", encoding="utf-8")
    embedder = FakeEmbedder()
    ingest([tmp_path / "article.txt"], tmp_path / "idx", embedder)
    return make_engine(tmp_path / "idx", embedder, [reply])


def test_a_person_titled_for_another_country_abstains(tmp_path):
    engine = one_article_engine(
        tmp_path, "Russian Defense Minister Sergei Shoigu said military cooperation with China is acquiring significance.",
        "China's defence minister is Sergei Shoigu [1].")
    answer = engine.ask("Who is China's defence minister?")
    assert answer.abstained and "Sergei Shoigu a different title" in answer.abstain_reason, answer.abstain_reason
    engine.llm.replies[:] = ["Russia's defence minister is Sergei Shoigu [1]."]
    assert not engine.ask("Who is Russia's defence minister?").abstained


def test_an_answer_without_the_name_asked_for_abstains(tmp_path):
    engine = one_article_engine(
        tmp_path, "Putin spoke to China's second highest ranking military official in a televised conference.",
        "He is China's second highest ranking military official [1].")
    answer = engine.ask("What is the name of the Chinese official Putin spoke to in a televised conference?")
    assert answer.abstained and answer.abstain_reason == "the question asks for a name and the answer gives none"
    engine.llm.replies[:] = ["He is China's second highest ranking military official [1]."]
    other = engine.ask("What rank does the Chinese official Putin spoke to in a televised conference hold?")
    assert not other.abstained, other.abstain_reason


def test_warm_up_reads_at_most_the_sentences_asked_for(seeds_index):
    from rag.engine import _article_sentences
    from rag.store import open_store

    store = open_store(seeds_index)
    every = _article_sentences(store, 10_000, page=2)  # read two articles at a time
    assert len(every) == len(set(every)) > 50
    assert _article_sentences(store, 7) == every[:7]
    engine = make_engine(seeds_index, FakeEmbedder(), ["x"])
    engine.warm_up(sentences=10)
    assert len(engine.vectors) == 11  # "warm up" and ten sentences


def test_warm_up_in_the_background_answers_meanwhile(seeds_index):
    import threading

    release = threading.Event()

    class Slow(FakeEmbedder):
        def embed_batch(self, texts):
            if len(texts) > 1:  # the warm-up's batches of article sentences wait
                release.wait(10)
            return super().embed_batch(texts)

    engine = make_engine(seeds_index, Slow(), ["The articles do not say."])
    thread = engine.warm_up_in_background()
    assert thread.daemon and thread.is_alive()
    assert engine.retrieve(QUESTION)  # served while the warm-up waits
    release.set()
    thread.join(10)
    assert not thread.is_alive() and len(engine.vectors) > 50
