#!/usr/bin/env python3
"""Per-instance table of two verify-batch runs (results.csv) against reference.csv.
Usage: compare.py REFERENCE BASE_RESULTS NEW_RESULTS  (markdown on stdout)"""
import csv
import sys

ref = {(r['network'], r['property']): r for r in csv.DictReader(open(sys.argv[1]))}
base = {(r['network'], r['property']): r for r in csv.DictReader(open(sys.argv[2]))}
new = {(r['network'], r['property']): r for r in csv.DictReader(open(sys.argv[3]))}
print('| network | property | reference (best tool, s) | base | new | new/base time |')
print('|---|---|---|---|---|---|')
for k, r in ref.items():
    if k not in new:
        continue
    b, n = base.get(k), new[k]
    rv = r['verdict'] + (f" ({r['best_tool']}, {r['best_time_s']})" if r['best_tool'] else '')
    fb = f"{b['result']} {float(b['time_s']):.1f}" if b else '-'
    fn = f"{n['result']} {float(n['time_s']):.1f}"
    ratio = ''
    if b and b['result'] in ('sat', 'unsat') and n['result'] in ('sat', 'unsat'):
        ratio = f"{float(n['time_s']) / max(float(b['time_s']), 1e-3):.2f}"
    print(f"| {k[0].replace('.onnx', '')} | {k[1].replace('.vnnlib', '')} | {rv} | {fb} | {fn} | {ratio} |")
