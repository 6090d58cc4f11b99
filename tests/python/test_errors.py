"""Bad input raises nnopt.InputError with the CLI's one-line message, never a crash."""
import math
import random

import numpy as np
import pytest

import nnopt
from conftest import ROOT

MLP = ROOT / "models/mnist_mlp_1x20.onnx"
MLP_BYTES = MLP.read_bytes()


def one_line_error(fn, match=None):
    with pytest.raises(nnopt.InputError) as e:
        fn()
    msg = str(e.value)
    assert msg and "\n" not in msg, msg
    if match:
        assert match in msg, msg
    assert isinstance(e.value, nnopt.Error)
    return msg


def _random_bytes():
    rng = random.Random(7)
    return bytes(rng.getrandbits(8) for _ in range(4096))


HOSTILE_ONNX = {
    "empty": b"",
    "truncated_1000": MLP_BYTES[:1000],
    "truncated_half": MLP_BYTES[: len(MLP_BYTES) // 2],
    "truncated_minus1": MLP_BYTES[:-1],
    "random": _random_bytes(),
    "text": b"ir_version: 7\ngraph { }\n",
}
HOSTILE_ONNX.update({p.name: p.read_bytes()
                     for p in sorted((ROOT / "tests/fixtures/fuzz-regressions/onnx").glob("*"))})


@pytest.mark.parametrize("name", list(HOSTILE_ONNX))
def test_hostile_onnx_bytes(name):
    one_line_error(lambda: nnopt.Network.from_onnx(HOSTILE_ONNX[name], name=name), name)


def test_hostile_onnx_files(tmp_path):
    one_line_error(lambda: nnopt.Network.from_onnx(tmp_path / "missing.onnx"), "missing.onnx")
    one_line_error(lambda: nnopt.Network.from_onnx(tmp_path), str(tmp_path))


@pytest.fixture(scope="module")
def net():
    return nnopt.Network.from_onnx(MLP)


@pytest.mark.parametrize("kwargs, match", [
    ({"eps": -0.1}, "--eps must be a finite number >= 0"),
    ({"eps": math.nan}, "--eps must be a finite number >= 0"),
    ({"eps": 0.1, "method": "magic"}, "--method must be"),
    ({"eps": 0.1, "label": 10}, "label 10 out of range"),
    ({"eps": 0.1, "label": -3}, "label -3 out of range"),
    ({"eps": 0.1, "target": "banana"}, "--target must be"),
    ({"eps": 0.1, "label": 7, "target": 7}, "--target must be"),
    ({"eps": 0.1, "time_limit": 0}, "--time-limit must be > 0"),
    ({"eps": 0.1, "bounds": "exact"}, "exact"),
    ({"eps": 0.1, "nlp_form": "zigzag"}, "zigzag"),
    ({"eps": 0.1, "warm_start": "cbc"}, "--warm-start must be nlp or none"),
    ({"eps": 0.1, "mean": 0.1}, "--mean and --std must be given together"),
    ({"eps": 0.1, "mean": 0.1, "std": 0.0}, "--std must be > 0"),
])
def test_bad_attack_arguments(net, kwargs, match):
    x = np.full(784, 0.5)
    one_line_error(lambda: nnopt.attack(net, x, **kwargs), match)


@pytest.mark.parametrize("image, match", [
    (np.zeros(10), "image has 10 pixels"),
    (np.full(784, np.nan), "pixels must be finite"),
    (np.full(784, 2.0), "pixels must be finite numbers in [0, 1]"),
    ("not an image", "image"),
    ([[1, 2], [3]], "image"),
])
def test_bad_attack_images(net, image, match):
    one_line_error(lambda: nnopt.attack(net, image, eps=0.1), match)


def test_bad_images_and_datasets(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    one_line_error(lambda: nnopt.load_image(str(bad)), "bad.png")
    one_line_error(lambda: nnopt.load_image(str(tmp_path / "none.pgm")), "none.pgm")
    csv = tmp_path / "d.csv"
    csv.write_text("7," + ",".join(["0"] * 783) + "\n")
    one_line_error(lambda: nnopt.load_dataset_item(str(csv), 0), "d.csv")
    one_line_error(lambda: nnopt.load_dataset_item(str(ROOT / "tests/fixtures/digits.csv"), 10**6),
                   "digits.csv")
    one_line_error(lambda: nnopt.load_dataset_item(str(csv), -1), "--index")


@pytest.mark.parametrize("text, match", [
    ("", "p.vnnlib"),
    ("(declare-const X_0 Real)\n(assert (<= X_0", "p.vnnlib"),
    ("(assert (>= Y_99 0))", "p.vnnlib"),
    ("\x00\xff\xfe garbage ((((", "p.vnnlib"),
])
def test_hostile_vnnlib(net, tmp_path, text, match):
    p = tmp_path / "p.vnnlib"
    p.write_bytes(text.encode("latin-1"))
    one_line_error(lambda: nnopt.verify(net, str(p), timeout=5), match)


def test_bad_verify_timeout(net, tmp_path):
    one_line_error(lambda: nnopt.verify(net, str(tmp_path / "x.vnnlib"), timeout=0), "--timeout")


@pytest.mark.parametrize("kw, match", [
    ({"threads": -1}, "--threads"),
    ({"root_alpha": -2}, "--root-alpha"),
    ({"exact_unstable": -5}, "--exact-unstable"),
])
def test_bad_verify_options(net, tmp_path, kw, match):
    one_line_error(lambda: nnopt.verify(net, str(tmp_path / "x.vnnlib"), timeout=5, **kw), match)


def test_forward_bad_input(net):
    one_line_error(lambda: net.forward(np.zeros((2, 3))), "784")
