"""Minibatch features against mode collapse: the minibatch standard deviation (G5).

A discriminator that scores one sample at a time cannot see that the
generator puts every sample on the same mode: each sample looks real. Let
it look at the minibatch (Salimans et al. 2016, "minibatch
discrimination"; lecture 001's remedies for mode collapse). The simplest
form (Karras et al. 2018, "minibatch standard deviation"): for a group of
G samples with hidden features h_1..h_G (each of width F),

    s = (1/F) sum_f sqrt( (1/G) sum_i (h_if - mean_i h_if)^2 + 1e-8 ),

one number per group, appended to every member's features before the
last layer. A collapsed generator gives groups of fakes a small s while
groups of data have a large one, so D separates them by s and G is pushed
to spread out.

The statistic mixes the samples of a group, so a group must hold only data
or only fakes: ``GANTrainer`` sees ``mixes_samples`` and calls this critic
once on the data and once on the fakes (never on the stacked batch), and
refuses the per-sample gradient penalty (whose one-backward trick needs
independent outputs). ``group_size`` None: the whole batch is one group.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.nn import Linear, Module, activation_function
from dpm.distributions.base import resolve_rng

STD_FLOOR = 1e-8  # inside the sqrt: a finite gradient when a group has no spread


def minibatch_std(h, group_size=None):
    """s of the module docstring for each sample's group, a Tensor of shape (m, 1).

    ``h``: features (m, F); groups are consecutive rows, ``group_size``
    (None: all m) must divide m.
    """
    h = h if isinstance(h, mg.Tensor) else mg.Tensor(np.asarray(h, dtype=float))
    if h.ndim != 2:
        raise ValueError(f"h must have shape (m, features), got {h.shape}")
    m, width = h.shape
    size = m if group_size is None else int(group_size)
    if size < 1 or m % size:
        raise ValueError(f"group_size must divide the batch of {m} samples, got {group_size!r}")
    groups = mg.reshape(h, shape=(m // size, size, width))
    centred = groups - groups.mean(axis=1, keepdims=True)
    sd = mg.sqrt(mg.square(centred).mean(axis=1) + STD_FLOOR)  # (groups, F)
    per_group = sd.mean(axis=1, keepdims=True)  # (groups, 1)
    per_sample = mg.broadcast_to(mg.reshape(per_group, shape=(m // size, 1, 1)),
                                  shape=(m // size, size, 1))
    return mg.reshape(per_sample, shape=(m, 1))


class MinibatchStdCritic(Module):
    """An MLP critic sizes[0]-...-sizes[-2] whose last layer also sees ``minibatch_std``.

    f(x_i) = w . [h_i, s(group of i)] + b with h the hidden features after
    the activation. ``group_size`` None: one group per call (the trainer
    calls it once on the data, once on the fakes).
    """

    mixes_samples = True

    def __init__(self, sizes, activation="relu", group_size=None, rng=None):
        sizes = list(sizes)
        if len(sizes) < 3:
            raise ValueError(f"sizes must list input, at least one hidden width and the output, "
                             f"got {sizes!r}")
        if group_size is not None and (int(group_size) != group_size or group_size < 2):
            raise ValueError(f"group_size must be an integer >= 2 or None, got {group_size!r}")
        self.sizes = [int(n) for n in sizes]
        self.group_size = None if group_size is None else int(group_size)
        self.activation = activation_function(activation)
        rng = resolve_rng(rng)
        self.layers = [Linear(a, b, rng=rng) for a, b in zip(self.sizes[:-2], self.sizes[1:-1])]
        self.head = Linear(self.sizes[-2] + 1, self.sizes[-1], rng=rng)

    def forward(self, x):
        h = x if isinstance(x, mg.Tensor) else mg.Tensor(np.asarray(x, dtype=float))
        for layer in self.layers:
            h = self.activation(layer(h))
        return self.head(mg.concatenate([h, minibatch_std(h, self.group_size)], axis=1))

    def __repr__(self):
        return f"MinibatchStdCritic(sizes={self.sizes}, group_size={self.group_size})"
