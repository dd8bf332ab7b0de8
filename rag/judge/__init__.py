"""Judging a reply: one verdict (does it stand as an answer?) and a check of each of its sentences.

- ``verdict.py``: the model's own refusal probability against a calibrated threshold, then three checks that
  hold for any question (numbers and quotations the evidence does not state, the kind of thing asked for);
- ``verify.py``: each answer sentence against the evidence sentences it cites (support, repair, highlights).
"""
from .verdict import (CALIBRATED, Verdict, calibrated_threshold, check_threshold, decide, reaches, refused)
from .verify import SentenceCheck, answer_sentences, check_sentence, verify_answer

__all__ = ["CALIBRATED", "SentenceCheck", "Verdict", "answer_sentences", "calibrated_threshold", "check_sentence",
           "check_threshold", "decide", "reaches", "refused", "verify_answer"]
