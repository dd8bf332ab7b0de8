"""Floors: minimum values of summary metrics that a run must reach (checked in CI).

eval/floors.json maps a key to an entry; keys starting with "_" are notes::

    {"seeds_retrieval": {"gold": "eval/gold/seeds.jsonl", "retrieval_only": true, "top_k": 5,
                         "floors": {"retrieval_hit_at_k": 0.9, "retrieval_mrr_at_10": 0.8}}}

The entry's gold, docs, model, top_k and retrieval_only say which run its floors were measured on (``docs``: a
corpus ingested into a temporary index for the run, as ``rag eval --docs``); relative paths are looked up from
the current folder, then from the folders above the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from rag.errors import RagError

from .report import format_value
from .summary import METRIC_BY_NAME

ENTRY_FIELDS = ("gold", "docs", "model", "top_k", "retrieval_only", "floors")
TOLERANCE = 1e-9  # a metric equal to its floor passes despite float rounding


@dataclass(frozen=True)
class FloorsEntry:
    key: str
    floors: dict[str, float]
    gold: str | None = None
    model: str | None = None
    top_k: int | None = None
    retrieval_only: bool = False
    docs: str | None = None  # a corpus ingested into a temporary index for the run (rag eval --docs)


@dataclass(frozen=True)
class Check:
    metric: str
    value: float | None
    floor: float

    @property
    def ok(self) -> bool:
        return self.value is not None and self.value >= self.floor - TOLERANCE


def load_floors(path: str | Path, key: str) -> FloorsEntry:
    """The entry ``key`` of a floors file, validated; raises RagError naming the bad value."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RagError(f"floors file {path} not found; e.g. eval/floors.json") from e
    except (OSError, ValueError) as e:
        raise RagError(f"cannot read floors file {path}: {e}") from e
    keys = [k for k in data if not k.startswith("_")] if isinstance(data, dict) else []
    if key not in keys:
        raise RagError(f"no entry {key!r} in {path}; entries: {', '.join(keys) or 'none'}")
    entry = parse_entry(key, data[key], str(path))
    if entry.gold:
        entry = replace(entry, gold=str(find_relative(entry.gold, path)))
    if entry.docs:
        entry = replace(entry, docs=str(find_relative(entry.docs, path)))
    return entry


def find_relative(name: str, floors_path: Path) -> Path:
    """A path named in a floors file: as given if it exists from here, else from a folder above the file."""
    given = Path(name)
    if given.is_absolute() or given.exists():
        return given
    for base in floors_path.resolve().parents:
        if (base / given).exists():
            return base / given
    return given


def parse_entry(key: str, entry: object, where: str = "floors") -> FloorsEntry:
    here = f"{where}: entry {key!r}"
    if not isinstance(entry, dict):
        raise RagError(f"{here} must be an object, got {entry!r}")
    unknown = sorted(k for k in set(entry) - set(ENTRY_FIELDS) if not k.startswith("_"))
    if unknown:
        raise RagError(f"{here}: unknown field {unknown[0]!r}; fields are {', '.join(ENTRY_FIELDS)}")
    floors = entry.get("floors")
    if not isinstance(floors, dict) or not floors:
        raise RagError(f"{here}: 'floors' must be a non-empty object of metric: minimum, got {floors!r}")
    retrieval_only = entry.get("retrieval_only", False)
    if not isinstance(retrieval_only, bool):
        raise RagError(f"{here}: 'retrieval_only' must be true or false, got {retrieval_only!r}")
    top_k = entry.get("top_k")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k <= 0):
        raise RagError(f"{here}: 'top_k' must be an integer > 0, got {top_k!r}")
    for name, value in floors.items():
        metric = METRIC_BY_NAME.get(name)
        if metric is None:
            raise RagError(f"{here}: unknown metric {name!r}; metrics are {', '.join(METRIC_BY_NAME)}")
        if not metric.higher_is_better:
            raise RagError(f"{here}: {name!r} is better when lower; floors are minimums")
        if retrieval_only and metric.needs_llm:
            raise RagError(f"{here}: {name!r} needs the model, but the entry is retrieval_only")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise RagError(f"{here}: floor of {name!r} must be a number in [0, 1], got {value!r}")
    docs = entry.get("docs")
    if docs is not None and (not isinstance(docs, str) or not docs):
        raise RagError(f"{here}: 'docs' must be a folder path, got {docs!r}")
    return FloorsEntry(key, {k: float(v) for k, v in floors.items()}, entry.get("gold"), entry.get("model"),
                       top_k, retrieval_only, docs)


def check_floors(metrics: Mapping[str, float | None], floors: Mapping[str, float]) -> list[Check]:
    """One check per floor; a metric that is missing or n/a fails.

    >>> checks = check_floors({"answer_accuracy": 0.5, "token_f1": None}, {"answer_accuracy": 0.5, "token_f1": 0})
    >>> [c.ok for c in checks]
    [True, False]
    """
    return [Check(name, metrics.get(name), floor) for name, floor in floors.items()]


def render_checks(key: str, checks: list[Check]) -> str:
    failed = sum(1 for c in checks if not c.ok)
    lines = [f"### floors {key}: {'all ok' if not failed else f'{failed} FAILED'}", "",
             "| metric | value | floor | check |", "|---|---:|---:|---|"]
    for c in checks:
        lines.append(f"| {c.metric} | {format_value(c.metric, c.value, 4)} | {format_value(c.metric, c.floor, 4)} | "
                     f"{'ok' if c.ok else 'FAIL'} |")
    return "\n".join(lines) + "\n"
