"""Language models. One method to implement: ``stream(messages, max_tokens) -> Iterator[str]``."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

from rag.errors import ModelError
from rag.answer.refusal import RefusalProbe

Messages = Sequence[dict[str, str]]


class LLM(Protocol):
    model_id: str

    def stream(self, messages: Messages, max_tokens: int = 256, refusal: RefusalProbe | None = None,
               not_first: Sequence[str] = ()) -> Iterator[str]:
        """Yield the answer's text piece by piece (greedy, deterministic).

        With ``refusal``, an LLM that can read its own next-token probabilities sets ``refusal.probability``
        before the first piece and keeps the refusal from being chosen (see refusal.py); others leave it None.
        ``not_first``: texts the reply must not start with (where the LLM can rule out tokens).
        """
        ...

    def count_prompt_tokens(self, messages: Messages) -> int: ...


class LlamaCppLLM:
    """A GGUF model run by llama.cpp, loaded on first use, prompted with its own chat template.

    The prompt always starts with the same system message and instructions, so llama.cpp's prefix match
    reuses their KV state from one question to the next (only the evidence and the question are evaluated).

    The settings are llama.cpp's: ``n_threads`` for generation and ``n_threads_batch`` for the prompt (default:
    every core), ``n_batch`` / ``n_ubatch`` (tokens per decode call / per compute pass), ``flash_attn``, and
    ``prompt_lookup`` (draft tokens proposed from the prompt's own n-grams per step; 0: off). The defaults were
    measured with bench/llm_speed.py.
    """

    def __init__(self, model_path: str | Path, model_id: str | None = None, n_ctx: int = 4096,
                 n_threads: int | None = None, n_batch: int = 512, n_threads_batch: int | None = None,
                 n_ubatch: int = 512, flash_attn: bool = True, prompt_lookup: int = 0):
        self.model_path = Path(model_path)
        self.model_id = model_id or self.model_path.stem
        if n_ctx < 512:
            raise ValueError(f"n_ctx must be >= 512, got {n_ctx}")
        for name, value in (("n_threads", n_threads), ("n_threads_batch", n_threads_batch)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        for name, value in (("n_batch", n_batch), ("n_ubatch", n_ubatch)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if prompt_lookup < 0:
            raise ValueError(f"prompt_lookup must be >= 0, got {prompt_lookup}")
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.n_threads_batch = n_threads_batch or self.n_threads
        self.n_batch = n_batch
        self.n_ubatch = min(n_ubatch, n_batch)
        self.flash_attn = flash_attn
        self.prompt_lookup = prompt_lookup
        self._llama = None
        self._formatter = None
        self._load_lock = threading.Lock()

    @property
    def llama(self):
        """The loaded ``llama_cpp.Llama`` (loading it first), for measurements."""
        return self.load()._llama

    def load(self) -> "LlamaCppLLM":
        with self._load_lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
                except ImportError as e:
                    raise ModelError("llama-cpp-python is not installed; run scripts/setup.sh") from e
                if not self.model_path.is_file():
                    raise ModelError(f"model file {self.model_path} is missing; run: rag models fetch quality")
                draft = None
                if self.prompt_lookup:
                    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

                    draft = LlamaPromptLookupDecoding(num_pred_tokens=self.prompt_lookup)
                try:
                    llama = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                  n_threads_batch=self.n_threads_batch, n_batch=self.n_batch,
                                  n_ubatch=self.n_ubatch, flash_attn=self.flash_attn, draft_model=draft,
                                  verbose=False)
                except (ValueError, RuntimeError) as e:
                    raise ModelError(
                        f"llama.cpp could not load {self.model_path} ({e}); the file may be corrupt: "
                        "re-run rag models fetch, or pass another GGUF with --model"
                    ) from e
                template = llama.metadata.get("tokenizer.chat_template")
                if not template:
                    raise ModelError(f"{self.model_path} has no chat template in its metadata; use an instruct model")
                eos = llama._model.token_get_text(llama.token_eos())
                bos = llama._model.token_get_text(llama.token_bos()) if llama.token_bos() >= 0 else ""
                self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
                self._llama = llama
        return self

    def render(self, messages: Messages) -> tuple[str, list[str]]:
        """The prompt text in the model's own chat template, and its stop strings."""
        self.load()
        result = self._formatter(messages=list(messages))
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return result.prompt, stop

    def tokenize(self, prompt: str) -> list[int]:
        """Token ids of ``prompt`` (special tokens such as <|im_start|> parsed, no BOS added)."""
        return self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def count_prompt_tokens(self, messages: Messages) -> int:
        prompt, _ = self.render(messages)
        return len(self.tokenize(prompt))

    def warm_up(self, messages: Messages) -> None:
        """Evaluate a prompt once so the shared prefix (the system message) is cached."""
        for _ in self.stream(messages, max_tokens=1):
            pass

    def stream(self, messages: Messages, max_tokens: int = 256, refusal: RefusalProbe | None = None,
               not_first: Sequence[str] = ()) -> Iterator[str]:
        prompt, stop = self.render(messages)
        tokens = self.tokenize(prompt)
        if len(tokens) + max_tokens > self.n_ctx:
            raise ModelError(
                f"prompt of {len(tokens)} tokens plus {max_tokens} to generate exceeds the context of {self.n_ctx}; "
                "use fewer passages (--top-k)"
            )
        from llama_cpp import LogitsProcessorList

        processors = LogitsProcessorList()
        if refusal is not None:
            refusal.token_ids = self._first_token(refusal.text)
            processors.append(_refusal_reader(refusal, len(tokens), self._first_token(f" {refusal.text}")))
        if not_first:
            processors.append(_first_step_ban(len(tokens), tuple(not_first), self._piece))
        for part in self._llama.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                                  stop=stop, stream=True, logits_processor=processors or None):
            text = part["choices"][0]["text"]
            if text:
                yield text

    def _piece(self, token: int) -> str:
        """The text of one token (a partial character dropped)."""
        return self._llama.detokenize([token]).decode("utf-8", errors="ignore")

    def _first_token(self, text: str) -> tuple[int, ...]:
        """The token a reply starting with ``text`` starts with."""
        ids = self.tokenize(text)
        return (ids[0],) if ids else ()


def _refusal_reader(probe: RefusalProbe, prompt_length: int, later: Sequence[int]):
    """A llama.cpp logits processor: at the first step, read the refusal's probability; rule the refusal out at
    every step (``later``: its first token after a space too), so the model's reply is its best answer."""
    banned = list(dict.fromkeys([*probe.token_ids, *later]))

    def process(input_ids, scores):
        if len(input_ids) == prompt_length:
            probe.read(scores)
        scores[banned] = -float("inf")
        return scores
    return process


def _first_step_ban(prompt_length: int, banned: tuple[str, ...], piece: Callable[[int], str], tries: int = 100):
    """A llama.cpp logits processor for greedy decoding: at the first step, while the best token's text starts
    (after whitespace) with one of ``banned``, rule that token out. Every such token, not just the bare "[":
    a small model's reply "[T3] …" starts with the token "[T", never with "[" itself."""

    def process(input_ids, scores):
        if len(input_ids) == prompt_length:
            for _ in range(tries):
                best = int(scores.argmax())
                if not piece(best).lstrip().startswith(banned):
                    break
                scores[best] = -float("inf")
        return scores
    return process
