"""Small frozen dataclasses that cross module boundaries."""
from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) in a document's original text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"span must satisfy 0 <= start <= end, got ({self.start}, {self.end})")


@dataclass(frozen=True)
class Document:
    """One article as ingested: the original text kept verbatim, plus metadata.

    Unknown metadata stays an empty string; it is never guessed.
    """

    doc_id: str
    text: str
    title: str = ""
    date: str = ""
    outlet: str = ""
    url: str = ""
    source_path: str = ""
    content_hash: str = ""
    author: str = ""
    crawl_date: str = ""  # when a web archive fetched the page (WARC-Date), not when it was published
    pages: tuple[int, ...] = ()  # PDFs: where each page starts in ``text`` (page n starts at pages[n-1])
    signature: str = ""  # near-duplicate signature of the text (rag/ingest/syndication.py)
    copies: tuple["Copy", ...] = ()  # the same story as carried by other outlets, folded into this one
    copy_of: str = ""  # a copy folded into that document (rag/ingest/syndication.py): stored without chunks

    def __post_init__(self) -> None:
        # rows read back from JSON carry lists and dicts: make them tuples and Copy values again
        object.__setattr__(self, "pages", tuple(int(p) for p in self.pages))
        object.__setattr__(self, "copies", tuple(c if isinstance(c, Copy) else Copy(**c) for c in self.copies))

    @property
    def also_carried_by(self) -> tuple[str, ...]:
        """The other outlets that carried this story (a copy with no stated outlet is named by its id).

        >>> Document("a", "x", outlet="Wire", copies=(Copy("b", outlet="Post"), Copy("c", outlet="Wire"), Copy("d"))).also_carried_by
        ('Post', 'd')
        """
        seen = {self.outlet.casefold()} if self.outlet else set()
        out = []
        for c in self.copies:
            name = c.outlet or c.doc_id
            if name.casefold() not in seen:
                seen.add(name.casefold())
                out.append(name)
        return tuple(out)

    def page_label(self, start: int, end: int) -> str:
        """"p. N" or "pp. N–M" for the characters [start, end) of a paged document, else "".

        >>> d = Document("r", "one\\n\\ntwo\\n\\nthree", pages=(0, 5, 10))
        >>> d.page_label(5, 8), d.page_label(0, 12), Document("t", "x").page_label(0, 1)
        ('p. 2', 'pp. 1–3', '')
        """
        if not self.pages:
            return ""
        first = bisect.bisect_right(self.pages, start)
        last = bisect.bisect_right(self.pages, max(start, end - 1))
        return f"p. {first}" if first == last else f"pp. {first}–{last}"


@dataclass(frozen=True)
class Copy:
    """A syndicated copy folded into a document: the same story as published under another id or outlet."""

    doc_id: str
    outlet: str = ""
    title: str = ""
    date: str = ""
    url: str = ""
    source_path: str = ""
    content_hash: str = ""
    similarity: float = 0.0  # estimated Jaccard similarity of their word shingles


@dataclass(frozen=True)
class Chunk:
    """A piece of a document's cleaned text, with its span in the original."""

    chunk_id: str
    doc_id: str
    text: str
    span: Span
    sentences: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the metadata a reader needs to check it."""

    chunk: Chunk
    document: Document
    score: float
    rank: int

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def text(self) -> str:
        return self.chunk.text

    def to_dict(self) -> dict[str, Any]:
        d = self.document
        return {
            "rank": self.rank,
            "score": round(float(self.score), 4),
            "chunk_id": self.chunk.chunk_id,
            "doc_id": d.doc_id,
            "title": d.title,
            "date": d.date,
            "outlet": d.outlet,
            "url": d.url,
            "author": d.author,
            "page": d.page_label(self.chunk.span.start, self.chunk.span.end),
            "also_carried_by": list(d.also_carried_by),
            "span": [self.chunk.span.start, self.chunk.span.end],
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class LeftOut:
    """A sentence of the model's reply left out of the answer (rag/answer/judge/trim.py), and why."""

    text: str    # as the model wrote it, its markers passage numbers
    reason: str  # what it states that the passages do not ("numbers not in the passages: 13th")


@dataclass(frozen=True)
class Citation:
    """An inline marker [n] in the answer, resolved to the n-th retrieved passage."""

    number: int
    passage: Passage
    highlights: tuple[Span, ...] = ()  # sentences of the article (original offsets) that back the claim

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, **self.passage.to_dict(),
                "highlights": [[h.start, h.end] for h in self.highlights]}


@dataclass(frozen=True)
class Timings:
    """Seconds per stage of one answer, plus token counts."""

    retrieve_s: float = 0.0
    first_token_s: float = 0.0
    generate_s: float = 0.0
    total_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Answer:
    """The result of one question."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    abstained: bool
    timings: Timings
    model_id: str
    raw_text: str = ""
    sentences: tuple[Any, ...] = ()  # rag.answer.judge.SentenceCheck per answer sentence
    abstain_reason: str = ""  # why the engine abstained ("" when it answered)
    refusal_p: float | None = None  # the model's own probability of replying "NOT FOUND" (rag/answer/judge/verdict.py)
    unverified: str = ""  # a reply withdrawn because its citations state none of it: the model's text, not an answer
    left_out: tuple[LeftOut, ...] = ()  # sentences of the reply left out of the answer: they state what no passage does

    @property
    def cited_doc_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.citations:
            seen.setdefault(c.passage.doc_id, None)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings": asdict(self.timings),
            "model_id": self.model_id,
            "raw_text": self.raw_text,
            "sentences": [s.to_dict() for s in self.sentences],
            "abstain_reason": self.abstain_reason,
            "refusal_p": None if self.refusal_p is None else round(self.refusal_p, 4),
            "unverified": self.unverified,
            "left_out": [asdict(x) for x in self.left_out],
        }


@dataclass(frozen=True)
class Skipped:
    """An input that was not ingested, and why."""

    source: str
    reason: str


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    folded: list[tuple[str, str]] = field(default_factory=list)  # (copy id, id of the document it was folded into)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        return d


@dataclass(frozen=True)
class ChunkerSettings:
    chunk_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.chunk_tokens <= 0:
            raise ValueError(f"chunk_tokens must be > 0, got {self.chunk_tokens}")
        if not 0 <= self.overlap_tokens < self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens must be >= 0 and < chunk_tokens ({self.chunk_tokens}), got {self.overlap_tokens}"
            )

    def to_dict(self) -> dict:
        return {"splitter": "langchain RecursiveCharacterTextSplitter", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "ChunkerSettings":
        """The settings an index's manifest recorded (``to_dict``'s output; the splitter's name is informative).

        >>> ChunkerSettings.from_dict(ChunkerSettings(120, 20).to_dict())
        ChunkerSettings(chunk_tokens=120, overlap_tokens=20)
        """
        return cls(**{k: v for k, v in d.items() if k != "splitter"})


def embedding_text(title: str, chunk_text: str) -> str:
    """What is embedded for a chunk: the title first (titles are searchable), then the text.

    >>> embedding_text("Headline", "Body.")
    'Headline\\nBody.'
    >>> embedding_text("Headline", "Headline\\n\\nBody.")
    'Headline\\n\\nBody.'
    """
    if not title or chunk_text.startswith(title):
        return chunk_text
    return f"{title}\n{chunk_text}"
