"""Judging a reply: one verdict (does it stand as an answer?) and a check of each of its sentences.

- ``verdict.py``: the model's own refusal probability against a calibrated threshold, then checks that hold for
  any question (a reply that adds nothing to the question; numbers, names and quotations the evidence does not
  state; the kind of thing asked for), and after verify.py, a reply none of whose sentences its citations state;
- ``trim.py``: a later sentence of a reply that states what the evidence does not is left out before the verdict,
  when the first sentence states nothing of the kind;
- ``verify.py``: each answer sentence against the evidence sentences it cites (support, repair, highlights).
"""
from rag.answer.judge.verdict import (CALIBRATED, Verdict, calibrated_threshold, check_threshold, decide, reaches, refused,
                      unverified)
from rag.answer.judge.trim import Trimmed, trim
from rag.answer.judge.verify import SentenceCheck, answer_sentences, check_sentence, verify_answer

__all__ = ["CALIBRATED", "SentenceCheck", "Verdict", "answer_sentences", "calibrated_threshold", "check_sentence",
           "check_threshold", "decide", "reaches", "refused", "Trimmed", "trim", "unverified",
           "verify_answer"]
