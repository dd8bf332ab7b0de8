"""The three Milvus collections of an index named COLL, and how rows are cut to fit them.

    COLL          one row per chunk: chunk id, document id, order, text, span, sentence spans (JSON),
                  BM25 terms with their counts and the chunk's length, the vector (HNSW, inner product)
    COLL__docs    one row per piece of a document's text (VARCHAR holds at most 65,535 bytes), with the
                  document's metadata, content hash, chunk and term counts, lowercased outlet and title words
    COLL__meta    key -> JSON: "manifest" (format, version, embedding model, chunker), "state" (committed
                  generation, counts, a removal in progress), "lock" (the writer)

Every row carries ``gen``, the generation that wrote it; readers see rows up to the
committed generation only (see milvus.py). Milvus 2.3 wants a vector field in every
collection: the two bookkeeping collections have a 2-dim placeholder.
"""
from __future__ import annotations

DOCS = "__docs"
META = "__meta"
TEXT_BYTES = 65_535
TERMS_MAX = 4096          # distinct terms a chunk may hold (a chunk has at most ~250 embedder tokens)
TITLE_WORDS_MAX = 512
TERM_BYTES = 256          # bm25.TERM_CHARS characters of up to 4 bytes each, with room
ID_BYTES = 1024
PLACEHOLDER = [0.0, 0.0]


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


def create_collections(client, name: str, dim: int) -> None:
    """Create COLL, COLL__docs and COLL__meta with their indexes (loaded, strong consistency)."""
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
    chunks.add_field("terms", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=TERMS_MAX,
                     max_length=TERM_BYTES)
    chunks.add_field("tfs", DataType.ARRAY, element_type=DataType.INT32, max_capacity=TERMS_MAX)
    chunks.add_field("length", DataType.INT64)
    chunks.add_field("gen", DataType.INT64)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
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
    docs.add_field("title_words", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=TITLE_WORDS_MAX,
                   max_length=TERM_BYTES)
    docs.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    client.create_collection(name + DOCS, schema=docs, index_params=_flat(client), consistency_level="Strong")

    meta = client.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    varchar(meta, "value")
    meta.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    client.create_collection(name + META, schema=meta, index_params=_flat(client), consistency_level="Strong")


def _flat(client):
    index = client.prepare_index_params()
    index.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
    return index
