"""GAN training steps: the library's GANTrainer against PyTorch eager (issue 11).

One step = one critic step and one generator step (k = 1), generator MLP
2-128-128-2 and critic MLP 2-128-128-1 (ReLU), batch 256, float64, Adam,
on fresh N(0, I) data and noise each step:
- non-saturating GAN: BCE-from-logits losses;
- WGAN-GP: Wasserstein losses plus lambda = 10 times the per-sample gradient
  penalty (second-order autodiff in the critic step).

Ours is ``dpm.models.gan.GANTrainer.step`` in this process. PyTorch, when
installed, runs the same step in a subprocess of its own (never in ours),
timed at 1 and at 2 threads, and the faster is the reference. A third row
times our WGAN-GP step against our plain step (target: within 1.5x, i.e.
"speedup" >= 0.67). Targets from the issue: faster than PyTorch eager on
both steps.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np

import minigrad
from minigrad.nn import MLP
from dpm.models.gan import GANTrainer
from demos.benchmark._timing import median_time, print_profile

BATCH, HIDDEN = 256, 128

TORCH_SCRIPT = r"""
import json, statistics, sys, time
import torch
threads, gp, repeats = int(sys.argv[1]), sys.argv[2] == "gp", int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
d = torch.float64
def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b, dtype=d), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])
G, D = mlp([2, 128, 128, 2]), mlp([2, 128, 128, 1])
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
F = torch.nn.functional
m = 256
def step():
    real = torch.randn(m, 2, dtype=d)
    with torch.no_grad():
        fake = G(torch.randn(m, 2, dtype=d))
    if gp:
        loss = D(fake).mean() - D(real).mean()
        eps = torch.rand(m, 1, dtype=d)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        g, = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        loss = loss + 10.0 * ((g.norm(dim=1) - 1.0) ** 2).mean()
    else:
        loss = -(F.logsigmoid(D(real)).mean() + F.logsigmoid(-D(fake)).mean())
    opt_d.zero_grad(); loss.backward(); opt_d.step()
    out = D(G(torch.randn(m, 2, dtype=d)))
    g_loss = -out.mean() if gp else -F.logsigmoid(out).mean()
    opt_g.zero_grad(); g_loss.backward(); opt_g.step()
for _ in range(20):
    step()
samples = []
for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(20):
        step()
    samples.append((time.perf_counter() - t) / 20)
print(json.dumps(statistics.median(samples)))
"""


def our_step(gp, seed=0):
    """GANTrainer.step for the benchmark's shapes (a closure)."""
    init = np.random.default_rng(seed)
    generator = MLP([2, HIDDEN, HIDDEN, 2], rng=init)
    critic = MLP([2, HIDDEN, HIDDEN, 1], rng=init)
    trainer = GANTrainer(generator, critic, lambda m, rng: rng.standard_normal((m, 2)),
                         kind="wasserstein" if gp else "non_saturating",
                         gp_weight=10.0 if gp else 0.0, batch_size=BATCH,
                         rng=np.random.default_rng(seed + 1))
    return trainer.step


def torch_time(gp, repeats):
    """Best over 1 and 2 threads of PyTorch's median step time, each in its own process."""
    if importlib.util.find_spec("torch") is None:
        return None
    times = []
    for threads in (1, 2):
        # PyTorch's own environment: without the OMP_WAIT_POLICY our tune_process set
        env = dict(minigrad.tuning.untuned_environment(), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        done = subprocess.run([sys.executable, "-c", TORCH_SCRIPT, str(threads),
                               "gp" if gp else "plain", str(repeats)],
                              capture_output=True, text=True, env=env, timeout=600)
        if done.returncode == 0:
            times.append((json.loads(done.stdout.strip().splitlines()[-1]), threads))
    return min(times) if times else None


def run(quick: bool) -> list[dict]:
    repeats = 5 if quick else 15
    size = f"2-{HIDDEN}-{HIDDEN}, batch {BATCH}, f64"
    ours = {gp: median_time(our_step(gp), repeats=repeats, warmup=20, min_time=0.1)
            for gp in (False, True)}
    rows = []
    for gp, name in ((False, "GAN non-saturating step"), (True, "WGAN-GP step")):
        peer = torch_time(gp, repeats)
        if peer is None:
            continue
        ref_s, threads = peer
        rows.append({"bench": name, "size": size, "ours": "GANTrainer.step", "ours_s": ours[gp],
                     "ref": f"PyTorch eager, {threads} thread{'s' * (threads > 1)}",
                     "ref_s": ref_s, "speedup": ref_s / ours[gp]})
    rows.append({"bench": "WGAN-GP vs plain step", "size": size, "ours": "WGAN-GP step",
                 "ours_s": ours[True], "ref": "our non-saturating step (target >= 0.67)",
                 "ref_s": ours[False], "speedup": ours[False] / ours[True]})
    return rows


def profile(gp=True, steps=300):
    """cProfile of our step (``python -m demos.benchmark.gan``)."""
    print_profile(our_step(gp), steps)


if __name__ == "__main__":
    profile()
