"""The eval harness end to end with the fake embedder and a scripted LLM (fast, no real models)."""
from __future__ import annotations

import json
import os
import re

import pytest
from fakes import FakeEmbedder, ScriptedLLM

import eval.harness as harness
from eval import metrics as m
from eval.gold import Question
from eval.report import read_run
from eval.results import MarkerRef
from rag.answer.cite import resolve_markers
from cli.main import main as cli
from rag.answer.engine import NOT_IN_ARTICLES, Engine
from rag.store import open_store
from rag.retrieve.retriever import Retriever
from rag.types import Answer, Citation, Timings

D000, D001 = "000_d9ac26facaa1f05c", "001_80ea79b3f3bb210f"
QUESTIONS = [
    Question("q1", "What did the Chinese Communist Party warn the US not to do?", ("play with fire",), (D000,), True),
    Question("q2", "Which two organisations did Putin say Russia appreciates China's support for?",
             ("SCO", "CSTO"), (D001,), True, "all"),
    Question("q3", "What is the population of Russia?", (), (), False),
]
REPLIES = [
    "The party warned the US not to “play with fire”[1].",
    "The SCO [1][99].",
    "The articles do not say.",
]


@pytest.fixture
def fake_index(tmp_path, seeds_dir):
    """The seeds ingested with the fake embedder; overrides conftest's fixture, which loses article 003
    (FakeEmbedder's 60-token limit minus its 20-token title leaves no more than the 40-token overlap)."""
    from rag.ingest.pipeline import ingest

    report = ingest([seeds_dir], tmp_path / "idx", FakeEmbedder(max_tokens=120))
    assert len(report.added) == 5, report.skipped
    return tmp_path / "idx"


def engine_for(index_path, replies=REPLIES, top_k=3) -> Engine:
    return Engine(open_store(index_path), FakeEmbedder(), ScriptedLLM(replies), top_k=top_k)


def write_gold(path, questions=QUESTIONS):
    rows = [{"id": q.id, "question": q.question, "answers": list(q.answers), "doc_ids": list(q.doc_ids),
             "answerable": q.answerable, "match": q.match} for q in questions]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_answer(question: str, raw: str, passages, model_id: str = "stub-llm") -> Answer:
    """An Answer as an engine returns it: markers resolved, abstention on "The articles do not say"."""
    text, cited = resolve_markers(raw, len(passages))
    abstained = raw.startswith("The articles do not say")
    return Answer(question=question, text=NOT_IN_ARTICLES if abstained else text,
                  citations=() if abstained else tuple(Citation(n, passages[n - 1]) for n in cited),
                  passages=tuple(passages), abstained=abstained, model_id=model_id, raw_text=raw,
                  timings=Timings(retrieve_s=0.01, first_token_s=0.1, generate_s=0.2, total_s=0.3,
                                  prompt_tokens=100, completion_tokens=5))


def scripted_ask(retrieve, top_k: int, replies=REPLIES):
    """ask(question) giving REPLIES in order over the top_k retrieved passages (no engine post-processing)."""
    replies = iter(replies)
    return lambda question: make_answer(question, next(replies), retrieve(question, top_k))


def test_scores_from_answers(fake_index):
    engine = engine_for(fake_index)
    r1, r2, r3 = harness.evaluate(QUESTIONS, engine.retrieve, scripted_ask(engine.retrieve, 3), 3, progress=False)

    assert r1.scores.correct is True and r1.abstained is False
    assert r1.markers == (MarkerRef(1, True),) and r1.scores.citations_valid is True
    assert r1.cited_doc_ids == (r1.retrieved[0].doc_id,) == r1.context_doc_ids[:1]
    assert r1.scores.citation_precision == float(r1.retrieved[0].doc_id == D000)
    assert r1.scores.citation_recall == float(r1.retrieved[0].doc_id == D000)
    assert (r1.first_token_s, r1.total_s, r1.prompt_tokens, r1.model_id) == (0.1, 0.3, 100, "stub-llm")

    assert r2.scores.correct is False  # match "all": CSTO is missing
    assert r2.markers == (MarkerRef(1, True), MarkerRef(99, False)) and r2.scores.citations_valid is False
    assert "[99]" not in r2.answer and "[99]" in r2.raw_text
    # EM and F1 take the best single gold answer, so "The SCO" scores 1 even though "match" is "all"
    assert r2.scores.exact_match == 1.0 and r2.scores.token_f1 == 1.0

    assert r3.abstained is True and r3.scores.correct is None and r3.scores.hit_at_k is None
    assert r3.cited_doc_ids == () and r3.scores.citations_valid is None


