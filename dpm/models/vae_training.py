"""Fitting a VAE and evaluating it on held-out data (claims V6, V10, V11).

``fit(model, x, epochs, ...)`` maximises the mean per-image ELBO by minibatch
Adam (Kingma & Ba 2015): each epoch shuffles the images with ``rng``, takes
batches of ``batch_size``, and steps on -mean ELBO(x_batch). The long-run
duties of the STYLE guide are here:

- progress on stderr: epoch, train ELBO (mean over the epoch's batches,
  before each update), held-out ELBO, seconds;
- a checkpoint written atomically (``minigrad.checkpoint.save_arrays``: tmp
  file then ``os.replace``) after every epoch, holding the parameters, Adam's
  moments and step counts, the generator's state, the history and the
  early-stopping state; ``resume=True`` continues from it and reproduces the
  uninterrupted run's numbers exactly (tested);
- early stopping on the held-out ELBO (``patience`` epochs without a gain of
  ``min_delta``), restoring the best parameters;
- a non-finite loss or gradient stops the run with FloatingPointError naming
  the epoch and step (and the parameter), before the update, so no NaN ever
  reaches the parameters or a checkpoint.

The held-out ELBO each epoch uses a generator re-seeded with ``eval_seed``,
so successive epochs are compared on the same noise (common random numbers).

``evaluate(model, x, rng, ks=...)`` gives held-out numbers in nats per image:
ELBO, IWAE_k for each k and an importance-sampled log p(x), each the mean over
the images of ``replicas`` independent estimates per image, with its Monte
Carlo standard error sqrt(sum_i se_i^2) / N (se_i the per-image spread of
the replicas over sqrt(replicas)): the error of the number, not the spread of
the images.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad.checkpoint import load_arrays, save_arrays
from minigrad.optim import Adam
from dpm.datasets import binarize_stochastic
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import Estimate

HISTORY_KEYS = ("train_elbo", "val_elbo", "seconds")


@dataclass
class FitHistory:
    """Per-epoch numbers of a ``fit`` run (nats per image) and how it ended."""
    train_elbo: list = field(default_factory=list)
    val_elbo: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    best_epoch: int = -1
    best_val: float = -math.inf
    stopped_early: bool = False
    steps: int = 0

    @property
    def epochs(self):
        return len(self.train_elbo)


def _positive(value, name, kind=int):
    ok = (isinstance(value, (int, np.integer)) and not isinstance(value, bool)) if kind is int \
        else isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not ok or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}")
    return kind(value)


def _check_gradients(model, epoch, step):
    for name, p in model.named_parameters():
        if p.grad is not None and not np.all(np.isfinite(p.grad)):
            raise FloatingPointError(
                f"fit: the gradient of {name!r} is not finite at epoch {epoch}, step {step}; "
                f"stopped before the update (parameters and checkpoint are from before it)")


def _save(path, model, optimizer, rng, history, epoch, best_state, bad_epochs):
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    for name, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise FloatingPointError(f"fit: {name} is not finite after epoch {epoch}; "
                                     f"no checkpoint written")
    for i, state in enumerate(optimizer.state):
        for key, value in state.items():
            arrays[f"adam/{i}/{key}"] = np.asarray(value)
    if best_state is not None:
        arrays.update({f"best/{k}": v for k, v in best_state.items()})
    for key in HISTORY_KEYS:
        arrays[f"history/{key}"] = np.asarray(getattr(history, key), dtype=np.float64)
    arrays["meta"] = np.array(json.dumps({
        "epoch": epoch, "steps": history.steps, "best_epoch": history.best_epoch,
        "best_val": history.best_val, "bad_epochs": bad_epochs,
        "rng": rng.bit_generator.state}))
    save_arrays(path, arrays)


def _load(path, model, optimizer, rng):
    arrays = load_arrays(path)
    meta = json.loads(str(arrays["meta"]))
    model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
    for i, state in enumerate(optimizer.state):
        state.clear()
        for key in ("step", "m", "v"):
            name = f"adam/{i}/{key}"
            if name in arrays:
                state[key] = int(arrays[name]) if key == "step" else arrays[name].copy()
    best = {k[5:]: v for k, v in arrays.items() if k.startswith("best/")} or None
    history = FitHistory(**{key: arrays[f"history/{key}"].tolist() for key in HISTORY_KEYS},
                         best_epoch=meta["best_epoch"], best_val=meta["best_val"],
                         steps=meta["steps"])
    rng.bit_generator.state = meta["rng"]
    return meta["epoch"], history, best, meta["bad_epochs"]


def held_out_elbo(model, x, k=1, seed=0, batch_size=512):
    """Mean ELBO over the images of x (nats per image), k draws each, generator seeded ``seed``."""
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        with mg.no_grad():
            total = sum(float(model.elbo(x[i:i + batch_size], rng, k=k).data.sum())
                        for i in range(0, len(x), batch_size))
    finally:
        model.train(was_training)
    return total / len(x)


def fit(model, x, epochs, batch_size=128, lr=1e-3, rng=None, x_val=None, k=1, binarize=False,
        checkpoint=None, resume=False, patience=None, min_delta=0.0, eval_k=1, eval_seed=0,
        restore_best=True, progress=True, stream=None, callback=None):
    """Train ``model`` (a VAE, or any Module with ``elbo(x, rng, k)``) on the rows of x.

    ``binarize=True``: x holds intensities in [0, 1] and every epoch trains on
    a fresh draw x ~ Bernoulli(intensities) (then x_val should be one fixed
    binary draw). ``checkpoint``: a path written after every epoch;
    ``resume=True`` continues from it if it exists (the run's ``rng`` is set to
    the saved state). ``patience``: stop after this many epochs without a
    held-out gain of ``min_delta`` (needs x_val). ``callback(epoch, model)``,
    if given, is called after every epoch. Returns a ``FitHistory``.
    """
    epochs, batch_size = _positive(epochs, "epochs"), _positive(batch_size, "batch_size")
    lr, rng = _positive(lr, "lr", float), resolve_rng(rng)
    x = np.asarray(x, dtype=model.dtype)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x must be an (N, x_dim) array with N >= 1, got shape {x.shape}")
    if patience is not None and x_val is None:
        raise ValueError("patience (early stopping) needs x_val, the held-out images")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=, the path to resume from")
    stream = sys.stderr if stream is None else stream
    if hasattr(model, "_as_input"):  # bad data is a ValueError now, not a "numerical" stop later
        model._as_input(binarize_stochastic(x, np.random.default_rng(0)) if binarize else x)
    optimizer = Adam(model.named_parameters(), lr=lr)
    history, best_state, bad_epochs, start = FitHistory(), None, 0, 0
    if resume and os.path.exists(checkpoint):
        start, history, best_state, bad_epochs = _load(checkpoint, model, optimizer, rng)
        if progress:
            print(f"fit: resumed from {checkpoint} after epoch {start}", file=stream, flush=True)
    model.train()
    for epoch in range(start + 1, epochs + 1):
        began = time.perf_counter()
        data = binarize_stochastic(x, rng).astype(model.dtype) if binarize else x
        order = rng.permutation(len(data))
        total = 0.0
        for step, first in enumerate(range(0, len(data), batch_size), start=1):
            batch = data[order[first:first + batch_size]]
            if hasattr(model, "on_step"):
                model.on_step(history.steps)
            try:
                bound = model.elbo(batch, rng, k=k).mean()
            except ValueError as error:  # the inputs were checked: a parameter went non-finite
                raise FloatingPointError(
                    f"fit: the forward pass failed at epoch {epoch}, step {step} (global step "
                    f"{history.steps + 1}): {error}; stopped before the update (parameters "
                    f"and checkpoint are from before it)") from error
            value = bound.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"fit: the ELBO is {value} at epoch {epoch}, step {step} (global step "
                    f"{history.steps + 1}); stopped before the update (parameters and "
                    f"checkpoint are from before it)")
            optimizer.zero_grad()
            (-bound).backward()
            _check_gradients(model, epoch, step)
            optimizer.step()
            history.steps += 1
            total += value * len(batch)
        history.train_elbo.append(total / len(data))
        val = held_out_elbo(model, x_val, eval_k, eval_seed) if x_val is not None else math.nan
        history.val_elbo.append(val)
        history.seconds.append(time.perf_counter() - began)
        if x_val is not None and val > history.best_val + min_delta:
            history.best_val, history.best_epoch, bad_epochs = val, epoch, 0
            best_state = model.state_dict() if restore_best else None
        elif x_val is not None:
            bad_epochs += 1
        if progress:
            print(f"fit: epoch {epoch}/{epochs}  train ELBO {history.train_elbo[-1]:.4f}  "
                  f"held-out ELBO {val:.4f}  {history.seconds[-1]:.2f} s", file=stream,
                  flush=True)
        if checkpoint is not None:
            _save(checkpoint, model, optimizer, rng, history, epoch, best_state, bad_epochs)
        if callback is not None:
            callback(epoch, model)
        if patience is not None and bad_epochs >= patience:
            history.stopped_early = True
            if progress:
                print(f"fit: early stop after epoch {epoch}: no held-out gain for {patience} "
                      f"epochs; best epoch {history.best_epoch}", file=stream, flush=True)
            break
    if restore_best and best_state is not None and history.stopped_early:
        model.load_state_dict(best_state)
    return history


def _mean_over_images(estimates):
    """Per-image Estimates (chunks) -> their mean over images, MC s.e. sqrt(sum se_i^2) / N."""
    values = np.concatenate([np.atleast_1d(e.data) for e in estimates])
    errors = np.concatenate([np.atleast_1d(e.stderr) for e in estimates])
    n = sum(e.n for e in estimates[:1])
    return Estimate.from_tensor(values.mean(), math.sqrt(np.sum(errors ** 2)) / len(values),
                                n * len(values))


def evaluate(model, x, rng=None, ks=(1, 10, 100, 1000), replicas=2, log_px_n=5000,
             budget=100_000):
    """Held-out ELBO, IWAE_k for each k in ``ks`` and log p(x), nats per image, as Estimates.

    Returns {"elbo": ..., "iwae_1": ..., "iwae_10": ..., "log_px": ...}. Each image
    gets ``replicas`` independent estimates (>= 2, so each has a standard error);
    ``log_px`` is importance sampling with the guide as proposal and ``log_px_n``
    draws (``VAE.log_likelihood``, delta-method s.e.). Images are processed in
    chunks so that at most about ``budget`` latent draws are alive at once.
    """
    rng = resolve_rng(rng)
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 2:
        raise ValueError(f"replicas must be an integer >= 2 (a standard error needs two), "
                         f"got {replicas!r}")
    x = np.asarray(x, dtype=model.dtype)
    was_training = model.training
    model.eval()

    def chunked(bound, draws):
        step = max(1, budget // draws)
        return _mean_over_images([bound(x[i:i + step]) for i in range(0, len(x), step)])

    try:
        with mg.no_grad():
            results = {"elbo": chunked(lambda xs: model.elbo(xs, rng, k=replicas), replicas)}
            for k in ks:
                results[f"iwae_{k}"] = chunked(
                    lambda xs: model.iwae(xs, rng, k=k, n=replicas), k * replicas)
            if log_px_n:
                results["log_px"] = chunked(
                    lambda xs: model.log_likelihood(xs, rng, n=log_px_n), log_px_n)
    finally:
        model.train(was_training)
    return results
