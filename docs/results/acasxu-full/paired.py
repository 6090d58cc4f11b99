#!/usr/bin/env python3
"""paired.py OUT.csv BIN_A BIN_B < list (network,property per line): runs each instance with A
then B (nnopt verify --threads 1, timeout 116), back to back so both see the same machine
load; writes network,property,result_a,time_a,result_b,time_b."""
import csv, json, os, subprocess, sys, tempfile
D = '/work/vnncomp/acasxu_full'
out, A, B = sys.argv[1:4]
w = csv.writer(open(out, 'w', newline=''))
w.writerow(['network', 'property', 'result_a', 'time_a', 'result_b', 'time_b'])
for line in sys.stdin:
    net, prop = line.strip().split(',')[:2]
    row = [net, prop]
    for b in (A, B):
        j = tempfile.mktemp(suffix='.json')
        subprocess.run(['nice', b, 'verify', '--onnx', f'{D}/{net}', '--vnnlib', f'{D}/{prop}',
                        '--timeout', '116', '--threads', '1', '--json', j],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = json.load(open(j)); os.remove(j)
        row += [r['result'], f"{r['time_s']:.3f}"]
    w.writerow(row)
    print(','.join(row), flush=True)
