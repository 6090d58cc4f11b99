#!/usr/bin/env python3
"""Per-layer CROWN results of the old and new binary (bounds --json) must agree.
usage: compare_bounds_json.py DIR  (DIR holds nnopt_b87584a_<net>.json and nnopt_sparse_<net>.json)"""
import glob, json, os, sys
d = sys.argv[1]
def flat(p):
    return [(l["layer"], l["active"], l["inactive"], l["unstable"], l["mean_width"])
            for bx in json.load(open(p))["boxes"] for m in bx["methods"] for l in m["layers"]]
for f in sorted(glob.glob(os.path.join(d, "nnopt_sparse_*.json"))):
    a, b = flat(f.replace("nnopt_sparse_", "nnopt_b87584a_")), flat(f)
    same = len(a) == len(b) and all(x[:4] == y[:4] for x, y in zip(a, b))
    rel = max(abs(x[4] - y[4]) / max(1e-300, abs(x[4])) for x, y in zip(a, b))
    print(f"{os.path.basename(f)[13:-5]:16s} counts {'identical' if same else 'DIFFER'}  max rel mean-width diff {rel:.2e}")
