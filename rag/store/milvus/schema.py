"""The three Milvus collections of an index named COLL, and how rows are cut to fit them.

    COLL          one row per chunk: chunk id, document id, order, text, span, sentence spans (JSON), the
                  vector (HNSW, inner product; FLAT = exact on Milvus Lite), and for BM25 either (full-text
                  layout, Milvus >= 2.5) the analyzed title and text with the sparse BM25 vector the server's
                  BM25 function derives from it, or (terms layout, Milvus 2.3/2.4) the terms with their counts
                  and the chunk's length, which each client indexes itself (bm25.py)
    COLL__docs    one row per piece of a document's text (VARCHAR holds at most 65,535 bytes), with the
                  document's metadata, content hash, chunk and term counts and lowercased outlet (indexes made
                  before issue 21 also have a "title_words" array, which nothing reads: written empty)
    COLL__meta    key -> JSON: "manifest" (format, version, embedding model, chunker), "state" (committed
                  generation, counts, a removal in progress), "lock" (the writer)

Every row carries ``gen``, the generation that wrote it; readers see rows up to the
committed generation only (see store.py). Milvus 2.3 wants a vector field in every
collection: the two bookkeeping collections have a 2-dim placeholder.
"""
from __future__ import annotations

from dataclasses import dataclass

from rag.store.terms import terms_of

DOCS = "__docs"
META = "__meta"
TEXT_BYTES = 65_535
TERMS_MAX = 4096          # distinct terms a chunk may hold (a chunk has at most ~250 embedder tokens)
TERM_BYTES = 256          # TERM_CHARS characters of up to 4 bytes each, with room
ID_BYTES = 1024
PLACEHOLDER = [0.0, 0.0]
TEXT_FIELD = "bm25_text"    # full-text layout: what BM25 reads (the title and the chunk's text, analyzed)
SPARSE_FIELD = "bm25"       # ... and the BM25 function's output
ANALYZER = {"tokenizer": "whitespace"}  # the text arrives as rag.store.terms's terms (the folder's), so the
                                        # server only splits them; see bm25_input
BM25_K1, BM25_B = 1.2, 0.75  # tantivy's, as in the index folder


LEGACY_TITLE_WORDS = "title_words"  # a docs field of indexes made before issue 21


@dataclass(frozen=True)
class RowLayout:
    """What the rows of an index hold, read once when it is opened: what a writer needs to make its rows."""

    dim: int                    # vector dimension
    full_text: bool             # the full-text layout (else the terms layout)
    title_words: bool = False   # the docs collection has LEGACY_TITLE_WORDS (written empty)


def has_field(described: dict, name: str) -> bool:
    """Whether a collection (as ``describe_collection`` gives it) has the field ``name``.

    >>> has_field({"fields": [{"name": "bm25"}]}, "bm25"), has_field({}, "bm25")
    (True, False)
    """
    return any(f.get("name") == name for f in described.get("fields", []))


def split_utf8(text: str, max_bytes: int = TEXT_BYTES) -> list[str]:
    """``text`` in pieces of at most ``max_bytes`` UTF-8 bytes, cut between characters; [""] for "".

    >>> split_utf8("aé" * 3, 5)
    ['aéa', 'éaé']
    >>> "".join(split_utf8("x" * 10, 4)) == "x" * 10
    True
    """
    pieces, start, used = [], 0, 0
    for i, ch in enumerate(text):
        size = len(ch.encode("utf-8"))
        if used + size > max_bytes:
            pieces.append(text[start:i])
            start, used = i, 0
        used += size
    pieces.append(text[start:])
    return pieces


def create_collections(client, name: str, dim: int, full_text: bool, exact: bool = False) -> None:
    """Create COLL, COLL__docs and COLL__meta with their indexes (loaded, strong consistency): the chunks in the
    full-text layout or the terms layout (module docstring); ``exact``: a FLAT vector index (Milvus Lite has no
    HNSW)."""
    from pymilvus import DataType

    def varchar(schema, field: str, max_length: int = TEXT_BYTES) -> None:
        schema.add_field(field, DataType.VARCHAR, max_length=max_length)

    chunks = client.create_schema(auto_id=True, enable_dynamic_field=False)
    chunks.add_field("pk", DataType.INT64, is_primary=True)
    varchar(chunks, "chunk_id", ID_BYTES)
    varchar(chunks, "doc_id", ID_BYTES)
    chunks.add_field("ord", DataType.INT64)
    varchar(chunks, "text")
    chunks.add_field("start", DataType.INT64)
    chunks.add_field("end", DataType.INT64)
    varchar(chunks, "sentences")
    if full_text:
        _add_full_text(chunks)
    else:
        chunks.add_field("terms", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=TERMS_MAX,
                         max_length=TERM_BYTES)
        chunks.add_field("tfs", DataType.ARRAY, element_type=DataType.INT32, max_capacity=TERMS_MAX)
        chunks.add_field("length", DataType.INT64)
    chunks.add_field("gen", DataType.INT64)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    if exact:
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    else:
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                        params={"M": 16, "efConstruction": 200})
    if full_text:
        index.add_index(field_name=SPARSE_FIELD, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    client.create_collection(name, schema=chunks, index_params=index, consistency_level="Strong")

    docs = client.create_schema(auto_id=True, enable_dynamic_field=False)
    docs.add_field("pk", DataType.INT64, is_primary=True)
    varchar(docs, "doc_id", ID_BYTES)
    docs.add_field("part", DataType.INT64)
    docs.add_field("parts", DataType.INT64)
    varchar(docs, "text")
    for field in ("title", "date", "outlet", "outlet_lc", "url", "source_path", "content_hash", "extra"):
        varchar(docs, field)
    for field in ("chunks", "chars", "tokens", "gen"):
        docs.add_field(field, DataType.INT64)
    docs.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    client.create_collection(name + DOCS, schema=docs, index_params=_flat(client), consistency_level="Strong")

    meta = client.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    varchar(meta, "value")
    meta.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    client.create_collection(name + META, schema=meta, index_params=_flat(client), consistency_level="Strong")


def _add_full_text(schema) -> None:
    """The analyzed text and the BM25 function that fills the sparse field from it, on the server."""
    from pymilvus import DataType, Function, FunctionType

    schema.add_field(TEXT_FIELD, DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True,
                     analyzer_params=ANALYZER)
    schema.add_field(SPARSE_FIELD, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=[TEXT_FIELD],
                                 output_field_names=[SPARSE_FIELD]))


def bm25_input(text: str) -> str:
    """What the full-text field holds for a chunk's title and text, and what a BM25 query sends: its BM25 terms
    (rag.store.terms's stemmed words without stopwords, the index folder's), which the server splits on spaces,
    indexes and scores. Measured against the engine's english analyzer on the raw text: that one kept hit@5
    and MRR within 0.02 but changed most BM25 rankings (bench/milvus_vs_folder.py); these terms keep the folder's.

    >>> bm25_input("The Moscow Times reported talks")
    'moscow tim talk'
    """
    return " ".join(terms_of(text))


def has_full_text(described: dict) -> bool:
    """Whether a chunk collection (as ``describe_collection`` gives it) is in the full-text layout."""
    return has_field(described, SPARSE_FIELD)


def _flat(client):
    index = client.prepare_index_params()
    index.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
    return index
