"""logsumexp, softmax and the logsumexp vjp: minigrad's Numba kernels (issue 2, claim A3).

Rows, float64, Numba on 2 threads:
- logsumexp along rows of (1,000,000 x 8), (100,000 x 64), (10,000 x 1,000)
  and over a 1-D array of 1e7 against ``scipy.special.logsumexp`` (targets:
  >= 8x on 1e6 x 8, >= 4x on 1e7), against the NumPy twin, and against
  ``torch.logsumexp`` when PyTorch happens to be installed (never required);
- fused softmax against ``scipy.special.softmax`` and PyTorch;
- the vjp ``logsumexp_backward`` against the hand NumPy formula
  ``g * exp(x - lse)``;
- forward + backward through Tensors, ``logsumexp(x, axis=1).sum().backward()``
  (the backward pass runs the fused kernel), against ``scipy.special``'s
  ``logsumexp`` + ``softmax`` (target: >= 8x on 1e6 x 8), against the bare
  kernel pair (the floor: what the engine adds) and PyTorch autograd;
- how close the kernel gets to the machine: ``exp_poly`` (one thread) against
  ``np.exp`` on the same values, and logsumexp against ``np.sum`` of the whole
  array (the memory floor: one read of the values; a speedup below 1 says how
  far above it we are).
- serial vs parallel row kernels around ``SERIAL_BELOW`` (the one-thread
  cutoff, ``minigrad/kernels/thresholds.py``, which holds the measurement).
``--quick`` takes sizes 10x smaller. PyTorch (when installed) is timed in a
subprocess of its own at its best thread count (``_torch_peer.py``).
"""
from __future__ import annotations

import numpy as np
from scipy import special

import minigrad as mg
from demos.benchmark._timing import median_time, row
from demos.benchmark._torch_peer import torch_row
from minigrad import kernels
from minigrad._numba import NUMBA_ENABLED

OURS = "minigrad numba" if NUMBA_ENABLED else "minigrad numpy twin"


def _label(shape):
    return " x ".join(f"{n:,}" for n in shape)


def _torch_rows(bench, ours, expression, x, timing):
    """[the row of ``expression`` on x in PyTorch, in its own process], or [] without PyTorch."""
    code = f"x = torch.from_numpy(arrays['x'])\ndef step():\n    return {expression}\n"
    peer = torch_row(bench, _label(x.shape), OURS, median_time(ours, **timing),
                     expression.split("(")[0], code, {"x": x}, **timing)
    return [peer] if peer else []


def _logsumexp_rows(x, timing):
    size = _label(x.shape)
    ours = lambda: kernels.logsumexp(x, axis=-1)   # noqa: E731  (timed closures)
    rows = [row("logsumexp", size, OURS, ours, "scipy.special.logsumexp",
                lambda: special.logsumexp(x, axis=-1), **timing),
            row("logsumexp", size, OURS, ours, "numpy twin",
                lambda: kernels.logsumexp_numpy(x, axis=-1), **timing),
            row("logsumexp vs memory floor", size, OURS, ours, "np.sum of all (memory floor)",
                lambda: np.sum(x), **timing)]
    return rows + _torch_rows("logsumexp", ours, "torch.logsumexp(x, dim=-1)", x, timing)


def _softmax_and_backward_rows(x, timing):
    size = _label(x.shape)
    lse = kernels.logsumexp(x, axis=-1)
    g = np.random.default_rng(1).normal(size=lse.shape)

    def numpy_forward_backward():
        top = np.max(x, axis=-1, keepdims=True)
        value = top + np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True))
        return g[..., None] * np.exp(x - value)

    def ours_forward_backward():
        return kernels.logsumexp_backward(x, kernels.logsumexp(x, axis=-1), g, -1)

    softmax = lambda: kernels.softmax(x, -1)   # noqa: E731
    rows = [row("softmax", size, OURS, softmax, "scipy.special.softmax",
                lambda: special.softmax(x, axis=-1), **timing),
            row("logsumexp_backward", size, OURS, lambda: kernels.logsumexp_backward(x, lse, g, -1),
                "numpy g * exp(x - lse)", lambda: g[..., None] * np.exp(x - lse[..., None]),
                **timing),
            row("logsumexp fwd+bwd", size, OURS, ours_forward_backward,
                "numpy max-shift + vjp", numpy_forward_backward, **timing)]
    return rows + _torch_rows("softmax", softmax, "torch.softmax(x, dim=-1)", x, timing)


