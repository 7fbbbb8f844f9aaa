"""Time a PyTorch reference in a subprocess of its own, at its own best thread count.

PyTorch and minigrad must not share a process while one of them is timed:
both use OpenMP, and the settings that suit one (``minigrad.tune_process()``
sets ``OMP_WAIT_POLICY=PASSIVE``) slow the other. ``torch_seconds`` writes the
inputs to a temporary ``.npz``, starts ``python`` without minigrad's tuning in
its environment, runs ``code`` there (which must define ``step()`` from the
arrays, available as ``arrays[name]``), times ``step`` with
``_timing.median_time`` at 1 and at 2 threads, and returns the faster. No
PyTorch installed: None, and the caller leaves the row out.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import minigrad

_CHILD = r"""
import json, sys
import numpy as np
import torch
from demos.benchmark._timing import median_time
threads, data_path, timing = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
torch.set_num_threads(threads)
arrays = dict(np.load(data_path))
namespace = {"torch": torch, "np": np, "arrays": arrays}
exec(sys.stdin.read(), namespace)
print(json.dumps({"seconds": median_time(namespace["step"], **timing), "threads": threads}))
"""

ROOT = Path(__file__).resolve().parents[2]


def torch_available():
    """True when PyTorch can be imported (checked in a subprocess: not imported here)."""
    run = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True,
                         env=minigrad.tuning.untuned_environment())
    return run.returncode == 0


def torch_seconds(code, arrays, threads=(1, 2), **timing):
    """(median seconds, threads) of the fastest thread count for ``code``'s ``step()``, or None."""
    if not torch_available():
        return None
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "inputs.npz")
        np.savez(data, **arrays)
        for n in threads:
            run = subprocess.run([sys.executable, "-c", _CHILD, str(n), data, json.dumps(timing)],
                                 input=code, capture_output=True, text=True, cwd=ROOT,
                                 env=minigrad.tuning.untuned_environment())
            if run.returncode != 0:
                raise RuntimeError(f"torch reference failed:\n{run.stderr[-2000:]}")
            result = json.loads(run.stdout.strip().splitlines()[-1])
            if best is None or result["seconds"] < best[0]:
                best = (result["seconds"], result["threads"])
    return best


def torch_row(bench, size, ours, ours_seconds, ref, code, arrays, **timing):
    """A row (as _timing.row makes) whose reference is PyTorch in its own process, or None."""
    measured = torch_seconds(code, arrays, **timing)
    if measured is None:
        return None
    seconds, threads = measured
    return {"bench": bench, "size": size, "ours": ours, "ours_s": ours_seconds,
            "ref": f"{ref} ({threads} thr, own process)", "ref_s": seconds,
            "speedup": seconds / ours_seconds}
