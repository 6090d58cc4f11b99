#!/usr/bin/env python3
"""Probe nnopt on the networks of VNN-COMP benchmark sets (the "before" table of issue 15).

Usage: vnncomp_probe.py [--nnopt PATH] [--points K] SETDIR...

Per network of SETDIR/instances.csv: input shape, ONNX op types, parameter count, ReLU
neurons (from ONNX shape inference), whether `nnopt info` loads it (else its one-line
error), and for the loadable ones a forward-pass check against onnxruntime: the centre of
the input box of each of the first K properties is fed to onnxruntime (float32) and to
nnopt, whose double forward pass is read from the counterexample of `nnopt verify` on a
point box with an always-true output constraint. Prints one JSON object per network.
Needs numpy, onnx, onnxruntime (the project's .venv).
"""
import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper, shape_inference

BOUND = re.compile(r"\(\s*(<=|>=)\s+X_(\d+)\s+([-+0-9.eE]+)\s*\)")


def input_box(vnnlib, n):
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    for op, i, v in BOUND.findall(Path(vnnlib).read_text()):
        i = int(i)
        arr = hi if op == "<=" else lo
        if i < n and np.isnan(arr[i]):
            arr[i] = float(v)
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise ValueError(f"{vnnlib}: not every X_i has both bounds")
    return lo, hi


def describe(path):
    model = onnx.load(str(path))
    g = model.graph
    inits = {t.name for t in g.initializer}
    inp = [i for i in g.input if i.name not in inits][0]
    shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
    params = sum(int(np.prod(numpy_helper.to_array(t).shape)) for t in g.initializer)
    for n in g.node:  # Constant nodes holding weights (some exporters)
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.t is not None and a.t.dims:
                    params += int(np.prod(a.t.dims))
    ops = Counter(n.op_type for n in g.node)
    relus = None
    try:
        inferred = shape_inference.infer_shapes(model)
        shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
                  for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        relus = 0
        for n in g.node:
            if n.op_type == "Relu":
                s = shapes.get(n.output[0])
                if not s or 0 in s[1:]:
                    relus = None
                    break
                relus += int(np.prod(s[1:] if len(s) > 1 else s))
    except Exception:  # shape inference is a nicety
        relus = None
    return model, inp.name, shape, params, dict(ops), relus


def nnopt_forward(nnopt, onnx_path, x, n_out, tmp):
    prop = Path(tmp) / "point.vnnlib"
    with prop.open("w") as f:
        for i in range(len(x)):
            f.write(f"(declare-const X_{i} Real)\n")
        for j in range(n_out):
            f.write(f"(declare-const Y_{j} Real)\n")
        for i, v in enumerate(map(float, x)):  # Python floats: numpy 2 reprs np.float64(...)
            f.write(f"(assert (<= X_{i} {v!r}))\n(assert (>= X_{i} {v!r}))\n")
        f.write("(assert (<= Y_0 1e30))\n")
    res = Path(tmp) / "point.txt"
    subprocess.run([nnopt, "verify", "--onnx", str(onnx_path), "--vnnlib", str(prop),
                    "--timeout", "120", "--result", str(res)],
                   check=False, capture_output=True, text=True, timeout=300)
    text = res.read_text() if res.exists() else ""
    ys = dict(re.findall(r"\(Y_(\d+)\s+([-+0-9.eEinfna]+)\)", text))
    if len(ys) != n_out:
        raise RuntimeError(f"no counterexample from nnopt verify: {text[:80]!r}")
    return np.array([float(ys[str(j)]) for j in range(n_out)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnopt", default=str(Path(__file__).resolve().parents[1]
                                           / "build/apps/nnopt"))
    ap.add_argument("--points", type=int, default=3)
    ap.add_argument("sets", nargs="+")
    a = ap.parse_args()
    for setdir in map(Path, a.sets):
        if not (setdir / "instances.csv").is_file():
            sys.exit(f"vnncomp_probe.py: {setdir}/instances.csv not found")
        props = {}
        for row in csv.reader((setdir / "instances.csv").open()):
            if len(row) >= 3:
                props.setdefault(row[0].strip(), []).append(row[1].strip())
        for net, vnnlibs in props.items():
            path = setdir / net
            rec = {"set": setdir.name, "network": net, "instances": len(vnnlibs)}
            if not path.is_file():
                rec["status"] = "missing"
                print(json.dumps(rec), flush=True)
                continue
            model, in_name, shape, params, ops, relus = describe(path)
            rec.update(input_shape=shape, params=params, ops=ops, relu_neurons=relus)
            info = subprocess.run([a.nnopt, "info", "--model", str(path)],
                                  capture_output=True, text=True, timeout=600)
            rec["nnopt_info"] = (info.stdout + info.stderr).strip().splitlines()[-1:]
            rec["loads"] = info.returncode == 0
            if rec["loads"]:
                sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                n_in = int(np.prod(shape))
                errs = []
                abs_errs = []
                with tempfile.TemporaryDirectory() as tmp:
                    for v in vnnlibs[:a.points]:
                        lo, hi = input_box(setdir / v, n_in)
                        x = (lo + hi) / 2
                        y_ort = sess.run(None, {in_name: x.reshape(shape).astype(np.float32)})
                        y_ort = np.asarray(y_ort[0], dtype=np.float64).ravel()
                        y_nn = nnopt_forward(a.nnopt, path, x, y_ort.size, tmp)
                        scale = max(1.0, float(np.abs(y_ort).max()))
                        abs_errs.append(float(np.abs(y_nn - y_ort).max()))
                        errs.append(float(np.abs(y_nn - y_ort).max() / scale))
                rec["forward_max_rel_err"] = max(errs)
                rec["forward_points"] = len(errs)
                rec["forward_max_abs_err"] = max(abs_errs)
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
