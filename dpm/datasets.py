"""Data sets for the demos and tests: toy targets and the shipped digits.

Toy targets (the lectures' running examples):

- ``bimodal()``: the 1-D target of lecture 000's fitting experiments,
  P = 1/2 N(-7.3, 1.4^2) + 1/2 N(7.3, 1.4^2), as a ``GaussianMixture``
  (exact log density; claims F2-F5).
- ``ring_of_gaussians(k, radius, scale)``: k equal 2-D Gaussians evenly
  spaced on a circle, as a diagonal ``GaussianMixture`` (the usual
  mode-collapse target, G5); ``ring(n, rng)``: points on a noisy circle.
- ``moons(n, rng)``: two interleaving half circles (a flow / GAN target).
- ``parallel_lines(theta, n, rng)`` and ``ParallelLine(theta)``: the
  segment {theta} x [0, 1], drawn as (theta, Z), Z ~ U[0, 1]: the example
  of Arjovsky, Chintala and Bottou (2017) where KL and JS see nothing of
  theta but W1 = |theta| (claims K8, K9, W3).

``load_digits`` reads the handwritten digits shipped in ``dpm/data/`` (see
``dpm/data/README.md`` for provenance and licence: UCI Optical Recognition of
Handwritten Digits, E. Alpaydin and C. Kaynak, 1998, CC BY 4.0). The file is
read through ``importlib.resources``, so it works from a source tree, an
editable install and an installed wheel alike, with no download.
"""
from __future__ import annotations

import functools
import gzip
import io
from importlib import resources

import numpy as np

from dpm.distributions import GaussianMixture
from dpm.distributions.base import (
    Distribution, _show, as_param, as_shape, resolve_rng)
import minigrad as mg
from minigrad import Tensor

DIGITS_FILE = "digits.csv.gz"
N_DIGITS = 1797
N_PIXELS = 64  # 8 x 8 images, row-major
PIXEL_MAX = 16  # each pixel counts the "on" bits of a 4x4 block: 0..16


@functools.lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    """The raw (1797, 65) int64 table: 64 pixel counts 0..16, then the label."""
    payload = resources.files("dpm").joinpath("data", DIGITS_FILE).read_bytes()
    table = np.loadtxt(io.BytesIO(gzip.decompress(payload)), delimiter=",", dtype=np.int64)
    # The file ships with the package; if it is damaged say so rather than
    # hand a model a wrong-shaped array.
    if table.shape != (N_DIGITS, N_PIXELS + 1):
        raise RuntimeError(f"dpm/data/{DIGITS_FILE} has shape {table.shape}, "
                           f"expected ({N_DIGITS}, {N_PIXELS + 1}); reinstall the package")
    table.setflags(write=False)  # cached: callers get copies
    return table


SPLIT_SEED = 1797      # the seed of the fixed train/test permutation (never change it)
N_TEST = 360           # 20% of the images (1797 - 360 = 1437 for training)
SPLITS = ("train", "test")


