"""Ctrl-C (SIGINT) during Model.solve, nnopt.attack, nnopt.verify, nnopt.verify_batch or
nnopt.sweep stops the work quickly and raises KeyboardInterrupt; the batch files keep
only whole records of finished instances and resume."""
import csv
import json
import signal
import subprocess
import sys
import time

import pytest

import nnopt
from conftest import ROOT


def _interrupt(mode, work, wait_for, after):
    """Starts interrupt_child.py in mode, waits for the line `wait_for` (a
    prefix), sleeps `after` seconds, sends SIGINT; returns (stdout, stderr,
    seconds from the signal to the exit)."""
    child = subprocess.Popen([sys.executable, str(ROOT / "tests/python/interrupt_child.py"),
                              str(ROOT), mode, str(work)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        while True:
            line = child.stdout.readline()
            assert line, "the child ended early: " + "".join(seen) + child.stderr.read()
            seen.append(line)
            if line.startswith(wait_for):
                break
        time.sleep(after)
        assert child.poll() is None, "finished before the signal: " + child.stdout.read()
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        waited = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
    out = "".join(seen) + out
    assert child.returncode == 3, out + err
    assert "KeyboardInterrupt after" in out
    return out, err, waited


# CBC needs minutes on 5x60, Ipopt several seconds: 1.5 s in, each is well inside its solve.
@pytest.mark.parametrize("solver", ["cbc", "ipopt", "attack-mip", "attack-min-l1"])
def test_sigint_stops_a_long_solve(tmp_path, solver):
    _, _, waited = _interrupt(solver, tmp_path, "solving", 1.5)
    assert waited < 1.5, f"took {waited:.2f} s to stop after SIGINT"


# verify: 1.5 s after the start it is in PGD; at 7 s in the LP bound tightening.
@pytest.mark.parametrize("after", [1.5, 7.0])
def test_sigint_stops_verify(tmp_path, after):
    _, _, waited = _interrupt("verify", tmp_path, "solving", after)
    assert waited < 1.5, f"took {waited:.2f} s to stop after SIGINT"


def test_sigint_stops_lp_bounds(tmp_path):
    _, _, waited = _interrupt("bounds", tmp_path, "solving", 1.5)
    assert waited < 1.5, f"took {waited:.2f} s to stop after SIGINT"


def _whole_rows(path):
    text = path.read_text()
    assert text.endswith("\n"), repr(text[-80:])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        assert None not in r and all(v not in (None, "") for v in r.values()), r
        float(r["time_s"])
    return rows


def test_sigint_stops_verify_batch_and_resumes(tmp_path):
    out, _, waited = _interrupt("verify-batch", tmp_path, "row", 1.5)
    assert waited < 1.5, f"took {waited:.2f} s to stop after SIGINT"
    assert out.count("row ") == 1
    results = tmp_path / "results.csv"
    rows = _whole_rows(results)
    assert [r["property"] for r in rows] == ["quick1.vnnlib"]  # the cancelled one is not written
    assert rows[0]["result"] in ("sat", "unsat", "timeout", "unknown")
    # Resume: the finished row is skipped, the other two run (the hard one
    # with a short timeout now), each row once.
    r = nnopt.verify_batch(instances=str(tmp_path / "instances.csv"), dir=str(tmp_path),
                           out=str(results), resume=True, timeout_scale=0.005)
    assert r.skipped == 1
    assert [x.property for x in r.rows] == ["hard.vnnlib", "quick2.vnnlib"]
    assert r.rows[0].result in ("timeout", "unknown")
    assert [x["property"] for x in _whole_rows(results)] == ["quick1.vnnlib", "hard.vnnlib",
                                                              "quick2.vnnlib"]


def test_sigint_stops_sweep_and_resumes(tmp_path):
    _, _, waited = _interrupt("sweep", tmp_path, "record", 1.5)
    assert waited < 1.5, f"took {waited:.2f} s to stop after SIGINT"
    results = tmp_path / "sweep/results.jsonl"
    text = results.read_text()
    assert text.endswith("\n")
    recs = [json.loads(line) for line in text.splitlines()]
    # Only the finished 1x10 run: the 5x60 MIP cut short by Ctrl-C is not a result.
    assert [(r["network"], r["method"]) for r in recs] == [("mlp_1x10.onnx", "mip")]
    assert recs[0]["proven"]
    models = [str(ROOT / "models/sweep/mlp_1x10.onnx"), str(ROOT / "models/sweep/mlp_5x60.onnx")]
    again = nnopt.sweep(models, str(ROOT / "tests/fixtures/digits.csv"), eps=0.1, methods=["mip"],
                        out=str(tmp_path / "sweep"), mean=0.1307, std=0.3081, time_limit=1.0,
                        resume=True)
    assert again.skipped == 1 and again.ran == 1
    assert again.record("mlp_5x60.onnx", "mip")["timed_out"]
    assert len(results.read_text().splitlines()) == 2
