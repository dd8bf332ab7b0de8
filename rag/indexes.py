"""An index together with the embedder that built it: the one place that knows both the store and the embedders."""
from __future__ import annotations

import os
from pathlib import Path

from rag.embed.embedder import BACKEND_ENV, SentenceTransformerEmbedder, backend_for
from rag.store import open_store, store_exists


def embedder_for_index(location: str | Path, batch_size: int = 32) -> "SentenceTransformerEmbedder":
    """The bundled embedder on the backend the index at ``location`` was built with, so an index keeps working
    when the default backend changes; a new index gets the default. ``$RAG_EMBED_BACKEND``, when set, wins (and
    an index built with another backend then refuses to open, naming both)."""
    backend = None
    if not os.environ.get(BACKEND_ENV):
        if store_exists(location):
            store = open_store(location)
            try:
                backend = backend_for(store.info.embedding.model_id)
            finally:
                store.close()
    return SentenceTransformerEmbedder(batch_size=batch_size, backend=backend)
