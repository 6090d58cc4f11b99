"""nnopt.bounds / sweep / verify_batch / score against the CLI commands and the forward pass."""
import csv
import json
import subprocess

import numpy as np
import pytest

import nnopt
from conftest import ROOT

MLP = ROOT / "models/mnist_mlp_1x20.onnx"
PGM = ROOT / "data/mnist_test_0.pgm"
DIGITS = ROOT / "tests/fixtures/digits.csv"
MEAN, STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def mlp():
    return nnopt.Network.from_onnx(str(MLP))


@pytest.fixture(scope="module")
def image():
    return nnopt.load_image(str(PGM))


def test_bounds_equal_cli_and_contain_samples(mlp, image, nnopt_cli, tmp_path):
    r = nnopt.bounds(mlp, image, eps=0.05, mean=MEAN, std=STD, lp_time_limit=30)
    out = tmp_path / "b.json"
    subprocess.run([str(nnopt_cli), "bounds", "--model", str(MLP), "--image", str(PGM), "--eps",
                    "0.05", "--mean", str(MEAN), "--std", str(STD), "--lp-time-limit", "30",
                    "--json", str(out)], check=True, capture_output=True)
    cli = json.loads(out.read_text())
    mine = r.to_dict()
    for key in ("network", "relu_neurons", "eps", "mean", "std", "lp_time_limit_s"):
        assert mine[key] == cli[key], key
    for bm, bc in zip(mine["boxes"], cli["boxes"]):
        assert bm["input_width_mean"] == pytest.approx(bc["input_width_mean"], abs=1e-12)
        for mm, mc in zip(bm["methods"], bc["methods"]):
            assert mm["method"] == mc["method"]
            assert {k: mm["total"][k] for k in ("active", "inactive", "unstable")} == \
                {k: mc["total"][k] for k in ("active", "inactive", "unstable")}
            assert mm["total"]["mean_width"] == pytest.approx(mc["total"]["mean_width"], rel=1e-9)
            assert [l["unstable"] for l in mm["layers"]] == [l["unstable"] for l in mc["layers"]]
    box = r.boxes[0]
    assert [m.method for m in box.methods] == ["interval", "crown", "lp"]
    assert box["crown"].mean_width <= box["interval"].mean_width + 1e-12
    assert box["lp"].total.unstable <= box["crown"].total.unstable
    # Every method's output bounds contain the logits of points in the box.
    net = mlp.with_input_normalization(MEAN, STD)
    lo, hi = np.clip(image.pixels - 0.05, 0, 1), np.clip(image.pixels + 0.05, 0, 1)
    xs = np.random.default_rng(0).uniform(lo, hi, size=(300, 784))
    ys = net.forward(xs)
    for m in box.methods:
        assert np.all(ys >= m.lo[-1] - 1e-9) and np.all(ys <= m.hi[-1] + 1e-9), m.method


def test_bounds_from_vnnlib_boxes(mlp, image, tmp_path):
    p = tmp_path / "p.vnnlib"
    lines = [f"(declare-const X_{i} Real)" for i in range(784)] + \
            [f"(declare-const Y_{j} Real)" for j in range(10)]
    for i, v in enumerate(image.pixels):
        lines += [f"(assert (>= X_{i} {v - 0.01:.9f}))", f"(assert (<= X_{i} {v + 0.01:.9f}))"]
    lines.append("(assert (>= Y_3 Y_7))")
    p.write_text("\n".join(lines) + "\n")
    r = nnopt.bounds(mlp, vnnlib=str(p), methods=["crown"])
    assert len(r.boxes) == 1 and r.boxes[0].input_width_mean == pytest.approx(0.02, abs=1e-8)
    assert r.to_dict()["input"] == str(p)


