"""The engine with a fake embedder and a scripted LLM: prompts, citations, abstention, streaming, errors."""
from __future__ import annotations

import json
import os

import pytest

from conftest import make_engine
from fakes import FakeEmbedder, ScriptedLLM
from rag.answer.engine import NOT_IN_ARTICLES, Done, Engine, Retrieved, Token
from rag.errors import BadQuestion, RagError
from rag.retrieve.evidence import Evidence
from rag.store import open_store
from rag.ingest.pipeline import ingest
from rag.answer.prompt import INSTRUCTIONS, SYSTEM_PROMPT

QUESTION = "Who is Zhang Youxia?"


def evidence_of(engine: Engine, question: str = QUESTION) -> Evidence:
    """The numbered evidence the engine gives the model for ``question``."""
    return Evidence.of(engine.ask(question).passages)


def grounded_reply(engine: Engine, question: str = QUESTION, n: int = 2) -> str:
    """A reply that copies the first sentence of passage n (so it is grounded) and cites that sentence's number."""
    evidence = evidence_of(engine, question)
    first = evidence.of_passage(n)[0]
    sentence = first.text.rstrip(".。")
    engine.llm.replies[:] = [f"{sentence} [{first.number}]."]
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
    return make_engine(seeds_index, FakeEmbedder(), ["NOT FOUND"])


def test_prompt_holds_the_numbered_sentences_under_their_source_and_the_question(engine):
    answer = engine.ask(QUESTION)
    (messages,) = engine.llm.prompts
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    evidence = Evidence.of(answer.passages)
    assert len(evidence.sentences) > len(answer.passages) >= 2
    for s in evidence.sentences:
        assert f"[{s.number}] {s.text}\n" in user + "\n"
    assert user.rstrip().endswith(f"Question: {QUESTION}")
    assert user.index("[1] ") < user.index("Question:")
    # each article's sentences sit under its source line, articles in order
    lines = user.split("\n")
    for n, passage in enumerate(answer.passages, 1):
        first = evidence.of_passage(n)[0]
        at = lines.index(f"[{first.number}] {first.text}")
        assert lines[at - 1].startswith("Article")


