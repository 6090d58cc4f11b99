"""Network loading and the forward pass against onnxruntime and torch."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import nnopt
from conftest import FIXTURE_MODELS, ROOT


def ort_forward(model_bytes, xs, input_shape):
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = [sess.run(None, {name: x.reshape((1,) + input_shape).astype(np.float32)})[0].reshape(-1)
           for x in xs]
    return np.array(out)


@pytest.mark.parametrize("path", FIXTURE_MODELS, ids=lambda p: p.name)
def test_forward_matches_onnxruntime(path, digits):
    net = nnopt.Network.from_onnx(path)
    xs = digits[0][:5]
    if net.input_size != xs.shape[1]:  # not an MNIST network (e.g. the colour 3x8x8 CNN)
        xs = np.random.default_rng(5).random((5, net.input_size))
    ref = ort_forward(path.read_bytes(), xs, net.input_shape)
    got = net.forward(xs)
    assert got.shape == (5, net.output_size)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_forward_matches_torch_reference_logits(reference_logits):
    mean, std = reference_logits["mean"], reference_logits["std"]
    nets = {}
    for case in reference_logits["cases"]:
        net = nets.setdefault(case["model"], nnopt.Network.from_onnx(ROOT / case["model"]))
        x = (np.array(case["pixels"]) - mean) / std
        np.testing.assert_allclose(net.forward(x), case["logits"], rtol=1e-5, atol=1e-5)
    assert len(nets) >= 3


def test_from_bytes_equals_from_path():
    path = ROOT / "models/mnist_mlp_1x20.onnx"
    a = nnopt.Network.from_onnx(path)
    b = nnopt.Network.from_onnx(path.read_bytes(), name="mlp")
    x = np.linspace(0, 1, 784)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    assert b.name == "mlp" and a.name == str(path)


def test_summary_sizes_and_repr():
    net = nnopt.Network.from_onnx(ROOT / "models/mnist_mlp_1x20.onnx")
    assert net.input_size == 784 and net.output_size == 10
    assert net.input_shape == (1, 28, 28)
    assert net.summary() == "784 -> Dense 20 -> Relu -> Dense 10"
    assert "Dense 20" in repr(net)
    kinds = [l["kind"] for l in net.layers()]
    assert kinds == ["Dense", "Relu", "Dense"]
    assert net.relu_neurons == 20


def test_forward_shapes():
    net = nnopt.Network.from_onnx(ROOT / "models/mnist_convnet.onnx")
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    batch = net.forward(x)
    assert batch.shape == (3, 10)
    np.testing.assert_allclose(net.forward(x[1]), batch[1])
    np.testing.assert_allclose(net(x[2].reshape(-1)), batch[2])
    with pytest.raises(nnopt.InputError, match="784"):
        net.forward(np.zeros(10))
