#!/usr/bin/env python3
"""Writes the CNNs of the structured-layer benchmark (issue 15) into OUTDIR, with a VNN-LIB
L-inf box around one input each (bench/bench_structured.sh measures CROWN on them).

Usage: make_cnn_bench.py OUTDIR [--eps E] [--seed S]

The architectures are those the issue names (weights are He-random, not trained: the
benchmark measures the cost of the bound computations, which depends on the shapes, not on
what the weights learned):
  mnist_cnn_9508  1x28x28 -> Conv 32x5x5 s2 p2 -> ReLU -> Conv 64x4x4 s2 p1 -> ReLU
                  -> Gemm 100 -> ReLU -> Gemm 10     (6272 + 3136 + 100 = 9508 ReLUs, the
                  VNN-COMP-style MNIST CNN of the issue)
  cifar_cnn_small 3x32x32 -> Conv 16x4x4 s2 p1 -> ReLU -> Conv 32x4x4 s2 p1 -> ReLU
                  -> Gemm 100 -> ReLU -> Gemm 10     (4096 + 2048 + 100 ReLUs)
  cifar_cnn_wide  3x32x32 -> Conv 32x3x3 s1 p1 -> ReLU -> Conv 32x4x4 s2 p1 -> ReLU
                  -> Gemm 100 -> ReLU -> Gemm 10     (32768 + 8192 + 100 ReLUs: its first
                  layer is the 32768 x 3072 matrix of the issue)
Each input is a random image in [0, 1] (seeded); the property is the box of radius eps
around it clipped to [0, 1] and the output constraint Y_0 <= 1e9 (any point is a
counterexample): `nnopt bounds --vnnlib` reads the box from it.
Needs numpy and onnx (the project's .venv).
"""
import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NETS = {
    "mnist_cnn_9508": ((1, 28, 28), [(32, 5, 2, 2), (64, 4, 2, 1)], [100, 10]),
    "cifar_cnn_small": ((3, 32, 32), [(16, 4, 2, 1), (32, 4, 2, 1)], [100, 10]),
    "cifar_cnn_wide": ((3, 32, 32), [(32, 3, 1, 1), (32, 4, 2, 1)], [100, 10]),
}


def build(name, in_shape, convs, dense, rng):
    nodes, inits = [], []
    cur, (c, h, w) = "x", in_shape
    for i, (m, k, s, p) in enumerate(convs):
        W = rng.normal(0, np.sqrt(2.0 / (c * k * k)), (m, c, k, k)).astype(np.float32)
        b = rng.normal(0, 0.05, (m,)).astype(np.float32)
        inits += [numpy_helper.from_array(W, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Conv", [cur, f"W{i}", f"b{i}"], [f"c{i}"], name=f"conv{i}",
                                      kernel_shape=[k, k], strides=[s, s], pads=[p] * 4))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        cur, c, h, w = f"r{i}", m, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    nodes.append(helper.make_node("Flatten", [cur], ["flat"], name="flatten", axis=1))
    cur, n = "flat", c * h * w
    for j, m in enumerate(dense):
        W = rng.normal(0, np.sqrt(2.0 / n), (m, n)).astype(np.float32)
        b = rng.normal(0, 0.05, (m,)).astype(np.float32)
        inits += [numpy_helper.from_array(W, f"G{j}"), numpy_helper.from_array(b, f"g{j}")]
        out = "y" if j == len(dense) - 1 else f"d{j}"
        nodes.append(helper.make_node("Gemm", [cur, f"G{j}", f"g{j}"], [out], name=f"fc{j}",
                                      transB=1))
        if j < len(dense) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"dr{j}"], name=f"drelu{j}"))
            out = f"dr{j}"
        cur, n = out, m
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, dense[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def vnnlib(x, eps, n_out):
    lines = [f"(declare-const X_{i} Real)" for i in range(x.size)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    for i, v in enumerate(x):
        lines.append(f"(assert (>= X_{i} {max(0.0, v - eps):.9f}))")
        lines.append(f"(assert (<= X_{i} {min(1.0, v + eps):.9f}))")
    lines.append("(assert (<= Y_0 1000000000))")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--eps", type=float, default=2.0 / 255)
    ap.add_argument("--seed", type=int, default=15)
    a = ap.parse_args()
    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for name, (in_shape, convs, dense) in NETS.items():
        onnx.save(build(name, in_shape, convs, dense, rng), out / f"{name}.onnx")
        x = rng.random(int(np.prod(in_shape)))
        (out / f"{name}.vnnlib").write_text(vnnlib(x, a.eps, dense[-1]))
        print(out / f"{name}.onnx")


if __name__ == "__main__":
    main()
