"""Fast, deterministic stand-ins for the real models (unit tests only)."""
from __future__ import annotations

import hashlib
import re
from typing import Iterator, Sequence

import numpy as np

WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag-of-words vectors: each word hashes to a fixed random unit vector; texts sharing words are close."""

    model_id = "fake-embedder"

    def __init__(self, dim: int = 64, max_tokens: int = 60):
        self.dim = dim
        self.max_tokens = max_tokens
        self.calls: list[list[str]] = []

    def count_tokens(self, text: str) -> int:
        return len(WORD.findall(text))

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.lower().encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            v = sum((self._word(w) for w in WORD.findall(t)), np.zeros(self.dim))
            n = np.linalg.norm(v)
            out[i] = v / n if n else v
        return out


class ScriptedLLM:
    """Replies with scripted answers in order and records every prompt it was given.

    ``refusal_probabilities`` (in order, the last one repeating) is what it reports as its own probability
    of refusing (rag/answer/refusal.py); without them it reports none, like an LLM that cannot tell.
    """

    model_id = "scripted-llm"

    def __init__(self, replies: Sequence[str] = ("NOT FOUND",),
                 refusal_probabilities: Sequence[float] = ()):
        self.replies = list(replies)
        self.refusal_probabilities = list(refusal_probabilities)
        self.prompts: list[list[dict]] = []
        self.pieces_sent = 0

    def count_prompt_tokens(self, messages) -> int:
        return sum(len(m["content"].split()) for m in messages)

    def stream(self, messages, max_tokens: int = 256, refusal=None, not_first=()) -> Iterator[str]:
        self.prompts.append(list(messages))
        self.not_first = tuple(not_first)
        n = len(self.prompts) - 1
        reply = self.replies[min(n, len(self.replies) - 1)]
        if refusal is not None and self.refusal_probabilities:
            refusal.probability = self.refusal_probabilities[min(n, len(self.refusal_probabilities) - 1)]
        for piece in re.findall(r"\S+\s*|\s+", reply):
            self.pieces_sent += 1
            yield piece
