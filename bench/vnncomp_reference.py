#!/usr/bin/env python3
"""Build a reference.csv for one VNN-COMP 2021 benchmark set from the competition's
per-tool result files (github stanleybak/vnncomp2021_results, results_csv/*.csv).

Usage: vnncomp_reference.py RESULTS_CSV_DIR CATEGORY INSTANCES_CSV > reference.csv

Rows of the tool files: category, onnx, vnnlib, prepare_time, result, run_time.
Per tool, the overhead is its shortest run that gave holds/violated (the competition's
"single overhead"); a run's time is run_time - overhead, floored at 1 s. Per instance:
verdict = the majority of holds (unsat) / violated (sat) answers (a tie or no answer gives
`unknown`), best_tool / best_time_s = the fastest tool giving that verdict,
num_tools_agree = how many gave it, timeout_s from the instance list. The baseline tool
`randgen` (random sampling) is counted like any other tool only when it found a violation.
Paths are written relative to the set folder as instances.csv has them.
"""
import csv
import sys
from pathlib import Path

RENAME = [("unsat", "holds"), ("sat", "violated"), ("run_instance_timeout", "timeout"),
          ("error_exit_code_", "error"), ("no_result_in_file", "unknown"),
          ("prepare_instance_error_", "unknown")]
SKIP = {("RPM", "mnistfc")}  # excluded by the competition's own scoring


def norm(result):
    result = result.strip().lower()
    for prefix, to in RENAME:
        if result.startswith(prefix):
            return to
    return result or "unknown"


def key(onnx, vnnlib):
    return Path(onnx).name, Path(vnnlib).name


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    results_dir, category, instances = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    answers = {}  # key -> list of (tool, verdict, time)
    for f in sorted(results_dir.glob("*.csv")):
        tool = f.stem
        rows = [r for r in csv.reader(f.open()) if len(r) >= 6]
        decided = [float(r[5]) for r in rows if norm(r[4]) in ("holds", "violated")]
        overhead = min(decided) if decided else 0.0
        if (tool, category) in SKIP:
            continue
        for r in rows:
            if r[0] != category:
                continue
            verdict = norm(r[4])
            if verdict not in ("holds", "violated"):
                continue
            if tool == "randgen" and verdict != "violated":
                continue
            t = max(1.0, float(r[5]) - overhead)
            answers.setdefault(key(r[1], r[2]), []).append((tool, verdict, t))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["network", "property", "verdict", "best_tool", "best_time_s",
                  "num_tools_agree", "timeout_s"])
    for row in csv.reader(open(instances)):
        if len(row) < 3:
            continue
        onnx, vnnlib, timeout = row[0].strip(), row[1].strip(), float(row[2])
        got = answers.get(key(onnx, vnnlib), [])
        holds = [a for a in got if a[1] == "holds"]
        viol = [a for a in got if a[1] == "violated"]
        if len(holds) == len(viol):
            out.writerow([onnx, vnnlib, "unknown", "", "", 0, f"{timeout:g}"])
            continue
        win, verdict = (holds, "unsat") if len(holds) > len(viol) else (viol, "sat")
        best = min(win, key=lambda a: a[2])
        out.writerow([onnx, vnnlib, verdict, best[0], f"{best[2]:.2f}", len(win),
                      f"{timeout:g}"])


if __name__ == "__main__":
    main()
