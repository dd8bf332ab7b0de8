"""Ingest: files become documents (loaders, metadata), copies of one story are folded, text is cleaned and chunked,
and the pipeline embeds and stores the chunks. See docs/architecture.md."""
