"""Variational Bayesian linear regression (Bishop, PRML 10.3; claim V4).

Model, for a design matrix Phi (N, M) of basis functions and targets t (N,),
with the noise precision beta known:

    p(t | w) = N(t; Phi w, beta^{-1} I),  p(w | alpha) = N(w; 0, alpha^{-1} I),
    p(alpha) = Gam(alpha; a0, b0)                                 (shape a0, rate b0)

Mean-field q(w, alpha) = q(w) q(alpha); coordinate ascent on the ELBO gives
(Bishop 10.91-10.95 and 10.104):

    q(alpha) = Gam(a_N, b_N),  a_N = a0 + M/2,  b_N = b0 + E[w^T w] / 2,
    q(w)     = N(m_N, S_N),    S_N = (E[alpha] I + beta Phi^T Phi)^{-1},  m_N = beta S_N Phi^T t,

with E[alpha] = a_N / b_N and E[w^T w] = m_N^T m_N + tr S_N. Each update
maximises the bound over one factor, so the bound (Bishop 10.107) never
falls; ``fit`` records it after every iteration in ``history``. The
predictive distribution (10.105) is N(t; m_N^T phi(x), 1/beta + phi^T S_N phi).

The exact posterior, for checking (``exact_posterior``): given alpha the
model is conjugate, p(w | alpha, t) = N(m(alpha), A(alpha)^{-1}) with
A = alpha I + beta Phi^T Phi, and the evidence p(t | alpha) is Bishop 3.86;
the one remaining integral over alpha is done by 1-D quadrature (in
u = log alpha), which gives log p(t), the posterior of alpha, the exact
mean and covariance of w, the exact predictive, and KL(q || p(w, alpha | t)),
so that the identity log p(t) = bound + KL can be checked (V1, V4).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sp
from scipy import integrate, optimize

LOG_2PI = math.log(2.0 * math.pi)


def _check_problem(X, t):
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if X.ndim != 2 or t.shape != X.shape[:1]:
        raise ValueError(f"X must have shape (N, M) and t shape (N,), got {X.shape} and {t.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(t))):
        raise ValueError("X and t must be finite")
    return X, t


def _positive(value, name):
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class VBLinearRegression:
    """Bishop 10.3: ``VBLinearRegression(a0, b0, beta).fit(Phi, t, iters)``.

    After ``fit``: ``mean`` (m_N), ``covariance`` (S_N), ``a``, ``b`` (q(alpha)),
    ``alpha_mean`` = a_N / b_N, ``history`` (the bound after each iteration).
    """

    def __init__(self, a0, b0, beta):
        self.a0, self.b0 = _positive(a0, "a0"), _positive(b0, "b0")
        self.beta = _positive(beta, "beta")

    def fit(self, X, t, iters=50, tol=None):
        """Coordinate ascent from q(alpha) = the prior; ``tol`` stops when the bound gains < tol."""
        X, t = _check_problem(X, t)
        if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
            raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
        M = X.shape[1]
        self._gram, self._proj, self._tt, self._n = X.T @ X, X.T @ t, float(t @ t), X.shape[0]
        self.a, self.b = self.a0 + 0.5 * M, self.b0        # a_N is fixed by the model
        alpha_mean = self.a0 / self.b0
        self.history = []
        for _ in range(iters):
            self.covariance = np.linalg.inv(alpha_mean * np.eye(M) + self.beta * self._gram)
            self.mean = self.beta * self.covariance @ self._proj
            self.b = self.b0 + 0.5 * (self.mean @ self.mean + np.trace(self.covariance))
            alpha_mean = self.a / self.b
            self.history.append(self.bound())
            if tol is not None and len(self.history) > 1 and \
                    self.history[-1] - self.history[-2] < tol:
                break
        return self

    @property
    def alpha_mean(self):
        return self.a / self.b

    def bound(self):
        """The ELBO of the current q(w) q(alpha) (Bishop 10.107), in nats."""
        a, b, m, S, beta = self.a, self.b, self.mean, self.covariance, self.beta
        M, N = len(m), self._n
        e_log_alpha = sp.digamma(a) - math.log(b)
        e_ww = m @ m + np.trace(S)
        log_lik = (0.5 * N * (math.log(beta) - LOG_2PI) - 0.5 * beta * self._tt
                   + beta * m @ self._proj - 0.5 * beta * np.sum(self._gram * (np.outer(m, m) + S)))
        log_prior_w = -0.5 * M * LOG_2PI + 0.5 * M * e_log_alpha - 0.5 * (a / b) * e_ww
        log_prior_alpha = (self.a0 * math.log(self.b0) + (self.a0 - 1) * e_log_alpha
                           - self.b0 * a / b - sp.gammaln(self.a0))
        entropy_w = 0.5 * np.linalg.slogdet(S)[1] + 0.5 * M * (1 + LOG_2PI)
        entropy_alpha = sp.gammaln(a) - (a - 1) * sp.digamma(a) - math.log(b) + a
        return float(log_lik + log_prior_w + log_prior_alpha + entropy_w + entropy_alpha)

    def predict(self, X):
        """(mean, variance) of the predictive N(t; m_N^T phi, 1/beta + phi^T S_N phi) per row."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return X @ self.mean, 1.0 / self.beta + np.einsum("nm,mk,nk->n", X, self.covariance, X)