@pytest.mark.parametrize("kwargs, match", [
    (dict(eps=0.1, vnnlib="x.vnnlib"), "exactly one input"),
    (dict(vnnlib="x.vnnlib", image=None, eps=0.1), "does not apply"),
    (dict(), "--eps E is required"),
    (dict(eps=-1), "--eps must be"),
    (dict(eps=0.1, methods=["magic"]), "unknown bounds method"),
    (dict(eps=0.1, methods=[]), "--methods is empty"),
    (dict(eps=0.1, mean=0.1), "together"),
    (dict(eps=0.1, lp_time_limit=0), "--lp-time-limit"),
])
def test_bounds_bad_arguments(mlp, image, kwargs, match):
    args = dict(kwargs)
    img = args.pop("image", image)
    with pytest.raises(nnopt.InputError, match=match):
        if "vnnlib" in args and img is None:
            nnopt.bounds(mlp, **args)
        else:
            nnopt.bounds(mlp, img, **args)


def write_prop(path, pixels, label, eps):
    """L-inf box in the normalised space the raw fixture nets take; unsafe: another logit wins."""
    lines = [f"(declare-const X_{i} Real)" for i in range(784)] + \
            [f"(declare-const Y_{j} Real)" for j in range(10)]
    for i, v in enumerate(pixels):
        lo, hi = max(v - eps, 0.0), min(v + eps, 1.0)
        lines += [f"(assert (>= X_{i} {(lo - MEAN) / STD:.17g}))",
                  f"(assert (<= X_{i} {(hi - MEAN) / STD:.17g}))"]
    lines.append("(assert (or")
    lines += [f"  (and (>= Y_{j} Y_{label}))" for j in range(10) if j != label]
    lines.append("))")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory, digits):
    d = tmp_path_factory.mktemp("batch")
    (d / "props").mkdir()
    pixels, labels = digits
    rows = []
    for k in (0, 1):
        for eps in (0.005, 0.08):
            name = f"props/d{k}_e{eps}.vnnlib"
            write_prop(d / name, pixels[k], labels[k], eps)
            rows.append(f"{ROOT}/models/mnist_mlp_1x10.onnx,{name},20")
    rows.append(f"{ROOT}/models/mnist_mlp_1x10.onnx,props/missing.vnnlib,20")  # an error row
    (d / "instances.csv").write_text("\n".join(rows) + "\n")
    return d


def test_verify_batch_equals_cli_and_resumes(batch_dir, nnopt_cli, tmp_path):
    out = tmp_path / "py.csv"
    seen = []
    r = nnopt.verify_batch(instances=str(batch_dir / "instances.csv"), dir=str(batch_dir),
                           out=str(out), progress=seen.append)
    assert len(r.rows) == 5 and len(seen) == 5 and r.skipped == 0
    assert r.rows[-1].result == "error" and "missing.vnnlib" in r.rows[-1].detail
    assert {row.result for row in r.rows[:-1]} <= {"sat", "unsat", "timeout", "unknown"}
    assert "sat" in r.counts and "unsat" in r.counts  # eps 0.08 falls, eps 0.005 holds
    cli_out = tmp_path / "cli.csv"
    subprocess.run([str(nnopt_cli), "verify-batch", "--instances", str(batch_dir / "instances.csv"),
                    "--dir", str(batch_dir), "--out", str(cli_out)], check=True, capture_output=True)
    with open(out) as f1, open(cli_out) as f2:
        mine = [(x["network"], x["property"], x["result"]) for x in csv.DictReader(f1)]
        cli = [(x["network"], x["property"], x["result"]) for x in csv.DictReader(f2)]
    assert mine == cli
    again = nnopt.verify_batch(instances=str(batch_dir / "instances.csv"), dir=str(batch_dir),
                               out=str(out), resume=True)
    assert again.rows == [] and again.skipped == 5
    # score: a reference with the CLI's answers scores every solved row correct
    ref = tmp_path / "reference.csv"
    ref.write_text("network,property,verdict\n" + "".join(
        f"{n},{p},{v}\n" for n, p, v in cli if v in ("sat", "unsat")))
    s = nnopt.score(str(out), str(ref))
    assert s.wrong == 0 and s.correct_sat + s.correct_unsat == s.total


