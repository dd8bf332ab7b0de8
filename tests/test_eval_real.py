"""The eval harness with the real models, checked against eval/floors.json.

(a) retrieval only, full seeds gold set (seconds); (b) the quality model (the default) on the 8-question CI subset
(half a minute); (c) the fast model on the full seeds gold set (about 3 minutes: 6 answerable questions proved too
few to tell a change in the fast model from noise).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from eval.floors import check_floors, load_floors
from eval.report import read_run
from conftest import require_model
from rag.cli import main as cli

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ROOT / "eval" / "floors.json"


@pytest.fixture
def seeds_index(real_seeds_index) -> Path:
    return real_seeds_index


def run_against_floors(key: str, index: Path, out: Path):
    """`rag eval` with the settings and floors of entry ``key``; every floor must hold."""
    code = cli(["eval", "--index", str(index), "--out", str(out), "--floors", str(FLOORS), "--floors-key", key])
    summary, results = read_run(out)
    failed = [c for c in check_floors(summary.metrics, load_floors(FLOORS, key).floors) if not c.ok]
    assert not failed, f"floors of {key} not met (value < floor): {failed}"
    assert code == 0
    return summary, results


def test_retrieval_floors_on_the_seeds_gold_set(seeds_index, tmp_path):
    summary, results = run_against_floors("seeds_retrieval", seeds_index, tmp_path / "run")
    assert summary.run.retrieval_only and summary.run.model_id is None
    assert len(results) == 92 and all(r.answer is None for r in results)
    assert "answer_accuracy" not in summary.metrics


def test_quality_model_floors_on_the_ci_subset(seeds_index, tmp_path):
    from rag.models import BUNDLED

    require_model("quality")
    summary, results = run_against_floors("seeds_ci_quality", seeds_index, tmp_path / "run")
    assert summary.run.model_id == BUNDLED["quality"].model_id
    assert len(results) == 8 and all(r.answer is not None for r in results)
    assert summary.metrics["first_token_p50_s"] is not None


def test_fast_model_floors_on_the_seeds_gold_set(seeds_index, tmp_path):
    from rag.models import BUNDLED

    require_model("fast")
    summary, results = run_against_floors("seeds_fast", seeds_index, tmp_path / "run")
    assert summary.run.model_id == BUNDLED["fast"].model_id
    assert len(results) == 92 and all(r.answer is not None for r in results)