def test_evaluate_engine_with_a_scripted_llm(fake_index):
    engine = engine_for(fake_index)
    answers = []

    def ask(question):
        answers.append(engine.ask(question))
        return answers[-1]

    results = harness.evaluate(QUESTIONS, engine.retrieve, ask, engine.top_k, progress=False)
    assert len(engine.llm.prompts) == 3
    for q, r, a in zip(QUESTIONS, results, answers):
        assert (r.answer, r.raw_text, r.abstained) == (a.text, a.raw_text, a.abstained)
        assert r.cited_doc_ids == tuple(a.cited_doc_ids)
        assert r.context_doc_ids == tuple(p.doc_id for p in a.passages)
        assert [(x.number, x.resolved) for x in r.markers] == m.markers(a.raw_text, len(a.passages))
        if q.answerable:
            assert r.scores.correct == (not a.abstained and m.answer_correct(a.text, q.answers, q.match))
    assert results[0].scores.correct is True  # the reply quotes the article
    assert results[2].abstained is True


def test_retrieval_is_scored_at_depth_over_unique_documents(fake_index):
    engine = engine_for(fake_index)
    for r in harness.evaluate_engine(QUESTIONS, engine, retrieval_only=True, progress=False):
        assert len(r.retrieved) == min(10, engine.store.info.chunks)
        assert [p.rank for p in r.retrieved] == list(range(1, len(r.retrieved) + 1))
        assert list(r.retrieved_doc_ids) == list(dict.fromkeys(p.doc_id for p in r.retrieved))
        if r.answerable:  # hit@k on the top k as the model gets them (each ranking's best chunk kept among them)
            top_docs = {p.doc_id for p in engine.retrieve(r.question, 3)}
            assert r.scores.hit_at_k == bool(top_docs & set(r.gold_doc_ids))
            first = next((i for i, d in enumerate(r.retrieved_doc_ids, 1) if d in r.gold_doc_ids), None)
            assert r.scores.reciprocal_rank == (1 / first if first else 0.0)


def test_retrieval_only_never_touches_the_llm(fake_index):
    engine = engine_for(fake_index)
    results = harness.evaluate_engine(QUESTIONS, engine, retrieval_only=True, progress=False)
    assert engine.llm.prompts == []
    assert all(r.answer is None and r.abstained is None and r.scores.correct is None for r in results)


