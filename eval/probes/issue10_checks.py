"""Policies with the new question analysis (kind) and an echo check, on probe outputs."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from rag.question import analyse
from rag.support import novel_tokens, same_word, unsupported_numbers, misquoted
from rag.cite import strip_markers, is_abstention
pre = sys.argv[1]
sets = {n: [json.loads(l) for l in open(f"{pre}_{n}.jsonl")] for n in ("dev", "test", "cct")}

def feats(r):
    q = analyse(r["question"])
    claim = strip_markers(r["mapped"])
    new = novel_tokens(claim, q.words)
    echo = all(any(same_word(t, a) for a in q.words) for t in new)
    kind = q.kind in ("date", "weekday", "number") and not q.fits(claim)
    sources = [e["text"] for e in r["evidence"]] + r["headers"]
    return dict(echo=echo, kind2=kind, numbers2=bool(unsupported_numbers(claim, sources)),
                quotes2=bool(misquoted(claim, sources)), said2=is_abstention(r["mapped"], [1] if "[" in r["mapped"] else []))
for rows in sets.values():
    for r in rows: r.update(feats(r))

def metrics(rows, ab):
    A = [r for r in rows if r["answerable"]]; U = [r for r in rows if not r["answerable"]]
    return (sum(1 for r in A if r["correct"] and not ab(r)) / len(A), sum(1 for r in U if ab(r)) / len(U), sum(1 for r in A if ab(r)) / len(A))

def show(label, ab):
    print(f"{label:34}" + " | ".join(f"{n}: acc {a:.3f} rec {b:.3f} fa {c:.3f}" for n, rows in sets.items() for a, b, c in [metrics(rows, ab)]))

base = lambda r: r["said2"]
for name in ("echo", "kind2", "numbers2", "quotes2"):
    show(f"said+{name}", lambda r, n=name: base(r) or r[n])
for checks in (("numbers2", "quotes2"), ("numbers2", "quotes2", "echo"), ("numbers2", "quotes2", "echo", "kind2")):
    for t in (None, 0.5, 0.6, 0.7, 0.8, 0.9):
        show(f"{'+'.join(checks)} nf>={t}", lambda r, c=checks, t=t: base(r) or any(r[x] for x in c) or (t is not None and r["nf"] >= t))
print("--")
for checks in (("numbers2", "quotes2", "kind2"),):
    for t in (None, 0.6, 0.7, 0.8, 0.9):
        show(f"{'+'.join(checks)} nf>={t}", lambda r, c=checks, t=t: base(r) or any(r[x] for x in c) or (t is not None and r["nf"] >= t))
for name in ("dev","test","cct"):
    print(name, "kind2 on answerable:", [(r["id"], r["correct"], r["mapped"][:60]) for r in sets[name] if r["answerable"] and r["kind2"]])
print("-- marginal old checks on top of said+numbers2+quotes2+kind2 nf>=0.8")
pol = lambda r: base(r) or r["numbers2"] or r["quotes2"] or r["kind2"] or r["nf"] >= 0.8
show("policy", pol)
for c in ("anchor", "title", "names_anchored", "place", "name", "support"):
    show(f" +{c}", lambda r, c=c: pol(r) or c in r["checks"])
print("-- new Question.missing (kinds + name)")
for rows in sets.values():
    for r in rows: r["missing"] = bool(analyse(r["question"]).missing(strip_markers(r["mapped"])))
for t in (None, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
    show(f"numbers+quotes+missing nf>={t}", lambda r, t=t: base(r) or r["numbers2"] or r["quotes2"] or r["missing"] or (t is not None and r["nf"] >= t))
for name in ("dev","test","cct"):
    print(name, "missing on answerable:", [(r["id"], r["correct"], r["mapped"][:60]) for r in sets[name] if r["answerable"] and r["missing"]])
