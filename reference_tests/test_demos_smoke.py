"""Every demo runs headless in quick mode and returns its numbers as a dict.

One test per demo discovered in ``demos/`` (the runner's own discovery), so
a broken demo names itself. Quick mode keeps the whole gallery to about a
minute; the full runs are ``python -m demos``.
"""
import importlib

import pytest

from demos._common import discover

DEMOS = discover()


def test_demos_are_discovered():
    # an empty discovery would otherwise turn every smoke test into a skip
    assert DEMOS, "demos._common.discover() found no demos in demos/"


@pytest.mark.parametrize("name", DEMOS)
def test_demo_runs_quick_and_returns_a_dict(name, tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    module = importlib.import_module(f"demos.{name}")
    assert (module.__doc__ or "").strip(), f"demos/{name}.py needs a docstring saying what it shows"
    try:
        result = module.main(["--quick", "--out", str(tmp_path)])
        assert matplotlib.get_backend().lower() == "agg", "a demo must not open windows"
    finally:
        plt.close("all")
    assert isinstance(result, dict), f"demos.{name}.main returned {type(result).__name__}"
