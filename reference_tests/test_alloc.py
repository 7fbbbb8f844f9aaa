"""Process-wide tuning is opt-in (issue 8.4): importing minigrad changes nothing.

``minigrad.tune_process()`` (minigrad/tuning.py) raises glibc's malloc
thresholds and sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it;
``MINIGRAD_TUNE_PROCESS=1`` makes the import call it. Each case runs in a
child process, since both settings belong to the process.
"""
import json
import os
import subprocess
import sys

import pytest

from minigrad import tuning

REPORT = ("import json, os, minigrad; "
          "print(json.dumps([os.environ.get('OMP_WAIT_POLICY'), minigrad.tuning.APPLIED]))")


def _child(code, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "MINIGRAD_TUNE_PROCESS")}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_leaves_the_process_alone():
    policy, applied = _child(REPORT)
    assert policy is None and applied is None
    policy, applied = _child(REPORT, MINIGRAD_TUNE_PROCESS="0")
    assert policy is None and applied is None


def test_tune_process_applies_both_settings_and_keeps_the_users_policy():
    code = ("import json, os, minigrad; r = minigrad.tune_process(); "
            "print(json.dumps([os.environ.get('OMP_WAIT_POLICY'), r]))")
    policy, applied = _child(code)
    assert policy == "PASSIVE" and applied["omp_wait_policy"] == "PASSIVE"
    assert applied["malloc"] is sys.platform.startswith("linux")
    assert applied["openmp_already_loaded"] is False
    policy, applied = _child(code, OMP_WAIT_POLICY="ACTIVE")
    assert policy == "ACTIVE" and applied["omp_wait_policy"] == "ACTIVE"


def test_environment_variable_opts_in_at_import():
    policy, applied = _child(REPORT, MINIGRAD_TUNE_PROCESS="1")
    assert policy == "PASSIVE" and applied["omp_wait_policy"] == "PASSIVE"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_tune_malloc_can_be_called_again():
    assert tuning.tune_malloc() is True
    assert tuning.tune_malloc() is True


def test_describe_says_what_is_in_force(monkeypatch):
    monkeypatch.setattr(tuning, "APPLIED", None)
    assert "none (library defaults" in tuning.describe()
    monkeypatch.setattr(tuning, "APPLIED", {"malloc": True, "omp_wait_policy": "PASSIVE",
                                            "openmp_already_loaded": True})
    line = tuning.describe()
    assert "raised" in line and "PASSIVE" in line and "not in effect" in line
