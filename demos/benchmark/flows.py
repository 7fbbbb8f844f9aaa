"""Flows and MADE: training steps against PyTorch, and log|det J| cost against D.

Rows:
- one RealNVP training step (8 affine couplings, 2-D, hidden 64, tanh,
  batch 512; forward through the inverse pass, backward, Adam), float64;
- one MADE training step on binary digits (64-512-64, batch 128), float64;
  each against the same step in PyTorch eager (float64, torch.optim.Adam),
  run in a subprocess of its own with the faster of 1 and 2 threads, from
  the same weights and batch (the first losses are compared to 1e-9 before
  timing). Skipped when torch is not importable.
- log|det J| of a batch of 16 points against D = 16 ... 1024 for an affine
  coupling (hidden 64) and a MAF (hidden 64): the layer's whole forward pass
  (y and its O(D) log-determinant) against ``np.linalg.slogdet`` of the dense
  D x D Jacobians alone (O(D^3), and that without computing the Jacobians);
  the size column prints our time, which grows about linearly.
- MAF at D = 64: density (one pass) against sampling (D passes), and IAF the
  reverse, so the speedup column is about D.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import minigrad as mg
from demos.benchmark._timing import median_time, row
from dpm.models import flows as F
from dpm.models.autoregressive import MADE
from minigrad import optim

LR = 1e-3

TORCH_SCRIPT = r"""
import json, sys, time, statistics
import numpy as np
import torch
spec = json.loads(sys.argv[1])
arrays = np.load(spec["weights"])
x = torch.from_numpy(arrays["x"])
names = [n for n in spec["names"]]
params = [torch.tensor(arrays[n], requires_grad=True) for n in names]
masks = [torch.from_numpy(arrays[f"mask{i}"]) for i in range(spec.get("n_masks", 0))]
LOG_2PI = float(np.log(2 * np.pi))

def realnvp_loss():
    v, log_det = x, 0.0
    for k in reversed(range(spec["n_layers"])):
        W1, b1, W2, b2 = params[4 * k: 4 * k + 4]
        kept, changed = (v[:, 1:], v[:, :1]) if k % 2 else (v[:, :1], v[:, 1:])
        out = torch.tanh(kept @ W1 + b1) @ W2 + b2
        s, t = 3.0 * torch.tanh(out[:, :1] / 3.0), out[:, 1:]
        changed = (changed - t) * torch.exp(-s)
        log_det = log_det - s.sum(dim=-1)
        v = torch.cat([changed, kept] if k % 2 else [kept, changed], dim=-1)
    return -(-0.5 * (v * v).sum(dim=-1) - LOG_2PI + log_det).mean()

def made_loss():
    W1, b1, W2, b2 = params
    logits = torch.relu(x @ (W1 * masks[0]) + b1) @ (W2 * masks[1]) + b2
    return -torch.nn.functional.logsigmoid((2 * x - 1) * logits).sum(dim=-1).mean()

loss_fn = {"realnvp": realnvp_loss, "made": made_loss}[spec["model"]]
first = float(loss_fn())
best = None
for threads in (1, 2):
    torch.set_num_threads(threads)
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    params[:] = ps
    opt = torch.optim.Adam(params, lr=spec["lr"])
    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    for _ in range(5):
        step()
    samples = []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        for _ in range(spec["inner"]):
            step()
        samples.append((time.perf_counter() - t0) / spec["inner"])
    median = statistics.median(samples)
    if best is None or median < best[0]:
        best = (median, threads)