def test_progress_bar_goes_to_stderr(fake_index, capsys):
    harness.evaluate_engine(QUESTIONS, engine_for(fake_index), progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "3/3" in err and "correct 1/2" in err


# ---- through the command, with the models swapped for fakes -----------------------------
@pytest.fixture
def fake_models(monkeypatch, fake_index):
    """Make `rag eval` build fake components instead of loading the real models."""
    llms: list[ScriptedLLM] = []

    def full(s):
        engine = engine_for(s.index, top_k=s.top_k)
        llms.append(engine.llm)
        return engine.store, engine.retrieve, scripted_ask(engine.retrieve, s.top_k), "stub-llm", 0.8

    def retrieval_only(s):
        index = open_store(s.index)
        return index, Retriever(index, FakeEmbedder()).retrieve, None, None, None

    monkeypatch.setattr(harness, "_full", full)
    monkeypatch.setattr(harness, "_retrieval_only", retrieval_only)
    return llms


def test_cli_writes_the_run_folder(tmp_path, fake_index, fake_models, capsys):
    gold = write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "run"
    assert cli(["eval", str(gold), "--index", str(fake_index), "--out", str(out), "--top-k", "3"]) == 0
    stdout = capsys.readouterr().out
    assert "| answer accuracy (containment) | 0.500 |" in stdout
    assert (out / "summary.md").read_text() in stdout
    summary, results = read_run(out)
    assert [r.id for r in results] == ["q1", "q2", "q3"]
    assert summary.run.model_id == "stub-llm" and summary.run.top_k == 3 and summary.run.cores >= 1
    assert summary.metrics["abstention_recall"] == 1.0 and summary.metrics["citation_validity"] == 0.5
    row = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    for key in ("id", "question", "answers", "answerable", "answer", "raw_text", "retrieved", "cited_doc_ids",
                "markers", "abstained", "scores", "first_token_s", "total_s", "prompt_tokens"):
        assert key in row


def test_cli_compare_and_floors(tmp_path, fake_index, fake_models, capsys):
    gold = write_gold(tmp_path / "gold.jsonl")
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({
        "_note": "test",
        "fake_retrieval": {"gold": str(gold), "retrieval_only": True, "top_k": 3,
                           "floors": {"retrieval_hit_at_k": 0.0, "retrieval_mrr_at_10": 0.0}},
        "fake_answers": {"gold": str(gold), "model": "fast", "top_k": 3,
                         "floors": {"answer_accuracy": 0.5, "abstention_recall": 1.0, "citation_validity": 0.6}},
    }))
    base = ["eval", "--index", str(fake_index), "--top-k", "3", "--floors", str(floors)]
    assert cli([*base, "--floors-key", "fake_retrieval", "--out", str(tmp_path / "a")]) == 0
    assert fake_models == []  # retrieval_only came from the floors entry
    assert "### floors fake_retrieval: all ok" in capsys.readouterr().out

    assert cli([*base, "--floors-key", "fake_answers", "--out", str(tmp_path / "b")]) == 1
    stdout = capsys.readouterr().out
    assert "| citation_validity | 0.5000 | 0.6000 | FAIL |" in stdout
    assert "| answer_accuracy | 0.5000 | 0.5000 | ok |" in stdout

    assert cli(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    md = capsys.readouterr().out
    assert "| answer accuracy (containment) | n/a | 0.500 | n/a |" in md
    assert "| retrieval MRR@10 (documents) |" in md


def test_cli_docs_ingests_a_corpus_into_a_temporary_index(tmp_path, seeds_dir, fake_models, monkeypatch, capsys):
    import rag.embed.embedder
    import rag.indexes

    for module in (rag.embed.embedder, rag.indexes):
        monkeypatch.setattr(module, "SentenceTransformerEmbedder", lambda **k: FakeEmbedder(max_tokens=120))
    made = []
    real_ingest = harness._ingest_corpus
    monkeypatch.setattr(harness, "_ingest_corpus", lambda *a: made.append(real_ingest(*a)) or made[-1])
    gold = write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "run"
    assert cli(["eval", str(gold), "--docs", str(seeds_dir), "--out", str(out), "--retrieval-only"]) == 0
    summary, results = read_run(out)
    assert len(results) == 3 and summary.metrics["retrieval_hit_at_k"] is not None
    assert summary.run.index == f"temporary index of {seeds_dir}"
    assert made and not os.path.exists(made[0]), "the temporary index is gone after the run"
    assert "5 added" in capsys.readouterr().err
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"docs_entry": {"gold": str(gold), "docs": str(seeds_dir), "retrieval_only": True,
                                                 "floors": {"retrieval_hit_at_k": 0.0}}}))
    assert cli(["eval", "--floors", str(floors), "--floors-key", "docs_entry", "--out", str(tmp_path / "f")]) == 0
    assert "### floors docs_entry: all ok" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["eval", "{gold}", "--docs", "{tmp}", "--index", "i", "--out", "o"], "not both"),
    (["eval", "{gold}", "--docs", "{tmp}/nothing", "--out", "o"], "no such file or folder"),
    (["eval", "--index", "i", "--out", "o"], "which gold file?"),
    (["eval", "{gold}", "--out", "o"], "--index is required"),
    (["eval", "{gold}", "--index", "i"], "--out is required"),
    (["eval", "{tmp}/missing.jsonl", "--index", "i", "--out", "o"], "gold file .*missing.jsonl not found"),
    (["eval", "{gold}", "--index", "i", "--out", "o", "--floors", "f.json"], "--floors and --floors-key go together"),
    (["eval", "{gold}", "--index", "{tmp}/nothing", "--out", "o", "--retrieval-only"], "no index at"),
    (["eval", "--compare", "{tmp}", "{tmp}"], "not an eval run folder"),
])
def test_cli_user_errors(tmp_path, capsys, argv, message):
    gold = write_gold(tmp_path / "gold.jsonl")
    argv = [a.format(gold=gold, tmp=tmp_path) for a in argv]
    assert cli(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and re.search(message, err)


def test_cli_bad_gold_line_is_named(tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "q1", "question": "Who?", "answers": ["Xu"], "doc_ids": ["d"],
                                "answerable": True, "match": "most"}) + "\n")
    assert cli(["eval", str(gold), "--index", "i", "--out", "o"]) == 1
    assert f"{gold}:1: 'match' must be \"any\" or \"all\", got 'most'" in capsys.readouterr().err


def test_cli_rejects_a_run_that_does_not_match_the_floors(tmp_path, capsys):
    gold = write_gold(tmp_path / "gold.jsonl")
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"k": {"gold": str(gold), "model": "fast", "top_k": 8,
                                        "floors": {"answer_accuracy": 0.5}}}))
    base = ["eval", "--index", "i", "--out", "o", "--floors", str(floors), "--floors-key", "k"]
    assert cli([*base, "--top-k", "3"]) == 1
    assert "measured with --top-k 8, not 3" in capsys.readouterr().err
    assert cli([*base, "--model", "quality"]) == 1
    assert "measured with --model fast, not quality" in capsys.readouterr().err
    other = write_gold(tmp_path / "other.jsonl", QUESTIONS[:1])
    assert cli([*base, str(other)]) == 1
    assert "were measured on" in capsys.readouterr().err


