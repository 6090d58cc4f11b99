#!/usr/bin/env python3
"""The seed blog's study: MIP vs NLP vs multi-start NLP on a handful of networks.

Each network of models/sweep (1-5 hidden ReLU layers of 10-60 neurons, trained
on MNIST) is attacked on one image: minimise logit[true] - logit[runner-up]
over the L-inf ball eps = 0.1 (pixel space, normalised by 0.1307/0.3081 outside
the network). Three ways, as in the blog:

  MIP          big-M + CBC: the global optimum (or a bound when the time is up)
  NLP          one local solve ("nlp": nnopt's native local solver on ReLU nets)
  multi-start  the Ipopt complementarity NLP (Scholtes) from N Sobol starts,
               stopping at the first replayed attack

Runs go through nnopt.sweep (the CLI's `nnopt sweep`: results.jsonl, table.md,
plots in --out; --resume-able), then the table is printed:

    examples/blog_study.py [--small] [--nets 1x10,2x20,...] [--starts N]
                           [--time-limit SEC] [--dataset F --index K] [--out DIR]

--small is the CI setting (two tiny networks, short limits).
"""
import argparse
import os
import pathlib
import sys

import nnopt

ROOT = pathlib.Path(__file__).resolve().parents[1]
ERAN = ROOT.parent / "shared/bench/eran_mnist/mnist_test.csv"  # the first MNIST test images
DIGITS = ROOT / "tests/fixtures/digits.csv"                       # committed fallback


def fmt(v, spec=".5f"):
    return "-" if v is None else format(v, spec)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="CI setting")
    ap.add_argument("--nets", default="1x10,1x20,1x30,2x10,2x20,3x10,4x10,5x10",
                    help="comma-separated LxN of models/sweep/mlp_LxN.onnx")
    ap.add_argument("--starts", type=int, default=16, help="multi-start: Sobol starts")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per run")
    ap.add_argument("--dataset", default=str(ERAN if ERAN.exists() else DIGITS))
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--out", default="out/blog_study")
    a = ap.parse_args(argv)
    if a.small:
        a.nets, a.starts, a.time_limit = "1x10,2x10", 4, 30.0
    nets = [str(ROOT / f"models/sweep/mlp_{n}.onnx") for n in a.nets.split(",")]
    common = dict(dataset=a.dataset, eps=a.eps, index=a.index, mean=0.1307, std=0.3081,
                  time_limit=a.time_limit, resume=True)
    progress = (lambda d: d["record"] and print(
        f"  [{d['done']}/{d['to_run']}] {d['record']['network']} {d['record']['method']}: "
        f"{d['record']['verdict']} ({d['record']['time_s']:.2f} s)", file=sys.stderr))
    single = nnopt.sweep(nets, methods=["mip", "nlp"], out=os.path.join(a.out, "single"),
                         progress=progress, **common)
    multi = nnopt.sweep(nets, methods=["nlp:scholtes"], starts=a.starts, early_stop=True,
                        out=os.path.join(a.out, f"multistart{a.starts}"), progress=progress,
                        **common)
    print(f"Image {a.index} of {os.path.basename(a.dataset)}, L-inf eps {a.eps}, runner-up "
          f"target, {a.time_limit:g} s per run; a negative margin is an attack.\n")
    print("| Hidden Layers | Neurons | MIP margin | MIP time (s) | MIP proven | NLP margin | "
          f"NLP time (s) | {a.starts}-start margin | time (s) | first attack start | False Robustness |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    false_robust = 0
    for path in nets:
        net = os.path.basename(path)
        mip, nlp = single.record(net, "mip"), single.record(net, "nlp:pwl")
        ms = multi.record(net, "nlp:scholtes")
        fr = mip["margin"] < 0 <= nlp["margin"]
        false_robust += fr
        first = ms.get("first_attack_start", -1)
        print(f"| {mip['hidden_layers']} | {mip['neurons']} | {fmt(mip['margin'])} | "
              f"{mip['time_s']:.3f} | {'yes' if mip['proven'] else 'no'} | {fmt(nlp['margin'])} | "
              f"{nlp['time_s']:.3f} | {fmt(ms['margin'])} | {ms['time_s']:.3f} | "
              f"{first if first is not None and first >= 0 else '-'} | {'Yes' if fr else ''} |")
    print(f"\nFalse robustness (single NLP >= 0 while the MIP found an attack): "
          f"{false_robust}/{len(nets)}")
    for line in single.summary:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
