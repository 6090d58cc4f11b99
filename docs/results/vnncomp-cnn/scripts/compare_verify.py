#!/usr/bin/env python3
"""Old (dense b87584a) vs new (sparse 31c98af) verify runs, per instance, as a Markdown table.
usage: compare_verify.py OLD_OUT NEW_OUT  (each holding verify_*.csv and {oval21,marabou}/res/*.json)"""
import csv, json, sys
from pathlib import Path

old, new = map(Path, sys.argv[1:3])
def rows(d):
    out = []
    for s, f in (("oval21", "verify_oval21.csv"), ("marabou", "verify_marabou.csv")):
        for r in csv.DictReader(open(d / f)):
            ns = Path(r["network"]).stem; ps = Path(r["property"]).stem
            j = d / s / "res" / f"{ns}_{ps}.json"
            r["json"] = json.load(open(j)) if j.is_file() else {}
            r["set"] = s
            out.append(r)
    return out
def short(p):
    p = Path(p).stem
    if p.startswith("network"):
        i = p.split("_index")[1]; n, _, t, o = i.split("_")
        return f"index{n} {t} {o}"
    return p.split("-", 1)[1].replace("eps", "eps ")[:20]
print("| set | network | property | reference | old | old s | old MB | old nodes | new | new s | new MB | new nodes |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for a, b in zip(rows(old), rows(new)):
    assert a["network"] == b["network"] and a["property"] == b["property"]
    wrong = lambda r: r["ours"] in ("sat", "unsat") and r["reference"] in ("sat", "unsat") and r["ours"] != r["reference"]
    v = lambda r: ("**WRONG** " if wrong(r) else "") + (f"**{r['ours']}**" if r["ours"] in ("sat", "unsat") else r["ours"])
    print(f"| {a['set']} | {Path(a['network']).stem} | {short(a['property'])} | {a['reference']} | "
          f"{v(a)} | {float(a['wall_s']):.2f} | {int(a['maxrss_kb'])//1024} | {a['json'].get('nodes','')} | "
          f"{v(b)} | {float(b['wall_s']):.2f} | {int(b['maxrss_kb'])//1024} | {b['json'].get('nodes','')} |")
