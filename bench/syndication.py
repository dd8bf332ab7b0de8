"""Rerunnable measurement of syndicated-copy detection (rag/ingest/syndication.py) on a corpus built from seeds/.

    .venv/bin/python bench/syndication.py                 # the table, at the shipped threshold and around it
    .venv/bin/python bench/syndication.py --json out.json

The corpus is made deterministically (fixed random seed):
- copies of each seed article, as another outlet would run it: headline changed; paragraphs reordered;
  a sentence added; all three at once under another outlet's dateline; and a trimmed copy (headline changed,
  the last quarter of the paragraphs cut, as wire copy cut to length);
- distinct articles that are not copies: the five seeds themselves (000 and 001 report the same
  Putin–Zhang meeting in different words), "roundups" made of one paragraph from each of three seeds,
  seed paragraphs quoted inside unrelated text (paragraphs 0-9 of eval/external/cct), and paragraphs 10-47
  of eval/external/cct (one Wikipedia article: same topic, different text).
Detection runs exactly as ingest runs it (find_copies over the documents in order). Precision and recall are
over pairs of documents: a pair is predicted when both land in the same story, true when both come from the
same seed (original or copy).
"""
from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.ingest import syndication  # noqa: E402
from rag.ingest.clean import split_sentences  # noqa: E402
from rag.types import Document  # noqa: E402

SEEDS = ROOT / "seeds"
EXTERNAL = ROOT / "eval" / "external" / "cct" / "docs"
ADDED = [
    "The report could not be independently verified.",
    "Officials in both capitals declined to comment further on Thursday.",
    "This story has been updated with additional reporting.",
    "Analysts said the move was widely expected.",
    "Reporting contributed by our correspondent in the region.",
]
HEADLINES = ["Moscow and Beijing Pledge Deeper Defence Ties", "What the Putin Meeting Means for the West",
             "Russia, China Vow Closer Military Cooperation", "Defence Talks Signal New Stage in Partnership",
             "Allies Against the West? Inside the Latest Talks"]


