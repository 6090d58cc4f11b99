"""Ctrl-C (SIGINT) during Model.solve or nnopt.attack stops the solve quickly and raises KeyboardInterrupt."""
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT


@pytest.mark.parametrize("solver", ["cbc", "ipopt", "attack-mip", "attack-min-l1"])
def test_sigint_stops_a_long_solve(solver):
    child = subprocess.Popen([sys.executable, str(ROOT / "tests/python/interrupt_child.py"),
                              str(ROOT), solver], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "solving"
        time.sleep(1.5)  # well inside the solve (CBC needs minutes on 5x60; Ipopt several seconds)
        assert child.poll() is None, "the solve finished before the signal: " + child.stdout.read()
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        waited = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 3, out + err
    assert "KeyboardInterrupt after" in out
    assert waited < 1.5, f"took {waited:.2f} s to stop after SIGINT"
