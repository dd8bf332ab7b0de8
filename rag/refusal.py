"""The model's own judgement that the passages do not hold the answer, read from its first-step logits.

The instructions tell the model to reply ``REFUSAL`` when the passages do not
answer the question. Small models take such a way out far too often when it is
chosen greedily, so the reply is not chosen greedily: at the first generation
step the probability the model gives the refusal's first token is read (free:
those logits are computed anyway), the token is then kept from being chosen,
and the model goes on with its best answer. The engine compares the probability
with a threshold calibrated on the gold set (``REFUSAL_THRESHOLD``) and, above
it, abstains before any answer text is shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REFUSAL = "NOT FOUND"
REFUSAL_THRESHOLD = 0.7  # calibrated on eval/gold/seeds.jsonl (rag eval --calibrate): above every correct answer
#                         (highest 0.63), below the one leak it catches (0.88); lower thresholds cost correct answers


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


def refuses(probability: float | None, threshold: float = REFUSAL_THRESHOLD) -> bool:
    """True when the model's refusal probability reaches the threshold (never when it is unknown).

    >>> refuses(0.7), refuses(0.1), refuses(None)
    (True, False, False)
    """
    return probability is not None and probability >= threshold
