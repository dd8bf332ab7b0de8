"""The sentence-transformers model run by OpenVINO: exported once from the local folder, cached, then loaded.

    runner = OpenVinoRunner(bundled_embedder_path(), "int8")   # exports on first use (about a minute), then cached
    vectors = runner.encode(["Who is Xu Qiliang?"])            # (1, 384) float32, unit length

The export traces the model with its mean pooling and normalisation (one graph, one output: the sentence
vector) and converts it with OpenVINO; ``int8`` then quantizes it with NNCF's post-training quantization,
calibrated on synthetic news text (rag/embed/synthetic.py), so the matrix products run on int8 kernels (AVX512-VNNI
where the CPU has it). ``bf16`` is the fp32 export run with bf16 arithmetic. Everything happens offline from the
model folder; nothing is downloaded. Exports are cached under ``$RAG_CACHE_DIR/embedders`` in a folder named by a
key over the source model, the precision, the recipe and the OpenVINO/NNCF versions, written to a temporary
folder first and renamed into place, so an interrupted export leaves nothing half-written.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from rag.errors import RagError

PRECISIONS = ("fp32", "bf16", "int8")
RECIPE = 1                # bump when the export or the calibration changes (the vectors change with it)
CALIBRATION_TEXTS = 300   # synthetic chunks the int8 quantizer measures activations on
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
INSTALL_HINT = "pip install -e '.[openvino]' (or: pip install openvino nncf)"

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _no_telemetry() -> Iterator[None]:
    """OpenVINO (on import and conversion) and NNCF send usage statistics unless told otherwise; this project sends
    nothing. Their switch is the CI variable (they are built with ``disable_in_ci``), read when they start up."""
    before = os.environ.get("CI")
    os.environ["CI"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = before


def _openvino():
    try:
        with _no_telemetry():  # importing openvino sends an event unless told not to
            import openvino
    except ImportError as e:
        raise RagError(f"the OpenVINO embedding backend needs OpenVINO: {INSTALL_HINT}; "
                       "or set RAG_EMBED_BACKEND=torch") from e
    return openvino


def export_key(source: Path, precision: str, versions: dict[str, str]) -> str:
    """The cache key of an export: the source model's config and weight sizes, the precision, the recipe and the
    library versions (a new OpenVINO or NNCF may quantize differently, so it exports again)."""
    h = hashlib.sha256()
    h.update((source / "config.json").read_bytes())
    for f in sorted(source.glob("*.safetensors")) + sorted(source.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    h.update(json.dumps({"precision": precision, "recipe": RECIPE, **versions}, sort_keys=True).encode())
    return h.hexdigest()[:16]


def cached_export(cache: Path, name: str, build: Callable[[Path], None], say: Say = _say) -> Path:
    """The folder ``cache/name``, built by ``build(tmp_folder)`` the first time (then renamed into place)."""
    dest = cache / name
    if (dest / "export.json").is_file():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build(tmp)
        (tmp / "export.json").write_text(json.dumps({"name": name, "recipe": RECIPE}))
        try:
            os.replace(tmp, dest)
        except OSError:  # another process finished the same export first
            if not (dest / "export.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"cached in {dest}")
    return dest


def calibration_texts(n: int = CALIBRATION_TEXTS) -> list[str]:
    """Deterministic news-like chunks (title, then a few paragraphs) for the int8 quantizer, nothing copied."""
    from rag.embed.synthetic import Corpus

    texts = []
    for article in Corpus(seed=2024).articles(n):
        texts.append(article.title + "\n" + " ".join(article.paragraphs[:2]))
    return texts


def _export(source: Path, precision: str, folder: Path, say: Say) -> None:
    """Trace the model with pooling and normalisation, convert it, quantize it for int8, save ``model.xml``."""
    import torch
    from sentence_transformers import SentenceTransformer

    ov = _openvino()
    st = SentenceTransformer(str(source), device="cpu", local_files_only=True)

    class Pooled(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    pooled = Pooled(st[0].auto_model.eval()).eval()
    example = st.tokenizer(["an example", "another example sentence"], padding=True, return_tensors="pt")
    with _no_telemetry(), torch.inference_mode():
        model = ov.convert_model(pooled, example_input=tuple(example[k] for k in INPUTS))
    for port, name in zip(model.inputs, INPUTS):
        port.get_tensor().set_names({name})
    if precision == "int8":
        say(f"quantizing to int8 on {CALIBRATION_TEXTS} synthetic news chunks")
        with _no_telemetry():
            try:
                import nncf
            except ImportError as e:
                raise RagError(f"the int8 embedder is made with NNCF: {INSTALL_HINT}") from e
            limit = int(st.max_seq_length)
            samples = [st.tokenizer([t], truncation=True, max_length=limit, return_tensors="np")
                       for t in calibration_texts()]
            data = nncf.Dataset(samples, lambda enc: {k: enc[k] for k in INPUTS})
            model = nncf.quantize(model, data, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples))
    ov.save_model(model, str(folder / "model.xml"))


def exported_model(source: Path, precision: str, cache: Path, say: Say = _say) -> Path:
    """The OpenVINO IR of the model at ``source`` for ``precision`` (bf16 uses the fp32 export), exporting it once."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    ov = _openvino()
    form = "int8" if precision == "int8" else "fp32"
    versions = {"openvino": ov.__version__}
    if form == "int8":
        try:
            from importlib.metadata import version

            versions["nncf"] = version("nncf")
        except Exception as e:  # PackageNotFoundError
            raise RagError(f"the int8 embedder is made with NNCF: {INSTALL_HINT}") from e
    name = f"{source.name}-openvino-{form}-{export_key(source, form, versions)}"
    if not (cache / name / "export.json").is_file():
        say(f"exporting the embedding model {source} to OpenVINO {form} (once; about a minute)")
    return cached_export(cache, name, lambda tmp: _export(source, form, tmp, say), say)


class OpenVinoRunner:
    """Encodes texts with an exported model: tokenized, sorted by length, in batches padded to their longest."""

    def __init__(self, source: Path, precision: str, cache: Path, batch_size: int = 32,
                 threads: int | None = None, say: Say = _say):
        from transformers import AutoTokenizer

        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        ov = _openvino()
        folder = exported_model(source, precision, cache, say)
        config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        self.compiled = ov.Core().compile_model(str(folder / "model.xml"), "CPU", config)
        self.tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
        settings = json.loads((source / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(settings.get("max_seq_length", self.tokenizer.model_max_length))
        self.dim = int(self.compiled.outputs[0].get_partial_shape()[1].get_length())
        self.batch_size = batch_size
        self._local = threading.local()  # an infer request per thread (a request is not thread-safe)

    def _request(self):
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        return request

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_seq_length)["input_ids"]
        order = np.argsort([len(i) for i in ids], kind="stable")[::-1]  # longest first: each batch pads to little
        request = self._request()
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = len(ids[rows[0]])
            input_ids = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            result = request.infer({"input_ids": input_ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(input_ids)})
            out[rows] = result[self.compiled.outputs[0]]
        return out
