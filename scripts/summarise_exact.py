#!/usr/bin/env python3
"""Summarise scripts/bench_exact.sh output: time to a proven optimum of the margin per
network and method, ratios against crown + CBC, and the count proven within the limit.
Usage: python3 scripts/summarise_exact.py OUT [--limit 600] [--sweep docs/results/sweep-eps0.1/results.jsonl]
Writes OUT/table.md and OUT/table.csv and prints the table."""
import csv, glob, json, os, re, sys

METHODS = ["interval", "crown", "lp", "bab", "portfolio"]
LABEL = {"interval": "interval+CBC", "crown": "CROWN+CBC", "lp": "CROWN+LP+CBC", "bab": "ReLU BaB",
         "portfolio": "portfolio (CBC || BaB)"}


def main():
    out = sys.argv[1]
    sweep = None
    if "--sweep" in sys.argv:
        sweep = sys.argv[sys.argv.index("--sweep") + 1]
    runs = {}
    for f in glob.glob(os.path.join(out, "*.json")):
        m = re.match(r"(.+)\.(\w+)\.json$", os.path.basename(f))
        if not m:
            continue
        r = json.load(open(f))
        runs.setdefault(m.group(1), {})[m.group(2)] = r
    sweep_mip = {}
    if sweep and os.path.exists(sweep):
        for line in open(sweep):
            r = json.loads(line)
            if r.get("method") == "mip":
                sweep_mip[r["network"].replace(".onnx", "")] = r

    def key(net):
        a, b = re.match(r"mlp_(\d+)x(\d+)", net).groups()
        return (int(a), int(b))

    methods = [m for m in METHODS if any(m in v for v in runs.values())]
    limit = float(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else 600.0
    rows = []
    for net in sorted(runs, key=key):
        v = runs[net]
        row = {"network": net}
        best = None
        for m in methods:
            r = v.get(m)
            if r is None:
                row[m] = None
                continue
            proven = str(r.get("status", "")).startswith("optimal")
            row[m] = (r["time_s"], proven, r.get("margin"), r.get("bound"))
            if proven:
                best = r.get("margin")
            if m == "crown":
                row["unstable"] = r.get("unstable_relus")
                row["binaries"] = r.get("binaries")
        if "crown" not in v and net in sweep_mip:
            s = sweep_mip[net]
            row["sweep_crown"] = (s["time_s"], bool(s.get("proven")), s.get("margin"), s.get("bound"))
        row["optimum"] = best
        rows.append(row)

    def cell(c):
        if c is None:
            return "-"
        t, proven, margin, bound = c
        if proven:
            return f"{t:.1f}"
        b = f"{bound:.2f}" if isinstance(bound, (int, float)) else "-inf"
        return f"> {t:.0f} (bound {b})"

    def ratio(a, b):
        if a is None or b is None or not b[1]:
            return "-"
        if not a[1]:
            return f"> {a[0] / b[0]:.1f}"
        return f"{a[0] / b[0]:.2f}"

    hdr = ["network", "unstable", "optimum"] + [LABEL[m] for m in methods]
    if any("sweep_crown" in r for r in rows):
        hdr.append("CROWN+CBC (sweep run)")
    ratios = [m for m in methods if m != "crown"] if "crown" in methods else []
    hdr += [f"{LABEL[m]} / CROWN+CBC" for m in ratios]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    csv_rows = []
    for r in rows:
        cells = [r["network"], str(r.get("unstable", "-")),
                 f"{r['optimum']:.5f}" if r["optimum"] is not None else "not proven"]
        cells += [cell(r[m]) for m in methods]
        if "CROWN+CBC (sweep run)" in hdr:
            cells.append(cell(r.get("sweep_crown")))
        cells += [ratio(r[m], r.get("crown")) for m in ratios]
        lines.append("| " + " | ".join(cells) + " |")
        for m in methods:
            c = r[m]
            if c is not None:
                csv_rows.append([r["network"], m, f"{c[0]:.3f}", int(c[1]), c[2], c[3]])
    lines.append("")
    lines.append(f"Proven within the {limit:.0f} s limit (of the networks each method was run on):")
    for m in methods:
        ran = [r for r in rows if r[m] is not None]
        ok = [r for r in ran if r[m][1]]
        times = sorted(r[m][0] for r in ok)
        med = times[len(times) // 2] if times else float("nan")
        lines.append(f"- {LABEL[m]}: {len(ok)}/{len(ran)} proven; median time of the proven "
                     f"{med:.1f} s; total time {sum(r[m][0] for r in ran):.0f} s")
    if "crown" in methods:
        for m in ratios:
            both = [r for r in rows if r[m] is not None and r["crown"] is not None and
                    r[m][1] and r["crown"][1]]
            rs = sorted(r[m][0] / r["crown"][0] for r in both)
            if rs:
                lines.append(f"- {LABEL[m]} / CROWN+CBC time ratio where both proved: median "
                             f"{rs[len(rs) // 2]:.2f} (min {rs[0]:.2f}, max {rs[-1]:.2f}, "
                             f"{len(rs)} networks)")
    # Agreement: every proven optimum must be the same number (they solve one problem).
    bad = []
    for r in rows:
        vals = [r[m][2] for m in methods if r[m] is not None and r[m][1]]
        if len(vals) > 1 and max(vals) - min(vals) > 1e-4:
            bad.append(r["network"])
    lines.append(f"- proven optima that disagree by > 1e-4 between methods: "
                 f"{', '.join(bad) if bad else 'none'}")
    text = "\n".join(lines) + "\n"
    open(os.path.join(out, "table.md"), "w").write(text)
    with open(os.path.join(out, "table.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["network", "method", "time_s", "proven", "margin", "bound"])
        w.writerows(csv_rows)
    print(text, end="")


if __name__ == "__main__":
    main()
