"""The llama.cpp settings LlamaCppLLM takes, and (marked real) the fast model written in Q4_0 from its shipped file."""
from __future__ import annotations

import json
import shutil
import sys

import pytest

from conftest import ROOT, require_model
from rag.answer.llm import LlamaCppLLM

sys.path.insert(0, str(ROOT / "bench"))


@pytest.mark.parametrize("kwargs, message", [
    ({"n_threads": 0}, "n_threads must be > 0, got 0"),
    ({"n_threads_batch": -1}, "n_threads_batch must be > 0, got -1"),
    ({"n_batch": 0}, "n_batch must be > 0, got 0"),
    ({"n_ubatch": 0}, "n_ubatch must be > 0, got 0"),
    ({"prompt_lookup": -2}, "prompt_lookup must be >= 0, got -2"),
])
def test_llama_settings_are_checked_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LlamaCppLLM("model.gguf", **kwargs)


def test_llama_settings_default_to_every_core_for_both_phases(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    llm = LlamaCppLLM("m.gguf", n_batch=256)
    assert (llm.n_threads, llm.n_threads_batch, llm.n_ubatch, llm.prompt_lookup) == (6, 6, 256, 0)
    assert LlamaCppLLM("m.gguf", n_threads=1).n_threads_batch == 1
    assert llm._llama is None  # nothing loaded at construction


def test_bench_settings_parse_to_llm_arguments():
    from llm_speed import parse_setting

    assert parse_setting("") == {}
    assert parse_setting("t=1,tb=2,b=256,ub=128,fa=0,pl=10") == {
        "n_threads": 1, "n_threads_batch": 2, "n_batch": 256, "n_ubatch": 128, "flash_attn": False,
        "prompt_lookup": 10}
    with pytest.raises(SystemExit, match="bad setting 'threads=2'"):
        parse_setting("threads=2")
    LlamaCppLLM("m.gguf", **parse_setting("t=1,ub=64,pl=4"))  # every key is a keyword LlamaCppLLM takes


# ---- real: the fast model's Q4_0 file, written from the shipped one in a cache of its own ----------------
@pytest.fixture(scope="module")
def fast_q4_0(tmp_path_factory):
    """The fast model converted to Q4_0 once (a few seconds) in a temporary cache holding a link to the shipped file."""
    from rag.answer import models

    require_model("fast")
    shipped = models.bundled_path(models.BUNDLED["fast"])
    cache = tmp_path_factory.mktemp("formats")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_CACHE_DIR", str(cache))
        (cache / "models").mkdir()
        (cache / "models" / shipped.name).symlink_to(shipped)
        shutil.copy(shipped.with_name(shipped.name + ".verified.json"), cache / "models")
        path = models.convert("fast-q4_0", log=lambda m: None)
        again = models.convert("fast-q4_0", log=lambda m: None, quantize=lambda *a: pytest.fail("written twice"))
        resolved = models.resolve_model("fast-q4_0")
        listing = models.listing()
    assert again == path and resolved == (path, "qwen2.5-coder-0.5b-instruct-q4_0")
    return path, shipped, listing


@pytest.mark.real
def test_the_q4_0_file_is_q4_0_and_smaller(fast_q4_0):
    path, shipped, listing = fast_q4_0
    assert path.stat().st_size < shipped.stat().st_size
    llm = LlamaCppLLM(path)
    assert llm.llama.metadata["general.file_type"] == "2"  # LLAMA_FTYPE_MOSTLY_Q4_0
    assert any(row.startswith("fast-q4_0") and "Q4_0" in row and "ready" in row and str(path) in row
               for row in listing)


@pytest.mark.real
def test_the_q4_0_fast_model_answers_from_the_evidence_and_prompt_lookup_keeps_its_text(fast_q4_0):
    """Greedy decoding: prompt-lookup drafts only speed up what the model would write anyway."""
    path, _, _ = fast_q4_0
    messages = [{"role": "system", "content": "Answer from the sentences."},
                {"role": "user", "content": "[1] Colonel General Xu Qiliang, vice chairman of China's Central "
                 "Military Commission, met the Russian delegation.\n\nQuestion: Who is Xu Qiliang?"}]
    plain = "".join(LlamaCppLLM(path, n_ctx=512).stream(messages, max_tokens=40))
    assert "vice chairman" in plain.lower(), plain
    drafted = "".join(LlamaCppLLM(path, n_ctx=512, prompt_lookup=10).stream(messages, max_tokens=40))
    assert drafted == plain
