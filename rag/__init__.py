"""Local, offline question answering over news articles, with citations.

    from rag import open_engine
    engine = open_engine("indexes/seeds")          # model: "quality" (default), "fast" or a GGUF path
    answer = engine.ask("Who is Xu Qiliang?")
    print(answer.text, [c.passage.doc_id for c in answer.citations])

Heavy models load on first use, never at import time.
"""
from rag.indexes import embedder_for_index
from rag.answer.engine import Done, Engine, Retrieved, Token, open_engine
from rag.errors import RagError
from rag.ingest.pipeline import ingest, remove_documents
from rag.types import Answer, Chunk, Citation, Document, IngestReport, Passage, Span, Timings

__all__ = [
    "Answer", "Chunk", "Citation", "Document", "Done", "Engine", "IngestReport", "Passage", "RagError",
    "Retrieved", "Span", "Timings", "Token", "embedder_for_index", "ingest", "open_engine", "remove_documents",
]