def test_verify_batch_prover_portfolio_equals_cli(batch_dir, nnopt_cli, tmp_path):
    """``prover=`` is ``--prover``: the portfolio gives the CLI's answers, the default's too."""
    out, cli_out = tmp_path / "py.csv", tmp_path / "cli.csv"
    r = nnopt.verify_batch(instances=str(batch_dir / "instances.csv"), dir=str(batch_dir),
                           out=str(out), prover="portfolio")
    subprocess.run([str(nnopt_cli), "verify-batch", "--instances", str(batch_dir / "instances.csv"),
                    "--dir", str(batch_dir), "--out", str(cli_out), "--prover", "portfolio"],
                   check=True, capture_output=True)
    with open(out) as f1, open(cli_out) as f2:
        mine = [(x["network"], x["property"], x["result"]) for x in csv.DictReader(f1)]
        cli = [(x["network"], x["property"], x["result"]) for x in csv.DictReader(f2)]
    assert mine == cli
    default = nnopt.verify_batch(instances=str(batch_dir / "instances.csv"), dir=str(batch_dir),
                                 out=str(tmp_path / "default.csv"))
    assert [row.result for row in r.rows] == [row.result for row in default.rows]


def test_verify_batch_bad_arguments(tmp_path):
    with pytest.raises(nnopt.InputError, match="--instances FILE or --reference FILE"):
        nnopt.verify_batch(out=str(tmp_path / "o.csv"))
    with pytest.raises(nnopt.InputError, match="timeout-scale"):
        nnopt.verify_batch(out=str(tmp_path / "o.csv"), instances="x.csv", timeout_scale=0)
    with pytest.raises(nnopt.InputError, match="unknown prover 'fast'"):
        nnopt.verify_batch(out=str(tmp_path / "o.csv"), instances="x.csv", prover="fast")
    with pytest.raises(nnopt.InputError):
        nnopt.verify_batch(out=str(tmp_path / "o.csv"), instances=str(tmp_path / "none.csv"))


def test_sweep_equals_cli_and_resumes(nnopt_cli, tmp_path):
    models = [str(ROOT / "models/sweep/mlp_1x10.onnx"), str(ROOT / "models/sweep/mlp_2x10.onnx")]
    common = dict(eps=0.1, methods=["mip", "nlp"], index=0, mean=MEAN, std=STD, time_limit=60)
    seen = []
    r = nnopt.sweep(models, str(DIGITS), out=str(tmp_path / "py"), progress=seen.append, **common)
    assert r.ran == 4 and r.skipped == 0 and len(r.records) == 4
    assert any(d["record"] for d in seen)
    assert "| Hidden Layers | Neurons/Layer | MIP Objective |" in r.table_md
    subprocess.run([str(nnopt_cli), "sweep", "--models", *models, "--dataset", str(DIGITS),
                    "--index", "0", "--eps", "0.1", "--methods", "mip,nlp", "--mean", str(MEAN),
                    "--std", str(STD), "--time-limit", "60", "--out", str(tmp_path / "cli"), "-q"],
                   check=True, capture_output=True)
    cli = [json.loads(l) for l in (tmp_path / "cli/results.jsonl").read_text().splitlines()]
    for c in cli:
        mine = r.record(c["network"], c["method"])
        assert mine["verdict"] == c["verdict"]
        assert mine["margin"] == pytest.approx(c["margin"], abs=1e-6)
    mip = r.record("mlp_1x10.onnx", "mip")
    assert mip["proven"]
    assert r.record("mlp_1x10.onnx", "nlp:pwl")["margin"] >= mip["margin"] - 1e-6  # 'nlp' = pwl
    again = nnopt.sweep(models, str(DIGITS), out=str(tmp_path / "py"), resume=True, **common)
    assert again.ran == 0 and again.skipped == 4
