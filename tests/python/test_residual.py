"""Residual networks from PyTorch (issue 15): a small ResNet-style CNN exported by torch loads,
its forward pass equals torch's and onnxruntime's, and the exact attack's proven optimum is
never above a margin found by sampling the box (the carried skip connections are exact)."""
import numpy as np
import onnxruntime as ort
import pytest

import nnopt

torch = pytest.importorskip("torch")


class Block(torch.nn.Module):
    """conv-relu-conv + skip, then relu (a ResNet basic block)."""

    def __init__(self, c):
        super().__init__()
        self.c1 = torch.nn.Conv2d(c, c, 3, padding=1)
        self.c2 = torch.nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.c2(torch.relu(self.c1(x))) + x)


class TinyResNet(torch.nn.Module):
    def __init__(self, pre_activation_skip=False):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.block = Block(4)
        self.pre = pre_activation_skip
        self.head = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        s = self.stem(x)
        h = self.block(torch.relu(s))
        if self.pre:  # a skip from a tensor of unknown sign (before the stem's ReLU)
            h = h - s
        return self.head(torch.flatten(h, 1))


@pytest.mark.parametrize("pre", [False, True], ids=["post-activation", "pre-activation"])
def test_tiny_resnet_matches_torch_and_onnxruntime_and_the_mip_is_sound(pre, tmp_path):
    torch.manual_seed(3)
    model = TinyResNet(pre).eval()
    example = torch.rand(1, 3, 8, 8)
    path = tmp_path / "resnet.onnx"
    with torch.no_grad():
        torch.onnx.export(model, example, str(path), dynamo=False, opset_version=13)
    net = nnopt.Network.from_onnx(path)
    assert net.input_size == 3 * 8 * 8
    rng = np.random.default_rng(7)
    xs = rng.random((6, 3 * 8 * 8))
    got = net.forward(xs)
    with torch.no_grad():
        want = model(torch.tensor(xs, dtype=torch.float32).reshape(6, 3, 8, 8)).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ref = np.array([sess.run(None, {name: x.reshape(1, 3, 8, 8).astype(np.float32)})[0][0]
                    for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    # The exact margin attack: its proven optimum is below every sampled margin.
    x0, eps = xs[0], 0.02
    logits = net.forward(x0)
    label = int(np.argmax(logits))
    target = int(np.argsort(logits)[-2])
    res = nnopt.attack(net, x0, label=label, eps=eps, method="mip", target=target,
                       time_limit=60)
    local = nnopt.attack(net, x0, label=label, eps=eps, method="nlp", target=target)
    lo, hi = np.clip(x0 - eps, 0, 1), np.clip(x0 + eps, 0, 1)
    samples = lo + rng.random((2000, x0.size)) * (hi - lo)
    out = net.forward(samples)
    sampled = np.min(out[:, label] - out[:, target])
    assert res.bound <= sampled + 1e-6  # proven
    assert res.bound <= local.margin + 1e-6
    if not pre:  # small enough for CBC to finish: its optimum is below every sample
        assert res.status == "optimal", res
        assert res.margin <= sampled + 1e-4 * (1 + abs(sampled))  # within CBC's relative gap
    # and its point replays through torch
    with torch.no_grad():
        t = model(torch.tensor(res.adversarial if res.adversarial.size else x0,
                               dtype=torch.float64).float().reshape(1, 3, 8, 8)).numpy()[0]
    assert abs((t[label] - t[target]) - res.margin) < 1e-4
