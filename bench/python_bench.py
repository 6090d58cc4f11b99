#!/usr/bin/env python3
"""Python-layer speed (issue 12's targets; a benchmark, not a test):

  1. overhead of one nnopt.attack call over the library's own time (result.time_s)
     on models/sweep/mlp_1x20.onnx, eps 0.1: target <= 5 ms
  2. Network.from_torch of the seed tutorial's ConvNet, both exporters, the first
     call in a fresh interpreter (cold: the exporter's imports) and later ones: <= 1 s
  3. building the tutorial's nnopt.Model (noise, a1, 1x20 network with CROWN bounds,
     y[2] >= y[7] + 0.1, L1 objective): <= 50 ms
  4. Model.solve overhead over the solver's time on that model

    .venv/bin/python bench/python_bench.py [--repeat N]
"""
import argparse
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

import nnopt

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEAN, STD = 0.1307, 0.3081


def med_ms(xs):
    return 1e3 * statistics.median(xs)


def attack_overhead(image, repeat):
    net = nnopt.Network.from_onnx(str(ROOT / "models/sweep/mlp_1x20.onnx"))
    for method in ("nlp", "mip"):
        over, lib = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = nnopt.attack(net, image, label=7, eps=0.1, method=method, mean=MEAN, std=STD)
            wall = time.perf_counter() - t0
            over.append(wall - r.time_s)
            lib.append(r.time_s)
        print(f"attack mlp_1x20 eps 0.1 method={method}: library {med_ms(lib):.2f} ms, "
              f"Python overhead median {med_ms(over):.2f} ms (max {1e3 * max(over):.2f}) "
              f"over {repeat} calls [target <= 5 ms]")


FROM_TORCH = r"""
import importlib.util, sys, time, torch, nnopt
spec = importlib.util.spec_from_file_location("tf", sys.argv[1] + "/scripts/train_fixtures.py")
tf = importlib.util.module_from_spec(spec); spec.loader.exec_module(tf)
torch.manual_seed(0)
model = tf.ConvNet().eval()
kw = {} if sys.argv[2] == "dynamo" else {"dynamo": False}
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    nnopt.Network.from_torch(model, torch.zeros(1, 1, 28, 28), **kw)
    times.append(time.perf_counter() - t0)
print(" ".join(f"{t:.3f}" for t in times))
"""


def from_torch_times(repeat):
    for exporter in ("dynamo", "torchscript"):
        out = subprocess.run([sys.executable, "-c", FROM_TORCH, str(ROOT), exporter, str(repeat)],
                             capture_output=True, text=True, check=True).stdout.split()
        t = [float(v) for v in out]
        print(f"from_torch ConvNet ({exporter} exporter): first call {t[0]:.3f} s, later calls "
              f"median {statistics.median(t[1:]):.3f} s [target <= 1 s]")


def tutorial_model(net, x0):
    m = nnopt.Model()
    noise = m.add_vars(784, lb=-1.0, ub=1.0, name="noise")
    a1 = m.add_vars(784, lb=-MEAN / STD, ub=(1 - MEAN) / STD, name="a1")
    m.add_constraint(a1 == (x0 + noise - MEAN) / STD)
    y = m.add_network(net, a1)
    m.add_constraint(y[2] >= y[7] + 0.1)
    m.minimize(nnopt.l1(noise))
    return m


def model_build(image, repeat):
    net = nnopt.Network.from_onnx(str(ROOT / "models/mnist_mlp_1x20.onnx"))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        m = tutorial_model(net, image)
        times.append(time.perf_counter() - t0)
    print(f"build the tutorial Model (1x20, CROWN bounds; {m.num_vars} variables, {m.num_rows} "
          f"rows): median {med_ms(times):.1f} ms, max {1e3 * max(times):.1f} ms over {repeat} "
          f"[target <= 50 ms]")
    over = []
    for _ in range(3):
        t0 = time.perf_counter()
        sol = m.solve()
        over.append(time.perf_counter() - t0 - sol.time_s)
    print(f"Model.solve (cbc, {sol.time_s:.2f} s): overhead incl. the forward-pass check "
          f"{med_ms(over):.1f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    image = nnopt.load_image(str(ROOT / "data/mnist_test_0.pgm"))
    attack_overhead(image, a.repeat)
    from_torch_times(max(3, a.repeat // 4))
    model_build(image.pixels, a.repeat)


if __name__ == "__main__":
    main()
