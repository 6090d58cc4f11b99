#!/usr/bin/env python3
"""reference.csv for the full VNN-COMP 2021 ACAS Xu set from the per-tool result csvs.
Overhead per tool = its minimum run time over decided results (as process_results.py, single
overhead); time = run_time - overhead floored at 1 s. Verdict = majority of decided answers;
disagreements printed to stderr."""
import csv, glob, os, sys
from collections import defaultdict
resdir, inst, out = sys.argv[1], sys.argv[2], sys.argv[3]
norm = lambda r: {'holds':'unsat','unsat':'unsat','violated':'sat','sat':'sat'}.get(r.strip().lower())
answers = defaultdict(list)
for f in sorted(glob.glob(os.path.join(resdir, '*.csv'))):
    tool = os.path.basename(f)[:-4]
    rows = [r for r in csv.reader(open(f)) if len(r) >= 6]
    dec = [float(r[5]) for r in rows if norm(r[4])]
    ovh = min(dec) if dec else 0.0
    for r in rows:
        if r[0] != 'acasxu': continue
        v = norm(r[4])
        if v:
            answers[(os.path.basename(r[1]), os.path.basename(r[2]))].append((tool, v, max(1.0, float(r[5]) - ovh)))
w = csv.writer(open(out, 'w', newline=''))
w.writerow(['network','property','verdict','best_tool','best_time_s','num_tools_agree','timeout_s'])
for net, prop, to in csv.reader(open(inst)):
    a = answers.get((net, prop), [])
    cnt = defaultdict(int)
    for t, v, s in a: cnt[v] += 1
    if not cnt:
        w.writerow([net, prop, 'unknown', '', '', 0, int(float(to))]); continue
    verdict = max(cnt, key=cnt.get)
    if len(cnt) > 1:
        print(f'disagreement {net} {prop}: ' + ', '.join(f'{t}={v}' for t, v, s in a if v != verdict) + f' vs {cnt[verdict]} tools {verdict}', file=sys.stderr)
    best = min((s, t) for t, v, s in a if v == verdict)
    w.writerow([net, prop, verdict, best[1], f'{best[0]:.2f}', cnt[verdict], int(float(to))])
