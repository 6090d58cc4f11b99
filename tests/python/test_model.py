"""The modelling API (nnopt.Model): the seed tutorial's model, files, several networks, errors."""
import json
import subprocess

import numpy as np
import onnxruntime as ort
import pytest

import nnopt
from conftest import ROOT

MLP = ROOT / "models/mnist_mlp_1x20.onnx"
MLP2 = ROOT / "models/mnist_mlp_2x20.onnx"
TANH = ROOT / "models/mnist_mlp_tanh_1x20.onnx"
PGM = ROOT / "data/mnist_test_0.pgm"
MEAN, STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def mlp():
    return nnopt.Network.from_onnx(str(MLP))


@pytest.fixture(scope="module")
def x0():
    return nnopt.load_image(str(PGM)).pixels


def tutorial_model(net, x0, norm="l1", relu="bigm"):
    """The seed tutorial: noise on the image, normalised input, 2 beats 7 by 0.1, min norm."""
    m = nnopt.Model()
    noise = m.add_vars(784, lb=-1.0, ub=1.0, name="noise")
    a1 = m.add_vars(784, lb=-MEAN / STD, ub=(1 - MEAN) / STD, name="a1", start=(x0 - MEAN) / STD)
    m.add_constraint(a1 == (x0 + noise - MEAN) / STD, name="set_a1")
    y = m.add_network(net, a1, relu=relu)
    m.add_constraint(y[2] >= y[7] + 0.1, name="favor_confused")
    m.minimize(nnopt.l1(noise) if norm == "l1" else nnopt.linf(noise))
    return m, noise, a1, y


def ort_logits(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x.reshape(1, 1, 28, 28).astype(np.float32)})[0].reshape(-1)


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_tutorial_model_equals_min_distortion_attack(mlp, x0, norm, capfd):
    m, noise, a1, y = tutorial_model(mlp, x0, norm)
    seen = []
    sol = m.solve(solver="cbc", time_limit=120, progress=True, callback=seen.append)
    if seen:  # CBC reported during the search: the status line went to stderr
        assert "nnopt cbc" in capfd.readouterr().err
        assert all(d["bound"] <= sol.objective + 1e-6 for d in seen)
    assert sol.status == "optimal" and sol.ok
    r = nnopt.attack(mlp, x0, label=7, objective="min-distortion", target=2, norm=norm, gap=0.1,
                     mean=MEAN, std=STD, time_limit=120)
    assert r.optimal
    assert sol.objective == pytest.approx(r.distance, rel=1e-5, abs=1e-6)
    n = sol[noise]
    dist = np.abs(n).sum() if norm == "l1" else np.abs(n).max()
    assert dist == pytest.approx(sol.objective, abs=1e-6)
    logits = sol[y]
    assert logits[2] >= logits[7] + 0.1 - 1e-6
    # Replayed by onnxruntime (an independent evaluator, float32) from the perturbed pixels.
    pixels = np.clip(x0 + n, 0, 1)
    np.testing.assert_allclose(ort_logits(MLP, (pixels - MEAN) / STD), logits, atol=2e-4)


def test_tutorial_model_equals_cli(mlp, x0, nnopt_cli, tmp_path):
    m, noise, _, _ = tutorial_model(mlp, x0)
    sol = m.solve(time_limit=120)
    out = tmp_path / "cli.json"
    subprocess.run([str(nnopt_cli), "attack", "--model", str(MLP), "--image", str(PGM), "--label",
                    "7", "--objective", "min-distortion", "--norm", "l1", "--target", "2", "--gap",
                    "0.1", "--mean", str(MEAN), "--std", str(STD), "--json", str(out)],
                   check=True, capture_output=True)
    d = json.loads(out.read_text())
    assert d["optimal"] is True
    assert sol.objective == pytest.approx(d["distance"], rel=1e-5)


def test_tutorial_model_builds_in_one_pass(mlp, x0):
    m, noise, a1, y = tutorial_model(mlp, x0)
    # noise, a1, abs aux (784 each) + the network's neurons; one binary per unstable ReLU
    e = m.networks[0]
    assert e.binaries == e.unstable_relus == m.num_integers
    assert e.unstable_relus + e.stable_relus == 20
    assert y.shape == (10,)
    assert m.num_vars >= 3 * 784 + 10


def margin_model(net, x0, eps=0.1, relu="bigm"):
    m = nnopt.Model()
    x = m.add_vars(784, lb=np.clip(x0 - eps, 0, 1), ub=np.clip(x0 + eps, 0, 1), name="x", start=x0)
    y = m.add_network(net.with_input_normalization(MEAN, STD), x, relu=relu)
    m.minimize(y[7] - y[3] + 1.5)  # a constant, so the offset goes through the files too
    return m, x, y


