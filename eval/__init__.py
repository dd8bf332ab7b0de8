"""Evaluation of the RAG system on gold question sets (``rag eval``).

- gold.py: the gold JSONL format, validated on load
- metrics.py: pure scoring functions (answer text, retrieval, citations, aggregates)
- results.py: one scored question; summary.py: the aggregate over a run
- report.py: the run folder (results.jsonl, summary.json, summary.md)
- compare.py: two runs side by side; floors.py: minimum metrics for CI
- harness.py: ``evaluate(questions, retrieve, ask)`` and the command's ``main(args)``
- replay.py: a recorded run's replies as the LLM (``rag eval --replay RUN``): post-generation changes measured exactly
"""
