"""Discrete latents: a Gumbel-softmax VAE and a VQ-VAE (claim V11; K4 for the KL).

Gumbel-softmax VAE (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017). The
latent is N categorical variables c_n of K classes, prior uniform, guide
q(c_n | x) = Categorical(pi_n(x)). The discrete ELBO is

    ELBO(x) = E_{c ~ q}[log p(x | c)] - sum_n KL(q(c_n | x) || Uniform(K)),
    KL(q || Uniform(K)) = sum_k q_k log q_k + log K = log K - H(q)        (K4),

a true lower bound on log p(x). Sampling c has no pathwise derivative, so
training replaces the one-hot c by a relaxed draw on the simplex,
y = softmax((log pi + g) / tau), g Gumbel (``RelaxedOneHotCategorical``),
and keeps the KL of the discrete variables (as in Jang et al.); this
training objective is a surrogate. The temperature is annealed,
tau_t = max(tau_min, tau_0 exp(-rate t)) at global step t (``on_step``,
called by ``fit``). In eval mode (``model.eval()``, as ``fit`` and
``evaluate`` use for held-out numbers) ``elbo`` is the discrete bound above,
with one-hot draws c ~ q.

VQ-VAE (van den Oord et al. 2017): an encoder to N vectors of dimension D,
each replaced by its nearest code (``vq.VectorQuantizer``), a decoder from
the codes; trained on reconstruction error + codebook + beta * commitment
losses. It is an autoencoder with a discrete bottleneck of N log2 K bits,
not a bound on log p(x) (with a uniform prior over codes, its "KL" is the
constant N log K).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad import Tensor, nn
from dpm.distributions import Categorical, RelaxedOneHotCategorical
from dpm.distributions.base import resolve_rng
from dpm.distributions.relaxed import one_hot
from dpm.kl import kl_divergence
from dpm.models.vae import IndependentBernoulli, VAE, _count, network
from dpm.models.vq import VectorQuantizer
from dpm.montecarlo import Estimate


class GumbelSoftmaxVAE(nn.Module):
    """N categorical latents of K classes, uniform prior, Bernoulli pixels (binary x)."""

    def __init__(self, x_dim, n_latents, n_categories, hidden=(128,), temperature=1.0,
                 min_temperature=0.5, anneal_rate=3e-4, hard=False, rng=None,
                 activation="relu", dtype=np.float64):
        self.x_dim = _count(x_dim, "x_dim")
        self.n_latents, self.n_categories = _count(n_latents, "n_latents"), \
            _count(n_categories, "n_categories")
        if n_categories < 2:
            raise ValueError(f"n_categories must be >= 2, got {n_categories!r}")
        if not (0 < min_temperature <= temperature and math.isfinite(temperature)):
            raise ValueError(f"temperature ({temperature!r}) and min_temperature "
                             f"({min_temperature!r}) must satisfy 0 < min <= temperature")
        self.initial_temperature, self.min_temperature = float(temperature), \
            float(min_temperature)
        self.anneal_rate, self.hard = float(anneal_rate), bool(hard)
        self.temperature = self.initial_temperature
        self.dtype = np.dtype(dtype)
        self.likelihood = "bernoulli"
        rng = resolve_rng(rng)
        width = self.n_latents * self.n_categories
        hidden = tuple(_count(h, "hidden") for h in hidden)
        self.encoder = network((self.x_dim,) + hidden + (width,), activation, rng, dtype)
        self.decoder = network((width,) + hidden[::-1] + (self.x_dim,), activation, rng, dtype)

    _as_input = VAE._as_input
    network2d = VAE.network2d

    def on_step(self, step):
        """tau = max(tau_min, tau_0 exp(-rate step)): the annealing schedule."""
        self.temperature = max(self.min_temperature,
                               self.initial_temperature * math.exp(-self.anneal_rate * step))

    def encode(self, x):
        """q(c | x): a Categorical with batch shape x.shape[:-1] + (N,) over K classes."""
        logits = self.encoder(x if isinstance(x, Tensor) else Tensor(np.asarray(x, self.dtype)))
        return Categorical(logits=mg.reshape(
            logits, shape=logits.shape[:-1] + (self.n_latents, self.n_categories)))

    def decode(self, c):
        """p(x | c) from one-hot or relaxed c of shape (..., N, K)."""
        c = c if isinstance(c, Tensor) else Tensor(np.asarray(c, self.dtype))
        return IndependentBernoulli(self.network2d(self.decoder, mg.reshape(
            c, shape=c.shape[:-2] + (self.n_latents * self.n_categories,))))

    def kl_to_uniform(self, guide):
        """sum_n KL(q(c_n | x) || Uniform(K)) (closed form, K4), shape x.shape[:-1]."""
        uniform = Categorical(probs=np.full(self.n_categories, 1.0 / self.n_categories))
        return kl_divergence(guide, uniform).sum(axis=-1)

    def elbo(self, x, rng=None, k=1, relaxed=None):
        """Per-image bound from k draws: relaxed surrogate (training) or discrete ELBO (eval)."""
        k, rng = _count(k, "k"), resolve_rng(rng)
        x = self._as_input(x)
        guide = self.encode(x)
        relaxed = self.training if relaxed is None else relaxed
        if relaxed:
            c = RelaxedOneHotCategorical(self.temperature, logits=guide.logits,
                                         hard=self.hard).rsample((k,), rng)
        else:
            c = Tensor(one_hot(guide.sample((k,), rng), self.n_categories, self.dtype))
        return Estimate.from_draws(self.decode(c).log_prob(x) - self.kl_to_uniform(guide))

    def sample(self, n, rng=None, mean=False):
        """x from p(x | c), c uniform: (n, x_dim)."""
        rng = resolve_rng(rng)
        with mg.no_grad():
            c = one_hot(rng.integers(0, self.n_categories, (_count(n, "n"), self.n_latents)),
                        self.n_categories, self.dtype)
            p = self.decode(c)
            return p.mean.data.copy() if mean else p.sample((), rng)

    def reconstruct(self, x):
        """E[x | c = argmax q(c | x)]."""
        with mg.no_grad():
            guide = self.encode(self._as_input(x))
            c = one_hot(np.argmax(guide.logits.data, axis=-1), self.n_categories, self.dtype)
            return self.decode(c).mean.data.copy()

    def fit(self, x, epochs, batch_size=128, lr=1e-3, rng=None, **options):
        from dpm.models.vae_training import fit
        return fit(self, x, epochs, batch_size=batch_size, lr=lr, rng=rng, **options)


class VQVAE(nn.Module):
    """Encoder to N vectors of dim D, a K-code quantizer, decoder; Bernoulli pixels.

    ``loss(x)`` = -log p(x | z_q) (per image, mean over the batch) + vq loss.
    """

    def __init__(self, x_dim, n_latents, code_dim, num_codes, hidden=(128,), beta=0.25,
                 rng=None, activation="relu", dtype=np.float64):
        self.x_dim, self.n_latents = _count(x_dim, "x_dim"), _count(n_latents, "n_latents")
        self.code_dim = _count(code_dim, "code_dim")
        rng = resolve_rng(rng)
        width = self.n_latents * self.code_dim
        hidden = tuple(_count(h, "hidden") for h in hidden)
        self.encoder = network((self.x_dim,) + hidden + (width,), activation, rng, dtype)
        self.decoder = network((width,) + hidden[::-1] + (self.x_dim,), activation, rng, dtype)
        self.quantizer = VectorQuantizer(num_codes, self.code_dim, beta=beta, rng=rng,
                                         dtype=dtype)
        self.dtype = np.dtype(dtype)

    def encode(self, x):
        """z_e of shape (..., N, D)."""
        h = self.encoder(x if isinstance(x, Tensor) else Tensor(np.asarray(x, self.dtype)))
        return mg.reshape(h, shape=h.shape[:-1] + (self.n_latents, self.code_dim))

    def forward(self, x):
        """(reconstruction log-likelihood per image, the quantizer's result, z_e)."""
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, self.dtype))
        z_e = self.encode(x)
        quantized = self.quantizer(z_e)
        z_q = quantized.z_q
        logits = self.decoder(mg.reshape(z_q, shape=z_q.shape[:-2] + (-1,)))
        return IndependentBernoulli(logits).log_prob(x), quantized, z_e

    def loss(self, x):
        log_lik, quantized, z_e = self.forward(x)
        return -log_lik.mean() + quantized.loss, quantized, z_e

    def reconstruct(self, x):
        with mg.no_grad():
            _, quantized, _ = self.forward(x)
            z_q = quantized.z_q
            return mg.sigmoid(self.decoder(mg.reshape(z_q, shape=z_q.shape[:-2] + (-1,)))).data
