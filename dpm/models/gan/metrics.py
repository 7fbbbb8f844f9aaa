"""Judging a generator by its samples: modes, sample quality, W1, IS and FD (G4, G5, G8).

Mixture targets (rings and grids of Gaussians with centres mu_j and a
common scale sigma), as in the unrolled-GAN paper (Metz et al. 2017) and
its successors (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018):

- a sample is *high quality* if it lies within ``n_sigma`` = 3 standard
  deviations of its nearest centre, ||x - mu_j|| <= 3 sigma;
- a mode is *covered* if at least ``min_count`` high-quality samples are
  nearest to it. The default min_count is a fifth of a mode's fair share,
  ceil(0.2 n / K) (PacGAN's 20 of 2,500 samples on the 25-mode grid),
  so a handful of stray samples does not count as a mode.

Distances to a target from samples: W1 exactly in 1-D (sorted samples);
in d-D the sliced W1, the mean over random unit directions u of
W1(<u, X>, <u, Y>), a Monte Carlo Estimate over directions.

Image-like samples (the digits), with a small classifier p(y | x) trained by
minigrad on the shipped digits (``digits_classifier``):
- Inception-style score IS = exp(E_x KL(p(y | x) || p(y))), p(y) = E_x p(y | x)
  (Salimans et al. 2016): high when each sample is confidently one class
  and the classes are balanced; between 1 and the number of classes.
- Frechet distance (Heusel et al. 2017) between Gaussians fitted to the
  classifier's hidden features of two sample sets:
  ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}).
"""
from __future__ import annotations

import functools
import math

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import MLP
from minigrad.optim import Adam
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import Estimate
from dpm.wasserstein import wasserstein_1d


# ------------------------------------------------------------------ modes
def _points(name, x, dim=None):
    x = np.asarray(getattr(x, "data", x), dtype=float)
    if x.ndim != 2 or len(x) == 0 or (dim is not None and x.shape[1] != dim):
        want = "(n, d)" if dim is None else f"(n, {dim})"
        raise ValueError(f"{name} must be a non-empty array of shape {want}, got {x.shape}")
    return x


def assign_modes(samples, centers, scale, n_sigma=3.0):
    """(index of the nearest centre, is-high-quality) for every sample."""
    centers = _points("centers", centers)
    samples = _points("samples", samples, centers.shape[1])
    if not float(scale) > 0 or not float(n_sigma) > 0:
        raise ValueError(f"scale and n_sigma must be > 0, got {scale!r} and {n_sigma!r}")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    close = distances[np.arange(len(samples)), nearest] <= n_sigma * float(scale)
    return nearest, close


def mode_counts(samples, centers, scale, n_sigma=3.0):
    """Number of high-quality samples nearest to each centre (an int array of length K)."""
    nearest, close = assign_modes(samples, centers, scale, n_sigma)
    return np.bincount(nearest[close], minlength=len(np.asarray(centers)))


def modes_covered(samples, centers, scale, n_sigma=3.0, min_count=None):
    """How many of the K modes have at least ``min_count`` high-quality samples (see module doc)."""
    counts = mode_counts(samples, centers, scale, n_sigma)
    if min_count is None:
        min_count = max(1, math.ceil(0.2 * len(samples) / len(counts)))
    return int(np.sum(counts >= int(min_count)))


def high_quality_fraction(samples, centers, scale, n_sigma=3.0):
    """The fraction of samples within ``n_sigma`` scales of their nearest centre."""
    return float(np.mean(assign_modes(samples, centers, scale, n_sigma)[1]))


