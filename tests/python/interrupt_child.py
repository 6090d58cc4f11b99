"""A long solve for test_interrupt.py (Model.solve with cbc/ipopt, or nnopt.attack):
prints 'solving', then solves until interrupted."""
import sys
import time

import numpy as np

import nnopt

root, solver = sys.argv[1], sys.argv[2]
x0 = nnopt.load_image(f"{root}/data/mnist_test_0.pgm").pixels
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
