"""The engine: answer(question, retrieve(question)), streamed, with citations mapped back."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

from rag.answer.cite import StreamFilter, join_marker_lists, resolve_markers
from rag.answer.judge import (Verdict, calibrated_threshold, check_threshold, decide, refused, trim, unverified,
                              verify_answer)
from rag.answer.llm import LLM
from rag.answer.prompt import as_given, build_messages
from rag.answer.refusal import RefusalProbe
from rag.embed.embedder import CachedEmbedder, Embedder
from rag.retrieve.evidence import TOP_K, Evidence, EvidenceFinder, EvidenceSettings, chunk_sentences
from rag.retrieve.question import Question, analyse, check_question
from rag.retrieve.retriever import RetrievalSettings, Retriever
from rag.store import Store, open_store
from rag.types import Answer, Citation, Passage, Timings

CALIBRATED = "calibrated"  # refusal_threshold: the threshold calibrated for the engine's model (rag/answer/judge/verdict.py)
NOT_FIRST = ("[",)  # an answer starts with words, not with a citation (replies of bare markers were answers lost)
WARM_SENTENCES = 5_000  # article sentences embedded at warm-up (about 40 s on 2 cores, in the background); the rest on first use
NOT_IN_ARTICLES = "Not in the articles: the indexed articles do not contain the answer to this question."


@dataclass(frozen=True)
class Retrieved:
    """Sent as soon as retrieval finishes, before generation starts."""

    passages: tuple[Passage, ...]
    seconds: float


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Union[Retrieved, Token, Done]


def _analysed(question: object) -> Question:
    """The question as a user asked it: checked (BadQuestion when empty or too long), whitespace normalised and
    analysed, once; every later step reads this."""
    return analyse(check_question(question))


class Engine:
    """Retrieval plus generation over one index. Thread-safe: one generation at a time."""

    def __init__(self, store: Store, embedder: Embedder, llm: LLM, top_k: int = TOP_K, max_tokens: int = 200,
                 evidence: EvidenceSettings = EvidenceSettings(), retrieval: RetrievalSettings = RetrievalSettings(),
                 vectors: CachedEmbedder | None = None, refusal_threshold: float | None | str = CALIBRATED):
        """``refusal_threshold``: abstain when the model's own probability of replying "NOT FOUND" reaches it
        (rag/answer/judge/verdict.py); "calibrated" (default) takes the threshold calibrated for the model; None never
        abstains on it (the probability is still read and reported)."""
        if top_k <= 0:
            raise ValueError(f"top_k must be > 0, got {top_k}")
        if max_tokens <= 0:
            raise ValueError(f"max_tokens must be > 0, got {max_tokens}")
        self.store = store
        self.embedder = embedder
        self.llm = llm
        self.top_k = top_k
        self.max_tokens = max_tokens
        self.retrieval = retrieval
        self._refusal_setting = refusal_threshold
        self.refusal_threshold = (calibrated_threshold(llm.model_id) if refusal_threshold == CALIBRATED
                                  else check_threshold(refusal_threshold))
        # questions and article sentences, each embedded once (shared with engines for other models)
        self.vectors = CachedEmbedder(embedder) if vectors is None else vectors
        self.retriever = Retriever(store, self.vectors, retrieval)
        self.finder = EvidenceFinder(self.retriever, self.vectors, evidence, top_k)
        self.generate_lock = threading.Lock()

    @property
    def evidence(self) -> EvidenceSettings:
        """How evidence is selected from the retrieved chunks (settable)."""
        return self.finder.settings

    @evidence.setter
    def evidence(self, settings: EvidenceSettings) -> None:
        self.finder.settings = settings

    def reload(self) -> None:
        """Re-read the index from disk (after an ingest or removal by anyone)."""
        store = open_store(self.store.info.location, expect_model_id=self.embedder.model_id)
        with self.generate_lock:
            self.store = store
            self.retriever = Retriever(store, self.vectors, self.retrieval)
            self.finder = EvidenceFinder(self.retriever, self.vectors, self.evidence, self.top_k)

    def warm_up(self, sentences: int = WARM_SENTENCES) -> None:
        """Load both models, evaluate the fixed start of the prompt once (so its KV state is cached) and embed
        up to ``sentences`` article sentences, reading the articles a page at a time. A first BM25 search comes
        first: a store that builds something for it (a Milvus index's BM25 cache) does it now."""
        self.store.lexical_search("warm up", 1)
        self.vectors.embed_batch(["warm up"])
        warm = getattr(self.llm, "warm_up", None)
        if warm is not None:
            with self.generate_lock:
                warm(build_messages("warm up", Evidence((), ())))
        todo = _article_sentences(self.store, min(sentences, self.vectors.max_items))
        for start in range(0, len(todo), 64):  # small batches: questions asked meanwhile interleave
            self.vectors.embed_batch(todo[start:start + 64])

    def warm_up_in_background(self) -> threading.Thread:
        """``warm_up`` on a daemon thread: questions are answered meanwhile (the first ones a little slower)."""
        thread = threading.Thread(target=self.warm_up, name="rag-warm-up", daemon=True)
        thread.start()
        return thread

    def with_llm(self, llm: LLM) -> "Engine":
        """Another engine over the same index, embedder and sentence vectors, answering with ``llm``."""
        return Engine(self.store, self.embedder, llm, self.top_k, self.max_tokens, self.evidence, self.retrieval,
                      self.vectors, self._refusal_setting)

    @property
    def model_id(self) -> str:
        return self.llm.model_id

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The chunks retrieved for ``question``, best first (no evidence selection, no LLM)."""
        return self.retriever.retrieve(_analysed(question), self.top_k if top_k is None else top_k)

    def select(self, question: str, top_k: int | None = None) -> tuple[Passage, ...]:
        """The passages the model would be shown for ``question`` (retrieval and evidence selection, no LLM)."""
        return self.finder.find(_analysed(question), top_k).evidence.passages

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer a question from the index; the result carries citations, passages and timings."""
        for event in self.ask_stream(question, top_k):
            if isinstance(event, Done):
                return event.answer
        raise RuntimeError("ask_stream ended without a result")  # pragma: no cover

    def ask_stream(self, question: str, top_k: int | None = None) -> Iterator[Event]:
        """Yield Retrieved, then Token pieces (invalid citation markers held back), then Done."""
        asked = _analysed(question)
        t0 = time.perf_counter()
        evidence = self.finder.find(asked, top_k).evidence
        passages = evidence.passages
        t_retrieved = time.perf_counter()
        yield Retrieved(passages, t_retrieved - t0)
        if not passages:
            timings = Timings(retrieve_s=t_retrieved - t0, total_s=time.perf_counter() - t0)
            yield Done(Answer(asked.text, NOT_IN_ARTICLES, (), passages, True, timings, self.model_id,
                              abstain_reason="no passage of the articles matches the question"))
            return
        messages = build_messages(asked.text, evidence)
        renumber = evidence.renumber
        pieces: list[str] = []
        first_token_s = 0.0
        stream_filter = StreamFilter(renumber)
        probe = RefusalProbe()
        early: Verdict | None = None
        with self.generate_lock:
            t_gen = time.perf_counter()
            prompt_tokens = self.llm.count_prompt_tokens(messages)
            stream = self.llm.stream(messages, self.max_tokens, refusal=probe, not_first=NOT_FIRST)
            try:
                for piece in stream:
                    if not pieces:
                        first_token_s = time.perf_counter() - t0
                        early = refused(probe.probability, self.refusal_threshold)
                        if early is not None:
                            break  # the model's own verdict, before any answer text is shown
                    pieces.append(piece)
                    shown = stream_filter.feed(piece)
                    if shown:
                        yield Token(shown)
            finally:
                getattr(stream, "close", lambda: None)()
            raw = "".join(pieces)
            t_done = time.perf_counter()
        tail = stream_filter.flush()
        if tail:
            yield Token(tail)
        timings = Timings(
            retrieve_s=t_retrieved - t0,
            first_token_s=first_token_s,
            generate_s=t_done - t_gen,
            total_s=time.perf_counter() - t0,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(pieces),
        )
        yield Done(self.judged(asked, raw, evidence, early, timings, probe.probability))

    def judged(self, question: Question, raw: str, evidence: Evidence, early: Verdict | None, timings: Timings,
               refusal_p: float | None) -> Answer:
        """The answer to ``question`` made of the model's reply ``raw`` to ``evidence`` (its lists of markers made
        runs, cite.py): its later sentences that state what the evidence does not left out (trim.py), the verdict
        on the rest (or ``early``, the verdict given before any answer text), then each sentence checked against
        what it cites (verify.py)."""
        passages = evidence.passages
        given = [as_given(p) for p in passages]
        renumber = evidence.renumber
        reply = trim(question, join_marker_lists(raw), renumber, given)
        text, cited = resolve_markers(reply.reply, renumber)
        verdict = early or decide(question, text, cited, given)
        if not verdict.answered:
            return Answer(question.text, NOT_IN_ARTICLES, (), passages, True, timings, self.model_id, raw,
                          abstain_reason=verdict.reason, refusal_p=refusal_p)
        checks = verify_answer(reply.reply, evidence, question)
        text = " ".join(c.text for c in checks)
        withdrawn = unverified(checks)
        if withdrawn is not None:  # the reader gets no answer, and the model's text only as unverified
            return Answer(question.text, NOT_IN_ARTICLES, (), passages, True, timings, self.model_id, raw,
                          sentences=tuple(checks), abstain_reason=withdrawn.reason, refusal_p=refusal_p,
                          unverified=text)
        numbers = list(dict.fromkeys(n for c in checks for n in c.citations))
        citations = tuple(
            Citation(n, passages[n - 1], tuple(sorted({span for c in checks for m, span in c.highlights if m == n},
                                                      key=lambda s: s.start)))
            for n in numbers
        )
        return Answer(question.text, text, citations, passages, False, timings, self.model_id, raw, tuple(checks),
                      refusal_p=refusal_p, left_out=reply.left_out)


def _article_sentences(store: Store, limit: int, page: int = 200) -> list[str]:
    """Up to ``limit`` distinct sentences of the indexed articles, in doc_id order."""
    out: dict[str, None] = {}
    offset = 0
    while len(out) < limit:
        infos = store.list_documents(offset, page)
        if not infos:
            break
        offset += len(infos)
        documents = store.get_documents(d.doc_id for d in infos)
        for info in infos:
            doc = documents[info.doc_id]
            for chunk in store.chunks_of(info.doc_id):
                for _, text in chunk_sentences(chunk, doc):
                    out.setdefault(text, None)
    return list(out)[:limit]


def open_engine(index_path: str | Path, model: str | None = None, top_k: int = TOP_K, max_tokens: int = 200,
                embedder: Embedder | None = None, n_ctx: int = 4096,
                retrieval: RetrievalSettings = RetrievalSettings(),
                refusal_threshold: float | None | str = CALIBRATED) -> Engine:
    """An engine over the index at ``index_path`` with the real models (loaded lazily).

    ``model`` is "quality" (default), "fast", or a path to a GGUF file; $RAG_MODEL is read when it is None.
    """
    from rag.indexes import embedder_for_index
    from rag.answer.llm import LlamaCppLLM
    from rag.answer.models import resolve_model

    embedder = embedder or embedder_for_index(index_path)
    store = open_store(index_path, expect_model_id=embedder.model_id)
    path, model_id = resolve_model(model)
    return Engine(store, embedder, LlamaCppLLM(path, model_id, n_ctx=n_ctx), top_k=top_k, max_tokens=max_tokens,
                  retrieval=retrieval, refusal_threshold=refusal_threshold)