def test_the_system_message_is_the_same_for_every_question(engine):
    engine.ask(QUESTION)
    engine.ask("What did the Chinese Communist Party warn the US about?")
    first, second = engine.llm.prompts
    assert first[0] == second[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert first[1] != second[1]


def test_the_instructions_come_before_the_evidence_so_the_cached_prefix_covers_them(engine):
    engine.ask(QUESTION)
    engine.ask("What did the Chinese Communist Party warn the US about?")
    first, second = (m[1]["content"] for m in engine.llm.prompts)
    shared = os.path.commonprefix([first, second])
    assert shared.startswith(INSTRUCTIONS) and "[1]" not in shared[len(INSTRUCTIONS):]


def test_the_source_line_names_a_publisher_only_where_the_text_does_not(engine):
    answer = engine.ask(QUESTION)
    user = engine.llm.prompts[0][1]["content"]
    with_outlet = [p for p in answer.passages if p.document.outlet]
    assert with_outlet
    for p in with_outlet:  # the seeds name their outlet in their own text ("(VitalNews.org) –")
        assert p.document.outlet in p.document.text and f"published by {p.document.outlet}" not in user


def test_the_source_line_reads_as_a_phrase_with_or_without_a_title():
    from rag.answer.prompt import source_line
    from rag.types import Chunk, Document, Passage, Span

    def line(**meta):
        doc = Document("d", "Body text.", **meta)
        return source_line(Passage(Chunk("d:0", "d", "Body text.", Span(0, 10)), doc, 1.0, 1))
    assert line(outlet="The Moscow Times") == "Article published by The Moscow Times:"
    assert line(outlet="Body") == "Article:", "the text names it already"
    assert line(title="Ties", date="2023-04-16") == "Article “Ties” on 2023-04-16:"
    assert line() == "Article:"


def test_sentence_citations_become_passage_citations_highlighting_the_cited_sentence(engine):
    sentence = grounded_reply(engine)
    answer = engine.ask(QUESTION)
    assert not answer.abstained
    assert answer.text == f"{sentence} [2]."
    (citation,) = answer.citations
    p = answer.passages[1]
    assert citation.number == 2 and citation.passage == p and answer.cited_doc_ids == [p.doc_id]
    first = Evidence.of(answer.passages).of_passage(2)[0]
    assert citation.highlights == (first.span,), "the cited sentence is what the page marks"
    assert answer.sentences[0].supported


def test_two_sentences_of_one_article_are_one_passage_citation(engine):
    evidence = evidence_of(engine)
    two = [s for s in evidence.sentences if len(evidence.of_passage(s.passage)) >= 2][:2]
    assert two[0].passage == two[1].passage
    engine.llm.replies[:] = [f"{two[0].text.rstrip('.')} [{two[0].number}][{two[1].number}]."]
    answer = engine.ask(QUESTION)
    n = two[0].passage
    assert answer.text.endswith(f"[{n}].") and [c.number for c in answer.citations] == [n]
    assert answer.citations[0].highlights == tuple(sorted((two[0].span, two[1].span), key=lambda s: s.start))


def test_a_marker_naming_no_sentence_is_dropped_from_text_and_citations(engine):
    sentence = grounded_reply(engine)
    n = len(evidence_of(engine).sentences)
    first = engine.llm.replies[0].rsplit(" [", 1)[1].rstrip("].")
    engine.llm.replies[:] = [f"{sentence} [{first}][{n + 7}]. It is so [{n + 7}]."]
    answer = engine.ask(QUESTION)
    assert not answer.abstained
    assert f"[{n + 7}]" not in answer.text and answer.text.endswith("It is so.")
    assert [c.number for c in answer.citations] == [2]
    assert f"[{n + 7}]" in answer.raw_text  # the model's own text is kept for inspection


@pytest.mark.parametrize("listed", ["[{a}], [{b}]", "[{a}], [{b}], and [{b}]", "[{a}] and [{b}]", "[{a}]; [{b}]"])
def test_a_list_of_markers_after_the_last_full_stop_cites_the_last_sentence_and_leaves_no_commas(engine, listed):
    evidence = evidence_of(engine)
    first, other = evidence.of_passage(2)[0], evidence.of_passage(1)[0]
    sentence = first.text.rstrip(".")
    engine.llm.replies[:] = [f"{sentence}. " + listed.format(a=first.number, b=other.number)]
    answer = engine.ask(QUESTION)
    assert not answer.abstained
    assert len(answer.sentences) == 1, "the markers belong to the sentence, they are not a sentence of their own"
    assert answer.text.startswith(sentence) and answer.text.endswith("].")
    assert not any(ch in answer.text[len(sentence):] for ch in ",;&"), answer.text
    assert " and " not in answer.text[len(sentence):]


@pytest.mark.parametrize("bad", ["[0]", "[two]", "[1a]", "[-3]", "[]"])
def test_a_malformed_or_zero_sentence_id_cites_nothing(engine, bad):
    sentence = grounded_reply(engine)
    engine.llm.replies[:] = [f"{sentence} {bad}."]
    answer = engine.ask(QUESTION)
    assert not answer.abstained and "[0]" not in answer.text
    assert all(1 <= c.number <= len(answer.passages) for c in answer.citations)
    assert answer.sentences[0].supported, "the sentence is still checked against the evidence and repaired"


def test_a_sentence_its_citation_does_not_state_is_flagged_and_highlights_nothing(engine):
    sentence = grounded_reply(engine)
    engine.llm.replies[:] = [engine.llm.replies[0] + " Russia won the hockey tournament [1]."]
    answer = engine.ask(QUESTION)
    assert not answer.abstained, "one sentence its citation states: the reply stands, the other is flagged"
    supported, flagged = answer.sentences
    assert supported.supported and sentence in supported.text
    assert not flagged.supported and flagged.highlights == ()


def test_a_reply_none_of_whose_sentences_its_citations_state_is_not_an_answer(engine):
    engine.llm.replies[:] = ["Russia won the hockey tournament [1]."]
    answer = engine.ask("Who won the ice hockey world championship?")
    assert answer.abstained and answer.text == NOT_IN_ARTICLES and answer.citations == ()
    assert answer.abstain_reason == "no sentence of the reply is stated by the passages it cites"
    assert answer.unverified == "Russia won the hockey tournament [1]." and answer.to_dict()["unverified"]
    (check,) = answer.sentences
    assert not check.supported and check.highlights == ()


def test_a_reply_that_adds_nothing_to_the_question_abstains(engine):
    evidence = evidence_of(engine)
    engine.llm.replies[:] = [f"Zhang Youxia is mentioned in the article [{evidence.sentences[0].number}]."]
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.abstain_reason == "the reply adds nothing to the question"


def test_the_model_saying_not_found_abstains_and_keeps_the_passages(engine):
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.text == NOT_IN_ARTICLES and answer.citations == ()
    assert answer.raw_text == "NOT FOUND" and answer.passages
    assert answer.abstain_reason == "the model said the passages do not hold the answer"


@pytest.mark.parametrize("addition, reason", [
    (" since 1987", "numbers not in the passages: 1987"),
    (", said Li Zhongliang", "names not in the passages: Li, Zhongliang"),
])
def test_a_number_or_name_the_evidence_does_not_state_abstains(engine, addition, reason):
    sentence = grounded_reply(engine)
    engine.llm.replies[:] = [engine.llm.replies[0].replace(sentence, f"{sentence}{addition}")]
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.abstain_reason == reason


@pytest.mark.parametrize("later, reason", [
    ("It has stood since 1987 [1].", "numbers not in the passages: 1987"),
    ("Li Zhongliang said so [1].", "names not in the passages: Li, Zhongliang"),
    ('He was called "the quiet general of the east" [1].', "quoted words not in the passages: the quiet general of the east"),
])
def test_a_later_sentence_the_evidence_does_not_state_is_left_out_and_the_answer_stands(engine, later, reason):
    sentence = grounded_reply(engine)
    grounded = engine.llm.replies[0]
    engine.llm.replies[:] = [f"{grounded} {later}"]
    answer = engine.ask(QUESTION)
    assert not answer.abstained
    assert sentence in answer.text and later.split(" [")[0] not in answer.text
    assert [x.reason for x in answer.left_out] == [reason] and answer.raw_text.endswith(later)
    assert json.loads(json.dumps(answer.to_dict()))["left_out"][0]["reason"] == reason


def test_a_first_sentence_the_evidence_does_not_state_withdraws_the_whole_reply(engine):
    grounded = grounded_reply(engine)
    engine.llm.replies[:] = [f"It has stood since 1987 [1]. {engine.llm.replies[0]}"]
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.abstain_reason == "numbers not in the passages: 1987"
    assert answer.left_out == () and grounded not in answer.text


def test_a_made_up_quotation_abstains(engine):
    sentence = grounded_reply(engine)
    words = sentence.split()
    first = engine.llm.replies[0].rsplit(" [", 1)[1]
    engine.llm.replies[:] = [f'{sentence}, in the words "{" ".join(reversed(words[:4]))}" [{first}']
    answer = engine.ask(QUESTION)
    assert answer.abstained and answer.abstain_reason.startswith("quoted words not in the passages: ")
    engine.llm.replies[:] = [f'{sentence}, in the words "{" ".join(words[:4])}" [{first}']
    assert not engine.ask(QUESTION).abstained


def test_an_answer_without_the_kind_of_thing_asked_for_abstains(engine):
    engine.llm.replies[:] = ["The navies of China and Russia held joint naval drills [1]."]
    answer = engine.ask("How many warships took part in the joint naval drills?")
    assert answer.abstained and answer.abstain_reason == "the question asks for a number and the answer gives none"
    engine.llm.replies[:] = ["The navies held joint naval drills in 2021 [1]."]
    when = engine.ask("When did China and Russia hold joint naval drills?")
    assert when.abstain_reason != "the question asks for a date and the answer gives none"


def test_a_likely_refusal_abstains_before_any_answer_text_is_shown(engine):
    grounded_reply(engine)
    engine.llm.refusal_probabilities[:] = [0.95]
    engine.refusal_threshold = 0.8
    events = list(engine.ask_stream(QUESTION))
    assert not [e for e in events if isinstance(e, Token)]
    answer = events[-1].answer
    assert answer.abstained and answer.refusal_p == 0.95 and "95%" in answer.abstain_reason


def test_the_threshold_is_calibrated_per_model_unless_given(seeds_index):
    from rag.answer.judge import CALIBRATED, calibrated_threshold

    llm = ScriptedLLM()
    assert Engine(open_store(seeds_index), FakeEmbedder(), llm).refusal_threshold == calibrated_threshold(llm.model_id)
    quality = ScriptedLLM()
    quality.model_id = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    engine = Engine(open_store(seeds_index), FakeEmbedder(), quality)
    assert engine.refusal_threshold == CALIBRATED[quality.model_id]
    fast = ScriptedLLM()
    fast.model_id = "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert engine.with_llm(fast).refusal_threshold == CALIBRATED[fast.model_id], "another model, its own threshold"
    fixed = Engine(open_store(seeds_index), FakeEmbedder(), quality, refusal_threshold=0.3)
    assert fixed.with_llm(fast).refusal_threshold == 0.3, "a threshold given by the user stays"
    assert Engine(open_store(seeds_index), FakeEmbedder(), quality, refusal_threshold=None).refusal_threshold is None
    with pytest.raises(ValueError, match="refusal threshold must be in"):
        Engine(open_store(seeds_index), FakeEmbedder(), quality, refusal_threshold=1.5)


def test_ask_stream_yields_retrieved_then_tokens_then_done(engine):
    grounded_reply(engine)
    engine.llm.replies[:] = [engine.llm.replies[0].replace("].", "][99].")]
    events = list(engine.ask_stream(QUESTION))
    assert isinstance(events[0], Retrieved) and isinstance(events[-1], Done)
    middle = events[1:-1]
    assert middle and all(isinstance(e, Token) for e in middle)
    assert len(middle) > 3  # streamed piece by piece
    streamed = "".join(e.text for e in middle)
    assert "[99]" not in streamed and streamed.replace(" .", ".").strip() == events[-1].answer.text
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
    engine = make_engine(seeds_index, embedder, ["NOT FOUND"])
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


def test_warm_up_reads_at_most_the_sentences_asked_for(seeds_index):
    from rag.answer.engine import _article_sentences
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

    engine = make_engine(seeds_index, Slow(), ["NOT FOUND"])
    thread = engine.warm_up_in_background()
    assert thread.daemon and thread.is_alive()
    assert engine.retrieve(QUESTION)  # served while the warm-up waits
    release.set()
    thread.join(10)
    assert not thread.is_alive() and len(engine.vectors) > 50


def test_the_question_is_analysed_once_per_answer(engine, monkeypatch):
    """Retrieval, evidence selection, the verdict and the sentence checks all read the one analysed question."""
    import sys

    import rag.retrieve.question as question_module

    calls = []
    real = question_module.analyse

    def counting(text):
        calls.append(text)
        return real(text)

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("rag.") and getattr(module, "analyse", None) is real:
            monkeypatch.setattr(module, "analyse", counting)
    grounded_reply(engine)
    calls.clear()
    answer = engine.ask(f"  {QUESTION}")
    assert not answer.abstained and answer.sentences
    assert calls == [QUESTION]
