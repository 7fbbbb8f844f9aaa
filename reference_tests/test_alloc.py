"""minigrad/_alloc.py: the malloc tuning applied at import, and its opt-out."""
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
