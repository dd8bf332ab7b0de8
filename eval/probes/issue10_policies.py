"""Sweep abstention policies over probe outputs. usage: analyse.py PREFIX (reads PREFIX_dev/test/cct.jsonl)"""
import json, sys
pre = sys.argv[1]
sets = {}
for name in ("dev", "test", "cct"):
    try:
        sets[name] = [json.loads(l) for l in open(f"{pre}_{name}.jsonl")]
    except FileNotFoundError:
        pass

def said(r):
    t = r["mapped"].strip()
    return (not t) or t.upper().startswith("NOT FOUND") or "said" in r["checks"]

def metrics(rows, abstain):
    ans = [r for r in rows if r["answerable"]]; un = [r for r in rows if not r["answerable"]]
    acc = sum(1 for r in ans if r["correct"] and not abstain(r)) / len(ans)
    rec = sum(1 for r in un if abstain(r)) / len(un) if un else float("nan")
    fa = sum(1 for r in ans if abstain(r)) / len(ans)
    return acc, rec, fa

def show(label, abstain):
    out = [f"{label:38}"]
    for name, rows in sets.items():
        acc, rec, fa = metrics(rows, abstain)
        out.append(f"{name}: acc {acc:.3f} rec {rec:.3f} fa {fa:.3f}")
    print(" | ".join(out))

show("rules off, model signal off", lambda r: said(r))
show("old judge (all checks)", lambda r: bool(r["checks"]))
for t in (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7):
    show(f"nf>={t}", lambda r, t=t: said(r) or (r["nf"] or 0) >= t)
for t in (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
    show(f"chk0>={t}", lambda r, t=t: said(r) or r["p_chk"].get("0", 0) >= t)
for t in (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
    show(f"sel0>={t}", lambda r, t=t: said(r) or r["p_sel"].get("0", 0) >= t)
checks = sorted({c for rows in sets.values() for r in rows for c in r["checks"]})
print("single old checks on top of 'said':")
for c in checks:
    show(f"  {c}", lambda r, c=c: said(r) or c in r["checks"])

print("combos (said + checks) and nf thresholds:")
combos = [("support",), ("support", "numbers"), ("support", "numbers", "quotes"), ("support", "numbers", "quotes", "kind"),
          ("numbers",), ("numbers", "quotes"), ("support", "numbers", "kind")]
for combo in combos:
    for t in (None, 0.5, 0.6, 0.7, 0.8, 0.9):
        show(f"  {'+'.join(combo)} nf>={t}", lambda r, c=combo, t=t: said(r) or any(x in r["checks"] for x in c) or (t is not None and (r["nf"] or 0) >= t))
