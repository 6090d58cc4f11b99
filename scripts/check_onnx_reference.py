#!/usr/bin/env python3
"""Re-evaluate the committed fixture networks with an independent ONNX evaluator and
compare with the torch reference logits in tests/fixtures/reference_logits.json.

    python3 scripts/check_onnx_reference.py [--tol 1e-4] [--tool DIR] [--acc N]

The evaluator is ../shared/tools/onnx_tool.py (pure Python, standard library only,
written outside the project; see ../shared/tools/README.md). It is not part of the
project, so when it is absent the check is skipped (exit 0 with a message).

For every reference case the pixels (in [0,1]) are normalised in double,
x = (p - mean) / std, fed as [1,1,28,28] to the ONNX graph (float32 weights, evaluated
in Python floats) and compared with the torch float64 logits. Exit 1 if any
|difference| exceeds --tol or the predicted class differs.
With --acc N (N > 0) it also reports each committed network's accuracy on the first N
rows of tests/fixtures/digits.csv through the same evaluator.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def argmax(v):
    return max(range(len(v)), key=lambda k: v[k])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', default=os.path.join(os.path.dirname(ROOT), 'shared', 'tools'))
    ap.add_argument('--ref', default=os.path.join(ROOT, 'tests', 'fixtures', 'reference_logits.json'))
    ap.add_argument('--tol', type=float, default=1e-4)
    ap.add_argument('--acc', type=int, default=0)
    args = ap.parse_args()

    if not os.path.isfile(os.path.join(args.tool, 'onnx_tool.py')):
        print('check_onnx_reference: %s/onnx_tool.py not found; skipped' % args.tool)
        return 0
    sys.path.insert(0, args.tool)
    import onnx_tool

    ref = json.load(open(args.ref))
    mean, std = ref['mean'], ref['std']
    by_model = {}
    for c in ref['cases']:
        by_model.setdefault(c['model'], []).append(c)

    worst, bad, t0 = 0.0, 0, time.time()
    for rel, cases in by_model.items():
        m = onnx_tool.load_model(os.path.join(ROOT, rel))
        name, _, shape = m['real_inputs'][0]
        assert name == 'input' and m['outputs'][0][0] == 'logits', (name, m['outputs'])
        diff, agree = 0.0, 0
        for c in cases:
            x = [(p - mean) / std for p in c['pixels']]
            shp, y = onnx_tool.run(m, {name: ([1, 1, 28, 28], x)})
            assert list(shp) == [1, 10], shp
            diff = max(diff, max(abs(a - b) for a, b in zip(y, c['logits'])))
            agree += argmax(y) == argmax(c['logits'])
        worst = max(worst, diff)
        ok = diff <= args.tol and agree == len(cases)
        bad += not ok
        print('%-34s cases=%d max|diff|=%.3e argmax agree %d/%d %s'
              % (rel, len(cases), diff, agree, len(cases), 'ok' if ok else 'FAIL'))
        if args.acc > 0:
            rows = open(os.path.join(ROOT, 'tests', 'fixtures', 'digits.csv')).read().splitlines()[:args.acc]
            hit = 0
            for r in rows:
                p = r.split(',')
                x = [(int(v) / 255.0 - mean) / std for v in p[1:]]
                hit += argmax(onnx_tool.run(m, {name: ([1, 1, 28, 28], x)})[1]) == int(p[0])
            print('%-34s digits.csv accuracy %d/%d' % ('', hit, len(rows)))
    print('check_onnx_reference: %d models, %d cases, max|diff| = %.3e (tol %g), %d failing, %.1f s'
          % (len(by_model), len(ref['cases']), worst, args.tol, bad, time.time() - t0))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
