"""Gold question sets: JSON Lines, one question per line, validated on load.

Each line is an object::

    {"id": "q01", "question": "...", "answers": ["acceptable answer", "another wording"],
     "doc_ids": ["004_4f88f7a8625b6b03"], "answerable": true, "match": "any"}

- ``id``: unique non-empty string.
- ``question``: non-empty string.
- ``answers``: short acceptable answers. An answer is correct when, after SQuAD
  normalisation (lowercase, no punctuation, no a/an/the, single spaces), one of them
  (``"match": "any"``) or every one of them (``"match": "all"``) appears in it as
  whole words. Empty for unanswerable questions.
- ``doc_ids``: the indexed articles that hold the answer (all of them for multi-article
  questions). Empty for unanswerable questions.
- ``answerable``: false when the articles do not hold the answer; the system should abstain.
- ``match``: "any" (default) or "all".

Blank lines are skipped; any other problem is a ``RagError`` naming the file, line and value.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from rag.errors import RagError

from .metrics import answer_correct, normalize_answer

FIELDS = ("id", "question", "answers", "doc_ids", "answerable", "match")
MATCH_MODES = ("any", "all")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    answerable: bool
    match: str = "any"


class GoldError(RagError):
    pass


def load_gold(path: str | Path) -> list[Question]:
    """The questions of a gold file, validated; raises GoldError naming the line and bad value."""
    path = Path(path)
    if not path.is_file():
        raise GoldError(f"gold file {path} not found; e.g. eval/gold/seeds.jsonl")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise GoldError(f"cannot read gold file {path}: {e}") from e
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        q = parse_question(line, where)
        if q.id in seen:
            raise GoldError(f"{where}: duplicate id {q.id!r} (first on line {seen[q.id]})")
        seen[q.id] = lineno
        questions.append(q)
    if not questions:
        raise GoldError(f"gold file {path} holds no questions")
    return questions


def parse_question(line: str, where: str = "<line>") -> Question:
    """One gold line, validated.

    >>> q = parse_question('{"id": "q1", "question": "Who?", "answers": ["Xu"], "doc_ids": ["d"], "answerable": true}')
    >>> q.match
    'any'
    """
    try:
        row = json.loads(line)
    except ValueError as e:
        raise GoldError(f"{where}: not valid JSON ({e})") from e
    if not isinstance(row, dict):
        raise GoldError(f"{where}: expected a JSON object, got {type(row).__name__}")
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise GoldError(f"{where}: unknown field {unknown[0]!r}; fields are {', '.join(FIELDS)}")
    missing = [f for f in FIELDS if f != "match" and f not in row]
    if missing:
        raise GoldError(f"{where}: missing field {missing[0]!r}")
    qid = _nonempty_str(row["id"], "id", where)
    question = _nonempty_str(row["question"], "question", where)
    answers = _str_list(row["answers"], "answers", where)
    doc_ids = _str_list(row["doc_ids"], "doc_ids", where)
    answerable = row["answerable"]
    if not isinstance(answerable, bool):
        raise GoldError(f"{where}: 'answerable' must be true or false, got {answerable!r}")
    match = row.get("match", "any")
    if match not in MATCH_MODES:
        raise GoldError(f"{where}: 'match' must be \"any\" or \"all\", got {match!r}")
    for a in answers:
        if not normalize_answer(a):
            raise GoldError(f"{where}: answer {a!r} is empty after normalisation (punctuation and articles)")
    if answerable and (not answers or not doc_ids):
        field = "answers" if not answers else "doc_ids"
        raise GoldError(f"{where}: answerable question {qid!r} needs at least one entry in {field!r}, got []")
    if not answerable and (answers or doc_ids):
        field, value = ("answers", answers) if answers else ("doc_ids", doc_ids)
        raise GoldError(f"{where}: unanswerable question {qid!r} must have empty {field!r}, got {list(value)!r}")
    return Question(qid, question, tuple(answers), tuple(doc_ids), answerable, match)


def _nonempty_str(value: object, name: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GoldError(f"{where}: {name!r} must be a non-empty string, got {value!r}")
    return value


def _str_list(value: object, name: str, where: str) -> list[str]:
    if not isinstance(value, list):
        raise GoldError(f"{where}: {name!r} must be a list of strings, got {value!r}")
    for v in value:
        _nonempty_str(v, f"{name} entry", where)
    if len(set(value)) != len(value):
        raise GoldError(f"{where}: {name!r} repeats an entry: {value!r}")
    return value


def answers_stated(questions: Sequence[Question], articles: Mapping[str, str]) -> dict[str, bool]:
    """For each answerable question, whether its gold answers stand in its gold articles' text (``articles``:
    doc id -> text, the articles taken together), scored as answers are. A question whose articles give the answer
    in other words ("Russian" for the gold "Russia") is missed by evidence recall whatever is retrieved.

    >>> q = Question("q1", "Which country?", ("Russia",), ("d1",), True)
    >>> answers_stated([q], {"d1": "Russian officials said"}), answers_stated([q], {"d1": "Russia said"})
    ({'q1': False}, {'q1': True})
    """
    return {q.id: answer_correct(" ".join(articles.get(d, "") for d in q.doc_ids), q.answers, q.match)
            for q in questions if q.answerable}

