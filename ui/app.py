"""The web page: ``build_app(engine)`` lays it out and wires the handlers; ``launch`` and ``serve`` run it.

    rag serve --index indexes/seeds                 # http://127.0.0.1:7860
    python -c "from ui.app import serve; serve('indexes/seeds', model='fast')"
"""
from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import gradio as gr

from rag.answer.engine import Engine
from rag.retrieve.evidence import TOP_K
from rag.errors import RagError

from . import articles, chat
from .engines import Engines, as_engines, bundled_llm
from .render import conversation_html, sources_placeholder
from .style import CSS

EXAMPLES = [
    "Who is Xu Qiliang?",
    "When did Putin meet China's Defense Minister in Moscow?",
    "What did the Chinese Communist Party warn the US not to do?",
]
MODEL_LABELS = {"quality": "Quality (Qwen2.5 1.5B): better answers", "fast": "Fast (Qwen2.5 0.5B): quicker answers"}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
HEADER = (
    '<div id="page-header"><h1>News Q&amp;A</h1>'
    "<p>Answers come only from the indexed articles, with numbered citations you can check. "
    "Runs locally and offline.</p></div>"
)
THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)


def build_app(engine: Engine | Engines, examples: list[str] = EXAMPLES,
              max_upload_bytes: int = articles.MAX_UPLOAD_BYTES) -> gr.Blocks:
    """The page around ``engine`` (one model) or ``engines`` (a model per name); no server is started."""
    engines = as_engines(engine)
    model_choices = [(MODEL_LABELS.get(name, name), name) for name in engines.choices]

    with gr.Blocks(title="News Q&A", analytics_enabled=False) as app:
        turns = gr.State([])
        gr.HTML(HEADER)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, elem_id="ask-col"):
                        conversation = gr.HTML(conversation_html([]), elem_id="conversation")
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(show_label=False, placeholder="Ask about the articles…", scale=6,
                                                  lines=1, max_lines=4, autofocus=True, elem_id="question")
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask-btn")
                        gr.Examples(examples, inputs=question, label="Examples")
                        with gr.Accordion("Settings", open=False, elem_id="settings"):
                            model = gr.Radio(model_choices, value=engines.default, label="Model", elem_id="model")
                            top_k = gr.Slider(1, 12, value=engines.base.top_k, step=1, label="Chunks retrieved",
                                              elem_id="top-k")
                        new_btn = gr.Button("New conversation", size="sm", variant="secondary", elem_id="new-btn")
                    with gr.Column(scale=2, elem_id="sources-col"):
                        sources = gr.HTML(sources_placeholder(), elem_id="sources")
            with gr.Tab("Articles", id="articles"):
                gr.Markdown(f"Add news articles as **.txt**, **.md**, **.jsonl**, saved web pages (**.html**), "
                            f"RSS/Atom feeds (**.rss**, **.atom**, **.xml**) (up to {max_upload_bytes / 1e6:.0f} MB "
                            f"each), web archives (**.warc**, **.warc.gz**) or **.pdf** files (up to "
                            f"{articles.MAX_ARCHIVE_UPLOAD_BYTES / 1e6:.0f} MB each). For plain text, the first line "
                            "is taken as the title when it looks like one; an article re-uploaded under the same file "
                            "name replaces the old one, and the same story from another outlet is kept once.")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        files = gr.File(label="Articles to add", file_count="multiple",
                                        file_types=list(articles.UPLOAD_FILE_TYPES), elem_id="upload")
                        add_btn = gr.Button("Add articles", variant="primary", elem_id="add-btn")
                        add_report = gr.HTML(elem_id="add-report")
                    with gr.Column(scale=3):
                        table = gr.Dataframe(articles.article_rows(engines.store), headers=articles.TABLE_HEADERS,
                                             interactive=False, wrap=True, label="Indexed articles", elem_id="articles",
                                             column_widths=["24%", "38%", "16%", "13%", "9%"])
                        with gr.Row(equal_height=True):
                            remove_ids = gr.Dropdown(articles.doc_ids(engines.store), multiselect=True, scale=4,
                                                     label="Remove articles", elem_id="remove-ids")
                            remove_btn = gr.Button("Remove", variant="stop", scale=1, min_width=90,
                                                   elem_id="remove-btn")
                        remove_msg = gr.HTML(elem_id="remove-msg")

        # Every use of a model goes through one queue slot: one generation at a time, in arrival order.
        asking = gr.on([question.submit, ask_btn.click], partial(chat.ask, engines), inputs=[turns, question, model, top_k],
              outputs=[question, conversation, sources, turns], concurrency_limit=1, concurrency_id="llm",
              show_progress="hidden", api_name="ask")
        new_btn.click(chat.new_conversation, outputs=[conversation, sources, turns], cancels=[asking], queue=False,
                      api_name=False)

        def add(uploaded, progress=gr.Progress()):
            report, rows = articles.add_articles(engines, uploaded, progress, max_upload_bytes)
            return report, rows, gr.Dropdown(choices=articles.doc_ids(engines.store), value=[]), None

        def remove(ids):
            message, rows = articles.remove_articles(engines, ids)
            return message, rows, gr.Dropdown(choices=articles.doc_ids(engines.store), value=[])

        def refresh():
            return articles.article_rows(engines.store), gr.Dropdown(choices=articles.doc_ids(engines.store))

        add_btn.click(add, inputs=files, outputs=[add_report, table, remove_ids, files],
                      concurrency_limit=1, concurrency_id="index", api_name=False)
        remove_btn.click(remove, inputs=remove_ids, outputs=[remove_msg, table, remove_ids],
                         concurrency_limit=1, concurrency_id="index", api_name=False)
        app.load(refresh, outputs=[table, remove_ids], api_name=False)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           max_upload_bytes: int = articles.MAX_UPLOAD_BYTES) -> str:
    """Queue and start ``app``; returns its URL (after the server stops when ``block``)."""
    app.queue(default_concurrency_limit=1, max_size=64)
    try:
        _, url, _ = app.launch(server_name=host, server_port=port, prevent_thread_lock=True, show_error=False,
                               quiet=True, ssr_mode=False, max_file_size=max_upload_bytes, css=CSS, theme=THEME,
                               footer_links=[])
    except OSError as e:
        raise RagError(f"cannot start the web page on {host}:{port} ({e}); pick another --port") from e
    if block:
        print(f"serving on {url}  (Ctrl-C to stop)", file=sys.stderr)
        try:
            app.block_thread()
        finally:
            app.close()
    return url


def serve(index_path: str | Path, model: str | None = None, host: str = "127.0.0.1", port: int = 7860,
          top_k: int = TOP_K, max_tokens: int = 200) -> int:
    """Open the index with the real models, warm them up, and serve the page until Ctrl-C.

    ``top_k`` passages go to the model, which writes at most ``max_tokens`` tokens per answer.
    """
    from rag.answer.engine import open_engine
    from rag.answer.models import BUNDLED, DEFAULT_MODEL, MODEL_ENV

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if host not in LOCAL_HOSTS:
        print(f"warning: serving on {host}, not 127.0.0.1: anyone who can reach this address can ask questions, "
              "add and remove articles; there is no login", file=sys.stderr)
    name = model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    engine = open_engine(index_path, name, top_k=top_k, max_tokens=max_tokens)
    print(f"loading the models ({engine.model_id}) in the background…", file=sys.stderr)
    engine.warm_up_in_background()  # the page serves at once; the first answers pay for what is not warm yet
    engines = Engines(engine, name, choices=tuple(BUNDLED), load_llm=bundled_llm)
    launch(build_app(engines), host, port)
    return 0