@pytest.mark.parametrize("ext", ["mps", "lp"])
def test_written_file_resolved_by_cbc_gives_the_same_optimum(mlp, x0, tmp_path, ext):
    m, x, y = margin_model(mlp, x0)
    sol = m.solve(solver="cbc")
    assert sol.status == "optimal"
    path = tmp_path / f"model.{ext}"
    m.write(str(path))
    back = nnopt.Model.read(str(path))
    assert back.num_vars == m.num_vars and back.num_integers == m.num_integers
    again = back.solve(solver="cbc")
    assert again.status == "optimal"
    assert again.objective == pytest.approx(sol.objective, abs=1e-6)
    r = nnopt.attack(mlp, x0, label=7, eps=0.1, target=3, method="mip", mean=MEAN, std=STD)
    assert sol.objective - 1.5 == pytest.approx(r.margin, abs=1e-6)


def test_maximisation_written_as_minimising_the_negation(mlp, x0, tmp_path):
    m, x, y = margin_model(mlp, x0)
    m.maximize(y[3] - y[7] - 1.5)
    sol = m.solve()
    m.write(str(tmp_path / "max.mps"))
    again = nnopt.Model.read(str(tmp_path / "max.mps")).solve()
    assert again.objective == pytest.approx(-sol.objective, abs=1e-6)


@pytest.mark.parametrize("relu", ["complementarity", "mpec:inequality", "mpec:scholtes",
                                  "mpec:fb", "mpec:cm"])
def test_complementarity_forms_are_checked_local_optima(mlp, x0, relu):
    m, x, y = margin_model(mlp, x0, relu=relu)
    mip_opt = margin_model(mlp, x0)[0].solve().objective
    sol = m.solve(solver="ipopt")
    assert sol.solver == "ipopt" and sol.ok
    assert sol.objective >= mip_opt - 1e-5  # the MIP optimum is global
    assert sol.complementarity_violation < 1e-5
    logits = nnopt.Network.from_onnx(str(MLP)).forward((sol[x] - MEAN) / STD)
    np.testing.assert_allclose(sol[y], logits, atol=1e-4)


def test_two_networks_in_one_model_global_disagreement(x0):
    """Largest gap between two networks' logit 7 over a box: the MIP's optimum is
    below every sampled point's value and both outputs replay."""
    n1, n2 = (nnopt.Network.from_onnx(str(p)).with_input_normalization(MEAN, STD) for p in (MLP, MLP2))
    m = nnopt.Model()
    lo, hi = np.clip(x0 - 0.05, 0, 1), np.clip(x0 + 0.05, 0, 1)
    x = m.add_vars(784, lb=lo, ub=hi, name="x")
    y1 = m.add_network(n1, x)
    y2 = m.add_network(n2, x, name="second")
    m.minimize(y1[7] - y2[7])
    sol = m.solve(time_limit=120)
    assert sol.status == "optimal" and len(sol.checks) == 2 and sol.ok
    xs = np.random.default_rng(0).uniform(lo, hi, size=(200, 784))
    sampled = n1.forward(xs)[:, 7] - n2.forward(xs)[:, 7]
    assert sol.objective <= sampled.min() + 1e-6
    assert sol.objective == pytest.approx(n1.forward(sol[x])[7] - n2.forward(sol[x])[7], abs=1e-5)


def test_tanh_network_nlp(x0):
    net = nnopt.Network.from_onnx(str(TANH))
    m = nnopt.Model()
    x = m.add_vars((1, 28, 28), lb=np.clip(x0 - 0.1, 0, 1).reshape(1, 28, 28),
                   ub=np.clip(x0 + 0.1, 0, 1).reshape(1, 28, 28), start=x0.reshape(1, 28, 28))
    y = m.add_network(net, (x - MEAN) / STD, relu="complementarity")  # an expression as input
    m.minimize(y[7] - y[3])
    sol = m.solve()
    assert sol.solver == "ipopt" and sol.ok
    np.testing.assert_allclose(sol[y], net.forward((sol[x] - MEAN) / STD), atol=1e-5)
    assert sol.objective <= net.forward((x0 - MEAN) / STD) @ (np.eye(10)[7] - np.eye(10)[3]) + 1e-9