def paragraphs(text: str) -> list[str]:
    """The article's paragraphs (its non-blank lines); a one-block article is cut every three sentences."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 4:
        return lines
    sentences = [text[a:b] for a, b in split_sentences(" ".join(lines))]
    return [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]


def build_corpus(rng: random.Random) -> tuple[list[Document], dict[str, str], dict[str, str]]:
    """Documents, each copy's true story (doc id → seed id) and each document's kind."""
    docs: list[Document] = []
    story: dict[str, str] = {}
    kind: dict[str, str] = {}
    seeds = sorted(SEEDS.glob("*.txt"))

    def add(doc_id: str, text: str, of: str | None, what: str) -> None:
        docs.append(Document(doc_id, text, signature=syndication.signature(text)))
        if of:
            story[doc_id] = of
        kind[doc_id] = what

    bodies = {p.stem: paragraphs(p.read_text(encoding="utf-8")) for p in seeds}
    for p in seeds:
        add(p.stem, p.read_text(encoding="utf-8"), p.stem, "original")
    for n, (seed, paras) in enumerate(bodies.items()):
        headline, sentence = HEADLINES[n % len(HEADLINES)], ADDED[n % len(ADDED)]
        body = paras[1:] if len(paras[0].split()) < 20 else paras  # the seed's own headline, if any, replaced
        shuffled = body[:]
        rng.shuffle(shuffled)
        at = rng.randrange(1, len(body))
        with_sentence = body[:at] + [body[at] + " " + sentence] + body[at + 1 :]
        combined = shuffled[:]
        combined[rng.randrange(len(combined))] += " " + sentence
        trimmed = body[: max(2, (len(body) * 3) // 4)]
        for what, parts in [("headline changed", [headline, *body]), ("paragraphs reordered", paras[:1] + shuffled),
                            ("sentence added", paras[:1] + with_sentence),
                            ("all three, another dateline", [headline, "(Wire Service) –", *combined]),
                            ("trimmed to 3/4", [headline, *trimmed])]:
            add(f"{seed}~{what.split()[0]}", "\n\n".join(parts), seed, what)
    # distinct articles that share words, topics or a paragraph with the seeds, but are no copies
    external = [p.read_text(encoding="utf-8") for p in sorted(EXTERNAL.glob("*.txt"))]
    names = list(bodies)
    for i in range(len(names)):
        trio = [names[(i + k) % len(names)] for k in range(3)]
        parts = [rng.choice(bodies[s][1:] or bodies[s]) for s in trio]
        add(f"roundup-{i}", "\n\n".join(["This week in Russia–China relations", *parts]), None, "roundup of 3 seeds")
    for i, seed in enumerate(names):  # paragraphs 0-9 of the external article wrap the quotes, 10-47 stand alone
        quoted = rng.choice(bodies[seed][1:] or bodies[seed])
        add(f"quotes-{seed}", "\n\n".join([external[2 * i], f"As one report put it: {quoted}", external[2 * i + 1]]),
            None, "a seed paragraph quoted")
    for i, text in enumerate(external[10:], 10):
        add(f"cct-{i:02d}", text, None, "external paragraph")
    return docs, story, kind


def pairs(groups: dict[str, str]) -> set[frozenset[str]]:
    by_story: dict[str, list[str]] = {}
    for doc_id, s in groups.items():
        by_story.setdefault(s, []).append(doc_id)
    return {frozenset(p) for members in by_story.values() for p in itertools.combinations(sorted(members), 2)}


def evaluate(docs: list[Document], story: dict[str, str], threshold: float) -> dict:
    started = time.perf_counter()
    matches = syndication.find_copies(docs, {}, threshold)
    seconds = time.perf_counter() - started
    predicted_story = {d.doc_id: d.doc_id for d in docs}
    predicted_story.update({m.doc_id: m.of for m in matches})
    predicted, truth = pairs(predicted_story), pairs(story)
    hit = len(predicted & truth)
    return {"threshold": threshold, "predicted_pairs": len(predicted), "true_pairs": len(truth), "correct": hit,
            "precision": hit / len(predicted) if predicted else 1.0, "recall": hit / len(truth) if truth else 1.0,
            "find_copies_s": seconds,
            "folded": {m.doc_id: (m.of, round(m.similarity, 3)) for m in matches}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    started = time.perf_counter()
    docs, story, kind = build_corpus(random.Random(args.seed))
    signing = time.perf_counter() - started
    words = sum(len(d.text.split()) for d in docs)
    copies = [d for d in docs if kind[d.doc_id] not in ("original",) and d.doc_id in story]
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"{len(docs)} documents ({len(copies)} copies of the 5 seeds, {len(docs) - len(copies) - 5} distinct "
          f"non-copies), {words} words; signatures in {signing:.2f} s")
    print(f"similarity 000 vs 001 (same meeting, not copies): "
          f"{syndication.similarity(docs[0].signature, docs[1].signature):.3f}")
    sig = {d.doc_id: d.signature for d in docs}
    best_non_copy = max(syndication.similarity(sig[a], sig[b]) for a, b in itertools.combinations(sig, 2)
                        if not (a in story and b in story and story[a] == story[b]))
    print(f"highest similarity of two documents that are not copies: {best_non_copy:.3f}")
    print("\nsimilarity of each kind of copy to its original (min / mean):")
    for what in sorted({kind[d.doc_id] for d in copies}):
        sims = [syndication.similarity(sig[d.doc_id], sig[story[d.doc_id]]) for d in copies if kind[d.doc_id] == what]
        print(f"  {what:30} {min(sims):.3f} / {sum(sims) / len(sims):.3f}")
    print("\n| threshold | precision | recall | predicted pairs | true pairs | find_copies |")
    print("|---:|---:|---:|---:|---:|---:|")
    results = []
    for threshold in sorted({0.2, 0.3, 0.4, syndication.THRESHOLD, 0.6, 0.7, 0.8, 0.9}):
        r = evaluate(docs, story, threshold)
        results.append(r)
        mark = " (shipped)" if threshold == syndication.THRESHOLD else ""
        print(f"| {threshold:.2f}{mark} | {r['precision']:.3f} | {r['recall']:.3f} | {r['predicted_pairs']} | "
              f"{r['true_pairs']} | {r['find_copies_s'] * 1000:.0f} ms |")
    shipped = next(r for r in results if r["threshold"] == syndication.THRESHOLD)
    missed = [d.doc_id for d in copies if d.doc_id not in shipped["folded"]]
    wrong = [f"{c} -> {s}" for c, (s, _) in shipped["folded"].items() if story.get(c) != story.get(s) or c not in story]
    print(f"\nat {syndication.THRESHOLD}: copies missed {missed or 'none'}; wrong folds {wrong or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"kinds": kind, "results": results}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
