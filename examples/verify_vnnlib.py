#!/usr/bin/env python3
"""Verify VNN-LIB properties from Python: nnopt.verify, nnopt.bounds, nnopt.verify_batch.

Without arguments: writes L-inf robustness properties for a committed MNIST
fixture network (the box of radius eps around a digit, in the normalised input
space the network takes; unsafe: some other logit >= the label's), then

  1. nnopt.bounds over each box (how many ReLUs interval / CROWN / LP fix),
  2. nnopt.verify on each property: unsat (a finished sound proof) or sat with
     a counterexample replayed through the forward pass here,
  3. the same instances through nnopt.verify_batch (a resumable results CSV).

    examples/verify_vnnlib.py [--onnx NET.onnx --vnnlib PROP.vnnlib] [--eps 0.005,0.03,0.08]
                              [--digits 0,1] [--timeout SEC] [--out DIR]
"""
import argparse
import os
import pathlib
import sys

import numpy as np

import nnopt

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEAN, STD = 0.1307, 0.3081


def write_property(path, pixels, label, eps):
    lines = [f"(declare-const X_{i} Real)" for i in range(pixels.size)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(10)]
    for i, v in enumerate(pixels):
        lo, hi = max(v - eps, 0.0), min(v + eps, 1.0)
        lines.append(f"(assert (>= X_{i} {(lo - MEAN) / STD:.17g}))")
        lines.append(f"(assert (<= X_{i} {(hi - MEAN) / STD:.17g}))")
    lines.append("(assert (or")
    lines += [f"  (and (>= Y_{j} Y_{label}))" for j in range(10) if j != label]
    lines.append("))")
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def check(net, path, timeout):
    r = nnopt.verify(net, path, timeout=timeout)
    line = f"{os.path.basename(path)}: {r.answer} in {r.time_s:.2f} s"
    line += f" by {r.decided_by}" if r.decided_by else f" ({r.reason})"
    if r.answer == "sat":
        y = net.forward(r.x)  # replay the counterexample here
        assert np.allclose(y, r.y, atol=1e-9)
        line += f"; counterexample replayed: logits argmax {int(np.argmax(y))}"
    print(line)
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", help="network (default: models/mnist_mlp_1x10.onnx)")
    ap.add_argument("--vnnlib", help="a property for --onnx (default: written here)")
    ap.add_argument("--eps", default="0.005,0.03,0.08")
    ap.add_argument("--digits", default="0,1")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out", default="out/verify_vnnlib")
    a = ap.parse_args(argv)
    onnx = a.onnx or str(ROOT / "models/mnist_mlp_1x10.onnx")
    net = nnopt.Network.from_onnx(onnx)
    print(f"{onnx}: {net.summary()}")
    if a.vnnlib:
        r = check(net, a.vnnlib, a.timeout)
        return 0 if r.answer in ("sat", "unsat", "timeout", "unknown") else 1
    os.makedirs(os.path.join(a.out, "props"), exist_ok=True)
    rows = [list(map(float, l.split(","))) for l in (ROOT / "tests/fixtures/digits.csv").read_text().split()]
    instances = []
    for k in map(int, a.digits.split(",")):
        pixels, label = np.array(rows[k][1:]) / 255.0, int(rows[k][0])
        for eps in map(float, a.eps.split(",")):
            rel = f"props/d{k}_e{eps:g}.vnnlib"
            path = os.path.join(a.out, rel)
            write_property(path, pixels, label, eps)
            b = nnopt.bounds(net, vnnlib=path, methods=["interval", "crown", "lp"],
                             lp_time_limit=10).boxes[0]
            print(f"digit {k} (label {label}), eps {eps:g}: unstable ReLUs " + ", ".join(
                f"{m.method} {m.total.unstable}" for m in b.methods))
            check(net, path, a.timeout)
            instances.append(f"{onnx},{rel},{a.timeout:g}")
    inst = os.path.join(a.out, "instances.csv")
    pathlib.Path(inst).write_text("\n".join(instances) + "\n")
    res = nnopt.verify_batch(instances=inst, dir=a.out, out=os.path.join(a.out, "results.csv"),
                             resume=True)
    print(f"verify_batch: ran {len(res.rows)}, {res.skipped} already in {res.out}; counts {res.counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