@functools.lru_cache(maxsize=1)
def digits_split_indices():
    """(train, test): the fixed, documented split of the 1,797 image indices.

    A permutation of 0..1796 by ``numpy.random.default_rng(1797).permutation``
    (PCG64, stable across NumPy versions by NumPy's stream policy); its first
    360 entries, sorted, are the test set, the remaining 1,437, sorted, the
    training set. Every label occurs in both (checked by the tests).
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(N_DIGITS)
    test, train = np.sort(order[:N_TEST]), np.sort(order[N_TEST:])
    train.setflags(write=False)
    test.setflags(write=False)
    return train, test


def binarize_stochastic(probs, rng):
    """x ~ Bernoulli(probs) elementwise, as 0.0/1.0 floats (the IWAE paper's binarization).

    Burda et al. (2016) draw a fresh binarization of the intensities every
    epoch for training (a regulariser: the model never sees one fixed draw)
    and one fixed draw for evaluation; ``load_digits(binarize="stochastic",
    seed=...)`` is the fixed one, this function the fresh one (``VAE.fit``
    with ``binarize=True`` calls it each epoch).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if not np.all((probs >= 0) & (probs <= 1)):
        raise ValueError("probs must lie in [0, 1] (pixel intensities), got values in "
                         f"[{np.nanmin(probs)}, {np.nanmax(probs)}]")
    return (resolve_rng(rng).random(probs.shape) < probs).astype(np.float64)


def load_digits(binarize=False, threshold: int = 8, scale: bool = True, split=None, seed=0):
    """The 1,797 UCI handwritten digits (8x8 pixels) and their labels.

    Returns ``(X, y)``: ``X`` float64 of shape (n, 64), one image a row in
    row-major pixel order; ``y`` int64 of shape (n,), labels 0..9; n = 1797,
    or 1437 / 360 for ``split="train"`` / ``"test"``.

    The stored pixels are integer counts c in 0..16. By default
    ``X = c / 16`` lies in [0, 1]: the Gaussian VAE and the flows want
    continuous values on a fixed scale, and 16 is the largest possible count,
    so the scaling does not depend on the data. Choices:

    - ``binarize=True``: ``X = 1.0 if c >= threshold else 0.0`` (Bernoulli
      VAE, autoregressive model, mean-field completion); ``threshold`` is a
      raw count in 1..16, the default 8 being the middle of the range.
    - ``binarize="stochastic"``: X ~ Bernoulli(c / 16), one fixed draw from
      ``numpy.random.default_rng(seed)`` over the whole table (so an image
      gets the same draw whichever split it is loaded through): the fixed
      evaluation binarization of Burda et al. (2016). For the fresh draw per
      training epoch use ``binarize_stochastic`` on the intensities.
    - ``scale=False`` (with ``binarize=False``): the raw counts 0..16 as
      float64.
    - ``split``: None (all images, file order), ``"train"`` or ``"test"``
      (the fixed split of ``digits_split_indices``: 1,437 / 360 images).

    Every call returns fresh arrays, so callers may modify them.
    """
    if not (isinstance(binarize, (bool, np.bool_)) or binarize == "stochastic"):
        raise ValueError(f"binarize={binarize!r}: expected True, False or \"stochastic\"")
    if not isinstance(scale, (bool, np.bool_)):
        raise ValueError(f"scale={scale!r}: expected True or False")
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, np.integer)) \
            or not 1 <= threshold <= PIXEL_MAX:
        raise ValueError(f"threshold={threshold!r}: expected an integer pixel count "
                         f"in 1..{PIXEL_MAX}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split={split!r}: expected None, \"train\" or \"test\"")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: expected a non-negative integer")
    table = _digits_table()
    counts = table[:, :N_PIXELS]
    labels = table[:, N_PIXELS].copy()
    if binarize == "stochastic":
        images = binarize_stochastic(counts / float(PIXEL_MAX), np.random.default_rng(seed))
    elif binarize:
        images = (counts >= threshold).astype(np.float64)
    elif scale:
        images = counts / float(PIXEL_MAX)
    else:
        images = counts.astype(np.float64)
    if split is not None:
        rows = digits_split_indices()[SPLITS.index(split)]
        images, labels = images[rows], labels[rows]
    return images, labels


# ------------------------------------------------------------------ toy targets
def _count(n, name="n"):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name}={n!r}: expected a non-negative integer")
    return int(n)


def _positive(value, name, allow_zero=False):
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name}={value!r}: expected a finite number "
                         f"{'>= 0' if allow_zero else '> 0'}")
    return float(value)


def bimodal(loc=7.3, scale=1.4):
    """P = 1/2 N(-loc, scale^2) + 1/2 N(loc, scale^2): lecture 000's bimodal target.

    Mean 0, variance scale^2 + loc^2 (= 55.25 for the defaults): what a
    forward-KL Gaussian fit must match (F2).
    """
    loc, scale = float(loc), _positive(scale, "scale")
    return GaussianMixture([0.5, 0.5], [-loc, loc], [scale, scale])


