"""The `rag` command, run in-process with fakes in place of the real models."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from fakes import FakeEmbedder, ScriptedLLM
from cli.main import main

HEAVY = ("torch", "sentence_transformers", "llama_cpp", "transformers", "gradio")


@pytest.fixture(autouse=True)
def no_real_models(monkeypatch, tmp_path):
    """Any embedder the CLI builds is a FakeEmbedder; any LLM is a ScriptedLLM; no model cache is found."""
    import rag.answer.llm
    import rag.embed.embedder
    import rag.indexes

    embedder = FakeEmbedder()
    llm = ScriptedLLM(["The articles do not say."])
    monkeypatch.setattr(rag.embed.embedder, "SentenceTransformerEmbedder", lambda *a, **k: embedder)
    monkeypatch.setattr(rag.indexes, "SentenceTransformerEmbedder", lambda *a, **k: embedder)
    monkeypatch.setattr(rag.answer.llm, "LlamaCppLLM", lambda *a, **k: llm)
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RAG_MODEL", raising=False)
    return embedder, llm


@pytest.fixture
def gguf(tmp_path, monkeypatch):
    """A file that passes the GGUF check, selected through $RAG_MODEL (the LLM itself is scripted)."""
    f = tmp_path / "tiny.gguf"
    f.write_bytes(b"GGUF" + b"\x00" * 16)
    monkeypatch.setenv("RAG_MODEL", str(f))
    return f


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_ask_an_empty_question_is_a_one_line_error(capsys, fake_index, gguf, no_real_models):
    code, out, err = run(capsys, "ask", "", "--index", str(fake_index))
    assert code == 1 and out == ""
    assert "question is empty" in one_error_line(err)
    assert no_real_models[1].prompts == []


def test_ask_without_a_fetched_model_says_how_to_fetch_it(capsys, fake_index):
    code, _, err = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(fake_index))
    assert code == 1 and "rag models fetch quality" in one_error_line(err)


def test_ask_with_a_missing_index_says_how_to_build_one(capsys, tmp_path, gguf):
    missing = tmp_path / "missing_dir"
    code, out, err = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(missing))
    line = one_error_line(err)
    assert code == 1 and out == ""
    assert str(missing) in line and "rag ingest" in line


def test_ask_streams_the_answer_and_lists_the_closest_passages(capsys, fake_index, gguf):
    code, out, err = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(fake_index))
    assert code == 0 and err == ""
    assert out.startswith("The articles do not say.")
    assert "Not in the articles" in out and "Closest passages found:" in out
    assert "Why: the model said the passages do not hold the answer" in out
    assert "[1] " in out and "scripted-llm" in out and "prompt tokens" in out


def test_ask_prints_the_checked_answer_when_the_checks_changed_what_streamed(capsys, fake_index, gguf,
                                                                             no_real_models):
    no_real_models[1].replies = ["Zhang Youxia is China’s second highest ranking military official."]  # no marker
    code, out, _ = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(fake_index))
    streamed, _, rest = out.partition("\n")
    assert code == 0 and streamed == "Zhang Youxia is China’s second highest ranking military official."
    checked = next(line for line in rest.splitlines() if line.startswith("As checked: "))
    marker = re.fullmatch(r"As checked: Zhang Youxia is China’s second highest ranking military official (\[\d\])\.",
                          checked)
    assert marker, checked
    sources = rest.split("Sources:", 1)[1]
    assert sources.lstrip().startswith(marker.group(1) + " 000_d9ac26facaa1f05c")  # the article that says it


def test_ask_names_the_sentences_left_out_of_the_answer(capsys, fake_index, gguf, no_real_models):
    no_real_models[1].replies = ["Zhang Youxia is China’s second highest ranking military official. "
                                 "He has served since 1887."]
    code, out, _ = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(fake_index))
    checked = next(line for line in out.splitlines() if line.startswith("As checked: "))
    assert code == 0 and "1887" not in checked and "second highest ranking military official" in checked
    assert "Left out of the answer: “He has served since 1887.” (numbers not in the passages: 1887)" in out


def test_ask_json_prints_the_answer_as_json(capsys, fake_index, gguf):
    code, out, _ = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(fake_index), "--json", "--top-k", "3")
    d = json.loads(out)
    assert code == 0 and d["question"] == "Who is Zhang Youxia?" and d["abstained"] is True
    assert d["passages"] and d["model_id"] == "scripted-llm"


def test_ingest_reports_skipped_files_with_reasons(capsys, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("Owls Of The North\n\nOwls hunt at night in the forest. They eat mice.", encoding="utf-8")
    (src / "bad.txt").write_bytes("Caf\u00e9 au lait.".encode("latin-1"))
    code, out, _ = run(capsys, "ingest", str(src), "--index", str(tmp_path / "idx"))
    assert code == 0
    assert out.splitlines()[0].startswith(f"index {tmp_path / 'idx'}: 1 added, 0 replaced, 0 unchanged, 1 skipped")
    assert "  added: good" in out
    assert f"  skipped {src / 'bad.txt'}: not UTF-8" in out


def test_ingest_json_and_chunk_settings(capsys, tmp_path, seeds_dir):
    idx = tmp_path / "idx"
    code, out, _ = run(capsys, "ingest", str(seeds_dir), "--index", str(idx), "--json",
                       "--chunk-tokens", "40", "--overlap-tokens", "0")
    report = json.loads(out)
    assert code == 0 and len(report["added"]) == 5 and report["chunks_embedded"] > 0
    manifest = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["chunker"]["chunk_tokens"], manifest["chunker"]["overlap_tokens"]) == (40, 0)


def test_ingest_of_nothing_usable_exits_1(capsys, tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(tmp_path / "empty.txt"), "--index", str(tmp_path / "idx"))
    assert code == 1 and "0 added" in out and "empty file" in out


def test_invalid_chunk_settings_are_a_one_line_error(capsys, tmp_path, seeds_dir):
    code, _, err = run(capsys, "ingest", str(seeds_dir), "--index", str(tmp_path / "idx"),
                       "--chunk-tokens", "50", "--overlap-tokens", "50")
    assert code == 1 and "got 50" in one_error_line(err)


def test_a_zero_chunk_size_is_refused(capsys, tmp_path, seeds_dir):
    idx = tmp_path / "idx"
    try:
        code, _, msg = run(capsys, "ingest", str(seeds_dir), "--index", str(idx), "--chunk-tokens", "0")
    except ValueError as e:  # refused, though as a traceback (see the test above)
        code, msg = 1, str(e)
    assert code == 1 and "got 0" in msg
    assert not (idx / "manifest.json").exists()


def test_a_zero_top_k_is_a_one_line_error(capsys, fake_index, gguf):
    code, _, err = run(capsys, "ask", "Who is Zhang Youxia?", "--index", str(fake_index), "--top-k", "0")
    assert code == 1 and "top_k must be > 0, got 0" in one_error_line(err)


def test_remove_of_an_unknown_id_exits_1(capsys, fake_index):
    code, out, err = run(capsys, "remove", "no_such_doc", "--index", str(fake_index))
    assert code == 1 and out == ""
    assert f"not in {fake_index}: no_such_doc" in err


def test_remove_of_a_known_id(capsys, fake_index):
    code, out, err = run(capsys, "remove", "004_4f88f7a8625b6b03", "nope", "--index", str(fake_index))
    assert code == 0 and "removed from" in out and "004_4f88f7a8625b6b03" in out
    assert "nope" in err
    code, out, _ = run(capsys, "list", "--index", str(fake_index), "--json")
    assert "004_4f88f7a8625b6b03" not in {r["doc_id"] for r in json.loads(out)}


def test_list_json_parses(capsys, fake_index):
    code, out, _ = run(capsys, "list", "--index", str(fake_index), "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 5
    assert set(rows[0]) == {"doc_id", "title", "outlet", "date", "chunks", "chars", "copies", "copy_of"}
    assert all(r["chunks"] > 0 and r["chars"] > 0 for r in rows)


def test_list_text(capsys, fake_index):
    code, out, _ = run(capsys, "list", "--index", str(fake_index))
    assert code == 0 and out.startswith(f"5 documents, 67 chunks in {fake_index} (embedding model fake-embedder)")


def test_list_of_a_missing_index_is_a_one_line_error(capsys, tmp_path):
    code, _, err = run(capsys, "list", "--index", str(tmp_path / "nothing"))
    assert code == 1 and "rag ingest" in one_error_line(err)


def test_models_list_and_unknown_name(capsys):
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "not fetched (rag models fetch quality)" in out and "fast" in out
    code, _, err = run(capsys, "models", "fetch", "bogus")
    assert code == 1 and "unknown bundled model 'bogus'" in one_error_line(err)


def test_help_lists_commands_with_examples(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert all(cmd in out for cmd in ("ingest", "ask", "list", "remove", "models", "serve", "eval"))
    assert 'rag ask "Who is Xu Qiliang?"' in out


@pytest.mark.parametrize("argv", [["--help"], ["ask", "--help"], ["ingest", "--help"]])
def test_help_does_not_import_heavy_libraries(argv):
    code = (
        "import sys, cli.main\n"
        "try:\n"
        f"    cli.main.main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: rag" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_ask_says_a_withdrawn_reply_is_not_an_answer(capsys, fake_index, gguf, no_real_models):
    no_real_models[1].replies = ["Russia won the hockey tournament [1]."]
    code, out, _ = run(capsys, "ask", "Who won the hockey tournament?", "--index", str(fake_index))
    streamed, _, rest = out.partition("\n")
    assert code == 0 and streamed == "Russia won the hockey tournament [1]."
    assert "(the reply above is not an answer: it is withdrawn)" in rest
    assert "Not in the articles" in rest and "Why: no sentence of the reply is stated by the passages it cites" in rest
    code, out, _ = run(capsys, "ask", "Who won the hockey tournament?", "--index", str(fake_index), "--json")
    d = json.loads(out)
    assert d["abstained"] and d["unverified"] == "Russia won the hockey tournament [1]." and d["citations"] == []