def _tensor_rows(x, timing):
    """logsumexp(x, axis=1).sum().backward() through minigrad Tensors (issue 8.9)."""
    size = _label(x.shape)

    leaf = mg.Tensor(x, requires_grad=True)    # made once: its copy of x is not timed

    def through_tensors():
        leaf.grad = None
        mg.logsumexp(leaf, axis=1).sum().backward()
        return leaf.grad

    def scipy_pair():
        return special.logsumexp(x, axis=1), special.softmax(x, axis=1)

    def kernel_pair():
        lse = kernels.logsumexp(x, axis=1)
        return kernels.logsumexp_backward(x, lse, np.ones(lse.shape), 1)

    ours = "Tensor logsumexp().sum().backward()"
    rows = [row("logsumexp Tensor fwd+bwd", size, ours, through_tensors,
                "scipy logsumexp + softmax", scipy_pair, **timing),
            row("logsumexp Tensor fwd+bwd", size, ours, through_tensors,
                "kernel pair (floor)", kernel_pair, **timing)]
    peer = torch_row("logsumexp Tensor fwd+bwd", size, ours, median_time(through_tensors, **timing),
                     "torch autograd",
                     "leaf = torch.from_numpy(arrays['x']).requires_grad_(True)\n"
                     "def step():\n    leaf.grad = None\n"
                     "    torch.logsumexp(leaf, dim=1).sum().backward()\n    return leaf.grad\n",
                     {"x": x}, **timing)
    return rows + ([peer] if peer else [])


def _exp_rows(n, timing):
    t = -np.random.default_rng(2).exponential(5.0, size=n)   # x - max <= 0, as logsumexp sees it
    return [row("exp throughput (1 thread)", f"{n:,}", "exp_poly (vectorized)",
                lambda: kernels.exp_poly(t), "np.exp", lambda: np.exp(t), **timing)]


def _cutoff_rows(quick):
    """The measurement behind minigrad.kernels.thresholds.SERIAL_BELOW."""
    from minigrad.kernels.thresholds import SERIAL_BELOW, measure_serial_cutoff
    rows = []
    timer = lambda fn: median_time(fn, repeats=3 if quick else 7, warmup=2,   # noqa: E731
                                   min_time=0.005)
    for values, serial, parallel in measure_serial_cutoff(timer):
        rows.append({"bench": "serial vs parallel (rows of 8)", "size": f"{values:,}",
                     "ours": f"parallel (cutoff {SERIAL_BELOW:,})", "ours_s": parallel,
                     "ref": "one thread", "ref_s": serial, "speedup": serial / parallel})
    return rows


def run(quick: bool) -> list[dict]:
    if NUMBA_ENABLED:
        import numba
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    scale = 10 if quick else 1
    timing = {"repeats": 3 if quick else 7, "warmup": 1}
    rng = np.random.default_rng(0)
    shapes = [(1_000_000 // scale, 8), (100_000 // scale, 64), (10_000 // scale, 1000),
              (10_000_000 // scale,)]
    rows = []
    for shape in shapes:
        rows += _logsumexp_rows(rng.normal(size=shape), timing)
    first = rng.normal(size=shapes[0])
    rows += _softmax_and_backward_rows(first, timing)
    rows += _tensor_rows(first, timing)
    rows += _exp_rows(8_000_000 // scale, timing)
    if NUMBA_ENABLED:
        rows += _cutoff_rows(quick)
    return rows