class ExactPosterior:
    """p(w, alpha | t) of the same model, by 1-D quadrature over alpha (u = log alpha).

    ``log_evidence``, ``alpha_mean``, ``alpha_sd``, ``mean`` and ``covariance``
    of w, ``alpha_density(alpha)``, ``predict(X)``, ``kl_from(vb)``.
    """

    def __init__(self, X, t, a0, b0, beta):
        X, t = _check_problem(X, t)
        self.a0, self.b0 = _positive(a0, "a0"), _positive(b0, "b0")
        self.beta = _positive(beta, "beta")
        self.N, self.M = X.shape
        self._eig, self._vec = np.linalg.eigh(self.beta * X.T @ X)
        self._eig = np.maximum(self._eig, 0.0)
        self._c = self._vec.T @ (self.beta * X.T @ t)            # beta Phi^T t in the eigenbasis
        self._tt = float(t @ t)
        result = optimize.minimize_scalar(lambda u: -self._log_joint_u(u), bounds=(-30, 30),
                                          method="bounded", options={"xatol": 1e-10})
        self._peak_u, self._peak = result.x, -result.fun
        mass = self._integrate(lambda u: np.ones(1))[0]
        self.log_evidence = float(self._peak + math.log(mass))
        stats = self._integrate(lambda u: np.concatenate(
            [[math.exp(u), math.exp(2 * u)], self._w_mean(math.exp(u)),
             self._w_second(math.exp(u)).ravel()])) / mass
        self.alpha_mean = float(stats[0])
        self.alpha_sd = float(math.sqrt(max(stats[1] - stats[0] ** 2, 0.0)))
        self.mean = stats[2:2 + self.M]
        second = stats[2 + self.M:].reshape(self.M, self.M)
        self.covariance = second - np.outer(self.mean, self.mean)

    # -- p(t | alpha) (Bishop 3.86) and p(w | alpha, t), in the eigenbasis of beta Phi^T Phi
    def log_marginal(self, alpha):
        """log p(t | alpha) = M/2 log alpha + N/2 log beta - E(m) - 1/2 log|A| - N/2 log 2 pi."""
        coef = self._c / (alpha + self._eig)                       # m(alpha) in the eigenbasis
        misfit = self._tt - 2 * (self._c / self.beta) @ coef + (self._eig / self.beta) @ coef ** 2
        energy = 0.5 * self.beta * misfit + 0.5 * alpha * coef @ coef
        return (0.5 * self.M * math.log(alpha) + 0.5 * self.N * math.log(self.beta) - energy
                - 0.5 * np.sum(np.log(alpha + self._eig)) - 0.5 * self.N * LOG_2PI)

    def _w_mean(self, alpha):
        return self._vec @ (self._c / (alpha + self._eig))

    def _w_second(self, alpha):
        m = self._w_mean(alpha)
        return (self._vec / (alpha + self._eig)) @ self._vec.T + np.outer(m, m)

    def _log_prior(self, alpha):
        return (self.a0 * math.log(self.b0) - sp.gammaln(self.a0) + (self.a0 - 1) * math.log(alpha)
                - self.b0 * alpha)

    def _log_joint_u(self, u):
        alpha = math.exp(u)
        return self._log_prior(alpha) + self.log_marginal(alpha) + u   # + u: d alpha = alpha du

    def _integrate(self, f):
        """int f(u) exp(log p(t, alpha(u)) - peak) du over u (adaptive, vector-valued)."""
        return integrate.quad_vec(lambda u: f(u) * math.exp(self._log_joint_u(u) - self._peak),
                                  self._peak_u - 40, self._peak_u + 40, epsabs=1e-14,
                                  epsrel=1e-12, points=[self._peak_u])[0]

    def alpha_density(self, alpha):
        """p(alpha | t) at the given alphas."""
        return np.array([math.exp(self._log_prior(a) + self.log_marginal(a) - self.log_evidence)
                         for a in np.atleast_1d(alpha)])

    def predict(self, X):
        """(mean, variance) of the exact predictive: phi^T E[w], 1/beta + phi^T Cov[w] phi."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return X @ self.mean, 1.0 / self.beta + np.einsum("nm,mk,nk->n", X, self.covariance, X)

    def kl_from(self, vb):
        """KL(q(w) q(alpha) || p(w, alpha | t)) by quadrature over alpha under q(alpha)."""
        m, S, a, b = vb.mean, vb.covariance, vb.a, vb.b
        neg_entropy = -(0.5 * np.linalg.slogdet(S)[1] + 0.5 * self.M * (1 + LOG_2PI)) - (
            sp.gammaln(a) - (a - 1) * sp.digamma(a) - math.log(b) + a)

        def cross(alpha):          # -E_q(w)[log p(w | alpha, t)] - log p(alpha | t)
            precision = (self._vec * (alpha + self._eig)) @ self._vec.T
            gap = m - self._w_mean(alpha)
            log_det = np.sum(np.log(alpha + self._eig))
            e_log_p_w = -0.5 * self.M * LOG_2PI + 0.5 * log_det - 0.5 * (
                np.sum(precision * S) + gap @ precision @ gap)
            log_p_alpha = self._log_prior(alpha) + self.log_marginal(alpha) - self.log_evidence
            return -(e_log_p_w + log_p_alpha)

        def integrand(u):
            alpha = math.exp(u)
            log_q = a * math.log(b) - sp.gammaln(a) + a * u - b * alpha      # q(alpha) alpha
            return math.exp(log_q) * cross(alpha)

        centre = math.log(a / b)
        width = 40 / math.sqrt(a)
        value = integrate.quad(integrand, centre - width, centre + width, epsabs=1e-13,
                               epsrel=1e-12, limit=400, points=[centre])[0]
        return float(neg_entropy + value)


def exact_posterior(X, t, a0, b0, beta):
    """The exact posterior of the VB model by quadrature over alpha (an ``ExactPosterior``)."""
    return ExactPosterior(X, t, a0, b0, beta)
