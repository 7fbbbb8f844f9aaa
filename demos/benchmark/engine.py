"""Engine overhead: a training step of an MLP, and a scalar round trip.

Rows:
- one step (forward, backward, Adam) of an MLP with one hidden ReLU layer
  and a mean-squared-error loss on a batch of 128, float64, with
  ``minigrad.nn.MLP`` + ``minigrad.optim.Adam`` against the same step with
  gradients derived by hand and Adam written plainly in NumPy, at
  64-128-8 (target: within 1.5x, speedup >= 0.67) and 784-400-20 (BLAS-bound;
  target within 1.1x, speedup >= 0.91);
- the same step in PyTorch (float64, torch.optim.Adam) when it happens to
  be installed, as the reference of an extra row (never required), timed
  in a subprocess of its own at its best thread count (``_torch_peer.py``);
- ``a = Tensor(2.0, requires_grad=True); y = a*a + a; y.backward()``: the
  round trip against the 20 microsecond target (PyTorch measures 21 us on
  this machine), and against the same arithmetic in plain Python with the
  derivative 2a + 1 written by hand (the floor; its size column prints the
  absolute time).

Before timing, one step of each implementation from the same weights is
compared (loss and updated weights to 1e-10), so the rows time the same
computation.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from demos.benchmark._timing import HandAdam, median_time, print_profile, row
from demos.benchmark._torch_peer import torch_row
from minigrad import nn, optim
from minigrad.tensor import Tensor

BATCH = 128
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
SCALAR_TARGET_S = 20e-6


# ----------------------------------------------------------------- minigrad
def minigrad_step(sizes, x, y, seed=0):
    """(step function returning the loss, model) for our MLP + Adam."""
    model = nn.MLP(sizes, activation="relu", rng=np.random.default_rng(seed))
    optimizer = optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    x, y = Tensor(x), Tensor(y)

    def step():
        optimizer.zero_grad()
        loss = mg.square(model(x) - y).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, model


# ------------------------------------------------------- NumPy by hand
def numpy_step(params, x, y):
    """The same step with hand-derived gradients and a plain NumPy Adam.

    Forward:  h = x W1 + b1,  a = relu(h),  out = a W2 + b2,
              loss = mean((out - y)^2) over all n * k entries.
    Backward: d_out = 2 (out - y) / (n k),  dW2 = a^T d_out,  db2 = sum_rows d_out,
              d_h = (d_out W2^T) * [h > 0],  dW1 = x^T d_h,  db1 = sum_rows d_h.
    """
    W1, b1, W2, b2 = params
    adam = HandAdam(params, LR, BETAS, EPS)

    def step():
        h = x @ W1 + b1
        a = np.maximum(h, 0.0)
        out = a @ W2 + b2
        diff = out - y
        loss = np.mean(diff * diff)
        d_out = diff * (2.0 / diff.size)
        d_h = (d_out @ W2.T) * (h > 0)
        adam.step((x.T @ d_h, d_h.sum(axis=0), a.T @ d_out, d_out.sum(axis=0)))
        return float(loss)

    return step


# The same step in PyTorch (float64), from the same initial weights; run by _torch_peer.
TORCH_STEP = """
W1, b1, W2, b2 = [torch.tensor(arrays[k], requires_grad=True) for k in ("W1", "b1", "W2", "b2")]
optimizer = torch.optim.Adam([W1, b1, W2, b2], lr=%r, betas=%r, eps=%r)
xt, yt = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"])

def step():
    optimizer.zero_grad()
    loss = ((torch.relu(xt @ W1 + b1) @ W2 + b2 - yt) ** 2).mean()
    loss.backward()
    optimizer.step()
    return float(loss)
""" % (LR, BETAS, EPS)


def _check_same_step(ours, model, reference, params):
    loss_ours, loss_ref = ours(), reference()
    if not np.isclose(loss_ours, loss_ref, rtol=1e-10):
        raise AssertionError(f"benchmark steps differ: loss {loss_ours} vs {loss_ref}")
    for p, q in zip(model.parameters(), params):
        if not np.allclose(p.data, q, rtol=1e-10, atol=1e-12):
            raise AssertionError("benchmark steps differ: updated weights disagree")


def mlp_rows(sizes, quick):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(BATCH, sizes[0]))
    y = rng.normal(size=(BATCH, sizes[-1]))
    ours, model = minigrad_step(sizes, x, y)
    params = [p.data.copy() for p in model.parameters()]  # W1, b1, W2, b2
    reference = numpy_step(params, x, y)
    _check_same_step(ours, model, reference, params)
    small = sizes[1] * sizes[0] < 50_000
    timing = dict(repeats=5 if quick else 15, warmup=3,
                  min_time=(0.02 if quick else 0.1) if small else 0.0)
    size = f"{'-'.join(map(str, sizes))}, batch {BATCH}"
    rows = [row("engine MLP step", size, "nn.MLP + optim.Adam", ours,
                "NumPy hand grads + Adam", reference, **timing)]
    weights = dict(zip(("W1", "b1", "W2", "b2"), (p.data.copy() for p in model.parameters())))
    peer = torch_row("engine MLP step", size, "nn.MLP + optim.Adam", median_time(ours, **timing),
                     "PyTorch autograd + Adam", TORCH_STEP, dict(weights, x=x, y=y), **timing)
    if peer is not None:
        rows.append(peer)
    return rows


# ------------------------------------------------------------------- scalar
def scalar_round_trip():
    a = Tensor(2.0, requires_grad=True)
    y = a * a + a
    y.backward()
    return a.grad


def scalar_by_hand():
    a = 2.0
    y = a * a + a  # noqa: F841  (the forward, as in the round trip)
    return 2.0 * a + 1.0


def scalar_rows(quick):
    if float(scalar_round_trip()) != scalar_by_hand():
        raise AssertionError("scalar round trip: d(a^2 + a)/da at 2 should be 5")
    timing = dict(repeats=5 if quick else 15, warmup=100, min_time=0.02 if quick else 0.1)
    measured = row("engine scalar round trip", "", "a*a + a; backward()", scalar_round_trip,
                   "plain Python, hand derivative", scalar_by_hand, **timing)
    measured["size"] = f"scalar, {measured['ours_s'] * 1e6:.1f} us"
    target = dict(measured, ref="target 20 us (PyTorch 21)", ref_s=SCALAR_TARGET_S,
                  speedup=SCALAR_TARGET_S / measured["ours_s"])
    return [target, measured]


def run(quick: bool) -> list[dict]:
    return mlp_rows([64, 128, 8], quick) + mlp_rows([784, 400, 20], quick) + scalar_rows(quick)


def profile(sizes=(64, 128, 8), steps=2000):
    """cProfile of our MLP step: where the time goes (``python -m demos.benchmark.engine``)."""
    rng = np.random.default_rng(1)
    step, _ = minigrad_step(list(sizes), rng.normal(size=(BATCH, sizes[0])),
                            rng.normal(size=(BATCH, sizes[-1])))
    print_profile(step, steps, top=25)


if __name__ == "__main__":
    profile()
