"""Colour inputs in Python: per-channel mean/std (as a list/tuple) on the 3x8x8
fixture CNN give the logits of normalising by hand (nnopt, onnxruntime, torch's
reference); colour PNG / CSV reading; attack + colour panel; bad counts raise."""
import json
import struct

import numpy as np
import pytest

import nnopt
from conftest import ROOT

NET = ROOT / "models/color_cnn_3x8x8.onnx"
PNG = ROOT / "tests/fixtures/color_8x8.png"
CSV = ROOT / "tests/fixtures/color_8x8.csv"
REF = json.loads((ROOT / "tests/fixtures/color_reference.json").read_text())
MEAN, STD = REF["mean"], REF["std"]


@pytest.fixture(scope="module")
def net():
    return nnopt.Network.from_onnx(str(NET))


def by_hand(x, mean, std):
    return ((np.asarray(x).reshape(3, -1) - np.reshape(mean, (3, 1))) /
            np.reshape(std, (3, 1))).reshape(-1)


def test_color_per_channel_mean_std_matches_normalising_by_hand(net):
    assert net.input_shape == (3, 8, 8)
    mean, std = (0.4914, 0.4822, 0.4465), [0.2470, 0.2435, 0.2616]
    normed = net.with_input_normalization(mean, std)
    fixture = net.with_input_normalization(MEAN, STD)
    for case in REF["cases"]:
        x = np.array(case["pixels"])
        np.testing.assert_allclose(normed.forward(x), net.forward(by_hand(x, mean, std)),
                                   rtol=0, atol=1e-9)
        np.testing.assert_allclose(fixture.forward(x), case["logits"], rtol=0, atol=1e-9)
        assert int(np.argmax(fixture.forward(x))) == case["label"]
    # A single number still means every input.
    np.testing.assert_allclose(net.with_input_normalization(0.5, 0.25).forward(x),
                               net.forward((x - 0.5) / 0.25), rtol=0, atol=1e-9)


def test_color_per_channel_matches_onnxruntime(net):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(NET), providers=["CPUExecutionProvider"])
    x = np.array(REF["cases"][1]["pixels"])
    want = sess.run(None, {"input": by_hand(x, MEAN, STD).reshape(1, 3, 8, 8).astype(np.float32)})[0][0]
    np.testing.assert_allclose(net.with_input_normalization(MEAN, STD).forward(x), want, atol=1e-4)


def test_color_png_and_csv_read_channel_major(net):
    img = nnopt.load_image(str(PNG), gray=False)
    assert (img.channels, img.rows, img.cols) == (3, 8, 8)
    np.testing.assert_array_equal(img.pixels, REF["cases"][0]["pixels"])
    row = nnopt.load_dataset_item(str(CSV), 0)
    assert (row.channels, row.label) == (3, REF["cases"][0]["label"])
    np.testing.assert_array_equal(row.pixels, img.pixels)
    gray = nnopt.load_image(str(PNG))
    assert gray.channels == 1 and gray.pixels.size == 64


def test_color_attack_with_per_channel_mean_std_and_colour_panel(net, tmp_path):
    img = nnopt.load_dataset_item(str(CSV), 0)
    r = nnopt.attack(net, img, eps=0.1, method="nlp", mean=MEAN, std=STD)
    assert r.verdict in ("attack_found", "no_attack_found")
    j = json.loads(r.to_json())
    assert j["mean"] == MEAN and j["std"] == STD
    assert j["true_label"] == img.label
    if r.verdict == "attack_found":
        assert np.abs(r.adversarial - img.pixels).max() <= 0.1 + 1e-9
        fixture = net.with_input_normalization(MEAN, STD)
        assert int(np.argmax(fixture.forward(r.adversarial))) != img.label
    panel = tmp_path / "panel.png"
    r.save_panel(str(panel))
    head = panel.read_bytes()[:26]
    width, = struct.unpack(">I", head[16:20])
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and width == 1366 and head[25] == 2  # 5 tiles, RGB
    # One-number mean/std on the same net differ from the per-channel ones.
    r1 = nnopt.attack(net, img, eps=0.0, method="nlp", mean=0.5, std=0.2)
    assert json.loads(r1.to_json())["mean"] == 0.5


def test_color_wrong_number_of_mean_values_raises_one_line(net):
    img = nnopt.load_dataset_item(str(CSV), 0)
    with pytest.raises(nnopt.InputError, match=r"^--mean has 2 values but the network input is "
                                               r"3x8x8: give 1 value \(all inputs\) or 3 "):
        nnopt.attack(net, img, eps=0.1, method="nlp", mean=[0.5, 0.5], std=0.2)
    with pytest.raises(nnopt.InputError, match="--std has 4 values"):
        net.with_input_normalization(0.5, [0.2] * 4)
    with pytest.raises(nnopt.InputError, match="--std must be > 0"):
        nnopt.bounds(net, img, eps=0.01, methods=["interval"], mean=MEAN, std=[0.2, 0.0, 0.2])
    b = nnopt.bounds(net, img, eps=0.01, methods=["interval"], mean=MEAN, std=STD)
    assert b.to_dict()["mean"] == MEAN
