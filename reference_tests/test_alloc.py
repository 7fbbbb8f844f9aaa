"""Process-wide tuning done at import.

malloc thresholds (minigrad/_alloc.py) and OpenMP waiting (minigrad/_numba.py).
"""
import os
import subprocess
import sys

import pytest

from minigrad import _alloc


def _tuned_in_child(env_value):
    env = dict(os.environ)
    env.pop("MINIGRAD_KEEP_MALLOC", None)
    if env_value is not None:
        env["MINIGRAD_KEEP_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", "import minigrad; print(minigrad._alloc.MALLOC_TUNED)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_import_tunes_malloc_unless_the_user_opts_out():
    assert _tuned_in_child(None) == "True"
    assert _tuned_in_child("0") == "True"
    assert _tuned_in_child("1") == "False"


def test_tune_malloc_can_be_called_again(monkeypatch):
    monkeypatch.setenv("MINIGRAD_KEEP_MALLOC", "1")
    assert _alloc.tune_malloc() is False
    monkeypatch.delenv("MINIGRAD_KEEP_MALLOC")
    assert _alloc.tune_malloc() is sys.platform.startswith("linux")


def _omp_policy_in_child(env_value):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    out = subprocess.run([sys.executable, "-c",
                          "import os, minigrad; print(os.environ['OMP_WAIT_POLICY'])"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_openmp_workers_wait_passively_unless_the_user_says_otherwise():
    # minigrad/_numba.py: spinning OpenMP workers slow the next kernel call on few cores.
    assert _omp_policy_in_child(None) == "PASSIVE"
    assert _omp_policy_in_child("ACTIVE") == "ACTIVE"
