"""One VAE training step: forward, backward and Adam (issue 10's speed item).

A Bernoulli VAE x -> h (ReLU) -> (mu, log sigma) of z; z = mu + sigma eps;
z -> h (ReLU) -> logits; loss = -mean ELBO with the analytic KL, on random
binary data, batch 128, at 784-400-20 and 64-128-8, float64 and float32.

Rows:
- ours: ``dpm.models.vae.VAE`` + ``minigrad.optim.Adam`` (its fused update),
  against the same step with gradients derived by hand and a plain NumPy
  Adam, written below (targets: speedup >= 1 at both shapes); without
  ``--quick`` also against that hand step with softplus written as
  max(t, 0) + log1p(e^{-|t|}) instead of ``np.logaddexp(0, t)`` (context, no
  target: the faster of the two natural ways to write it in NumPy);
- PyTorch eager (same shapes, dtype, fused Adam where the build offers it)
  timed in a subprocess of its own, at 1 and 2 threads, the better one
  reported (target: ours faster at 784-400-20); skipped when torch is absent.

Before timing, the first step of each implementation from the same weights
and the same noise eps is compared (loss to 1e-9 relative), so every row
times the same computation. ``python -m demos.benchmark.vae [x_dim hidden z_dim]``
profiles our step with cProfile (after ``minigrad.tune_process()``, as the
timed rows run).

Where the time went, and what was fused (issue 10). At 784-400-20: the
matrix products (about 4.8 of 8 ms, near the machine's two-core float64
peak), softplus (max(x, 0) + log1p(e^{-|x|}), 2x faster than np.logaddexp in
float64 and ~10x in float32) and the Adam update (a Numba kernel). At
64-128-8, where the matrix products take about 0.3 of 0.75 ms, per-op
overhead: the step runs 14 primitives forward (``affine_relu`` for each
hidden layer, ``affine``, ``reparameterize``, ``bernoulli_log_prob``,
``normal_kl_standard``, and no draws axis for k = 1) instead of ~50, its
first-order backward pass runs on ndarrays (array rules; one joint rule per
fused layer), relu's mask and the KL's series are Numba loops
(:mod:`minigrad.kernels.fused`), and sigmoid is 1/(1 + e^{-t}) in place.
What remains is Python: about 0.23 ms a step for building and walking the
graph and the eight Adam calls, measured on a 3-2-1 VAE where the arithmetic
is negligible.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from demos.benchmark._timing import HandAdam, median_time, print_profile, row
from dpm.models.vae import VAE
import minigrad
from minigrad import optim

BATCH = 128
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
SHAPES = ((784, 400, 20), (64, 128, 8))


def problem(shape, dtype, seed=0):
    x_dim, hidden, z_dim = shape
    rng = np.random.default_rng(seed)
    x = (rng.random((BATCH, x_dim)) < 0.3).astype(dtype)
    model = VAE(x_dim, z_dim, hidden=(hidden,), rng=np.random.default_rng(seed + 1), dtype=dtype)
    return x, model


# ------------------------------------------------------------------ minigrad
def ours_step(model, x, seed):
    optimizer = optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    rng = np.random.default_rng(seed)

    def step():
        optimizer.zero_grad()
        loss = -model.elbo(x, rng).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


# ------------------------------------------------------------ NumPy by hand
def numpy_step(params, x, z_dim, seed, softplus="logaddexp"):
    """The step with hand-derived gradients and Adam in plain NumPy.

    Forward: h1 = x W1 + b1, a1 = relu(h1), (mu, l) = a1 W2 + b2, s = e^l,
    z = mu + s eps, h2 = z W3 + b3, a2 = relu(h2), t = a2 W4 + b4,
    loss = mean_b [ sum_j softplus(t) - x t  +  1/2 sum_i (s^2 + mu^2 - 1 - 2 l) ].
    Backward (B = batch): dt = (sigmoid(t) - x) / B, dz = (relu' * dt W4^T) W3^T,
    dmu = dz + mu / B, dl = dz eps s + (s^2 - 1) / B, then the encoder as an MLP.

    ``softplus="logaddexp"`` writes softplus(t) as NumPy's ``np.logaddexp(0, t)``
    (the reference of the target rows); ``"log1p"`` as max(t, 0) + log1p(e^{-|t|}),
    the form minigrad uses, which NumPy evaluates several times faster.
    """
    W1, b1, W2, b2, W3, b3, W4, b4 = params
    adam = HandAdam(params, LR, BETAS, EPS)
    rng, n = np.random.default_rng(seed), len(x)
    if softplus == "logaddexp":
        def softplus_sum(t):
            return np.logaddexp(0, t).sum()
    else:
        def softplus_sum(t):
            return (np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))).sum()

    def step():
        h1 = x @ W1 + b1
        a1 = np.maximum(h1, 0)
        out = a1 @ W2 + b2
        mu, log_s = out[:, :z_dim], out[:, z_dim:]
        s = np.exp(log_s)
        eps = rng.standard_normal(mu.shape).astype(x.dtype)
        z = mu + s * eps
        h2 = z @ W3 + b3
        a2 = np.maximum(h2, 0)
        t = a2 @ W4 + b4
        loss = (softplus_sum(t) - (x * t).sum()
                + 0.5 * (s * s + mu * mu - 1 - 2 * log_s).sum()) / n
        dt = (1 / (1 + np.exp(-t)) - x) / n
        da2 = (dt @ W4.T) * (h2 > 0)
        dz = da2 @ W3.T
        dout = np.concatenate([dz + mu / n, dz * eps * s + (s * s - 1) / n], axis=1)
        dh1 = (dout @ W2.T) * (h1 > 0)
        adam.step((x.T @ dh1, dh1.sum(0), a1.T @ dout, dout.sum(0),
                   z.T @ da2, da2.sum(0), a2.T @ dt, dt.sum(0)))
        return float(loss)

    return step


# ----------------------------------------------------- PyTorch, own process
TORCH_SCRIPT = r"""
import json, sys, time, statistics
import numpy as np, torch
data = np.load(sys.argv[1]); threads = int(sys.argv[2]); repeats = int(sys.argv[3])
torch.set_num_threads(threads)
dtype = torch.float64 if data["x"].dtype == np.float64 else torch.float32
x = torch.from_numpy(data["x"]); z_dim = int(data["z_dim"])
params = [torch.tensor(data[f"p{i}"], requires_grad=True) for i in range(8)]
W1, b1, W2, b2, W3, b3, W4, b4 = params
try:
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, fused=True)
    fused = True
