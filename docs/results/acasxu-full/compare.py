#!/usr/bin/env python3
"""compare.py REF BASE.csv NEW.csv: summary of two verify-batch runs of the same instances
against a reference (decided, wrong, median, max) and the instances > 10 s or undecided in either."""
import csv, statistics, sys
ref = {(r['network'], r['property']): r for r in csv.DictReader(open(sys.argv[1]))}
runs = [{(r['network'], r['property']): r for r in csv.DictReader(open(p))} for p in sys.argv[2:4]]
def summ(run):
    t = [float(r['time_s']) for r in run.values()]
    dec = [r for k, r in run.items() if r['result'] in ('sat', 'unsat')]
    wrong = [k for k, r in run.items() if r['result'] in ('sat', 'unsat') and ref[k]['verdict'] in ('sat', 'unsat') and r['result'] != ref[k]['verdict']]
    ds = [float(r['time_s']) for r in dec]
    return dict(n=len(run), decided=len(dec), wrong=len(wrong), sat=sum(r['result']=='sat' for r in dec),
                unsat=sum(r['result']=='unsat' for r in dec), median=statistics.median(t), max=max(t),
                total=sum(t), over10=sum(x > 10 for x in t), over1=sum(x > 1 for x in t), wrong_list=wrong)
a, b = summ(runs[0]), summ(runs[1])
print('| figure | before | after | after/before |\n|---|---|---|---|')
for k in ['decided', 'sat', 'unsat', 'wrong', 'median', 'max', 'total', 'over1', 'over10']:
    r = (f"{b[k]/a[k]:.2f}" if a[k] else '-')
    fa = f"{a[k]:.3f}" if isinstance(a[k], float) else a[k]
    fb = f"{b[k]:.3f}" if isinstance(b[k], float) else b[k]
    print(f'| {k} | {fa} | {fb} | {r} |')
if a['wrong_list'] or b['wrong_list']: print('WRONG', a['wrong_list'], b['wrong_list'])
print('\nInstances above 10 s or undecided in either run:\n')
print('| network | property | reference (best tool, s) | before | after |\n|---|---|---|---|---|')
for k in runs[0]:
    ra, rb = runs[0][k], runs[1].get(k)
    bad = lambda r: r is None or float(r['time_s']) > 10 or r['result'] not in ('sat', 'unsat')
    if bad(ra) or bad(rb):
        f = lambda r: '-' if r is None else f"{r['result']} {float(r['time_s']):.2f}"
        net = k[0].replace('ACASXU_run2a_', '').replace('_batch_2000.onnx', '')
        print(f"| {net} | {k[1].replace('.vnnlib','')} | {ref[k]['verdict']} ({ref[k]['best_tool']}, {ref[k]['best_time_s']}) | {f(ra)} | {f(rb)} |")
