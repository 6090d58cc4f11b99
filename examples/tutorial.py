#!/usr/bin/env python3
"""The seed tutorial "Embedding a Trained Neural Network", end to end with nnopt.

For the tutorial's two networks - SimpleModel (784-20-10, ReLU) and ConvNet
(Conv 1->8 k5 s2, ReLU, Conv 8->4 k5 s2, ReLU, Linear 64->10), the seed's own
torch classes - find the smallest L1 change of the first MNIST test digit (a 7)
that makes the network prefer 2 over 7 by 0.1, writing the tutorial's model
with nnopt.Model:

    noise in [-1, 1]^784,  a1 = (image + noise - mean) / std in the normalised box,
    y = network(a1),  y[2] >= y[7] + 0.1,  minimise sum |noise|

then replay the perturbed image in torch and save the panel. The weights are
the committed fixtures (models/mnist_mlp_1x20.onnx, models/mnist_convnet.onnx,
trained by scripts/train_fixtures.py), loaded into the torch classes, and the
network goes to nnopt through torch.onnx.export (Network.from_torch).

    examples/tutorial.py [--small] [--out DIR] [--time-limit SEC]

SimpleModel is solved exactly (relu="bigm", CBC). The ConvNet's MIP (1216
binaries) does not finish with CBC in minutes, so it is solved as the
complementarity NLP (Ipopt, a local optimum; the tutorial's remark on other
formulations), and without --small its MIP also runs for --time-limit seconds
and reports the incumbent and CBC's lower bound. --small is the CI setting.
"""
import argparse
import importlib.util
import os
import pathlib
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch

import nnopt

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEAN, STD = 0.1307, 0.3081


def seed_classes():
    """SimpleModel and ConvNet as the tutorial defines them (scripts/train_fixtures.py)."""
    spec = importlib.util.spec_from_file_location("train_fixtures", ROOT / "scripts/train_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SimpleModel, mod.ConvNet


def load_weights(model, onnx_path):
    """The fixture's ONNX initializers are the module's state_dict (same names)."""
    init = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
            for t in onnx.load(str(onnx_path)).graph.initializer}
    model.load_state_dict({k: init[k] for k in model.state_dict()})
    return model.eval()


def min_l1_model(net, image, relu):
    """The tutorial's model, written with nnopt.Model."""
    m = nnopt.Model("min_noise")
    noise = m.add_vars(784, lb=-1.0, ub=1.0, name="noise")
    a1 = m.add_vars(784, lb=-MEAN / STD, ub=(1 - MEAN) / STD, name="a1", start=(image - MEAN) / STD)
    m.add_constraint(a1 == (image + noise - MEAN) / STD, name="set_a1")
    y = m.add_network(net, a1, relu=relu)
    m.add_constraint(y[2] >= y[7] + 0.1, name="favor_confused")
    m.minimize(nnopt.l1(noise))
    return m, noise, y


def run(name, model, image, relu, solver, time_limit, out):
    t0 = time.perf_counter()
    net = nnopt.Network.from_torch(model, torch.zeros(1, 1, 28, 28))
    t_export = time.perf_counter() - t0
    t0 = time.perf_counter()
    m, noise, y = min_l1_model(net, image, relu)
    t_build = time.perf_counter() - t0
    sol = m.solve(solver=solver, time_limit=time_limit)
    print(f"{name}: from_torch {t_export:.2f} s, model built in {t_build * 1e3:.0f} ms "
          f"({m.num_vars} variables, {m.num_integers} binaries, {m.num_rows} rows); "
          f"{solver} {relu}: {sol.status} in {sol.time_s:.2f} s")
    if not sol.has_point:
        print(f"  no point ({sol.message})")
        return None
    n = sol[noise]
    print(f"  L1 noise {sol.objective:.6f}" + (f" (CBC lower bound {sol.bound:.6f})"
                                              if np.isfinite(sol.bound) else " (local optimum)"))
    print("  y =", np.array2string(sol[y], precision=5, max_line_width=200))
    # Replay in torch, as the tutorial does: network((noise + image - mean) / std).
    with torch.no_grad():
        t = model(torch.tensor((n + image - MEAN) / STD, dtype=torch.float32).reshape(1, 1, 28, 28))
    t = t.double().numpy()[0]
    print("  torch(image + noise) =", np.array2string(t, precision=5, max_line_width=200))
    assert np.max(np.abs(t - sol[y])) < 1e-3, "torch disagrees with the solution"
    assert t[2] > t[7], "torch does not prefer 2 over 7"
    print(f"  torch predicts {int(np.argmax(t))} (2 beats 7 by {t[2] - t[7]:.4f})")
    panel = os.path.join(out, f"tutorial_{name}.png")
    nnopt.save_panel(panel, net, image, np.clip(image + n, 0, 1), mean=MEAN, std=STD,
                     title=f"{name}: min-L1 noise, 2 beats 7 by 0.1 ({solver})",
                     subtitle=f"L1 {sol.objective:.4f}, {sol.time_s:.2f} s")
    print(f"  panel: {panel}")
    return sol.objective


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="CI setting (no ConvNet MIP)")
    ap.add_argument("--out", default="out/examples", help="directory for the panels")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    SimpleModel, ConvNet = seed_classes()
    image = nnopt.load_image(str(ROOT / "data/mnist_test_0.pgm")).pixels
    ffn = load_weights(SimpleModel(), ROOT / "models/mnist_mlp_1x20.onnx")
    cnn = load_weights(ConvNet(), ROOT / "models/mnist_convnet.onnx")
    for name, model in (("SimpleModel", ffn), ("ConvNet", cnn)):
        with torch.no_grad():
            pred = int(model(torch.tensor((image - MEAN) / STD, dtype=torch.float32)
                             .reshape(1, 1, 28, 28)).argmax())
        print(f"{name}: " + ("Model currently classifies correctly" if pred == 7
                             else f"Pick some other data (predicts {pred})"))
    results = {"SimpleModel": run("SimpleModel", ffn, image, "bigm", "cbc", a.time_limit, a.out),
               "ConvNet": run("ConvNet", cnn, image, "complementarity", "ipopt", a.time_limit, a.out)}
    if not a.small:
        results["ConvNet (MIP)"] = run("ConvNet_mip", cnn, image, "bigm", "cbc", a.time_limit, a.out)
    return 0 if results["SimpleModel"] is not None and results["ConvNet"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
