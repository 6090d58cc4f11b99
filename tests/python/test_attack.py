"""nnopt.attack: results replayed in torch-independent numpy and in the CLI's JSON."""
import json
import subprocess

import numpy as np
import pytest
import torch

import nnopt
from conftest import ROOT
from models import SimpleModel

MLP = ROOT / "models/mnist_mlp_1x20.onnx"
PGM = ROOT / "data/mnist_test_0.pgm"
MEAN, STD = 0.1307, 0.3081


def volatile(d):
    """Drop wall-clock fields before comparing two runs."""
    return {k: v for k, v in d.items() if not k.endswith("time_s")}


@pytest.fixture(scope="module")
def mlp():
    return nnopt.Network.from_onnx(str(MLP))


@pytest.fixture(scope="module")
def image():
    return nnopt.load_image(str(PGM))


@pytest.mark.parametrize("method", ["mip", "nlp", "bab", "portfolio"])
def test_margin_attack_replayed(mlp, image, method):
    r = nnopt.attack(mlp, image, label=7, eps=0.1, method=method, mean=MEAN, std=STD,
                     time_limit=60)
    assert r.verdict == "attack_found"
    x0 = image.pixels
    assert r.adversarial.shape == (784,)
    assert np.all(r.adversarial >= np.maximum(x0 - 0.1, 0) - 1e-9)
    assert np.all(r.adversarial <= np.minimum(x0 + 0.1, 1) + 1e-9)
    logits = mlp.forward((r.adversarial - MEAN) / STD)
    np.testing.assert_allclose(logits, r.logits_adv, atol=1e-9)
    assert r.margin == pytest.approx(logits[7] - logits[r.target_label], abs=1e-6)
    assert r.margin < 0 and r.predicted_label_adv == int(np.argmax(logits))


def test_attack_replayed_in_torch():
    torch.manual_seed(3)
    model = SimpleModel().eval()
    net = nnopt.Network.from_torch(model, torch.zeros(1, 1, 28, 28))
    x0 = np.random.default_rng(0).random(784)
    r = nnopt.attack(net, x0, eps=0.05, method="mip", time_limit=60)
    assert r.verdict in ("attack_found", "robust")
    assert r.adversarial.size == 784
    assert np.all(np.abs(r.adversarial - x0) <= 0.05 + 1e-9)
    assert np.all((r.adversarial >= -1e-12) & (r.adversarial <= 1 + 1e-12))
    with torch.no_grad():
        t = model(torch.tensor(r.adversarial, dtype=torch.float64).reshape(1, 1, 28, 28)
                  .to(torch.float32)).double().numpy()[0]
    lab = r.true_label
    assert t[lab] - t[r.target_label] == pytest.approx(r.margin, abs=1e-5)
    # The network's own double-precision replay gives the margin to 1e-9.
    logits = net.forward(r.adversarial)
    assert logits[lab] - logits[r.target_label] == pytest.approx(r.margin, abs=1e-9)


def test_to_json_equals_cli(mlp, image, nnopt_cli, tmp_path):
    out = tmp_path / "cli.json"
    subprocess.run([str(nnopt_cli), "attack", "--model", str(MLP), "--image", str(PGM),
                    "--label", "7", "--eps", "0.1", "--mean", str(MEAN), "--std", str(STD),
                    "--method", "mip", "--json", str(out), "-q"], check=True)
    cli = json.loads(out.read_text())
    r = nnopt.attack(mlp, image, label=7, eps=0.1, method="mip", mean=MEAN, std=STD)
    assert volatile(r.to_dict()) == volatile(cli)
    assert set(r.to_dict()) == set(cli)


def test_target_all_and_index(mlp, image):
    r = nnopt.attack(mlp, image, label=7, eps=0.02, method="mip", target="all", mean=MEAN,
                     std=STD)
    d = r.to_dict()
    assert len(d["per_target"]) == 9
    r3 = nnopt.attack(mlp, image, label=7, eps=0.02, target=3, mean=MEAN, std=STD)
    assert r3.target_label == 3


def test_panel(mlp, image, tmp_path):
    r = nnopt.attack(mlp, image, label=7, eps=0.1, mean=MEAN, std=STD)
    p = tmp_path / "panel.png"
    r.save_panel(str(p))
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png = r._repr_png_()
    assert png is not None and png[:4] == b"\x89PNG"
    assert "attack_found" in repr(r)


def test_verify_robust_and_sat(mlp, image, tmp_path):
    # An L-inf box of radius eps around the digit; unsafe: logit 3 >= logit 7.
    def prop(eps):
        lines = [f"(declare-const X_{i} Real)" for i in range(784)]
        lines += [f"(declare-const Y_{j} Real)" for j in range(10)]
        for i, v in enumerate(image.pixels):
            lines.append(f"(assert (>= X_{i} {max(v - eps, 0):.9f}))")
            lines.append(f"(assert (<= X_{i} {min(v + eps, 1):.9f}))")
        lines.append("(assert (>= Y_3 Y_7))")
        path = tmp_path / f"p{eps}.vnnlib"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    # The VNN-LIB box is in the network's input space: fold the normalisation in.
    raw = mlp.with_input_normalization(MEAN, STD)
    r = nnopt.verify(raw, prop(0.3), timeout=30)
    assert r.answer == "sat"
    y = raw.forward(r.x)
    np.testing.assert_allclose(y, r.y, atol=1e-9)
    assert y[3] >= y[7]
    assert r.result_file.startswith("sat")
    r2 = nnopt.verify(raw, prop(0.0), timeout=30)
    assert r2.verdict == "unsat"
    assert r2.closed_fraction == 1.0  # no search stopped undecided
    # prover= is --prover: the same answers from the portfolio and the MIP
    for prover in ("portfolio", "mip"):
        assert nnopt.verify(raw, prop(0.3), timeout=30, prover=prover).answer == "sat"
        assert nnopt.verify(raw, prop(0.02), timeout=30, prover=prover).answer == \
            nnopt.verify(raw, prop(0.02), timeout=30).answer
    with pytest.raises(nnopt.InputError, match="unknown prover"):
        nnopt.verify(raw, prop(0.0), timeout=30, prover="fast")
    # The CLI's --threads / --root-alpha / --exact-unstable / --seed: the same
    # answer with the root LP tightening instead of alpha-CROWN, one thread.
    base = nnopt.verify(raw, prop(0.02), timeout=30)
    other = nnopt.verify(raw, prop(0.02), timeout=30, threads=1, root_alpha=0,
                         exact_unstable=-1, seed=7)
    assert other.answer == base.answer
    assert isinstance(other.nodes, int) and other.nodes >= 0
    assert 0.0 <= other.closed_fraction <= 1.0