print(json.dumps({"first_loss": first, "seconds": best[0], "threads": best[1]}))
"""


def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except Exception:
        return False


def torch_step_seconds(model_kind, model, x, masks, quick):
    """(first loss, seconds per step, threads) of the same step in a PyTorch subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.npz")
        named = model.named_parameters()
        arrays = {f"p{i}": p.data for i, (_, p) in enumerate(named)}
        arrays.update({f"mask{i}": m for i, m in enumerate(masks)}, x=x)
        np.savez(path, **arrays)
        spec = {"weights": path, "names": [f"p{i}" for i in range(len(named))],
                "n_masks": len(masks), "model": model_kind, "lr": LR,
                "n_layers": len(named) // 4, "repeats": 5 if quick else 15,
                "inner": 3 if quick else 10}
        done = subprocess.run([sys.executable, "-c", TORCH_SCRIPT, json.dumps(spec)],
                              capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the PyTorch benchmark subprocess failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["first_loss"], result["seconds"], result["threads"]


def our_step(model, x):
    optimizer = optim.Adam(model.parameters(), lr=LR)

    def step():
        optimizer.zero_grad()
        loss = -model.log_prob(x).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def step_row(bench, size, kind, model, x, masks, quick):
    with mg.no_grad():
        first = -model.log_prob(x).mean().item()
    torch_first, torch_s, threads = torch_step_seconds(kind, model, x, masks, quick)
    if not np.isclose(first, torch_first, rtol=1e-9):
        raise AssertionError(f"{bench}: first losses differ, ours {first} vs torch {torch_first}")
    ours_s = median_time(our_step(model, x), repeats=5 if quick else 15, warmup=5)
    return {"bench": bench, "size": size, "ours": "minigrad + optim.Adam", "ours_s": ours_s,
            "ref": f"PyTorch eager, {threads} thread(s)", "ref_s": torch_s,
            "speedup": torch_s / ours_s}


def training_rows(quick):
    if not torch_available():
        return []
    rng = np.random.default_rng(0)
    flow = F.realnvp_flow(2, 8, (64,), rng=rng, actnorm=False)
    x = rng.normal(size=(512, 2))
    rows = [step_row("RealNVP step", "8 couplings, 2-D, h64, b512", "realnvp", flow, x, [],
                     quick)]
    made = MADE(64, (512,), rng=rng)
    digits = (rng.uniform(size=(128, 64)) < 0.3).astype(np.float64)
    rows.append(step_row("MADE step", "64-512-64, batch 128", "made", made, digits,
                         [layer.mask for layer in made.layers], quick))
    return rows


def log_det_rows(quick):
    rows = []
    dims = (16, 64, 256) if quick else (16, 64, 256, 1024)
    rng = np.random.default_rng(1)
    for name, make in (("coupling", lambda d: F.AffineCoupling(d, (64,), rng=rng)),
                       ("MAF density", lambda d: F.MAF(d, (64,), rng=rng))):
        for d in dims:
            layer, x = make(d), rng.normal(size=(16, d))
            fn = layer.forward if name == "coupling" else layer.inverse
            jacobians = np.eye(d) + 0.01 * rng.normal(size=(16, d, d))

            def ours(fn=fn, x=x):
                with mg.no_grad():
                    return fn(x)[1]

            r = row(f"log|det J| {name}", f"D={d}", "layer pass, O(D) log-det", ours,
                    "slogdet of dense J, O(D^3)", lambda j=jacobians: np.linalg.slogdet(j),
                    repeats=3 if quick else 7, warmup=1, min_time=0.01)
            r["size"] = f"D={d}, ours {r['ours_s'] * 1e3:.2f} ms"
            rows.append(r)
    return rows


def direction_rows(quick):
    d, rng = 64, np.random.default_rng(2)
    x = rng.normal(size=(128, d))
    rows = []
    for cls, fast, slow in ((F.MAF, "inverse", "forward"), (F.IAF, "forward", "inverse")):
        layer = cls(d, (64,), rng=rng)

        def run(method, layer=layer):
            with mg.no_grad():
                return getattr(layer, method)(x)

        label = {"MAF": ("density, 1 pass", "sampling, D passes"),
                 "IAF": ("sampling, 1 pass", "density, D passes")}[cls.__name__]
        rows.append(row(f"{cls.__name__} directions", f"D={d}, batch 128", label[0],
                        lambda: run(fast), label[1], lambda: run(slow),
                        repeats=3 if quick else 7, warmup=1))
    return rows


def run(quick: bool) -> list[dict]:
    return training_rows(quick) + log_det_rows(quick) + direction_rows(quick)
