"""Shared fixtures: the committed networks, digits and reference logits (no /work/shared)."""
import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
FIXTURE_MODELS = sorted(MODELS.glob("*.onnx")) + sorted((MODELS / "sweep").glob("*.onnx"))


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def digits():
    """The committed digits (tests/fixtures/digits.csv): (pixels in [0,1], labels)."""
    rows = np.loadtxt(ROOT / "tests/fixtures/digits.csv", delimiter=",")
    return rows[:, 1:] / 255.0, rows[:, 0].astype(int)


@pytest.fixture(scope="session")
def reference_logits():
    return json.loads((ROOT / "tests/fixtures/reference_logits.json").read_text())


@pytest.fixture(scope="session")
def nnopt_cli():
    cli = ROOT / "build/apps/nnopt"
    assert cli.exists(), "build/apps/nnopt missing: run scripts/setup.sh first"
    return cli
