#!/usr/bin/env python3
"""run4 table: baseline vs cnnverify per instance, from verify_ab.csv and the --json files."""
import csv, json, os, sys
D = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rows = list(csv.DictReader(open(os.path.join(D, 'verify_ab.csv'))))
by = {}
for r in rows:
    by.setdefault((r['set'], r['network'], r['property']), {})[r['binary']] = r

def js(which, r):
    ns = os.path.basename(r['network'])[:-5]; ps = os.path.basename(r['property'])[:-7]
    p = os.path.join(D, 'res', f'{which}_{ns}_{ps}.json')
    return json.load(open(p)) if os.path.exists(p) else {}

def short(prop):
    b = os.path.basename(prop)[:-7]
    if b.startswith('network'):
        parts = b.split('_')
        return ' '.join(p for p in parts if p.startswith(('index', 'target', 'orig')))
    return b.split('-', 1)[1].rsplit('-eps', 1)[0] + ' eps' + b.rsplit('-eps', 1)[1][:7]

print('| set | network | property | reference | base | base s | base nodes | base LP s | base refuted | new | new s | new nodes | new LP s (LPs, gave up) | new B&B (root LP dropped, CROWN nodes / closed) | new refuted | time ratio new/base |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
cnt = {'base': {}, 'new': {}}
for (s, net, prop), d in by.items():
    if 'base' not in d or 'new' not in d: continue
    b, n = d['base'], d['new']; jb, jn = js('base', b), js('new', n)
    for w, r in (('base', b), ('new', n)):
        cnt[w][r['ours']] = cnt[w].get(r['ours'], 0) + 1
        wrong = (r['ours'] in ('sat', 'unsat') and r['reference'] in ('sat', 'unsat') and r['ours'] != r['reference'])
        if wrong: cnt[w]['WRONG'] = cnt[w].get('WRONG', 0) + 1
    lpn = jn.get('lp_tighten', {}); rb = jn.get('relu_bab', {})
    ratio = float(n['wall_s']) / float(b['wall_s']) if float(b['wall_s']) > 0 else float('nan')
    bold = lambda v: f'**{v}**' if v in ('sat', 'unsat') else v
    print(f"| {s} | {os.path.basename(net)[:-5]} | {short(prop)} | {b['reference']} | {bold(b['ours'])} | {float(b['wall_s']):.2f} | {jb.get('nodes','-')} | "
          f"{jb.get('stage_time_s',{}).get('lp_tighten',0):.2f} | {jb.get('disjuncts_refuted','-')}/{jb.get('disjuncts','-')} | "
          f"{bold(n['ours'])} | {float(n['wall_s']):.2f} | {jn.get('nodes','-')} | {jn.get('stage_time_s',{}).get('lp_tighten',0):.2f} ({lpn.get('lps','-')}, {'yes' if lpn.get('gave_up') else 'no'}) | "
          f"{'dropped' if rb.get('lp_dropped') else 'LP'}, {rb.get('crown_nodes','-')} / {rb.get('crown_pruned','-')} | {jn.get('disjuncts_refuted','-')}/{jn.get('disjuncts','-')} | {ratio:.2f} |")
print()
for w in ('base', 'new'):
    print(f"- {w}: " + ', '.join(f'{k} {v}' for k, v in sorted(cnt[w].items())))