def ring_of_gaussians(k=8, radius=2.0, scale=0.05):
    """sum_j 1/k N(mu_j, scale^2 I), mu_j = radius (cos 2 pi j/k, sin 2 pi j/k): 2-D, k modes."""
    k = _count(k, "k")
    if k < 1:
        raise ValueError(f"k={k!r}: expected at least one mode")
    radius, scale = _positive(radius, "radius"), _positive(scale, "scale")
    angles = 2.0 * np.pi * np.arange(k) / k
    locs = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return GaussianMixture(np.full(k, 1.0 / k), locs, np.full((k, 1), scale))


def ring(n, rng, radius=1.0, noise=0.05):
    """n points (n, 2) on a circle: angle ~ U[0, 2 pi), radius + noise N(0, 1) along the ray."""
    n, rng = _count(n), resolve_rng(rng)
    radius, noise = _positive(radius, "radius"), _positive(noise, "noise", allow_zero=True)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    r = radius + noise * rng.standard_normal(n)
    return np.column_stack([r * np.cos(angle), r * np.sin(angle)])


def moons(n, rng, noise=0.1, return_labels=False):
    """n points (n, 2) on two interleaving half circles, plus N(0, noise^2 I).

    Label 0 (probability 1/2): (cos t, sin t); label 1: (1 - cos t, 1/2 - sin t);
    t ~ U[0, pi]. ``return_labels=True`` returns (points, labels).
    """
    n, rng = _count(n), resolve_rng(rng)
    noise = _positive(noise, "noise", allow_zero=True)
    labels = rng.integers(0, 2, n)
    t = rng.uniform(0.0, np.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    points = np.where(labels[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    return (points, labels) if return_labels else points


def parallel_lines(theta, n, rng):
    """n points (n, 2) of the segment {theta} x [0, 1]: (theta, Z), Z ~ U[0, 1] (K8)."""
    theta = float(theta)
    if not np.isfinite(theta):
        raise ValueError(f"theta={theta!r}: expected a finite number")
    n, rng = _count(n), resolve_rng(rng)
    return np.column_stack([np.full(n, theta), rng.random(n)])


class ParallelLine(Distribution):
    """The law of (theta, Z), Z ~ U[0, 1]: uniform on the segment {theta} x [0, 1] (K8, K9).

    It has no density on the plane. Its ``log_prob`` is the density with
    respect to mu = (counting measure on the first coordinate) x (Lebesgue
    on the second): 0 on the segment, -inf off it. Any two such laws have
    densities with respect to this same mu, so KL, JS and f-divergences
    computed from these log densities are the true ones: for theta != theta'
    KL = inf both ways and JS = log 2 (the supports are disjoint). ``rsample``
    returns (theta, u) as a Tensor differentiable in a Tensor theta.
    """

    has_rsample = True

    def __init__(self, theta):
        self.theta = as_param(theta, "theta")
        if self.theta.size != 1:
            raise ValueError(f"theta must be a scalar, got shape {self.theta.shape}")
        super().__init__(batch_shape=(), event_shape=(2,))

    def rsample(self, shape=(), rng=None):
        """x = (theta, u), u ~ U[0, 1): shape ``shape + (2,)``."""
        shape = as_shape(shape)
        u = resolve_rng(rng).random(shape + (1,))
        first = mg.reshape(self.theta, shape=(1,) * (len(shape) + 1)) * np.ones(shape + (1,))
        return mg.concatenate([first, Tensor(u)], axis=-1)

    def log_prob(self, x):
        """0 if x[..., 0] == theta and 0 <= x[..., 1] <= 1, else -inf (density w.r.t. mu)."""
        x = np.asarray(getattr(x, "data", x), dtype=float)
        if x.ndim == 0 or x.shape[-1] != 2:
            raise ValueError(f"x must have last axis of length 2, got shape {x.shape}")
        on_line = (x[..., 0] == self.theta.data.item()) & (x[..., 1] >= 0) & (x[..., 1] <= 1)
        return Tensor(np.where(on_line, 0.0, -np.inf))

    @property
    def mean(self):
        return np.array([self.theta.data.item(), 0.5])

    @property
    def variance(self):
        return np.array([0.0, 1.0 / 12.0])

    def __repr__(self):
        return f"ParallelLine(theta={_show(self.theta.data)})"
