"""Folding syndicated copies at ingest: which incoming documents are copies of a stored or an incoming story.

A copy is not chunked or embedded again: it is stored as a document without chunks that names its story
(``Document.copy_of``), and the story lists it among its ``copies`` ("also carried by"). Candidates among
the stored documents come from the full-text index (the incoming text's opening words), so folding reads a
handful of stored documents per incoming one, never the whole index; their signatures are then compared
(rag/ingest/syndication.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np

from rag.ingest import syndication
from rag.ingest.loaders import Loaded
from rag.store import Store, StoreWriter
from rag.types import Document

QUERY_WORDS = 60     # the opening words of an incoming text, searched for stored candidates
CANDIDATE_CHUNKS = 8  # chunks looked at per incoming text


@dataclass
class FoldPlan:
    """What an ingest run writes besides the new stories' chunks."""

    stories: list[Loaded] = field(default_factory=list)            # to chunk, embed and store (signatures set)
    copies: list[Document] = field(default_factory=list)           # stored without chunks, copy_of set
    restored: dict[str, Document] = field(default_factory=dict)    # stored stories whose list of copies changed
    folded: list[tuple[str, str]] = field(default_factory=list)    # (copy, story) for the report


def plan(fresh: list[Loaded], store: Store) -> FoldPlan:
    """Sort the new or changed documents of a run into stories and copies."""
    docs = [replace(item.document, signature=syndication.signature(item.document.text), copies=(), copy_of="")
            for item in fresh]
    by_id = {d.doc_id: d for d in docs}
    excludes = {item.document.doc_id: item.exclude for item in fresh}
    before = store.get_documents(by_id)  # these ids as stored now (a story, or a copy)
    kept = {d.doc_id: d.signature or syndication.signature(d.text)
            for d in _candidates(docs, store).values() if not d.copy_of and d.doc_id not in by_id}
    matches = {m.doc_id: m for m in syndication.find_copies(docs, kept)}
    out = FoldPlan()
    stored: dict[str, Document] = {}

    def story_of(doc_id: str) -> Document:  # a stored story, with the changes planned so far
        if doc_id not in out.restored:
            out.restored[doc_id] = stored.get(doc_id) or store.get_documents([doc_id])[doc_id]
        return out.restored[doc_id]

    for old in before.values():  # a changed copy leaves its story; a story's new version keeps its copies
        if old.copy_of and old.copy_of not in by_id:
            out.restored[old.copy_of] = syndication.detach(story_of(old.copy_of), [old.doc_id])
    stories: dict[str, Document] = {}
    for doc in docs:
        if doc.doc_id not in matches:
            old = before.get(doc.doc_id)
            stories[doc.doc_id] = replace(doc, copies=old.copies) if old is not None and not old.copy_of else doc
    for doc in docs:
        match = matches.get(doc.doc_id)
        if match is None:
            continue
        old = before.get(doc.doc_id)
        carried = [syndication.as_copy(doc, match.similarity), *(old.copies if old and not old.copy_of else ())]
        if match.of in stories:
            stories[match.of] = syndication.attach(stories[match.of], carried)
        else:
            out.restored[match.of] = syndication.attach(story_of(match.of), carried)
        out.copies.append(replace(doc, copy_of=match.of))
        followers = store.get_documents(c.doc_id for c in carried[1:])  # a former story's copies follow it
        out.copies.extend(replace(f, copy_of=match.of) for f in followers.values())
        out.folded.append((doc.doc_id, match.of))
    out.stories = [Loaded(stories[d], excludes[d]) for d in stories]
    for story_id in list(out.restored):
        if story_id in stories:  # it is stored anew with the run anyway
            del out.restored[story_id]
    return out


def apply(fold: FoldPlan, store: Store, writer: StoreWriter) -> None:
    """Store the copies (no chunks) and the stored stories whose copies changed (their chunks as stored)."""
    empty = np.zeros((0, store.info.embedding.dim), dtype=np.float32)
    for copy in fold.copies:
        writer.put(copy, [], empty)
    for story in fold.restored.values():
        chunks = store.chunks_of(story.doc_id)
        writer.put(story, chunks, store.get_vectors([c.chunk_id for c in chunks]))


def removal(doc_ids: Iterable[str], store: Store) -> tuple[list[str], dict[str, Document]]:
    """What removing ``doc_ids`` takes away: the documents, the copies folded into removed stories; and the
    stored stories that lose a removed copy from their list."""
    wanted = list(dict.fromkeys(doc_ids))
    docs = store.get_documents(wanted)
    gone = list(wanted)
    changed: dict[str, Document] = {}
    for doc in docs.values():
        gone += [c.doc_id for c in doc.copies]
        if doc.copy_of and doc.copy_of not in wanted:
            story = changed.get(doc.copy_of) or store.get_documents([doc.copy_of]).get(doc.copy_of)
            if story is not None:
                changed[doc.copy_of] = syndication.detach(story, [doc.doc_id])
    return list(dict.fromkeys(gone)), changed


def _candidates(docs: list[Document], store: Store) -> dict[str, Document]:
    """Stored documents that may tell the same story as one of ``docs``: those whose chunks the full-text index
    finds for each document's opening words."""
    chunk_ids: list[str] = []
    for doc in docs:
        if syndication.foldable(doc):
            query = " ".join(doc.text.split()[:QUERY_WORDS])
            chunk_ids += [h.chunk_id for h in store.lexical_search(query, CANDIDATE_CHUNKS)]
    doc_ids = {c.doc_id for c in store.get_chunks(dict.fromkeys(chunk_ids)).values()}
    return store.get_documents(doc_ids)