def test_expression_algebra_evaluates_like_numpy():
    rng = np.random.default_rng(1)
    vals = rng.normal(size=(3, 4))
    m = nnopt.Model()
    v = m.add_vars((3, 4), lb=vals, ub=vals)  # fixed, so the solution is vals
    A = rng.normal(size=(5, 4))
    B = rng.normal(size=(4, 2))
    c = rng.normal(size=4)
    exprs = {
        "index": (v[1, 2], vals[1, 2]),
        "slice": (v[:, 1:3], vals[:, 1:3]),
        "fancy": (v[[2, 0, 2]], vals[[2, 0, 2]]),
        "broadcast": (v + c, vals + c),
        "scale": (2.0 * v - v / 4 + 1, 2.0 * vals - vals / 4 + 1),
        "rows": (v * np.arange(3)[:, None], vals * np.arange(3)[:, None]),
        "matvec": (A @ v[0], A @ vals[0]),
        "vecmat": (v[1] @ B, vals[1] @ B),
        "matmat": (v @ B, vals @ B),
        "lmatmat": (A @ v.T, A @ vals.T),
        "sum": (v.sum(), vals.sum()),
        "sum0": (v.sum(axis=0), vals.sum(axis=0)),
        "sum1": (v.sum(axis=1), vals.sum(axis=1)),
        "builtin_sum": (sum(v[i] for i in range(3)), vals.sum(axis=0)),
        "reshape_T": (v.reshape(2, 6).T, vals.reshape(2, 6).T),
        "rsub": (c - v, c - vals),
        "stack": (nnopt.stack([v[0], v[2]]), np.stack([vals[0], vals[2]])),
        "neg_dup": (v[0] + v[0] - 3 * v[0], -vals[0]),
    }
    m.minimize(v.sum())
    sol = m.solve(solver="clp")
    for key, (e, want) in exprs.items():
        got = sol[e]
        assert got.shape == np.shape(want), key
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=key)


def test_constraints_from_numpy_side_and_equalities():
    m = nnopt.Model()
    x = m.add_vars(3, lb=-10, ub=10)
    m.add_constraint(np.array([1.0, 2.0, 3.0]) <= x)  # numpy on the left defers to the expression
    m.add_constraint(x[0] + x[1] == 5)
    m.maximize(-x.sum() - x[0])  # x0 + x1 = 5 fixed: x0 as small as allowed
    sol = m.solve(solver="clp")
    np.testing.assert_allclose(sol[x], [1.0, 4.0, 3.0], atol=1e-7)


def test_solution_check_catches_a_wrong_network(mlp, x0):
    m, x, y = margin_model(mlp, x0)
    m.networks[0].network = nnopt.Network.from_onnx(str(MLP2)).with_input_normalization(MEAN, STD)
    with pytest.raises(nnopt.SolutionError, match="differ from the forward pass") as ei:
        m.solve()
    assert ei.value.solution.status == "optimal" and not ei.value.solution.ok
    with pytest.warns(RuntimeWarning):
        m.solve(check="warn")


def test_progress_callback_called(mlp, x0):
    m, x, y = margin_model(mlp, x0, relu="complementarity")
    seen = []
    m.solve(callback=seen.append)
    assert seen and all("step" in d for d in seen)


@pytest.mark.parametrize("case, match", [
    ("shape", "takes 784 inputs"),
    ("relu", "unknown relu formulation"),
    ("tanh_mip", "MIP cannot encode"),
    ("unbounded", "infinite bound"),
    ("product", "not linear"),
    ("ipopt_ints", "integer variables"),
    ("cbc_nlp", "solver='ipopt'"),
    ("write_nlp", "nonlinear"),
    ("write_ext", "must end in .mps or .lp"),
    ("read_missing", "cannot open"),
    ("solver", "unknown solver"),
    ("scalar_obj", "scalar expression"),
    ("broadcast", "do not broadcast"),
    ("two_models", "different models"),
    ("bounds", "unknown"),
    ("lb_gt_ub", "lower bound"),
])
def test_bad_input_raises(mlp, tmp_path, case, match):
    m = nnopt.Model()
    x = m.add_vars(784, lb=0, ub=1)
    actions = {
        "shape": lambda: m.add_network(mlp, x[:783]),
        "relu": lambda: m.add_network(mlp, x, relu="mpec:nope"),
        "tanh_mip": lambda: m.add_network(nnopt.Network.from_onnx(str(TANH)), x),
        "unbounded": lambda: m.add_network(mlp, m.add_vars(784)),
        "product": lambda: x[0] * x[1],
        "ipopt_ints": lambda: (m.add_network(mlp, x), m.solve(solver="ipopt")),
        "cbc_nlp": lambda: (m.add_network(mlp, x, relu="complementarity"), m.solve(solver="cbc")),
        "write_nlp": lambda: (m.add_network(mlp, x, relu="complementarity"),
                              m.write(str(tmp_path / "a.mps"))),
        "write_ext": lambda: m.write(str(tmp_path / "a.txt")),
        "read_missing": lambda: nnopt.Model.read(str(tmp_path / "missing.mps")),
        "solver": lambda: m.solve(solver="gurobi"),
        "scalar_obj": lambda: m.minimize(x),
        "broadcast": lambda: x + np.zeros(3),
        "two_models": lambda: x + nnopt.Model().add_vars(784),
        "bounds": lambda: m.add_network(mlp, x, bounds="magic"),
        "lb_gt_ub": lambda: m.add_vars(2, lb=1, ub=0),
    }
    with pytest.raises(nnopt.Error, match=match):
        actions[case]()


def test_chained_comparison_is_refused():
    m = nnopt.Model()
    x = m.add_vars(2, lb=0, ub=1)
    with pytest.raises(TypeError, match="two constraints"):
        0 <= x <= 1  # noqa: B015