except Exception:
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8); fused = False
first_eps = torch.from_numpy(data["eps"])
def step(eps=None):
    opt.zero_grad()
    out = torch.relu(x @ W1 + b1) @ W2 + b2
    mu, log_s = out[:, :z_dim], out[:, z_dim:]
    s = log_s.exp()
    eps = torch.randn(mu.shape, dtype=dtype) if eps is None else eps
    t = torch.relu((mu + s * eps) @ W3 + b3) @ W4 + b4
    loss = (torch.nn.functional.softplus(t).sum() - (x * t).sum()
            + 0.5 * (s * s + mu * mu - 1 - 2 * log_s).sum()) / x.shape[0]
    loss.backward(); opt.step()
    return float(loss)
first = step(first_eps)
for _ in range(5): step()
times = []
for _ in range(repeats):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
print(json.dumps({"first_loss": first, "median_s": statistics.median(times), "fused": fused}))
"""


def torch_rows(shape, dtype, params, x, first_eps, our_loss, ours_s, repeats):
    try:
        import importlib.util
        if importlib.util.find_spec("torch") is None:
            return []
    except Exception:
        return []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "vae.npz")
        np.savez(path, x=x, eps=first_eps, z_dim=shape[2],
                 **{f"p{i}": p for i, p in enumerate(params)})
        best = None
        for threads in (1, 2):
            # PyTorch's own environment: without the OMP_WAIT_POLICY our tune_process set
            env = dict(minigrad.tuning.untuned_environment(), OMP_NUM_THREADS=str(threads))
            done = subprocess.run([sys.executable, "-c", TORCH_SCRIPT, path, str(threads),
                                   str(repeats)], capture_output=True, text=True, env=env,
                                  timeout=600)
            if done.returncode != 0:
                return []
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if not np.isclose(result["first_loss"], our_loss, rtol=1e-9 if dtype == np.float64
                              else 1e-4):
                raise AssertionError(f"PyTorch step differs: loss {result['first_loss']} vs "
                                     f"{our_loss}")
            if best is None or result["median_s"] < best[0]:
                best = (result["median_s"], threads, result["fused"])
    ref = f"PyTorch eager ({best[1]} thr{', fused Adam' if best[2] else ''}; own process)"
    return [{"bench": "VAE step", "size": _size(shape, dtype), "ours": "VAE + optim.Adam",
             "ours_s": ours_s, "ref": ref, "ref_s": best[0], "speedup": best[0] / ours_s}]


def _size(shape, dtype):
    return f"{'-'.join(map(str, shape))} {np.dtype(dtype).name}, b{BATCH}"


def rows_for(shape, dtype, quick):
    x, model = problem(shape, dtype)
    params = [p.data.copy() for p in model.parameters()]   # W1 b1 W2 b2 W3 b3 W4 b4
    first_eps = np.random.default_rng(7).standard_normal((BATCH, shape[2])).astype(dtype)
    ours = ours_step(model, x, seed=7)
    reference = numpy_step([p.copy() for p in params], x, shape[2], seed=7)
    loss_ours, loss_ref = ours(), reference()
    if not np.isclose(loss_ours, loss_ref, rtol=1e-9 if dtype == np.float64 else 1e-4):
        raise AssertionError(f"VAE benchmark steps differ: loss {loss_ours} vs {loss_ref}")
    small = shape[0] < 100
    timing = dict(repeats=5 if quick else 15, warmup=3,
                  min_time=(0.02 if quick else 0.1) if small else 0.0)
    rows = [row("VAE step", _size(shape, dtype), "VAE + optim.Adam", ours,
                "NumPy hand grads + Adam", reference, **timing)]
    ours_s = rows[0]["ours_s"]
    if not quick:   # the same hand step with the faster softplus, for context (no target)
        faster = numpy_step([p.copy() for p in params], x, shape[2], seed=7, softplus="log1p")
        if not np.isclose(faster(), loss_ref, rtol=1e-9 if dtype == np.float64 else 1e-4):
            raise AssertionError("the two hand-written VAE steps differ")
        rows.append(row("VAE step", _size(shape, dtype), "VAE + optim.Adam", ours,
                        "NumPy hand grads, log1p softplus", faster, **timing))
    rows += torch_rows(shape, dtype, params, x, first_eps, loss_ours, ours_s,
                       repeats=20 if quick else 100)
    return rows


def run(quick: bool) -> list[dict]:
    dtypes = (np.float64,) if quick else (np.float64, np.float32)
    return [r for dtype in dtypes for shape in SHAPES for r in rows_for(shape, dtype, quick)]


def profile(shape=(784, 400, 20), steps=200, dtype=np.float64):
    """cProfile of our step: where the time goes."""
    import minigrad
    minigrad.tune_process()
    x, model = problem(shape, dtype)
    step = ours_step(model, x, seed=0)
    print_profile(step, steps)
    print(f"median step: {median_time(step, repeats=20) * 1e3:.2f} ms")


if __name__ == "__main__":
    profile(tuple(int(a) for a in sys.argv[1:4]) if len(sys.argv) > 3 else (784, 400, 20))
