"""The page's CSS (a Python string, so it ships with the package without package-data settings)."""

LINKED_SENTENCES = 40  # answer sentences whose marks light up with them on hover (CSS :has, no script)


def sentence_links(n: int = LINKED_SENTENCES) -> str:
    """Hovering answer sentence i lights up the marks (class s<i>) that back it and dims the others; hovering a mark
    lights up its sentences. The lighting rule is the more specific one, so it wins over the dimming.

    >>> print(sentence_links(1))
    body:has(#conversation .turn.current .sent:hover) #sources mark { background: #fef3c7; }
    body:has(#conversation .turn.current .sent.s1:hover) #sources mark.s1 { background: #fbbf24; box-shadow: 0 0 0 1px #f59e0b; }
    body:has(#sources mark.s1:hover) #conversation .sent.s1 { background: #fde68a; }
    """
    numbers = range(1, n + 1)
    lit = ", ".join(f"body:has(#conversation .turn.current .sent.s{i}:hover) #sources mark.s{i}" for i in numbers)
    back = ", ".join(f"body:has(#sources mark.s{i}:hover) #conversation .sent.s{i}" for i in numbers)
    return (
        "body:has(#conversation .turn.current .sent:hover) #sources mark { background: #fef3c7; }\n"
        f"{lit} {{ background: #fbbf24; box-shadow: 0 0 0 1px #f59e0b; }}\n"
        f"{back} {{ background: #fde68a; }}"
    )


CSS = """
.gradio-container { max-width: 1440px !important; margin: 0 auto !important; }
#page-header h1 { font-size: 1.6rem; margin: 0 0 .15rem 0; }
#page-header p { margin: 0; color: var(--body-text-color-subdued); }

/* conversation (left) */
.conversation { font-size: 1.02rem; line-height: 1.6; min-height: 9rem; }
.conversation.empty p { color: var(--body-text-color-subdued); }
.turn { padding: .6rem 0 .8rem 0; }
.turn + .turn { border-top: 1px solid var(--border-color-primary); }
.turn.earlier { opacity: .72; font-size: .95rem; }
.turn .q { font-weight: 600; margin-bottom: .3rem; }
.turn .q::before { content: "Q  "; color: var(--color-accent); font-weight: 700; }
.turn .a { white-space: normal; }
.turn .searched, .turn .status, .turn .timings { color: var(--body-text-color-subdued); font-size: .82rem; }
.turn .searched { font-style: italic; margin-bottom: .3rem; }
.turn .timings { margin-top: .4rem; }
a.cite, span.cite {
  font-size: .75em; vertical-align: super; line-height: 0; text-decoration: none; font-weight: 600;
  padding: 0 .2em; margin-left: .1em; border-radius: 4px; background: #e0e7ff; color: #3730a3;
}
a.cite:hover { background: #c7d2fe; }
.sent { border-radius: 3px; transition: background-color .15s; }
.turn.current .sent:hover { background: #fef9c3; }
.sent.unverified { text-decoration: underline dotted #b45309; text-decoration-thickness: 1.5px;
  text-underline-offset: 3px; cursor: help; }
.sent.unverified .cite { display: inline-block; }
.badge-unverified {
  display: inline-block; font-size: .68rem; line-height: 1.25; padding: 0 .4em; margin-left: .25em; font-weight: 500;
  border: 1px solid #fcd34d; border-radius: 999px; background: #fffbeb; color: #92400e; vertical-align: .15em;
}
a.cite.repaired, span.cite.repaired { background: transparent; box-shadow: inset 0 0 0 1px #a5b4fc; }
.cursor::after { content: "▍"; animation: blink 1s steps(1) infinite; color: var(--color-accent); }
@keyframes blink { 50% { opacity: 0; } }
.notice { padding: .55rem .8rem; border-radius: 6px; margin: .4rem 0; font-size: .95rem; }
.notice ul { margin: .3rem 0 0 1.1rem; }
.notice.abstain { background: #fff7ed; border-left: 4px solid #f97316; color: #7c2d12; }
.notice.error { background: #fef2f2; border-left: 4px solid #dc2626; color: #7f1d1d; }
.notice.info { background: #eff6ff; border-left: 4px solid #3b82f6; color: #1e3a8a; }

/* sources (right) */
#sources-col { position: sticky; top: .5rem; align-self: flex-start; max-height: calc(100vh - 1rem); overflow-y: auto; }
.sources .panel-title { font-size: 1.05rem; margin: 0 0 .6rem 0; }
.sources .panel-title small { font-weight: 400; color: var(--body-text-color-subdued); margin-left: .4rem; }
.src-passage .gap { color: var(--body-text-color-subdued); }
.src-empty { color: var(--body-text-color-subdued); }
.src-card {
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .65rem .85rem; margin-bottom: .7rem;
  background: var(--block-background-fill); scroll-margin-top: .5rem; transition: box-shadow .3s;
}
.src-card.cited { border-left: 4px solid #6366f1; }
.reason { color: #6b7280; font-size: 0.85em; margin-top: 0.3em; }
.unverified-reply { color: #6b7280; font-size: 0.85em; margin-top: 0.3em; }
.left-out { color: #6b7280; font-size: 0.85em; margin-top: 0.3em; }
.left-out summary { cursor: pointer; }
.left-out ul { margin: 0.2em 0 0 1.2em; padding: 0; }
.unverified-reply summary { cursor: pointer; }
.unverified-text { font-style: italic; margin-top: 0.2em; }
.sources.abstained .src-card { border-left: 4px solid #f97316; }
.src-card:target { box-shadow: 0 0 0 3px #a5b4fc; }
.src-card header { font-weight: 600; line-height: 1.35; }
.src-num { color: #4338ca; margin-right: .2rem; }
.src-meta { font-size: .8rem; color: var(--body-text-color-subdued); margin: .15rem 0 .45rem 0; }
.src-meta code { font-size: .78rem; }
.src-passage { white-space: pre-wrap; font-size: .9rem; line-height: 1.5; }
.src-full summary, .src-others > summary { cursor: pointer; font-size: .82rem; color: var(--color-accent); margin-top: .4rem; }
.src-article {
  white-space: pre-wrap; font-size: .86rem; line-height: 1.5; max-height: 26rem; overflow-y: auto;
  margin-top: .4rem; padding: .5rem .6rem; border-radius: 6px; background: var(--background-fill-secondary);
}
.src-others { margin-top: .6rem; }
.src-others > summary { font-size: .9rem; margin-bottom: .5rem; }
.src-others .src-card { opacity: .85; }
.sources mark {
  background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; transition: background-color .15s;
}
.in-passage { background: rgba(99, 102, 241, .10); }
""" + sentence_links()
