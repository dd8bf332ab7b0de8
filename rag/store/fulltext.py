"""BM25 over chunk texts with tantivy (a full-text engine: incremental, on disk, top-k without scoring every chunk).

Texts are tokenized by ``rag.store.terms.bm25_tokens`` (stemmed, no stopwords) before
they reach tantivy, which splits on whitespace only, so questions and chunks
are matched word for word as before. Documents are keyed by the chunk's integer
row id; re-applying the same additions and deletions is harmless.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

HEAP_BYTES = 64_000_000


def _tantivy():
    try:
        import tantivy
    except ImportError as e:  # pragma: no cover - install problem
        raise ImportError("tantivy is not installed; run scripts/setup.sh (or: pip install tantivy)") from e
    return tantivy


def _schema():
    tantivy = _tantivy()
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("tokens", stored=False, tokenizer_name="whitespace", index_option="freq")
    return sb.build()


class FullText:
    """A tantivy index in ``path`` (created when missing)."""

    def __init__(self, path: Path):
        tantivy = _tantivy()
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self._index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        self._searcher = self._index.searcher()

    def refresh(self) -> None:
        self._index.reload()
        self._searcher = self._index.searcher()

    @property
    def size(self) -> int:
        return self._searcher.num_docs

    def apply(self, delete: Iterable[int], add: Sequence[tuple[int, Sequence[str]]]) -> None:
        """Delete the given ids, then add (id, tokens) pairs; one tantivy commit."""
        tantivy = _tantivy()
        writer = self._index.writer(heap_size=HEAP_BYTES, num_threads=1)
        try:
            for i in delete:
                writer.delete_documents_by_term("id", int(i))
            for i, toks in add:
                writer.add_document(tantivy.Document(id=int(i), tokens=" ".join(toks) or "\u2205"))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        self.refresh()

    def search(self, tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Up to k (id, BM25 score) pairs for the query tokens, best first."""
        if not tokens or k <= 0 or not self.size:
            return []
        tantivy = _tantivy()
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "tokens", t)) for t in tokens]
        hits = self._searcher.search(tantivy.Query.boolean_query(clauses), k).hits
        return [(int(self._searcher.doc(addr)["id"][0]), float(score)) for score, addr in hits if score > 0]
