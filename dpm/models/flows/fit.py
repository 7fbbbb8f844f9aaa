"""Maximum-likelihood training of a density model (a Flow or a MADE), with checkpoints.

Minimises the average negative log-likelihood (nats per example)

    NLL(theta) = -1/n sum_i log p_theta(x_i)

by Adam on minibatches (teacher forcing for an autoregressive model: every
conditional sees the true earlier variables). Minibatches come from one
permutation of the data per epoch, drawn from ``default_rng([seed, epoch])``
with ``seed`` drawn once from ``rng``: the run is a function of the seed, so a
run resumed from a checkpoint gives the same numbers as one never stopped.

The checkpoint (``.npz``, written atomically by ``minigrad.checkpoint``)
holds the parameters, Adam's moments and step counts, the step, the seed and
the history. A non-finite loss stops the run with a FloatingPointError
naming the step, before any update or checkpoint.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from minigrad import optim
from minigrad.checkpoint import load_arrays, save_arrays
from dpm.distributions.base import resolve_rng


@dataclass
class FitHistory:
    """Per evaluation: the step, the mean training NLL since the last one, the held-out NLL."""

    steps: list = field(default_factory=list)
    train_nll: list = field(default_factory=list)
    valid_nll: list = field(default_factory=list)


def mean_nll(model, x, batch_size=1024):
    """(mean, standard error) of -log p(x_i) over the rows of x, without a graph."""
    import minigrad as mg
    with mg.no_grad():
        values = np.concatenate([-model.log_prob(x[i:i + batch_size]).data
                                 for i in range(0, len(x), batch_size)])
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def _save(path, model, optimizer, step, seed, history):
    arrays = {f"model.{k}": v for k, v in model.state_dict().items()}
    for i, state in enumerate(optimizer.state):
        for key, value in state.items():
            arrays[f"adam.{i}.{key}"] = np.asarray(value)
    arrays.update(step=np.asarray(step), seed=np.asarray(seed, dtype=np.uint64),
                  history=np.array([history.steps, history.train_nll, history.valid_nll],
                                   dtype=np.float64).reshape(3, -1))
    save_arrays(path, arrays)


def _load(path, model, optimizer):
    arrays = load_arrays(path)
    model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model.")})
    for key, value in arrays.items():
        if key.startswith("adam."):
            _, i, name = key.split(".")
            optimizer.state[int(i)][name] = int(value) if name == "step" else value.copy()
    h = arrays["history"]
    history = FitHistory([int(s) for s in h[0]], list(h[1]), list(h[2]))
    return int(arrays["step"]), int(arrays["seed"]), history


def fit_max_likelihood(model, x, steps, batch_size=128, lr=1e-3, rng=None, x_valid=None,
                       eval_every=100, checkpoint=None, progress=True):
    """Train ``model`` (``log_prob`` and ``parameters()``) on the rows of x; returns FitHistory.

    ``checkpoint``: a path; if the file exists the run resumes from it, and it
    is rewritten at every evaluation. ``progress`` prints one line per
    evaluation to stderr.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 1:
        raise ValueError(f"x must be a (n, d) array of examples, got shape {x.shape}")
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    optimizer = optim.Adam(model.parameters(), lr=lr)
    step, seed, history = 0, int(resolve_rng(rng).integers(2 ** 63)), FitHistory()
    if checkpoint is not None and os.path.exists(checkpoint):
        step, seed, history = _load(checkpoint, model, optimizer)
    n, batch_size = len(x), min(batch_size, len(x))
    per_epoch = n // batch_size
    running = []
    while step < steps:
        epoch, k = divmod(step, per_epoch)
        order = np.random.default_rng([seed, epoch]).permutation(n)
        batch = x[order[k * batch_size:(k + 1) * batch_size]]
        optimizer.zero_grad()
        loss = -model.log_prob(batch).mean()
        if not np.isfinite(loss.item()):
            raise FloatingPointError(f"training loss is {loss.item()} at step {step + 1}; "
                                     f"stopped before updating (no checkpoint written)")
        loss.backward()
        optimizer.step()
        step += 1
        running.append(loss.item())
        if step % eval_every == 0 or step == steps:
            valid = mean_nll(model, x_valid)[0] if x_valid is not None else np.nan
            history.steps.append(step)
            history.train_nll.append(float(np.mean(running)))
            history.valid_nll.append(valid)
            running = []
            if progress:
                print(f"step {step}/{steps}: train NLL {history.train_nll[-1]:.4f}, "
                      f"held-out NLL {valid:.4f} nats", file=sys.stderr, flush=True)
            if checkpoint is not None:
                _save(checkpoint, model, optimizer, step, seed, history)
    return history
