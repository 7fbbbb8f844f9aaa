"""GAN training losses, from the discriminator's logits l (D = sigmoid(l)) (G3, G6).

Each loss is what its player *minimises*, averaged over a minibatch:

    kind              discriminator / critic                      generator
    minimax           -mean log D(x) - mean log(1 - D(G(z)))       mean log(1 - D(G(z)))
    non_saturating    same as minimax                              -mean log D(G(z))
    least_squares     1/2 mean (l(x) - b)^2 + 1/2 mean (l(G(z)) - a)^2
                                                                   1/2 mean (l(G(z)) - c)^2
    wasserstein       mean f(G(z)) - mean f(x)                     -mean f(G(z))

Minimax is the game of Goodfellow et al. (2014): its generator loss
log(1 - D) = log_sigmoid(-l) has derivative -sigmoid(l) in l, which tends
to 0 as D(G(z)) -> 0, so early in training, when D rejects the fakes, the
generator learns nothing. The non-saturating loss -log D = -log_sigmoid(l)
has derivative -(1 - sigmoid(l)) -> -1 there (G3, ``generator_logit_gradient``).

Least squares (Mao et al. 2017, LSGAN): the discriminator's raw output l is
regressed on b for data and a for fakes; the generator pulls its fakes'
outputs to c. With b - c = 1 and b - a = 2 (e.g. a, b, c = -1, 1, 0) the
generator minimises the Pearson chi^2 divergence of P + P_g from 2 P_g
(``lsgan_optimal_output``, ``lsgan_pearson``); the default (0, 1, 1) is
the coding Mao et al. use in practice.

Wasserstein (Arjovsky et al. 2017): the critic f (its raw output, the
"logit") maximises E_P f - E_{P_g} f under a Lipschitz constraint (weight
clipping or the gradient penalty of ``penalty.py``); that supremum is W1.

Numerics: log D = log_sigmoid(l) and log(1 - D) = log_sigmoid(-l), so the
losses and their gradients are finite for logits of any size (+-1e3 and
beyond), never log(sigmoid(l)).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import as_tensor

KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein")
LSGAN_TARGETS = (0.0, 1.0, 1.0)  # (a, b, c): fake target, real target, generator's target
PEARSON_TARGETS = (-1.0, 1.0, 0.0)  # b - c = 1, b - a = 2: the Pearson chi^2 coding


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def _logits(name, logits):
    logits = as_tensor(logits)
    if logits.ndim == 0 or logits.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of logits, got shape {logits.shape}")
    if logits.ndim == 2 and logits.shape[1] != 1 or logits.ndim > 2:
        raise ValueError(f"{name} must have shape (m,) or (m, 1), got {logits.shape}")
    if not np.all(np.isfinite(logits.data)):
        raise ValueError(f"{name} contains NaN or inf")
    return logits


def _targets(targets):
    try:
        a, b, c = (float(t) for t in targets)
    except (TypeError, ValueError):
        raise ValueError(f"targets must be three numbers (a, b, c), got {targets!r}") from None
    if a == b:
        raise ValueError(f"targets a and b must differ (fake vs real), got {targets!r}")
    return a, b, c


def discriminator_loss(real_logits, fake_logits, kind="minimax", targets=LSGAN_TARGETS):
    """The discriminator's (critic's) loss on a minibatch, to be minimised; see the table above.

    ``real_logits``: l(x) on data, ``fake_logits``: l(G(z)) on fakes, each of
    shape (m,) or (m, 1) (Tensors, so gradients reach D's parameters).
    ``targets`` = (a, b, c) for ``least_squares`` only. A scalar Tensor.
    """
    kind = _check_kind(kind)
    real, fake = _logits("real_logits", real_logits), _logits("fake_logits", fake_logits)
    if kind in ("minimax", "non_saturating"):
        # -[log D(x)] - [log(1 - D(G(z)))], both as log_sigmoid of a logit.
        return -(mg.log_sigmoid(real).mean() + mg.log_sigmoid(-fake).mean())
    if kind == "least_squares":
        a, b, _ = _targets(targets)
        return 0.5 * (mg.square(real - b).mean() + mg.square(fake - a).mean())
    return fake.mean() - real.mean()  # wasserstein: -(E_P f - E_Pg f)


def generator_loss(fake_logits, kind="non_saturating", targets=LSGAN_TARGETS):
    """The generator's loss on the discriminator's logits at its fakes, to be minimised.

    minimax: mean log(1 - D) = mean log_sigmoid(-l) (saturates as D -> 0);
    non_saturating: -mean log D = -mean log_sigmoid(l); least_squares:
    1/2 mean (l - c)^2; wasserstein: -mean f. A scalar Tensor.
    """
    kind = _check_kind(kind)
    fake = _logits("fake_logits", fake_logits)
    if kind == "minimax":
        return mg.log_sigmoid(-fake).mean()
    if kind == "non_saturating":
        return -mg.log_sigmoid(fake).mean()
    if kind == "least_squares":
        _, _, c = _targets(targets)
        return 0.5 * mg.square(fake - c).mean()
    return -fake.mean()


def generator_logit_gradient(fake_logit, kind):
    """Closed form of d/dl of one fake's generator loss, as an ndarray (G3).

    minimax: d/dl log sigmoid(-l) = -sigmoid(l) = -D, which -> 0 as D -> 0;
    non_saturating: d/dl -log sigmoid(l) = -(1 - sigmoid(l)) = -(1 - D) -> -1.
    In terms of D: |grad| = D versus 1 - D, so the ratio is (1 - D) / D.
    """
    if kind not in ("minimax", "non_saturating"):
        raise ValueError(f"kind must be 'minimax' or 'non_saturating', got {kind!r}")
    logit = np.asarray(fake_logit, dtype=float)
    # sigmoid in the stable form: exp(-softplus(-l)).
    d = np.exp(-np.logaddexp(0.0, -logit))
    one_minus_d = np.exp(-np.logaddexp(0.0, logit))
    return -d if kind == "minimax" else -one_minus_d


def lsgan_optimal_output(log_p, log_pg, targets=PEARSON_TARGETS):
    """D*(x) = (b p(x) + a p_g(x)) / (p(x) + p_g(x)), the LSGAN discriminator's optimum.

    Pointwise minimiser of 1/2 p (D - b)^2 + 1/2 p_g (D - a)^2; written as
    a + (b - a) sigmoid(log p - log p_g) so it is exact in log space.
    """
    a, b, _ = _targets(targets)
    log_ratio = np.asarray(log_p, dtype=float) - np.asarray(log_pg, dtype=float)
    return a + (b - a) * np.exp(-np.logaddexp(0.0, -log_ratio))


def lsgan_generator_objective(log_p, log_pg, targets=PEARSON_TARGETS):
    """The integrand of C(G) = 1/2 E_{P}[(D* - c)^2] + 1/2 E_{P_g}[(D* - c)^2] at x.

    Mao et al. (2017) add the first term (constant in G) so that, with
    b - c = 1 and b - a = 2, 2 C(G) = chi^2_Pearson(P + P_g || 2 P_g) =
    int (2 p_g - (p + p_g))^2 / (p + p_g) dx; with M = (P + P_g) / 2 that is
    C(G) = chi^2_Pearson(P_g || M) = int (p_g - m)^2 / m dx (G6). Returns
    p (D* - c)^2 / 2 + p_g (D* - c)^2 / 2 as an ndarray.
    """
    _, _, c = _targets(targets)
    d_star = lsgan_optimal_output(log_p, log_pg, targets)
    return 0.5 * (np.exp(log_p) + np.exp(log_pg)) * (d_star - c) ** 2
