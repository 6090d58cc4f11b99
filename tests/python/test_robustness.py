"""nnopt.robustness: the CLI's run from Python (same files and summary), its
checks as InputError, resume, and every attacked row replayed by numpy."""
import json

import numpy as np
import pytest

import nnopt
from conftest import ROOT

MODEL = ROOT / "models/mnist_mlp_1x10.onnx"
DIGITS = ROOT / "tests/fixtures/digits.csv"


def test_robustness_matches_its_files_and_replays(tmp_path, digits):
    seen = []
    r = nnopt.robustness(MODEL, DIGITS, [0.1, 0.01, 0.05], limit=5, mean=0.1307, std=0.3081,
                         time_limit=20, out=tmp_path, progress=seen.append)
    assert [s.eps for s in r.summary] == [0.01, 0.05, 0.1]
    assert r.images_run == 5 and len(seen) == 6
    on_disk = json.loads((tmp_path / "summary.json").read_text())["per_eps"]
    assert [s.__dict__ for s in r.summary] == on_disk
    assert (tmp_path / "report.html").read_text().count('id="accuracy-chart"') == 1
    for s in r.summary:
        assert s.certified + s.attacked + s.unknown + s.misclassified == 5
    rows = r.records()
    assert len(rows) == 15
    net = nnopt.Network.from_onnx(MODEL)
    x, labels = digits
    for row in rows:
        if row["verdict"] != "attacked" or "adversarial" not in row:
            continue
        adv = np.asarray(row["adversarial"])
        x0 = x[row["index"]]
        assert np.all(adv >= np.maximum(x0 - row["eps"], 0)) and np.all(adv <= np.minimum(x0 + row["eps"], 1))
        y = net.forward((adv - 0.1307) / 0.3081)
        label = labels[row["index"]]
        assert np.max(np.delete(y, label)) > y[label]
    # Resume: nothing left to run; the summary is the same.
    again = nnopt.robustness(MODEL, DIGITS, [0.01, 0.05, 0.1], limit=5, mean=0.1307, std=0.3081,
                             time_limit=20, out=tmp_path, resume=True)
    assert again.images_run == 0 and again.images_skipped == 5
    assert again[0.05] == r[0.05]


def test_robustness_bad_input_is_an_input_error(tmp_path):
    with pytest.raises(nnopt.InputError, match=">= 0"):
        nnopt.robustness(MODEL, DIGITS, [-0.1], out=tmp_path)
    with pytest.raises(nnopt.InputError, match="out of range"):
        nnopt.robustness(MODEL, DIGITS, [0.01], indices=[99], out=tmp_path)
    with pytest.raises(nnopt.InputError, match="--method"):
        nnopt.robustness(MODEL, DIGITS, [0.01], method="gurobi", out=tmp_path)
    assert not (tmp_path / "results.jsonl").exists()