# ----------------------------------------------------------- W1 to target
def sliced_wasserstein(x, y, n_projections=64, rng=None):
    """Sliced W1: mean over directions u ~ U(sphere) of W1(<u, X>, <u, Y>), an Estimate.

    For 1-D samples (shape (n,) or (n, 1)) it is the exact W1, stderr 0.
    The stderr is that of the mean over the ``n_projections`` directions.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim == 1 or x.shape[-1] == 1:
        value = wasserstein_1d(x.reshape(-1), y.reshape(-1))
        return Estimate.from_tensor(Tensor(float(np.asarray(getattr(value, "data", value)))),
                                    0.0, 1)
    x, y = _points("x", x), _points("y", y, x.shape[1])
    if int(n_projections) < 2:
        raise ValueError(f"n_projections must be an integer >= 2, got {n_projections!r}")
    directions = resolve_rng(rng).standard_normal((int(n_projections), x.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    values = np.array([float(np.asarray(getattr(w, "data", w))) for w in
                       (wasserstein_1d(x @ u, y @ u) for u in directions)])
    return Estimate.from_draws(values, axis=0)


# ------------------------------------------------------------ IS and FD
def inception_score(probs):
    """exp(mean_i KL(p(y | x_i) || p(y))) with p(y) = mean_i p(y | x_i); ``probs`` (n, K).

    KL computed as sum_y p log p - p log p(y) with 0 log 0 = 0. In [1, K].
    """
    probs = _points("probs", probs)
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError("probs must be rows of class probabilities (non-negative, sum 1)")
    marginal = probs.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, probs * (np.log(probs) - np.log(marginal)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def _sqrtm_psd(matrix):
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_frechet_distance(mean_1, cov_1, mean_2, cov_2):
    """||m_1 - m_2||^2 + tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}): the squared W2
    between N(m_1, S_1) and N(m_2, S_2); symmetric PSD square roots by eigh."""
    mean_1, mean_2 = np.atleast_1d(mean_1).astype(float), np.atleast_1d(mean_2).astype(float)
    cov_1, cov_2 = np.atleast_2d(cov_1).astype(float), np.atleast_2d(cov_2).astype(float)
    root_1 = _sqrtm_psd(cov_1)
    cross = _sqrtm_psd(root_1 @ cov_2 @ root_1)
    value = np.sum((mean_1 - mean_2) ** 2) + np.trace(cov_1) + np.trace(cov_2) \
        - 2.0 * np.trace(cross)
    return float(max(value, 0.0))


def frechet_distance(features_1, features_2):
    """The Frechet distance between Gaussians fitted (mean, covariance) to two feature sets."""
    f1, f2 = _points("features_1", features_1), _points("features_2", features_2)
    if f2.shape[1] != f1.shape[1]:
        raise ValueError(f"feature widths differ: {f1.shape[1]} and {f2.shape[1]}")
    return gaussian_frechet_distance(f1.mean(0), np.cov(f1, rowvar=False),
                                     f2.mean(0), np.cov(f2, rowvar=False))


# ------------------------------------------------------ digits classifier
class DigitsClassifier:
    """p(y | x) for 8x8 digits in [0, 1]: an MLP 64-``hidden``-10, softmax output.

    ``features(x)``: the hidden ReLU layer (for the Frechet distance);
    ``probs(x)``: class probabilities; ``accuracy``: on the held-out split.
    """

    def __init__(self, network, accuracy, train_accuracy):
        self.network, self.accuracy, self.train_accuracy = network, accuracy, train_accuracy

    def logits(self, x):
        with mg.no_grad():
            return self.network(Tensor(np.asarray(x, dtype=float).reshape(-1, 64))).data

    def probs(self, x):
        logits = self.logits(x)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def features(self, x):
        first = self.network.layers[0]
        with mg.no_grad():
            return mg.relu(first(Tensor(np.asarray(x, dtype=float).reshape(-1, 64)))).data


def digits_split(seed=0, test_fraction=0.25):
    """(x_train, y_train, x_test, y_test) of the shipped digits, a seeded random split."""
    from dpm.datasets import load_digits
    x, y = load_digits()
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


@functools.lru_cache(maxsize=4)
def digits_classifier(seed=0, hidden=64, steps=400, lr=0.01):
    """Train the classifier on 75% of the digits (full-batch Adam on cross-entropy, seeded).

    Takes about a second; the result is cached per arguments. Its held-out
    accuracy is ``.accuracy`` (about 0.97).
    """
    x_train, y_train, x_test, y_test = digits_split(seed)
    network = MLP([64, int(hidden), 10], rng=np.random.default_rng(seed))
    optimizer = Adam(network.parameters(), lr=lr)
    inputs, onehot = Tensor(x_train), np.eye(10)[y_train]
    for _ in range(int(steps)):
        loss = -(mg.log_softmax(network(inputs), axis=1) * onehot).sum(axis=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    classifier = DigitsClassifier(network, 0.0, 0.0)
    classifier.accuracy = float(np.mean(classifier.logits(x_test).argmax(1) == y_test))
    classifier.train_accuracy = float(np.mean(classifier.logits(x_train).argmax(1) == y_train))
    return classifier