def test_mip_cuts_keep_the_optimum(mlp, image):
    # --mip-cuts adds valid rows only: the proven margin optimum is the same.
    plain = nnopt.attack(mlp, image, label=7, eps=0.03, target=3, mean=MEAN, std=STD)
    cuts = nnopt.attack(mlp, image, label=7, eps=0.03, target=3, mean=MEAN, std=STD,
                        mip_cuts=True)
    assert plain.status == "optimal" and cuts.status == "optimal"
    assert cuts.margin == pytest.approx(plain.margin, abs=1e-6)
    assert cuts.verdict == plain.verdict


def test_min_distortion_equals_cli_and_replays(mlp, image, nnopt_cli, tmp_path):
    out = tmp_path / "cli.json"
    subprocess.run([str(nnopt_cli), "attack", "--model", str(MLP), "--image", str(PGM),
                    "--label", "7", "--objective", "min-distortion", "--target", "2",
                    "--norm", "l1", "--gap", "0.1", "--mean", str(MEAN), "--std", str(STD),
                    "--method", "mip", "--json", str(out), "-q"], check=True)
    cli = json.loads(out.read_text())
    r = nnopt.attack(mlp, image, label=7, objective="min-distortion", target=2, norm="l1",
                     gap=0.1, method="mip", mean=MEAN, std=STD)
    assert volatile(r.to_dict()) == volatile(cli)
    assert r.verdict == "attack_found" and r.optimal
    logits = mlp.forward((r.adversarial - MEAN) / STD)
    assert logits[2] - logits[7] >= 0.1 - 1e-6
    assert np.abs(r.adversarial - image.pixels).sum() == pytest.approx(r.distance, abs=1e-9)
    assert r.lower_bound <= r.distance + 1e-6
    assert "optimal=True" in repr(r)
    p = tmp_path / "md.png"
    r.save_panel(str(p))
    assert p.stat().st_size > 1000


def test_min_distortion_bab_brackets_the_mip_optimum(mlp, image):
    kw = dict(label=7, objective="min-distortion", target=2, norm="linf", gap=0.1, mean=MEAN,
              std=STD, time_limit=60)
    mip = nnopt.attack(mlp, image, method="mip", **kw)
    bab = nnopt.attack(mlp, image, method="bab", **kw)
    assert mip.optimal and mip.verdict == "attack_found"
    assert bab.method == "bab" and bab.verdict == "attack_found"
    assert bab.lower_bound <= mip.distance + 1e-6
    assert bab.distance >= mip.distance - 1e-6
    logits = mlp.forward((bab.adversarial - MEAN) / STD)
    assert logits[2] - logits[7] >= 0.1 - 1e-6
    assert np.abs(bab.adversarial - image.pixels).max() == pytest.approx(bab.distance, abs=1e-12)
    if bab.optimal:
        assert bab.distance == pytest.approx(mip.distance, rel=2e-4)


def test_min_distortion_argument_errors(mlp, image):
    with pytest.raises(nnopt.InputError, match="needs --target K"):
        nnopt.attack(mlp, image, label=7, objective="min-distortion")
    with pytest.raises(nnopt.InputError, match="--eps is not used"):
        nnopt.attack(mlp, image, label=7, objective="min-distortion", target=2, eps=0.1)
    with pytest.raises(nnopt.InputError, match="supports --method mip, nlp or bab"):
        nnopt.attack(mlp, image, label=7, objective="min-distortion", target=2,
                     method="portfolio")
    with pytest.raises(nnopt.InputError, match="L-inf distance only"):
        nnopt.attack(mlp, image, label=7, objective="min-distortion", target=2, method="bab",
                     norm="l1")
    with pytest.raises(nnopt.InputError, match="other than the label 7"):
        nnopt.attack(mlp, image, label=7, objective="min-distortion", target=7)
    with pytest.raises(nnopt.InputError, match="--objective must be"):
        nnopt.attack(mlp, image, objective="max", eps=0.1)
    with pytest.raises(nnopt.InputError, match="--eps is required"):
        nnopt.attack(mlp, image)


def test_gil_released_while_solving(mlp, image):
    """Another Python thread keeps running while the attack solves."""
    import threading

    ticks = []
    done = threading.Event()

    def solve():
        nnopt.attack(mlp, image, label=7, eps=0.1, method="bab", mean=MEAN, std=STD)
        done.set()

    t = threading.Thread(target=solve)
    t.start()
    while not done.is_set():
        ticks.append(1)
        done.wait(0.001)
    t.join()
    assert len(ticks) >= 5, len(ticks)