def test_cli_rejects_gold_documents_missing_from_the_index(tmp_path, fake_index, fake_models, capsys):
    gold = write_gold(tmp_path / "gold.jsonl", [Question("q1", "Who?", ("Xu",), ("999_missing",), True)])
    assert cli(["eval", str(gold), "--index", str(fake_index), "--out", str(tmp_path / "o"), "--retrieval-only"]) == 1
    assert "gold documents not in index" in capsys.readouterr().err


def test_cli_names_questions_whose_gold_articles_do_not_state_the_answer(tmp_path, fake_index, fake_models,
                                                                        capsys):
    """An answer the gold articles give in other words ("Russian" for "Russians and Chinese", a computed
    figure) can never count as in the evidence: the run says which questions those are and how many."""
    reworded = Question("q4", "Who do the articles say the Chinese Communist Party warned?",
                        ("the Americans",), (D000,), True)
    gold = write_gold(tmp_path / "gold.jsonl", [*QUESTIONS, reworded])
    out = tmp_path / "run"
    assert cli(["eval", str(gold), "--index", str(fake_index), "--out", str(out), "--top-k", "3",
                "--retrieval-only"]) == 0
    captured = capsys.readouterr()
    assert "note: 1 of 3 answerable questions have an answer their gold articles do not state" in captured.err
    assert "(q4)" in captured.err
    summary, results = read_run(out)
    assert summary.metrics["gold_answers_stated"] == pytest.approx(2 / 3)
    assert [r.scores.answer_stated for r in results] == [True, True, None, False]
    assert "| gold answers their gold articles state (what evidence recall can count) | 0.667 |" in captured.out


def test_answers_stated_reads_multi_article_answers_across_their_articles():
    from eval.gold import answers_stated

    both = Question("q", "Which two?", ("SCO", "CSTO"), ("a", "b"), True, "all")
    none = Question("u", "Unanswerable?", (), (), False)
    assert answers_stated([both, none], {"a": "the SCO met", "b": "and the CSTO"}) == {"q": True}
    assert answers_stated([both], {"a": "the SCO met", "b": "nothing"}) == {"q": False}
    assert answers_stated([both], {"a": "the SCO and CSTO"}) == {"q": True}  # b not indexed: a states both


def test_replay_judges_the_recorded_replies_again_without_the_llm(tmp_path, fake_index, monkeypatch, capsys):
    import rag.indexes
    from eval.replay import RecordedLLM
    from rag.errors import RagError

    def full(s):  # the recording: a real engine (trimming, verdict, checks) over scripted replies
        engine = engine_for(s.index, top_k=s.top_k)
        return engine.store, engine.retrieve, engine.ask, engine.model_id, engine.refusal_threshold

    monkeypatch.setattr(harness, "_full", full)
    monkeypatch.setattr(rag.indexes, "embedder_for_index", lambda index: FakeEmbedder())
    gold = write_gold(tmp_path / "gold.jsonl")
    base = ["eval", str(gold), "--index", str(fake_index), "--top-k", "3"]
    assert cli([*base, "--out", str(tmp_path / "rec")]) == 0
    assert cli([*base, "--replay", str(tmp_path / "rec"), "--out", str(tmp_path / "again")]) == 0
    assert "read other evidence" not in capsys.readouterr().err
    (_, recorded), (summary, replayed) = read_run(tmp_path / "rec"), read_run(tmp_path / "again")
    assert [(r.answer, r.abstained, r.raw_text) for r in replayed] == [(r.answer, r.abstained, r.raw_text)
                                                                      for r in recorded]
    assert summary.run.model_id == f"scripted-llm (replayed from {tmp_path / 'rec'})"

    # other evidence than the recorded model read: named, since the recorded reply does not answer it
    assert cli([*base[:-1], "2", "--replay", str(tmp_path / "rec"), "--out", str(tmp_path / "k2")]) == 0
    assert "question(s) read other evidence than in" in capsys.readouterr().err

    llm = RecordedLLM(recorded)
    with pytest.raises(RagError, match=r"no recorded reply to the question 'Who won\?'"):
        list(llm.stream([{"role": "user", "content": "sentences\n\nQuestion: Who won?"}]))
    assert cli(["eval", str(gold), "--index", str(fake_index), "--retrieval-only", "--out", str(tmp_path / "r")]) == 0
    with pytest.raises(RagError, match="retrieval-only"):
        RecordedLLM(read_run(tmp_path / "r")[1])
