"""Each removed or kept check, added to (or taken from) the final policy, in questions: usage issue10_marginal.py PREFIX."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
exec(open(os.path.join(os.path.dirname(__file__), "issue10_checks.py")).read().split('base = lambda r')[0])
from rag.question import analyse as an
for rows in sets.values():
    for r in rows: r["missing"] = bool(an(r["question"]).missing(strip_markers(r["mapped"])))
base = lambda r: r["said2"]
pol = lambda r: base(r) or r["numbers2"] or r["quotes2"] or r["missing"] or r["nf"] >= 0.8
def counts(rows, ab):
    A = [r for r in rows if r["answerable"]]; U = [r for r in rows if not r["answerable"]]
    return sum(1 for r in A if r["correct"] and not ab(r)), sum(1 for r in U if ab(r))
for c in ("anchor", "title", "names_anchored", "place", "name", "support", "kind"):
    out = []
    for n, rows in sets.items():
        a0, u0 = counts(rows, pol); a1, u1 = counts(rows, lambda r: pol(r) or c in r["checks"])
        out.append(f"{n}: answers {a1-a0:+d} caught {u1-u0:+d}")
    print(f"+{c:15}", " | ".join(out))
for name, fn in (("numbers+quotes", lambda r: r["numbers2"] or r["quotes2"]), ("missing", lambda r: r["missing"])):
    out = []
    for n, rows in sets.items():
        without = lambda r, fn=fn: (base(r) or r["numbers2"] or r["quotes2"] or r["missing"] or r["nf"] >= 0.8) if False else None
        others = {"numbers+quotes": lambda r: base(r) or r["missing"] or r["nf"] >= 0.8,
                  "missing": lambda r: base(r) or r["numbers2"] or r["quotes2"] or r["nf"] >= 0.8}[name]
        a0, u0 = counts(rows, others); a1, u1 = counts(rows, pol)
        out.append(f"{n}: answers {a1-a0:+d} caught {u1-u0:+d}")
    print(f"kept {name:12}", " | ".join(out))
