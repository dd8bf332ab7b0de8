"""Rerunnable measurement of metadata found in an article's own text (rag/ingest/metadata.py), before and after
a change, on corpora nobody on this project wrote. No network.

    .venv/bin/python bench/metadata.py                    # the table: HEAD's metadata.py against the working tree
    .venv/bin/python bench/metadata.py --before a3e0a56   # against another commit
    .venv/bin/python bench/metadata.py --show             # and every document where something is found or changed

Corpora:
- seeds: seeds/*.txt (the five seed articles);
- rtqa: ../shared/external/rtqa/docs/briefs.jsonl (news briefs); each line states its outlet and week, which
  the text's metadata is checked against;
- cct: eval/external/cct/docs (SQuAD paragraphs of one Wikipedia article: no title, date or outlet to find);
- rtqa-5, rtqa-5b, cct-5: the same texts five at a time, one paragraph a line (rtqa-5) or blank-line separated:
  real prose in every header and tail position, where any title, date or outlet found is a false one;
- formats: the HTML page, RSS feed, web archive and PDF that tests/formatfiles.py writes, and tests/data/*;
  the text each loader extracts is read by the rules, and checked against the metadata the markup states.

Columns: documents; how many get a title / date / outlet (before -> after); "wrong": found but different from
what the file's own fields or markup state (only where they state one); "body": documents whose cleaned body
(after the metadata ranges are left out) differs between before and after.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rag.ingest import metadata as after  # noqa: E402
from rag.ingest.clean import clean_text  # noqa: E402

FIELDS = ("title", "date", "outlet")
RTQA = ROOT.parent / "shared" / "external" / "rtqa" / "docs" / "briefs.jsonl"
CCT = ROOT / "eval" / "external" / "cct" / "docs"


def module_at(rev: str) -> types.ModuleType:
    """rag/ingest/metadata.py as it was at ``rev`` (rag/metadata.py before the ingest stage had a folder)."""
    for path in ("rag/ingest/metadata.py", "rag/metadata.py"):
        shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            module = types.ModuleType(f"metadata_at_{rev}")
            sys.modules[module.__name__] = module  # dataclasses look their module up there
            exec(compile(shown.stdout, f"{rev}:{path}", "exec"), module.__dict__)
            return module
    sys.exit(f"no metadata module at {rev!r}")


# each corpus: (name, [(doc name, text, markdown, stated {field: value})])
def seeds():
    return [(p.name, p.read_text(encoding="utf-8"), False, {}) for p in sorted((ROOT / "seeds").glob("*.txt"))]


def rtqa():
    if not RTQA.exists():
        return []
    rows = [json.loads(line) for line in RTQA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["id"], r["text"], False, {"date": r.get("date", ""), "outlet": r.get("source", "")}) for r in rows]


def cct():
    return [(p.name, p.read_text(encoding="utf-8"), False, {}) for p in sorted(CCT.glob("*.txt"))]


def joined(docs, sep: str):
    """Five documents at a time as one multi-paragraph text: nothing in it states metadata."""
    return [(f"{docs[i][0]}+4", sep.join(d[1].strip() for d in docs[i:i + 5]), False, {"title": "-", "date": "-",
                                                                                      "outlet": "-"})
            for i in range(0, len(docs) - 4, 5)]


def formats():
    import textwrap

    from formatfiles import PAGE, STORY, feed, pdf_bytes, warc_bytes, write
    from rag.ingest.loaders import Loaded, load_documents

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write(d / "planet.html", PAGE)
        write(d / "wire.rss", feed(3))
        write(d / "crawl.warc.gz", warc_bytes([("https://dailyplanet.example/world/defence-chiefs", PAGE)]))
        lines = ["Annual Defence Review", ""] + [w for p in STORY for w in textwrap.wrap(p, 80)]
        write(d / "review.pdf", pdf_bytes([lines[:6], lines[6:]]))
        for x in load_documents([d, ROOT / "tests" / "data"]):
            if isinstance(x, Loaded):
                doc = x.document
                stated = {"title": doc.title, "date": doc.date, "outlet": doc.outlet}
                if doc.source_path.endswith((".txt", ".md")):
                    stated = {}  # a text file states nothing outside its text
                out.append((Path(doc.source_path).name.split("#")[0] + ":" + doc.doc_id, doc.text, False, stated))
    return out


def agree(found: str, stated: str, field: str) -> bool:
    if field == "date":
        return found[:10] == stated[:10]
    return found.casefold() == stated.casefold()


def measure(name, docs, before, show: bool) -> str:
    count = {f: [0, 0] for f in FIELDS}
    wrong = {f: [0, 0] for f in FIELDS}
    body = 0
    for doc_name, text, markdown, stated in docs:
        metas = [m.extract_metadata(text, markdown=markdown) for m in (before, after)]
        for f in FIELDS:
            for i, meta in enumerate(metas):
                value = getattr(meta, f)
                count[f][i] += bool(value)
                wrong[f][i] += bool(value and stated.get(f) and not agree(value, stated[f], f))
        changed = clean_text(text, metas[0].exclude).text != clean_text(text, metas[1].exclude).text
        body += changed
        vals = [tuple(getattr(m, f) for f in FIELDS) for m in metas]
        if show and (any(vals[0]) or any(vals[1]) or changed):
            mark = "  " if vals[0] == vals[1] and not changed else "* "
            print(f"{mark}{name}/{doc_name}: before {vals[0]} after {vals[1]}"
                  + (f" author {metas[1].author!r}" if getattr(metas[1], "author", "") else "")
                  + (" (body changed)" if changed else "")
                  + (f" stated {stated}" if stated and any(vals[1]) else ""))
    cells = [f"{count[f][0]:>3} -> {count[f][1]:<3}" for f in FIELDS]
    bad = "/".join(f"{wrong[f][0]}->{wrong[f][1]}" for f in FIELDS)
    return f"| {name:<8}| {len(docs):>5} | " + " | ".join(cells) + f" | {bad:<17} | {body:>4} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="HEAD", help="the commit whose metadata.py is 'before' (default HEAD)")
    ap.add_argument("--show", action="store_true", help="list each document where something is found or changed")
    args = ap.parse_args()
    before = module_at(args.before)
    rows = []
    corpora = (("seeds", seeds), ("rtqa", rtqa), ("rtqa-5", lambda: joined(rtqa(), "\n")),
               ("rtqa-5b", lambda: joined(rtqa(), "\n\n")), ("cct", cct),
               ("cct-5", lambda: joined(cct(), "\n\n")), ("formats", formats))
    for name, load in corpora:
        docs = load()
        if docs:
            rows.append(measure(name, docs, before, args.show))
        else:
            rows.append(f"| {name:<8}| (corpus not found) |")
    print(f"\nmetadata found in the text: {args.before} -> working tree")
    print("| corpus  |  docs | title      | date       | outlet     | wrong t/d/o       | body |")
    print("|---------|-------|------------|------------|------------|-------------------|------|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
