"""The variational autoencoder (Kingma & Welling 2014; Rezende et al. 2014): claims V6, V10.

A latent-variable model p(x, z) = p(z) p(x | z) with a decoder network giving
p(x | z), fitted together with an encoder network giving the guide
q(z | x) = N(mu(x), diag(sigma(x)^2)) by maximising the ELBO of lecture 003:

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z))              (analytic-KL form)
            = E_q[log p(x | z) + log p(z) - log q(z | x)]            (Monte Carlo form)
            <= log p(x),

z = mu(x) + sigma(x) eps, eps ~ N(0, I) (the reparameterization, so gradients
pass through the draw). Both forms are offered and are equal in expectation
(V6, tested); the analytic form is used when ``dpm.kl_divergence`` knows the
pair (guide, prior), as for the standard-Normal prior; with any other prior
(a flow, V10: log p(z) = log p_base(f^-1(z)) + log |det J_{f^-1}(z)|, see
``vae_priors.flow_prior``) the Monte Carlo form is used. ``iwae`` is the importance-weighted bound of Burda
et al. (2016), ``log_likelihood`` an importance-sampled log p(x) with the
guide as proposal (both by ``dpm.vi.elbo``).

Likelihoods, p(x | z) with decoder output t = NN(z):
- ``"bernoulli"``: independent pixels, log p(x | z) = sum_j x_j t_j - softplus(t_j)
  (t the logits; x must be binary: 0.0 or 1.0).
- ``"gaussian"``: N(x; t, sigma_x^2 I) with a learned log sigma_x, one for all
  pixels (``gaussian_scale="shared"``, the default: the pPCA model of V7) or
  one per pixel (``"per_pixel"``).

Training, checkpoints and held-out evaluation are in ``vae_training``;
probabilistic PCA, the linear-Gaussian reference (V7), in ``ppca``.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor, nn
from dpm.distributions import DiagonalNormal
from dpm.distributions.base import Distribution, as_shape, resolve_rng
from dpm.kl import KL_REGISTRY, kl_divergence
from dpm.montecarlo import Estimate
from dpm.models.ppca import ppca_log_likelihood, ppca_mle, principal_angles  # noqa: F401
from dpm.vi.elbo import elbo as mc_elbo, iwae as mc_iwae, log_evidence

LIKELIHOODS = ("bernoulli", "gaussian")
GAUSSIAN_SCALES = ("shared", "per_pixel")
KL_FORMS = ("auto", "analytic", "mc")


class IndependentBernoulli(Distribution):
    """d independent Bernoulli pixels as one event: log p(x) = sum_j x_j t_j - softplus(t_j).

    ``logits`` t has shape (..., d); for x in {0, 1} the summand is
    log sigmoid((2 x - 1) t), written here with one softplus (it is the
    negative binary cross-entropy with logits).
    """

    has_rsample = False

    def __init__(self, logits):
        self.logits = logits if isinstance(logits, Tensor) else Tensor(logits)
        super().__init__(self.logits.shape[:-1], self.logits.shape[-1:])

    @property
    def probs(self):
        return mg.sigmoid(self.logits)

    @property
    def mean(self):
        return self.probs

    def log_prob(self, x):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.logits.dtype))
        return mg.bernoulli_log_prob(self.logits, x)   # one fused primitive (the hot path)

    def sample(self, shape=(), rng=None):
        probs = self.probs.data
        u = resolve_rng(rng).random(as_shape(shape) + probs.shape)
        return (u < probs).astype(probs.dtype)


def _count(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def network(sizes, activation, rng, dtype):
    """Linear layers between consecutive ``sizes``, ``activation`` between them (not after)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.activation_function(activation))
        layers.append(nn.Linear(n_in, n_out, rng=rng, dtype=dtype))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Encoder x -> (mu, log sigma) of q(z | x), decoder z -> p(x | z), prior p(z).

    ``hidden`` lists the encoder's hidden widths (the decoder mirrors them);
    ``hidden=()`` gives linear maps (the pPCA check, V7). ``prior`` is any
    distribution over z with ``log_prob`` (and ``sample`` for ``sample``),
    default N(0, I); a prior that is a ``minigrad.nn.Module`` (a flow), or a
    TransformedDistribution whose transforms are Modules, is trained with the
    rest. ``rng`` draws the initial weights.
    """

    def __init__(self, x_dim, z_dim, hidden=(128,), likelihood="bernoulli", prior=None,
                 rng=None, activation="relu", gaussian_scale="shared", dtype=np.float64):
        self.x_dim, self.z_dim = _count(x_dim, "x_dim"), _count(z_dim, "z_dim")
        hidden = tuple(_count(h, f"hidden[{i}]") for i, h in enumerate(hidden))
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if gaussian_scale not in GAUSSIAN_SCALES:
            raise ValueError(f"gaussian_scale must be one of {GAUSSIAN_SCALES}, "
                             f"got {gaussian_scale!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        rng = resolve_rng(rng)
        self.likelihood, self.hidden, self.dtype = likelihood, hidden, np.dtype(dtype)
        self.encoder = network((self.x_dim,) + hidden + (2 * self.z_dim,), activation, rng,
                               dtype)
        self.decoder = network((self.z_dim,) + hidden[::-1] + (self.x_dim,), activation, rng,
                               dtype)
        if likelihood == "gaussian":
            width = 1 if gaussian_scale == "shared" else self.x_dim
            self.log_scale_x = Tensor(np.zeros(width, dtype=dtype), requires_grad=True)
        self.gaussian_scale = gaussian_scale if likelihood == "gaussian" else None
        if prior is None:
            prior = DiagonalNormal(np.zeros(self.z_dim, dtype=dtype),
                                   np.ones(self.z_dim, dtype=dtype))
            self._standard_prior = prior   # its KL is the fused mg.normal_kl_standard
        if not hasattr(prior, "log_prob"):
            raise TypeError(f"prior must have log_prob(z), got {type(prior).__name__}")
        if tuple(getattr(prior, "event_shape", (self.z_dim,))) != (self.z_dim,):
            raise ValueError(f"prior must have event shape ({self.z_dim},) (z_dim), "
                             f"got {prior.event_shape}")
        self.prior = prior
        if not isinstance(prior, nn.Module):
            # A TransformedDistribution of trainable layers (a flow that is not itself a
            # Module): list the layers so that parameters() finds and fit() trains them.
            self.prior_layers = [t for t in getattr(prior, "transforms", [])
                                 if isinstance(t, nn.Module)]

    # ------------------------------------------------------------ the model
    def _as_input(self, x):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype))
        if x.ndim < 1 or x.shape[-1] != self.x_dim:
            raise ValueError(f"x must have shape (..., {self.x_dim}) (x_dim), got {x.shape}")
        if self.likelihood == "bernoulli" and not np.all((x.data == 0) | (x.data == 1)):
            raise ValueError("x must be binary (0.0 or 1.0) for likelihood='bernoulli'; "
                             "binarize it (dpm.datasets.load_digits(binarize=...)) or use "
                             "likelihood='gaussian'")
        return x

    def encode(self, x):
        """q(z | x) = N(mu(x), diag(exp(2 log sigma(x)))): a DiagonalNormal, batch x.shape[:-1]."""
        loc, log_scale = self._guide_parameters(x)
        return DiagonalNormal(loc, mg.exp(log_scale))

    def _guide_parameters(self, x):
        """(mu(x), log sigma(x)), the two halves of the encoder's output."""
        out = self.encoder(x if isinstance(x, Tensor) else Tensor(np.asarray(x, self.dtype)))
        return out[..., :self.z_dim], out[..., self.z_dim:]

    def decode(self, z):
        """p(x | z): IndependentBernoulli(logits) or DiagonalNormal(mean, sigma_x)."""
        out = self.network2d(self.decoder, z)
        if self.likelihood == "bernoulli":
            return IndependentBernoulli(out)
        return DiagonalNormal(out, mg.exp(self.log_scale_x))

    def network2d(self, net, inputs):
        """net(inputs) with the leading axes (draws, batch) flattened into one.

        A stack (k, B, d) would make every matmul a batched one, which NumPy
        runs far slower than one (k B, d) matrix product (its batched loop and,
        in the backward pass, a sum over the stack); the result is reshaped back.
        """
        inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs, self.dtype))
        if inputs.ndim <= 2:
            return net(inputs)
        lead = inputs.shape[:-1]
        out = net(mg.reshape(inputs, shape=(-1, inputs.shape[-1])))
        return mg.reshape(out, shape=lead + out.shape[-1:])

    def log_joint(self, x):
        """The closure z -> log p(x | z) + log p(z), for ``dpm.vi.elbo``'s estimators."""
        x = self._as_input(x)
        return lambda z: self.decode(z).log_prob(x) + self.prior.log_prob(z)

    def analytic_kl(self):
        """True when KL(q(z | x) || p(z)) has a registered closed form for this prior."""
        return (DiagonalNormal, type(self.prior)) in KL_REGISTRY

    # -------------------------------------------------------------- bounds
    def elbo(self, x, rng=None, k=1, kl="auto"):
        """Per-image ELBO from k draws of q(z | x): an Estimate of shape x.shape[:-1].

        ``kl="analytic"``: mean_k log p(x | z_k) - KL(q || p) (closed form);
        ``kl="mc"``: mean_k [log p(x | z_k) + log p(z_k) - log q(z_k | x)];
        ``"auto"``: analytic where the pair is registered. The standard error is
        over the k draws (NaN for k = 1).
        """
        if kl not in KL_FORMS:
            raise ValueError(f"kl must be one of {KL_FORMS}, got {kl!r}")
        k, rng = _count(k, "k"), resolve_rng(rng)
        x = self._as_input(x)
        loc, log_scale = self._guide_parameters(x)
        if kl != "mc" and self.prior is getattr(self, "_standard_prior", None):
            # The training hot path: z drawn as DiagonalNormal(loc, e^l).rsample((k,), rng)
            # does (the same numbers, by the fused reparameterize), and KL(q || N(0, I))
            # from (mu, log sigma) as one primitive: kl_divergence's value (tested) in one
            # dispatch instead of ~60.
            eps = rng.standard_normal((k,) + loc.shape).astype(loc.dtype, copy=False)
            if k == 1:   # one draw: the same numbers, without a draws axis to add and remove
                z = mg.reparameterize(loc, log_scale, eps[0])
                bound = self.decode(z).log_prob(x) - mg.normal_kl_standard(loc, log_scale)
                return Estimate.from_tensor(bound, np.full(bound.shape, np.nan), 1)
            z = mg.reparameterize(loc, log_scale, eps)
            return Estimate.from_draws(self.decode(z).log_prob(x)
                                       - mg.normal_kl_standard(loc, log_scale))
        guide = DiagonalNormal(loc, mg.exp(log_scale))
        if kl == "mc" or (kl == "auto" and not self.analytic_kl()):
            return mc_elbo(lambda z: self.decode(z).log_prob(x) + self.prior.log_prob(z),
                           guide, n=k, rng=rng)
        z = guide.rsample((k,), rng)
        return Estimate.from_draws(self.decode(z).log_prob(x) - kl_divergence(guide, self.prior))

    def iwae(self, x, rng=None, k=1, n=1):
        """IWAE_k = E log (1/k) sum_i p(x, z_i) / q(z_i | x), per image; s.e. over n groups."""
        return mc_iwae(self.log_joint(x), self.encode(x), k=_count(k, "k"), n=_count(n, "n"),
                       rng=resolve_rng(rng))

    def log_likelihood(self, x, rng=None, n=1000):
        """Importance-sampled log p(x) with q(z | x) as proposal (delta-method s.e.), per image."""
        return log_evidence(self.log_joint(x), self.encode(x), n=n, rng=resolve_rng(rng))

    # ------------------------------------------------------------ sampling
    def sample(self, n, rng=None, mean=False):
        """n draws x ~ p(x | z), z ~ p(z), as an (n, x_dim) array; ``mean=True``: E[x | z]."""
        n, rng = _count(n, "n"), resolve_rng(rng)
        with mg.no_grad():
            z = self.prior.sample((n,), rng)
            p = self.decode(np.asarray(z, dtype=self.dtype))
            return p.mean.data.copy() if mean else p.sample((), rng)

    def reconstruct(self, x):
        """E[x | z = mu(x)]: the decoder's mean at the guide's mean, (..., x_dim) array."""
        with mg.no_grad():
            guide = self.encode(self._as_input(x))
            return self.decode(guide.loc).mean.data.copy()

    def fit(self, x, epochs, batch_size=128, lr=1e-3, rng=None, **options):
        """Minibatch Adam on -ELBO; see ``dpm.models.vae_training.fit`` for the options."""
        from dpm.models.vae_training import fit
        return fit(self, x, epochs, batch_size=batch_size, lr=lr, rng=rng, **options)

    def __repr__(self):
        return (f"VAE(x_dim={self.x_dim}, z_dim={self.z_dim}, hidden={self.hidden}, "
                f"likelihood={self.likelihood!r}, prior={type(self.prior).__name__})")
