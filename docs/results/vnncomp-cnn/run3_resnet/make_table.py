#!/usr/bin/env python3
"""Per-instance Markdown table + counts for run3_resnet (run from this folder).
Inputs: verify_<set>.csv (scripts/run_verify.sh), <set>/res/*.json (nnopt --json),
reference CSVs (reference_cifar10_resnet.csv one level up, reference_sri_resnet_a_first3.csv here)."""
import csv, json, os
from pathlib import Path
sets = [('cifar10_resnet', 'verify_cifar10_resnet.csv', '../reference_cifar10_resnet.csv'),
        ('sri_resnet_a', 'verify_sri_resnet_a.csv', 'reference_sri_resnet_a_first3.csv')]
print('| set | network | property | reference (tools agreeing; fastest tool, s) | ours | decided_by | nnopt time_s | wall s | MB | nodes | disjuncts refuted |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
counts = {}
for name, vcsv, rcsv in sets:
    if not Path(vcsv).exists():
        continue
    ref = {(r['network'], r['property']): r for r in csv.DictReader(open(rcsv))}
    for r in csv.DictReader(open(vcsv)):
        ns, ps = Path(r['network']).stem, Path(r['property']).stem
        js = Path(name) / 'res' / f'{ns}_{ps}.json'
        j = json.load(open(js)) if js.exists() else {}
        rf = ref[(r['network'], r['property'])]
        reftxt = rf['verdict'] if rf['verdict'] == 'unknown' else f"{rf['verdict']} ({rf['num_tools_agree']}; {rf['best_tool']} {rf['best_time_s']})"
        ours = r['ours']
        wrong = (ours == 'sat' and rf['verdict'] == 'unsat') or (ours == 'unsat' and rf['verdict'] == 'sat')
        c = counts.setdefault(name, {'n': 0, 'sat': 0, 'unsat': 0, 'timeout': 0, 'other': 0, 'wrong': 0,
                                     'ref_sat': 0, 'ref_unsat': 0, 'ref_unknown': 0})
        c['n'] += 1; c[ours if ours in ('sat', 'unsat', 'timeout') else 'other'] += 1; c['wrong'] += wrong
        c['ref_' + rf['verdict']] += 1
        o = f'**{ours}**' if ours in ('sat', 'unsat') else ours
        if wrong: o += ' **WRONG**'
        print(f"| {name} | {ns} | {ps} | {reftxt} | {o} | {j.get('decided_by') or '-'} | {j.get('time_s', float('nan')):.2f} | {r['wall_s']} | {int(r['maxrss_kb'])//1024} | {j.get('nodes', '-')} | {j.get('disjuncts_refuted', '-')} / {j.get('disjuncts', '-')} |")
print()
print('| set | instances | sat | unsat | timeout | other | WRONG | reference on the subset |')
print('|---|---|---|---|---|---|---|---|')
for name, c in counts.items():
    print(f"| {name} | {c['n']} | {c['sat']} / {c['ref_sat']} | {c['unsat']} / {c['ref_unsat']} | {c['timeout']} | {c['other']} | **{c['wrong']}** | {c['ref_unsat']} unsat, {c['ref_sat']} sat, {c['ref_unknown']} unknown |")
