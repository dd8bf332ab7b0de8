"""Pure HTML rendering for the page: answers, source cards, highlights. Article text is untrusted: all of it is escaped.

>>> highlight("a < b. c", [(0, 6)])
'<mark>a &lt; b.</mark> c'
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterable, Sequence

from rag.answer.cite import MARKER, cited_numbers, marker_numbers, strip_markers
from rag.types import Answer, Passage, Span, Timings

from .highlight import Mark, card_marks

UNVERIFIED_TITLE = "no cited passage states this"


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, as the page shows it."""

    question: str
    searched: str = ""  # the standalone question retrieval used, when a follow-up was rewritten
    text: str = ""  # the answer so far, with [n] markers
    abstained: bool = False
    reason: str = ""  # why the engine abstained
    error: str = ""
    meta: str = ""  # model and timings, shown small
    pending: bool = False
    status: str = ""  # what is happening while pending ("Searching the articles…")
    sentences: tuple = ()  # rag.answer.judge.SentenceCheck per sentence of the finished answer
    unverified: str = ""  # a reply withdrawn because its citations state none of it (shown collapsed, not as the answer)
    left_out: tuple = ()  # rag.types.LeftOut: sentences of the reply left out of the answer (shown collapsed)


def esc(text: object) -> str:
    """HTML-escaped text, quotes included.

    >>> esc('<b onclick="x">')
    '&lt;b onclick=&quot;x&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


def _mark(span) -> Mark:
    if isinstance(span, Mark):
        return span
    if isinstance(span, Span):
        return Mark(span.start, span.end)
    return Mark(int(span[0]), int(span[1]))


def _mark_tag(covering: Sequence[Mark]) -> str:
    sentences = sorted({i for m in covering for i in m.sentences})
    classes = [f"s{i}" for i in sentences]
    title = ""
    if sentences:
        title = f' title="backs answer sentence{"s" if len(sentences) > 1 else ""} {", ".join(map(str, sentences))}"'
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<mark{cls}{title}>"


def highlight(text: str, spans: Iterable, offset: int = 0, regions: Iterable = ()) -> str:
    """``text`` escaped, with ``spans`` wrapped in <mark> and ``regions`` in <span class="in-passage">.

    Spans (Span, (start, end) or Mark) and regions are offsets in a larger text of which ``text`` starts at
    ``offset``; parts outside are clipped. A mark names the answer sentences it backs (class ``s1``…).

    >>> highlight("Hi <you>. Bye.", [Span(10, 14)], offset=0, regions=[(0, 9)])
    '<span class="in-passage">Hi &lt;you&gt;.</span> <mark>Bye.</mark>'
    >>> highlight("abc", [(5, 9)], offset=4)
    'a<mark>bc</mark>'
    >>> highlight("A. B.", [Mark(0, 2, sentences=(1,))])
    '<mark class="s1" title="backs answer sentence 1">A.</mark> B.'
    """
    n = len(text)

    def clip(ranges: Iterable) -> list[tuple[int, int, Mark]]:
        local = ((max(m.start - offset, 0), min(m.end - offset, n), m) for m in map(_mark, ranges))
        return [(a, b, m) for a, b, m in local if a < b]

    marks, regs = clip(spans), clip(regions)
    cuts = sorted({0, n, *(x for a, b, _ in marks + regs for x in (a, b))})
    # label each piece between cuts, then join neighbours with the same label so tags never split needlessly
    pieces: list[tuple[tuple[str, bool], int, int]] = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [m for s, e, m in marks if s <= a and b <= e]
        label = (_mark_tag(covering) if covering else "", any(s <= a and b <= e for s, e, _ in regs))
        if pieces and pieces[-1][0] == label:
            pieces[-1] = (label, pieces[-1][1], b)
        else:
            pieces.append((label, a, b))
    out = []
    for (tag, in_region), a, b in pieces:
        piece = esc(text[a:b])
        if tag:
            piece = f"{tag}{piece}</mark>"
        if in_region:
            piece = f'<span class="in-passage">{piece}</span>'
        out.append(piece)
    return "".join(out)


def _marker_html(number: str | int, link: bool, note: str = "") -> str:
    cls = "cite repaired" if note else "cite"
    if link:
        return f'<a class="{cls}" href="#src-{number}" title="{esc(note or f"Show source {number}")}">[{number}]</a>'
    title = f' title="{esc(note)}"' if note else ""
    return f'<span class="{cls}"{title}>[{number}]</span>'


def _markers(escaped: str, link: bool, note: str = "") -> str:
    return MARKER.sub(lambda m: "".join(_marker_html(n, link, note) for n in marker_numbers(m.group(1))), escaped)


def answer_html(text: str, link_markers: bool = True) -> str:
    """The answer escaped, paragraphs kept, each [n] turned into a link to source card n (while it streams).

    >>> answer_html("Xu <b> [2].")
    'Xu &lt;b&gt; <a class="cite" href="#src-2" title="Show source 2">[2]</a>.'
    """
    return _markers(esc(text.strip()), link_markers).replace("\n", "<br>")


def sentence_html(check, index: int = 0, link_markers: bool = True) -> str:
    """One checked answer sentence (a rag.answer.judge.SentenceCheck): its markers, a corrected citation noted in the
    marker's title, an unsupported sentence flagged. ``index`` > 0 ties it to the marks it backs (class ``s<index>``).

    >>> from rag.answer.judge import SentenceCheck
    >>> sentence_html(SentenceCheck("Xu <b> [1].", (1,), 1.0, True), 2)
    '<span class="sent s2">Xu &lt;b&gt; <a class="cite" href="#src-1" title="Show source 1">[1]</a>.</span>'
    """
    note = f"citation corrected from {''.join(f'[{n}]' for n in check.repaired_from)}" if check.repaired_from else ""
    body = _markers(esc(check.text.strip()), link_markers, note).replace("\n", "<br>")
    shown = set(cited_numbers(check.text))
    added = [n for n in check.citations if n not in shown]  # cited by the check, absent from the text
    if added:
        body += " " + "".join(_marker_html(n, link_markers, note or "citation added: the model cited no passage here")
                              for n in added)
    classes = ["sent", *([f"s{index}"] if index else []), *([] if check.supported else ["unverified"])]
    title = ""
    if not check.supported:
        body += ' <span class="badge-unverified">unverified</span>'
        title = f' title="{esc(UNVERIFIED_TITLE)}"'
    return f'<span class="{" ".join(classes)}"{title}>{body}</span>'


def sentences_html(sentences: Sequence, link_markers: bool = True) -> str:
    """A finished answer, sentence by sentence (see ``sentence_html``)."""
    return " ".join(sentence_html(c, i if link_markers else 0, link_markers) for i, c in enumerate(sentences, 1))


def source_title(passage: Passage) -> str:
    return passage.document.title or passage.document.doc_id


def excerpt_html(passage: Passage, spans: Sequence = ()) -> str:
    """The passage as it stands in the article, ``spans`` marked; "…" where its sentences are not contiguous.

    >>> from rag.types import Chunk, Document
    >>> doc = Document("d", "One. Two. Three <4>.")
    >>> p = Passage(Chunk("d:0", "d", "One. … Three <4>.", Span(0, 20), (Span(0, 4), Span(10, 20))), doc, 1.0, 1)
    >>> excerpt_html(p, [Span(10, 20)])
    'One.<span class="gap"> … </span><mark>Three &lt;4&gt;.</mark>'
    """
    text, sentences = passage.document.text, sorted(passage.chunk.sentences, key=lambda s: s.start)
    if not sentences:
        span = passage.chunk.span
        return highlight(text[span.start : span.end], spans, offset=span.start)
    out, prev_end = [], None
    for s in sentences:
        if prev_end is not None and s.start > prev_end:
            gap = text[prev_end : s.start]
            out.append(esc(gap) if not gap.strip() else '<span class="gap"> … </span>')
        start = max(s.start, prev_end or 0)  # overlapping sentences: show the overlap once
        if start < s.end:
            out.append(highlight(text[start : s.end], spans, offset=start))
        prev_end = max(prev_end or 0, s.end)
    return "".join(out)


def source_card(number: int, passage: Passage, spans: Sequence = (), cited: bool = False) -> str:
    """One source: title, outlet, date, score, the passage with ``spans`` (Span or Mark) marked, and the full
    article on demand."""
    doc, span = passage.document, passage.chunk.span
    page = doc.page_label(span.start, span.end)
    meta = [esc(x) for x in (doc.outlet, f"by {doc.author}" if doc.author else "", doc.date, page) if x]
    meta.append(f"relevance {passage.score:.2f}")
    if doc.title:
        meta.append(f'<code>{esc(doc.doc_id)}</code>')
    excerpt = excerpt_html(passage, spans)
    full = highlight(doc.text, spans, regions=passage.chunk.sentences or [span])
    return (
        f'<article class="src-card{" cited" if cited else ""}" id="src-{number}" data-doc-id="{esc(doc.doc_id)}">'
        f'<header><span class="src-num">[{number}]</span> '
        f'<span class="src-title">{esc(source_title(passage))}</span></header>'
        f'<div class="src-meta">{" · ".join(meta)}</div>'
        + (f'<div class="src-also">also carried by {esc(", ".join(doc.also_carried_by))}</div>'
           if doc.also_carried_by else "")
        + f'<div class="src-passage">{excerpt}</div>'
        f'<details class="src-full"><summary>Full article</summary><div class="src-article">{full}</div></details>'
        "</article>"
    )


def sources_pending(passages: Sequence[Passage]) -> str:
    """Cards for the passages just retrieved, while the answer is being written."""
    if not passages:
        return _panel("Sources", '<p class="src-empty">No passages found: the index is empty.</p>')
    cards = "".join(source_card(n, p) for n, p in enumerate(passages, 1))
    return _panel(f"Sources <small>{len(passages)} passages retrieved · answer in progress…</small>", cards)


def sources_for_answer(answer: Answer) -> str:
    """Cited passages first, highlighted; the others in a collapsed section; on abstention the closest passages."""
    passages = answer.passages
    if answer.abstained:
        if not passages:
            return _panel("Closest passages", '<p class="src-empty">The index holds no articles yet.</p>')
        cards = "".join(source_card(n, p) for n, p in enumerate(passages, 1))
        return _panel("Closest passages <small>they do not answer the question</small>", cards, "abstained")
    cited_numbers = [c.number for c in answer.citations]
    cards = "".join(source_card(c.number, c.passage, card_marks(answer, c), cited=True) for c in answer.citations)
    if not cards:
        cards = '<p class="src-empty">The answer cites no passage; check it against the passages below.</p>'
    others = [(n, p) for n, p in enumerate(passages, 1) if n not in cited_numbers]
    if others:
        cards += (
            f'<details class="src-others"><summary>Other retrieved passages ({len(others)}), not cited</summary>'
            + "".join(source_card(n, p) for n, p in others)
            + "</details>"
        )
    title = f"Sources <small>{len(cited_numbers)} cited of {len(passages)} retrieved</small>"
    return _panel(title, cards)


def sources_placeholder(text: str = "Sources for the answer appear here.") -> str:
    return _panel("Sources", f'<p class="src-empty">{esc(text)}</p>')


def _panel(title_html: str, body: str, extra_class: str = "") -> str:
    classes = f"sources {extra_class}".strip()
    return f'<div class="{classes}"><h3 class="panel-title">{title_html}</h3>{body}</div>'


def timings_text(answer: Answer) -> str:
    """A discreet line: model and seconds per stage.

    >>> from rag.types import Answer, Timings
    >>> timings_text(Answer("q", "a", (), (), False, Timings(0.04, 1.234, 3.0, 4.5, 10, 5), "m"))
    'm · retrieval 0.04 s · first token 1.2 s · total 4.5 s'
    """
    t: Timings = answer.timings
    parts = [answer.model_id, f"retrieval {t.retrieve_s:.2f} s"]
    if t.first_token_s:
        parts.append(f"first token {t.first_token_s:.1f} s")
    parts.append(f"total {t.total_s:.1f} s")
    return " · ".join(parts)


NOT_IN_ARTICLES_HTML = (
    '<div class="notice abstain"><strong>Not in the articles.</strong> '
    "The indexed articles do not contain the answer to this question. "
    "The closest passages found are shown beside.</div>"
)


def turn_html(turn: Turn, current: bool) -> str:
    parts = [f'<div class="q">{esc(turn.question)}</div>']
    if turn.searched and turn.searched != turn.question:
        parts.append(f'<div class="searched">Searched for: “{esc(turn.searched)}”</div>')
    if turn.error:
        parts.append(f'<div class="notice error">{esc(turn.error)}</div>')
    elif turn.abstained:
        parts.append(NOT_IN_ARTICLES_HTML)
        if turn.reason:
            parts.append(f'<div class="reason">Why: {esc(turn.reason)}</div>')
        if turn.unverified:
            parts.append('<details class="unverified-reply"><summary>The model\'s unverified reply</summary>'
                         f'<div class="unverified-text">{esc(strip_markers(turn.unverified))}</div></details>')
    elif turn.sentences and not turn.pending:
        parts.append(f'<div class="a">{sentences_html(turn.sentences, link_markers=current)}</div>')
        parts.append(left_out_html(turn.left_out))
    elif turn.text:
        cursor = '<span class="cursor"></span>' if turn.pending else ""
        parts.append(f'<div class="a">{answer_html(turn.text, link_markers=current)}{cursor}</div>')
    if turn.pending and not turn.text:
        parts.append(f'<div class="status">{esc(turn.status or "Working…")}</div>')
    if turn.meta:
        parts.append(f'<div class="timings">{esc(turn.meta)}</div>')
    return f'<div class="turn{" current" if current else " earlier"}">{"".join(parts)}</div>'


def left_out_html(left_out: Sequence) -> str:
    """The sentences of the model's reply left out of the answer, collapsed, each with why ("" when none).

    >>> from rag.types import LeftOut
    >>> left_out_html([LeftOut("It is the 13th [1].", "numbers not in the passages: 13th")]).count("<li>")
    1
    """
    if not left_out:
        return ""
    items = "".join(f'<li>“{esc(strip_markers(x.text))}” <span class="why">({esc(x.reason)})</span></li>'
                    for x in left_out)
    n = len(left_out)
    return (f'<details class="left-out"><summary>{n} sentence{"s" if n > 1 else ""} of the model\'s reply left out: '
            f'{"they state" if n > 1 else "it states"} what no passage does</summary><ul>{items}</ul></details>')


def conversation_html(turns: Sequence[Turn], notice: str = "") -> str:
    """All turns, the last one in full with its markers linked to the source cards; ``notice`` (an error) below."""
    if not turns and not notice:
        return (
            '<div class="conversation empty"><p>Ask a question about the indexed articles. '
            "Answers come only from the articles, with numbered citations; follow-up questions are understood "
            "in context.</p></div>"
        )
    body = "".join(turn_html(t, current=(i == len(turns) - 1)) for i, t in enumerate(turns))
    if notice:
        body += f'<div class="notice error">{esc(notice)}</div>'
    return f'<div class="conversation">{body}</div>'


def message_html(text: str, kind: str = "info") -> str:
    """A one-line notice (kind: info, error)."""
    return f'<div class="notice {esc(kind)}">{esc(text)}</div>'
