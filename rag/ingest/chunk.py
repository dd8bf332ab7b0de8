"""Split cleaned article text into token-sized chunks that remember their original spans.

Sizes are counted in the embedding model's own tokens, so no chunk is silently
truncated by the embedder; a chunk that would be is an error, not a quiet loss.
"""
from __future__ import annotations

from typing import Callable

from rag.ingest.clean import CleanText, spans_overlapping
from rag.types import Chunk, ChunkerSettings, Span, embedding_text

TokenCounter = Callable[[str], int]
MIN_CHUNK_TOKENS = 16
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


class ChunkTooLong(ValueError):
    pass


def chunk_document(
    doc_id: str,
    clean: CleanText,
    count_tokens: TokenCounter,
    max_tokens: int,
    settings: ChunkerSettings = ChunkerSettings(),
    title: str = "",
) -> list[Chunk]:
    """Chunks of ``clean.text`` whose embedding text fits in ``max_tokens``."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    title_tokens = count_tokens(title + "\n") if title else 0
    size = min(settings.chunk_tokens, max_tokens - title_tokens)
    if size < MIN_CHUNK_TOKENS:
        raise ChunkTooLong(
            f"title of {doc_id!r} uses {title_tokens} of the embedder's {max_tokens} tokens; "
            "no room left for text"
        )
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=min(settings.overlap_tokens, size // 2),
        length_function=count_tokens,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    search_from = 0
    for piece in splitter.split_text(clean.text):
        start = clean.text.find(piece, search_from)
        if start < 0:  # cannot happen for a splitter that only cuts; fail loudly if it does
            raise ValueError(f"chunk of {doc_id!r} not found in its cleaned text: {piece[:60]!r}")
        end = start + len(piece)
        search_from = start + 1
        used = count_tokens(embedding_text(title, piece))
        if used > max_tokens:
            raise ChunkTooLong(
                f"chunk {len(chunks)} of {doc_id!r} has {used} tokens, over the embedder's limit of {max_tokens}"
            )
        a, b = clean.original_span(start, end)
        sentences = tuple(
            Span(*clean.original_span(s, e)) for s, e in spans_overlapping(clean.sentences, start, end)
        )
        chunks.append(Chunk(f"{doc_id}:{len(chunks)}", doc_id, piece, Span(a, b), sentences))
    return chunks
