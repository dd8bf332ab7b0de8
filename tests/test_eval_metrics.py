"""Pure parts of the eval harness: metrics, gold validation, summaries, compare, floors. No models."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import metrics as m
from eval.compare import render_comparison
from eval.floors import check_floors, load_floors, parse_entry, render_checks
from eval.gold import GoldError, load_gold, parse_question
from eval.report import read_run, render_summary, write_run
from eval.results import MarkerRef, QuestionResult, Scores
from eval.summary import METRICS, RunInfo, summarize
from rag.errors import RagError

ROOT = Path(__file__).resolve().parents[1]


# ---- answer text ---------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("The U.S. and the UN", "us and un"),
    ("“play with fire”", "play with fire"),
    ("Russia's Prosecutor General's Office", "russia prosecutor general office"),
    ("the G20.When meeting", "g20 when meeting"),
    ("as “unprecedented.”Following", "as unprecedented following"),
    ("Interaction-2022", "interaction 2022"),
    ("$2,000 or 2.5", "2000 or 25"),
    ("  An   apple, a pear  ", "apple pear"),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert m.normalize_answer(text) == expected


@pytest.mark.parametrize("prediction, gold, expected", [
    ("Putin visited Russia.", "us", False),  # no match inside "russia"
    ("It lasted until May.", "UN", False),  # no match inside "until"
    ("In the UN and the G20 [1].", "UN", True),
    ("The U.S. warned China.", "US", True),
    ("They warned the US not to “play with fire”[1].", "play with fire", True),
    ("Fire[1] was the word", "fire", True),
    ("Interaction-2022 [2]", "Interaction 2022", True),
    ("second-highest ranking", "second highest", True),
    ("SCO", "SCO and CSTO", False),
    ("anything", "the", False),  # a gold answer that normalises to nothing never matches
])
def test_contains_respects_word_boundaries(prediction, gold, expected):
    assert m.contains(prediction, gold) is expected


def test_answer_correct_any_and_all():
    assert m.answer_correct("Russia appreciates support for the SCO.", ["SCO", "CSTO"], "any")
    assert not m.answer_correct("Russia appreciates support for the SCO.", ["SCO", "CSTO"], "all")
    assert m.answer_correct("The SCO and the CSTO [1].", ["SCO", "CSTO"], "all")
    assert not m.answer_correct("anything", [], "any")
    assert not m.answer_correct("", ["Iran"], "any")


def test_exact_match_and_token_f1_take_the_best_gold_answer():
    assert m.exact_match("The Financial Times [1].", ["FT", "Financial Times"]) == 1.0
    assert m.exact_match("It was the Financial Times.", ["Financial Times"]) == 0.0
    assert m.token_f1("Financial Times", ["FT", "Financial Times"]) == 1.0
    assert m.token_f1("SCO and CSTO", ["SCO", "CSTO"]) == pytest.approx(0.5)
    assert m.token_f1("Iran", ["Iraq"]) == 0.0
    assert m.token_f1("", ["Iran"]) == 0.0
    assert m.token_f1("Iran", []) == 0.0


# ---- retrieval ---------------------------------------------------------------------------
def test_retrieval_scores_count_unique_documents():
    ranked = ["a", "a", "b", "a", "c"]  # chunk-level doc ids, best first
    assert m.unique_in_order(ranked) == ["a", "b", "c"]
    assert m.reciprocal_rank(ranked, ["c"]) == pytest.approx(1 / 3)  # third document, fifth chunk
    assert m.reciprocal_rank(ranked, ["z"]) == 0.0
    assert m.reciprocal_rank(ranked, ["c"], depth=2) == 0.0
    assert m.hit(["a", "b"], ["b", "x"]) and not m.hit(["a"], ["x"])
    assert m.recall(["a", "b"], ["b", "x"]) == 0.5
    assert m.recall(["a"], []) is None


def test_markers_and_citation_precision():
    assert m.markers("A [1]. B [2][9]. C [passages 1 and 3].", 3) == [(1, True), (2, True), (9, False), (3, True)]
    assert m.markers("No markers at all.", 3) == []
    assert m.markers("Zero [0].", 3) == [(0, False)]
    assert m.citation_precision(["a", "b"], ["a"]) == 0.5
    assert m.citation_precision([], ["a"]) is None


# ---- aggregates ------------------------------------------------------------------------
def test_aggregates_never_divide_by_zero():
    assert m.ratio(0, 0) is None
    assert m.mean([]) is None and m.mean([None, None]) is None
    assert m.mean([True, False, None]) == 0.5
    assert m.percentile([], 50) is None
    assert m.percentile([3.0], 95) == 3.0
    assert m.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert m.f1_score(None, 1.0) is None and m.f1_score(0.0, 0.0) == 0.0


def test_abstention_scores_edge_cases():
    none_abstained = m.abstention_scores([True, False], [False, False])
    assert none_abstained["abstention_precision"] is None
    assert none_abstained["abstention_recall"] == 0.0
    assert none_abstained["abstention_f1"] is None
    all_answerable = m.abstention_scores([True, True], [True, False])
    assert all_answerable["abstention_recall"] is None
    assert all_answerable["abstention_precision"] == 0.0
    assert all_answerable["false_abstention_rate"] == 0.5
    assert m.abstention_scores([], [])["false_abstention_rate"] is None


# ---- summaries ---------------------------------------------------------------------------
def result(qid="q1", answerable=True, correct=None, abstained=None, cited=(), marks=(), hit=None,
           answer=None, **scores) -> QuestionResult:
    s = Scores(hit_at_k=hit, recall_at_k=None if hit is None else float(hit),
               reciprocal_rank=None if hit is None else float(hit), correct=correct, **scores)
    return QuestionResult(qid, f"question {qid}?", ("x",) if answerable else (), "any", answerable,
                          ("d1",) if answerable else (), (), (), s, answer=answer, raw_text=answer,
                          abstained=abstained, cited_doc_ids=tuple(cited), markers=tuple(marks),
                          first_token_s=0.5 if answer else None, total_s=1.0 if answer else None,
                          prompt_tokens=100 if answer else None)


def info(retrieval_only=False, **kw) -> RunInfo:
    return RunInfo(gold="gold.jsonl", index="idx", top_k=5, depth=10, retrieval_only=retrieval_only, **kw)


def test_summary_with_no_answerable_questions_reports_none():
    results = [result("u1", answerable=False, abstained=True, answer="The articles do not say."),
               result("u2", answerable=False, abstained=False, answer="Ten.")]
    s = summarize(results, info())
    for name in ("retrieval_hit_at_k", "retrieval_mrr_at_10", "answer_accuracy", "token_f1",
                 "citation_precision", "citation_recall", "citation_validity", "false_abstention_rate"):
        assert s.metrics[name] is None, name
    assert s.metrics["abstention_recall"] == 0.5 and s.metrics["abstention_precision"] == 1.0
    assert "n/a" in render_summary(s)


def test_summary_with_zero_citations():
    results = [result("q1", correct=True, abstained=False, answer="Iran.", hit=True, exact_match=1.0, token_f1=1.0)]
    s = summarize(results, info())
    assert s.metrics["answer_accuracy"] == 1.0
    assert s.metrics["citation_validity"] is None and s.metrics["citation_precision"] is None
    assert s.counts["with_citations"] == 0


def test_summary_metrics():
    results = [
        result("q1", correct=True, abstained=False, answer="Iran [1].", hit=True, cited=["d1"],
               marks=[MarkerRef(1, True)], citations_valid=True, citation_precision=1.0, citation_recall=1.0),
        result("q2", correct=False, abstained=True, answer="The articles do not say.", hit=False),
        result("q3", answerable=False, abstained=True, answer="The articles do not say."),
        result("q4", answerable=False, abstained=False, answer="Ten [7].", marks=[MarkerRef(7, False)],
               citations_valid=False),
    ]
    s = summarize(results, info())
    assert s.metrics["answer_accuracy"] == 0.5
    assert s.metrics["retrieval_hit_at_k"] == 0.5
    assert s.metrics["citation_validity"] == 0.5
    assert s.metrics["citation_precision"] == 1.0
    assert s.metrics["abstention_precision"] == 0.5 and s.metrics["abstention_recall"] == 0.5
    assert s.metrics["false_abstention_rate"] == 0.5
    assert s.metrics["first_token_p50_s"] == 0.5 and s.metrics["prompt_tokens_p50"] == 100
    assert s.counts == {"questions": 4, "answerable": 2, "unanswerable": 2, "abstained": 2,
                        "answered_correctly": 1, "with_citations": 1, "empty_answers": 0}
    assert set(s.metrics) == {x.name for x in METRICS}


def test_marker_only_answers_are_counted_as_empty():
    results = [result("q1", correct=False, abstained=False, answer="[1] [2]", hit=True),
               result("q2", correct=False, abstained=True, answer="The articles do not say.", hit=True)]
    s = summarize(results, info())
    assert s.counts["empty_answers"] == 1
    assert "1 answers with no words (markers only)" in render_summary(s)


def test_retrieval_only_summary_has_retrieval_metrics_only():
    s = summarize([result("q1", hit=True)], info(retrieval_only=True))
    assert set(s.metrics) == {"retrieval_hit_at_k", "retrieval_recall_at_k", "retrieval_mrr_at_10"}
    assert "| retrieval hit@5 (documents) | 1.000 |" in render_summary(s)


def test_run_folder_round_trip(tmp_path):
    results = [result("q1", correct=True, abstained=False, answer="A [1].", hit=True, marks=[MarkerRef(1, True)])]
    summary = summarize(results, info(model_id="m"))
    write_run(tmp_path / "run", results, summary)
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"results.jsonl", "summary.json", "summary.md"}
    back_summary, back_results = read_run(tmp_path / "run")
    assert back_results == results and back_summary == summary


def test_read_run_rejects_a_folder_without_summary(tmp_path):
    with pytest.raises(RagError, match="not an eval run folder"):
        read_run(tmp_path)


def test_read_run_rejects_another_format_version(tmp_path):
    write_run(tmp_path, [result("q1", hit=True)], summarize([result("q1", hit=True)], info(retrieval_only=True)))
    data = json.loads((tmp_path / "summary.json").read_text())
    data["format_version"] = 99
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(RagError, match="v1"):
        read_run(tmp_path)


# ---- compare ----------------------------------------------------------------------------
def test_compare_lists_metric_deltas_and_flipped_questions():
    ra = [result("q1", correct=True, abstained=False, answer="Iran [1].", hit=True),
          result("q2", correct=False, abstained=True, answer="The articles do not say.", hit=True),
          result("q3", answerable=False, abstained=True, answer="The articles do not say.")]
    rb = [result("q1", correct=False, abstained=False, answer="Iraq [1].", hit=True),
          result("q2", correct=True, abstained=False, answer="Tuesday [2].", hit=True),
          result("q3", answerable=False, abstained=False, answer="Ten [1]."),
          result("q4", correct=True, abstained=False, answer="x", hit=True)]
    sa, sb = summarize(ra, info(model_id="a")), summarize(rb, info(model_id="b"))
    md = render_comparison("runs/a", sa, ra, "runs/b", sb, rb)
    assert "| metric | A | B | B − A |" in md
    accuracy_row = next(line for line in md.splitlines() if line.startswith("| answer accuracy"))
    assert "0.500" in accuracy_row and "0.667" in accuracy_row and "+0.167 ▲" in accuracy_row
    assert "answer correct: 1 true → false, 1 false → true" in md
    assert "| q1 | yes → no |" in md and "| q2 | no → yes |" in md
    assert "abstained: 2 true → false, 0 false → true" in md
    assert "retrieval hit: no change" in md
    assert "only in B: q4" in md


def test_compare_warns_about_different_gold_files():
    r = [result("q1", hit=True)]
    sa = summarize(r, info(retrieval_only=True, gold_sha256="aa"))
    sb = summarize(r, info(retrieval_only=True, gold_sha256="bb"))
    md = render_comparison("a", sa, r, "b", sb, r)
    assert "warning: the gold files differ" in md
    assert "| retrieval hit@k (documents) | 1.000 | 1.000 | 0 |" in md


# ---- floors -----------------------------------------------------------------------------
def test_check_floors():
    checks = check_floors({"answer_accuracy": 0.6, "abstention_recall": 0.4, "citation_validity": None},
                          {"answer_accuracy": 0.6, "abstention_recall": 0.5, "citation_validity": 0.5,
                           "token_f1": 0.1})
    assert [c.ok for c in checks] == [True, False, False, False]
    table = render_checks("k", checks)
    assert "3 FAILED" in table and "| citation_validity | n/a | 0.5000 | FAIL |" in table
    assert "| answer_accuracy | 0.6000 | 0.6000 | ok |" in table


@pytest.mark.parametrize("entry, message", [
    ({"floors": {"answer_acc": 0.5}}, "unknown metric 'answer_acc'"),
    ({"floors": {"total_p50_s": 0.5}}, "better when lower"),
    ({"floors": {"false_abstention_rate": 0.1}}, "better when lower"),
    ({"retrieval_only": True, "floors": {"answer_accuracy": 0.5}}, "needs the model"),
    ({"floors": {"answer_accuracy": 1.5}}, "must be a number in \\[0, 1\\], got 1.5"),
    ({"floors": {}}, "non-empty"),
    ({"floors": {"answer_accuracy": 0.5}, "topk": 5}, "unknown field 'topk'"),
    ({"floors": {"answer_accuracy": 0.5}, "top_k": 0}, "'top_k' must be an integer > 0, got 0"),
])
def test_floors_entry_validation(entry, message):
    with pytest.raises(RagError, match=message):
        parse_entry("k", entry)


def test_load_floors_names_the_available_keys(tmp_path):
    path = tmp_path / "floors.json"
    path.write_text(json.dumps({"_note": "x", "a": {"floors": {"answer_accuracy": 0.5}}}))
    with pytest.raises(RagError, match="no entry 'b' .* entries: a$"):
        load_floors(path, "b")
    with pytest.raises(RagError, match="not found"):
        load_floors(tmp_path / "missing.json", "a")


def test_repository_floors_file_is_valid():
    for key in ("seeds_retrieval", "seeds_fast", "test_retrieval", "test_ci_quality", "external_retrieval",
                "external_ci_quality"):
        entry = load_floors(ROOT / "eval" / "floors.json", key)
        assert Path(entry.gold).is_file()
        load_gold(entry.gold)
        assert entry.docs is None or Path(entry.docs).is_dir()
    assert "_note" in json.loads((ROOT / "eval" / "floors.json").read_text())


# ---- gold ------------------------------------------------------------------------------
GOOD = {"id": "q1", "question": "Who?", "answers": ["Xu"], "doc_ids": ["d1"], "answerable": True, "match": "any"}


def line(**changes) -> str:
    row = {**GOOD, **changes}
    return json.dumps({k: v for k, v in row.items() if v is not ...})


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    (line(answer=["Xu"]), "unknown field 'answer'"),
    (line(doc_ids=...), "missing field 'doc_ids'"),
    (line(id=""), "'id' must be a non-empty string, got ''"),
    (line(question=3), "'question' must be a non-empty string, got 3"),
    (line(answers="Xu"), "'answers' must be a list of strings, got 'Xu'"),
    (line(answers=["Xu", 2]), "'answers entry' must be a non-empty string, got 2"),
    (line(answers=["Xu", "Xu"]), "repeats an entry"),
    (line(answers=["The"]), "answer 'The' is empty after normalisation"),
    (line(answerable="yes"), "'answerable' must be true or false, got 'yes'"),
    (line(match="some"), "'match' must be \"any\" or \"all\", got 'some'"),
    (line(answers=[]), "needs at least one entry in 'answers', got \\[\\]"),
    (line(doc_ids=[]), "needs at least one entry in 'doc_ids'"),
    (line(answerable=False), "must have empty 'answers', got \\['Xu'\\]"),
    (line(answerable=False, answers=[]), "must have empty 'doc_ids', got \\['d1'\\]"),
])
def test_gold_errors_name_the_line_and_value(tmp_path, text, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(line(id="q0") + "\n\n" + text + "\n")
    with pytest.raises(GoldError, match=message) as err:
        load_gold(path)
    assert f"{path}:3:" in str(err.value)


def test_gold_file_level_errors(tmp_path):
    with pytest.raises(GoldError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(GoldError, match="holds no questions"):
        load_gold(tmp_path / "empty.jsonl")
    (tmp_path / "dup.jsonl").write_text(line() + "\n" + line() + "\n")
    with pytest.raises(GoldError, match="dup.jsonl:2: duplicate id 'q1' \\(first on line 1\\)"):
        load_gold(tmp_path / "dup.jsonl")


def test_match_defaults_to_any():
    assert parse_question(line(match=...)).match == "any"


def test_repository_gold_files():
    seeds = load_gold(ROOT / "eval" / "gold" / "seeds.jsonl")
    test = load_gold(ROOT / "eval" / "gold" / "seeds_test.jsonl")
    external = load_gold(ROOT / "eval" / "external" / "cct" / "gold.jsonl")
    assert (len(seeds), len(test), len(external)) == (92, 76, 120)
    answerable = [q for q in test if q.answerable]
    unanswerable = [q for q in test if not q.answerable]
    assert len(answerable) >= 45 and len(unanswerable) >= 15 and sum(len(q.doc_ids) > 1 for q in test) >= 8
    assert not {q.question for q in test} & {q.question for q in seeds}, "test questions are not dev questions"
    for full, subset, strides in ((test, "gold/seeds_test_ci.jsonl", (8, 4)),
                                  (external, "external/cct_ci.jsonl", (10, 10))):
        ci = load_gold(ROOT / "eval" / subset)
        expected = [q for q in full if q.answerable][:: strides[0]] + [q for q in full if not q.answerable][:: strides[1]]
        assert ci == expected, f"{subset} is every n-th question of its set, verbatim"


def test_gold_answers_appear_in_their_articles():
    """Every answerable question has an answer in its gold articles (q74 is computed: 8 -> 10 November)."""
    articles = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "seeds").glob("*.txt")}
    for q in [*load_gold(ROOT / "eval" / "gold" / "seeds.jsonl"), *load_gold(ROOT / "eval" / "gold" / "seeds_test.jsonl")]:
        assert all(d in articles for d in q.doc_ids), q.id
        if q.answerable and q.id != "q74":
            text = " ".join(articles[d] for d in q.doc_ids)
            assert m.answer_correct(text, q.answers, q.match), q.id
