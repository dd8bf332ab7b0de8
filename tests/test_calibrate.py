"""Calibrating the refusal threshold from a run made without one (eval/calibrate.py)."""
from __future__ import annotations

import pytest

from eval.calibrate import SweepRow, calibrated, render_sweep, sweep, sweep_run
from eval.report import write_run
from eval.results import QuestionResult, Scores
from eval.summary import RunInfo, summarize
from rag.errors import RagError


def result(qid: str, answerable: bool, correct: bool | None, abstained: bool, p: float | None) -> QuestionResult:
    return QuestionResult(id=qid, question=f"question {qid}?", answers=("x",) if answerable else (), match="any",
                          answerable=answerable, gold_doc_ids=("d",) if answerable else (), retrieved=(),
                          retrieved_doc_ids=(), scores=Scores(correct=correct if answerable else None),
                          answer="Not in the articles" if abstained else "an answer", abstained=abstained,
                          refusal_p=p)


RESULTS = [
    result("a1", True, True, False, 0.05),
    result("a2", True, True, False, 0.40),   # a correct answer the model was unsure of
    result("a3", True, False, False, 0.70),  # a wrong answer it was unsure of
    result("u1", False, None, False, 0.60),  # leaked: only the refusal catches it
    result("u2", False, None, True, 0.10),   # caught by another check already
]


def test_without_a_threshold_only_the_other_checks_abstain():
    off = sweep(RESULTS, [])[0]
    assert off.threshold is None and off.refused == 0
    assert off.accuracy == pytest.approx(2 / 3) and off.abstention_recall == 0.5 and off.false_abstention == 0


def test_each_threshold_adds_the_questions_the_model_would_refuse():
    rows = {r.threshold: r for r in sweep(RESULTS, [0.3, 0.5, 0.8])}
    assert rows[0.5].abstention_recall == 1.0 and rows[0.5].false_abstention == pytest.approx(1 / 3)
    assert rows[0.5].accuracy == pytest.approx(2 / 3), "abstaining on a wrong answer costs no accuracy"
    assert rows[0.5].refused == 2 and rows[0.5].abstention_precision == pytest.approx(2 / 3)
    assert rows[0.3].accuracy == pytest.approx(1 / 3) and rows[0.3].refused == 3
    assert rows[0.8].refused == 0 and rows[0.8].abstention_recall == 0.5


def test_the_calibrated_threshold_is_the_middle_of_the_best_range():
    rows = sweep(RESULTS, [0.3, 0.45, 0.5, 0.55, 0.6, 0.8])
    # 0.45 .. 0.6 all abstain on u1 and a3 and keep a1, a2: 4 questions right; 0.5 is in the middle of the range
    assert [r.right for r in rows] == [3, 3, 4, 4, 4, 4, 3]
    assert calibrated(rows) == 0.5
    never = [SweepRow(None, 0.9, None, 0.5, 0.0, 0, 10), SweepRow(0.5, 0.8, None, 0.5, 0.1, 1, 9)]
    assert calibrated(never) is None, "no threshold beats none"


def test_a_run_without_answers_cannot_be_calibrated():
    bare = [QuestionResult(id="a", question="q?", answers=("x",), match="any", answerable=True, gold_doc_ids=("d",),
                           retrieved=(), retrieved_doc_ids=(), scores=Scores())]
    with pytest.raises(RagError, match="retrieval-only"):
        sweep(bare)


def run_folder(tmp_path, threshold: str, results=RESULTS):
    info = RunInfo(gold="g.jsonl", index="idx", top_k=5, depth=10, retrieval_only=False, refusal_threshold=threshold)
    return write_run(tmp_path / f"run_{threshold}", results, summarize(results, info))


def test_a_run_made_with_a_threshold_is_refused(tmp_path):
    with pytest.raises(RagError, match="--refusal-threshold off"):
        sweep_run(run_folder(tmp_path, "0.5"))


def test_a_run_without_probabilities_is_refused(tmp_path):
    no_p = [result("a1", True, True, False, None)]
    with pytest.raises(RagError, match="no refusal probabilities"):
        sweep_run(run_folder(tmp_path, "off", no_p))


def test_the_table_has_a_row_per_threshold_and_names_the_calibrated_one(tmp_path):
    rows = sweep_run(run_folder(tmp_path, "off"))
    table = render_sweep(rows)
    assert "| off |" in table and "| 0.50 |" in table and "| 0.99 |" in table
    assert f"calibrated: --refusal-threshold {calibrated(rows)} " in table
