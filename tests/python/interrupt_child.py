"""A long solve for test_interrupt.py (Model.solve with cbc/ipopt, nnopt.attack,
nnopt.verify, nnopt.verify_batch or nnopt.sweep): prints 'solving', then solves
until interrupted (exit 3 on KeyboardInterrupt). The batch modes print a 'row'/'record'
line per finished instance; their files go to the directory argv[3]."""
import os
import sys
import time

import numpy as np

import nnopt

root, solver = sys.argv[1], sys.argv[2]
x0 = nnopt.load_image(f"{root}/data/mnist_test_0.pgm").pixels


def hard_property(path, eps=0.034, normalized=False):
    """Digit 7 of mnist_test_0 in an L-inf box of eps, unsafe: any other class
    wins. On the 5x60 MLP, eps 0.034 (just below where PGD finds a
    counterexample) takes verify minutes (at 40 s, two threads: timeout, 5 of 9
    disjuncts refuted; eps 0.03 is proven in ~1 s since the ReLU B&B races
    beta-CROWN nodes). normalized: the box in the raw network's input space
    ((x - 0.1307) / 0.3081)."""
    a, b = (0.1307, 0.3081) if normalized else (0.0, 1.0)
    lines = [f"(declare-const X_{i} Real)" for i in range(784)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(10)]
    for i, v in enumerate(x0):
        lines.append(f"(assert (>= X_{i} {(max(v - eps, 0) - a) / b:.9f}))")
        lines.append(f"(assert (<= X_{i} {(min(v + eps, 1) - a) / b:.9f}))")
    lines.append("(assert (or")
    lines += [f"  (and (>= Y_{j} Y_7))" for j in range(10) if j != 7]
    lines.append("))")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run(call):
    print("solving", flush=True)
    t0 = time.monotonic()
    try:
        r = call()
        print(f"finished {r!r:.60} after {time.monotonic() - t0:.2f} s", flush=True)
    except KeyboardInterrupt:
        print(f"KeyboardInterrupt after {time.monotonic() - t0:.2f} s", flush=True)
        sys.exit(3)
    sys.exit(0)


if solver == "bounds":  # LP tightening of every neuron of the 5x60 MLP (many seconds)
    raw = nnopt.Network.from_onnx(f"{root}/models/sweep/mlp_5x60.onnx")
    run(lambda: nnopt.bounds(raw, x0, eps=0.1, methods=["lp"], lp_time_limit=600, mean=0.1307,
                             std=0.3081))
if solver in ("verify", "verify-batch", "sweep"):
    work = sys.argv[3]
    raw = nnopt.Network.from_onnx(f"{root}/models/sweep/mlp_5x60.onnx")
    if solver == "verify":
        hard_property(os.path.join(work, "hard.vnnlib"))
        net = raw.with_input_normalization(0.1307, 0.3081)
        run(lambda: nnopt.verify(net, os.path.join(work, "hard.vnnlib"), timeout=600))
    elif solver == "verify-batch":
        # A quick instance (the 1x10 MLP, which folds the normalisation in),
        # the hard one, another quick one.
        hard_property(os.path.join(work, "quick1.vnnlib"), eps=0.005)
        hard_property(os.path.join(work, "hard.vnnlib"), normalized=True)
        hard_property(os.path.join(work, "quick2.vnnlib"), eps=0.08)
        with open(os.path.join(work, "instances.csv"), "w") as f:
            f.write(f"{root}/models/mnist_mlp_1x10.onnx,quick1.vnnlib,20\n"
                    f"{root}/models/sweep/mlp_5x60.onnx,hard.vnnlib,600\n"
                    f"{root}/models/mnist_mlp_1x10.onnx,quick2.vnnlib,20\n")
        run(lambda: nnopt.verify_batch(instances=os.path.join(work, "instances.csv"), dir=work,
                                       out=os.path.join(work, "results.csv"),
                                       progress=lambda row: print("row", row.result, flush=True)))
    else:  # the 1x10 MIP takes a moment, the 5x60 one minutes
        models = [f"{root}/models/sweep/mlp_1x10.onnx", f"{root}/models/sweep/mlp_5x60.onnx"]
        run(lambda: nnopt.sweep(models, f"{root}/tests/fixtures/digits.csv", eps=0.1, methods=["mip"],
                                out=os.path.join(work, "sweep"), mean=0.1307, std=0.3081,
                                time_limit=600,
                                progress=lambda d: d["record"] and print("record", flush=True)))
net = nnopt.Network.from_onnx(f"{root}/models/sweep/mlp_5x60.onnx").with_input_normalization(
    0.1307, 0.3081)
if solver in ("attack-mip", "attack-min-l1"):  # nnopt.attack on the same network
    raw = nnopt.Network.from_onnx(f"{root}/models/sweep/mlp_5x60.onnx")
    kw = (dict(eps=0.1, method="mip") if solver == "attack-mip" else
          dict(objective="min-distortion", target=3, norm="l1", method="mip"))
    print("solving", flush=True)
    t0 = time.monotonic()
    try:
        r = nnopt.attack(raw, x0, label=7, mean=0.1307, std=0.3081, time_limit=600, **kw)
        print(f"finished {r.verdict} after {time.monotonic() - t0:.2f} s", flush=True)
    except KeyboardInterrupt:
        print(f"KeyboardInterrupt after {time.monotonic() - t0:.2f} s", flush=True)
        sys.exit(3)
    sys.exit(0)
m = nnopt.Model()
x = m.add_vars(784, lb=np.clip(x0 - 0.1, 0, 1), ub=np.clip(x0 + 0.1, 0, 1), start=x0)
copies = 1 if solver == "cbc" else 6  # the NLP of one 5x60 net takes about a second
relu = "bigm" if solver == "cbc" else "mpec:scholtes"
obj = 0
for k in range(copies):
    y = m.add_network(net, x, relu=relu, bounds="interval")
    obj = obj + y[7] - y[3]
m.minimize(obj)
print("solving", flush=True)
t0 = time.monotonic()
try:
    sol = m.solve(solver=solver, time_limit=600)
    print(f"finished {sol.status} after {time.monotonic() - t0:.2f} s", flush=True)
except KeyboardInterrupt:
    print(f"KeyboardInterrupt after {time.monotonic() - t0:.2f} s", flush=True)
    sys.exit(3)
