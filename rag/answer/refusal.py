"""The model's own judgement that the passages do not hold the answer, read from its first-step logits.

The instructions tell the model to reply ``REFUSAL`` when the passages do not
answer the question. Small models take such a way out far too often when it is
chosen greedily, so the reply is not chosen greedily: at the first generation
step the probability the model gives the refusal's first token is read (free:
those logits are computed anyway), the token is then kept from being chosen,
and the model goes on with its best answer. The verdict (rag/answer/judge/verdict.py)
compares the probability with a calibrated threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REFUSAL = "NOT FOUND"


@dataclass
class RefusalProbe:
    """Filled in by an LLM that supports it: the probability of starting the reply with ``token_ids``."""

    text: str = REFUSAL
    probability: float | None = None   # None until the first step ran (or when the LLM cannot tell)
    token_ids: tuple[int, ...] = field(default=(), repr=False)

    def read(self, logits: np.ndarray) -> None:
        """Record the refusal's share of the next-token distribution given by ``logits`` (first call only)."""
        if self.probability is not None or not self.token_ids:
            return
        z = logits.astype(np.float64)
        z = np.exp(z - z.max())
        self.probability = float(z[list(self.token_ids)].sum() / z.sum())
