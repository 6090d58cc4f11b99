"""The examples run end to end on their small (CI) settings and print what they claim."""
import re
import subprocess
import sys

from conftest import ROOT


def run(script, *args):
    p = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_tutorial(tmp_path):
    out = run("tutorial.py", "--small", "--out", str(tmp_path))
    assert out.count("Model currently classifies correctly") == 2
    # SimpleModel: the exact MIP optimum (the CLI's min-distortion optimum on this fixture)
    l1 = [float(v) for v in re.findall(r"L1 noise ([0-9.]+)", out)]
    assert len(l1) == 2 and abs(l1[0] - 10.648252) < 1e-4
    assert out.count("torch predicts 2 (2 beats 7 by") == 2
    assert (tmp_path / "tutorial_SimpleModel.png").stat().st_size > 1000
    assert (tmp_path / "tutorial_ConvNet.png").stat().st_size > 1000


def test_blog_study(tmp_path):
    out = run("blog_study.py", "--small", "--out", str(tmp_path))
    rows = [l for l in out.splitlines() if re.match(r"\| [1-5] \| \d+ \|", l)]
    assert len(rows) == 2
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        mip, nlp, ms = float(cells[2]), float(cells[5]), float(cells[7])
        assert cells[4] == "yes"  # tiny nets: the MIP finishes
        assert nlp >= mip - 1e-6 and ms >= mip - 1e-6  # the MIP optimum is global
    assert "False robustness" in out
    assert (tmp_path / "single/table.md").exists()


def test_verify_vnnlib(tmp_path):
    out = run("verify_vnnlib.py", "--out", str(tmp_path), "--digits", "0", "--eps", "0.005,0.08")
    assert re.search(r"d0_e0.005.vnnlib: unsat", out)
    assert re.search(r"d0_e0.08.vnnlib: sat .*counterexample replayed", out)
    assert "verify_batch: ran 2" in out
