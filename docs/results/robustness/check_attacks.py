#!/usr/bin/env python3
"""Re-checks every `attacked` row of an `nnopt robustness` results.jsonl with an
independent forward pass (onnxruntime, float32): the stored point lies in the
L-inf box of its eps (clipped to [0, 1]) and some class beats the label. Rows
inferred from another eps are checked with the point of the row they name.
`--radius` lines ("kind": "radius") with an attacked_hi are checked the same way,
and also that certified_lo <= attacked_hi and that the point's L-inf distance from
the image is attacked_hi.

Usage: check_attacks.py RESULTS.jsonl MODEL.onnx DATASET.csv [--mean M --std S]
"""
import argparse
import json

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("model")
    ap.add_argument("dataset")
    ap.add_argument("--mean", type=float, default=None)
    ap.add_argument("--std", type=float, default=None)
    a = ap.parse_args()
    images = [np.array([float(v) for v in line.split(",")]) for line in open(a.dataset) if line.strip()]
    sess = ort.InferenceSession(a.model)
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]

    def logits(x):
        if a.mean is not None:
            x = (x - a.mean) / a.std
        return sess.run(None, {inp.name: x.reshape(shape).astype(np.float32)})[0].reshape(-1)

    lines = [json.loads(line) for line in open(a.results) if line.endswith("\n")]
    rows = [r for r in lines if r.get("kind") != "radius"]
    radius = [r for r in lines if r.get("kind") == "radius"]
    points = {}  # (index, eps) -> point found there
    for r in rows:
        if "adversarial" in r:
            points[(r["index"], r["eps"])] = np.array(r["adversarial"])
    checked = failed = 0
    for r in rows:
        if r["verdict"] != "attacked":
            continue
        x = points.get((r["index"], r["eps"] if "adversarial" in r else r["from_eps"]))
        x0 = images[r["index"]][1:] / 255.0
        label = int(images[r["index"]][0])
        ok = x is not None
        if ok:
            lo = np.maximum(x0 - r["eps"], 0.0)
            hi = np.minimum(x0 + r["eps"], 1.0)
            y = logits(x)
            inside = bool(np.all(x >= lo) and np.all(x <= hi))
            beaten = bool(np.max(np.delete(y, label)) > y[label])
            ok = inside and beaten and label == r["label"]
        checked += 1
        if not ok:
            failed += 1
            print(f"FAIL image {r['index']} eps {r['eps']}")
    print(f"{checked} attacked rows re-checked with onnxruntime {ort.__version__}: {failed} failed")
    rchecked = rfailed = 0
    for r in radius:
        if r["attacked_hi"] is None or r["predicted"] != r["label"]:
            continue
        x = np.array(r["adversarial"]) if "adversarial" in r else None
        x0 = images[r["index"]][1:] / 255.0
        label = int(images[r["index"]][0])
        ok = x is not None and r["certified_lo"] <= r["attacked_hi"] and label == r["label"]
        if ok:
            dist = float(np.max(np.abs(x - x0)))
            y = logits(x)
            ok = (abs(dist - r["attacked_hi"]) <= 1e-9 and bool(np.all(x >= 0.0) and np.all(x <= 1.0))
                  and bool(np.max(np.delete(y, label)) > y[label]))
        rchecked += 1
        if not ok:
            rfailed += 1
            print(f"FAIL radius image {r['index']} attacked_hi {r['attacked_hi']}")
    if radius:
        print(f"{rchecked} radius upper bounds re-checked: {rfailed} failed")
    raise SystemExit(1 if failed or rfailed else 0)


if __name__ == "__main__":
    main()
