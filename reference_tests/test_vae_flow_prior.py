"""A VAE whose prior is a RealNVP flow (claim V10): log p(z) = log N(f^-1(z)) + log|det J_{f^-1}(z)|.

Oracles, all independent of the flow and VAE code: the couplings' inverse
re-written in NumPy from the networks' weight arrays, the log-determinant of
that NumPy inverse by central differences and ``numpy.linalg.det``, the base
density by ``scipy.stats.norm``; the VAE's ELBO re-computed in NumPy
(encoder and decoder from their weights, q by scipy.stats.norm) and compared
with ``VAE.elbo`` within 5 s.e.; a trapezoid integral of the density; a KS
test of samples pulled back to the base. At the identity start the Monte
Carlo ELBO equals the analytic standard-Normal ELBO of the same weights
within 5 s.e.; training raises the held-out bound by a stated margin, and
the trained prior itself gains on held-out encodings over the identity.
"""
import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from minigrad import nn
from dpm.datasets import load_digits
from dpm.distributions import DiagonalNormal, TransformedDistribution
from dpm.models.flows import AffineCoupling, Flow, Permutation
from dpm.models.vae import VAE
from dpm.models.vae_priors import flow_prior
from dpm.models.vae_training import held_out_elbo

pytestmark = pytest.mark.claim("V10")


def randomised(prior, seed, spread=0.4):
    """Every parameter redrawn N(0, spread^2): a flow far from the identity."""
    rng = np.random.default_rng(seed)
    for p in prior.parameters():
        p.data[...] = spread * rng.normal(size=p.shape)
    return prior


def numpy_mlp(linears, x, activation):
    for k, layer in enumerate(linears):
        x = x @ layer.weight.data + layer.bias.data
        if k < len(linears) - 1:
            x = activation(x)
    return x


def numpy_inverse(flow, y):
    """f^-1(y) by NumPy alone: each coupling x_B = (y_B - t(y_A)) exp(-s(y_A)), last layer first."""
    for layer in reversed(flow.transforms):
        if isinstance(layer, Permutation):
            y = y[..., np.argsort(layer.permutation)]
            continue
        a, b = y[..., :layer.split], y[..., layer.split:]
        kept, changed = (b, a) if layer.flip else (a, b)
        out = numpy_mlp(layer.net.layers, kept, np.tanh)
        s = layer.scale_bound * np.tanh(out[..., :layer.n_change] / layer.scale_bound)
        changed = (changed - out[..., layer.n_change:]) * np.exp(-s)
        y = np.concatenate([changed, kept] if layer.flip else [kept, changed], axis=-1)
    return y


def numpy_log_prob(flow, z, h=1e-5):
    """log N(f^-1(z); 0, I) + log|det J_{f^-1}(z)|, the Jacobian by central differences."""
    dim = z.shape[-1]
    columns = [(numpy_inverse(flow, z + h * e) - numpy_inverse(flow, z - h * e)) / (2 * h)
               for e in np.eye(dim)]
    jacobian = np.stack(columns, axis=-1)                      # (..., dim_out, dim_in)
    log_det = np.log(np.abs(np.linalg.det(jacobian)))
    return stats.norm.logpdf(numpy_inverse(flow, z)).sum(axis=-1) + log_det


def test_flow_prior_is_a_real_flow_of_couplings():
    prior = flow_prior(3, n_layers=4, rng=np.random.default_rng(0))
    assert isinstance(prior, Flow) and isinstance(prior, nn.Module)
    kinds = [type(t).__name__ for t in prior.transforms]
    assert kinds == ["AffineCoupling", "AffineCoupling", "Permutation",
                     "AffineCoupling", "AffineCoupling"]
    assert [t.flip for t in prior.transforms if isinstance(t, AffineCoupling)] == [
        False, True, False, True]


def test_flow_prior_log_prob_is_the_change_of_variables():
    prior = randomised(flow_prior(3, n_layers=4, hidden=(8,), rng=np.random.default_rng(1)), 2)
    z = np.random.default_rng(3).normal(size=(6, 3)) * 1.5
    with mg.no_grad():
        ours = prior.log_prob(z).data
    np.testing.assert_allclose(ours, numpy_log_prob(prior, z), rtol=1e-7, atol=1e-7)
    # not the base density: the flow is far from the identity
    assert np.max(np.abs(ours - stats.norm.logpdf(z).sum(axis=1))) > 0.5


def test_flow_prior_density_integrates_to_one():
    """Trapezoid on [-20, 20]^2, step 0.05. The density is smooth and decays fast, so the
    trapezoid error is tiny; what could be missed is mass outside the box, and the density on
    the box's boundary is checked to be < 1e-12 (the tails beyond hold far less than 1e-6)."""
    prior = randomised(flow_prior(2, n_layers=4, hidden=(8,), rng=np.random.default_rng(4)), 5,
                       spread=0.3)
    grid = np.linspace(-20, 20, 801)
    z1, z2 = np.meshgrid(grid, grid, indexing="ij")
    with mg.no_grad():
        density = np.exp(prior.log_prob(np.stack([z1, z2], axis=-1)).data)
    edge = np.concatenate([density[0], density[-1], density[:, 0], density[:, -1]])
    assert edge.max() < 1e-12
    mass = np.trapezoid(np.trapezoid(density, grid, axis=1), grid)
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_samples_pulled_back_are_standard_normal():
    prior = randomised(flow_prior(2, n_layers=4, hidden=(8,), rng=np.random.default_rng(6)), 7)
    draws = prior.sample((4000,), np.random.default_rng(8))
    u = numpy_inverse(prior, np.asarray(draws))
    for j in range(2):
        assert stats.kstest(u[:, j], "norm").pvalue > 1e-3
    assert stats.kstest(draws[:, 0], "norm").pvalue < 1e-6   # the draws themselves are not


def numpy_elbo_draws(model, x, n, rng):
    """n draws per image of log p(x|z) + log p(z) - log q(z|x), everything in NumPy."""
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    linears = lambda net: [m for m in net.layers if isinstance(m, nn.Linear)]  # noqa: E731
    out = numpy_mlp(linears(model.encoder), x, relu)
    loc, scale = out[:, :model.z_dim], np.exp(out[:, model.z_dim:])
    z = loc + scale * rng.normal(size=(n,) + loc.shape)
    logits = numpy_mlp(linears(model.decoder), z, relu)
    log_lik = -np.logaddexp(0.0, -(2 * x - 1) * logits).sum(axis=-1)
    log_q = stats.norm.logpdf(z, loc, scale).sum(axis=-1)
    return log_lik + numpy_log_prob(model.prior, z) - log_q


def test_vae_elbo_uses_the_flow_log_density():
    x, _ = load_digits(binarize=True, split="test")
    x = x[:4]
    prior = randomised(flow_prior(2, n_layers=4, hidden=(8,), rng=np.random.default_rng(9)), 10)
    model = VAE(64, 2, hidden=(16,), prior=prior, rng=np.random.default_rng(11))
    assert not model.analytic_kl()
    with mg.no_grad():
        ours = model.elbo(x, np.random.default_rng(12), k=3000)
    draws = numpy_elbo_draws(model, x, 3000, np.random.default_rng(13))
    theirs, theirs_se = draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    tolerance = 5 * np.hypot(ours.stderr, theirs_se)
    assert np.all(np.abs(ours.data - theirs) <= tolerance), (ours.data, theirs, tolerance)
    # the standard prior's ELBO of the same networks differs by more than that: the test has teeth
    standard = VAE(64, 2, hidden=(16,), rng=np.random.default_rng(11))
    with mg.no_grad():
        plain = standard.elbo(x, np.random.default_rng(12), k=3000)
    assert np.all(np.abs(plain.data - theirs) > tolerance + 5 * plain.stderr)


def test_identity_start_gives_the_standard_normal_elbo():
    x, _ = load_digits(binarize=True, split="test")
    standard = VAE(64, 3, hidden=(16,), rng=np.random.default_rng(0))
    flow = VAE(64, 3, hidden=(16,), prior=flow_prior(3, rng=np.random.default_rng(1)),
               rng=np.random.default_rng(0))
    assert standard.analytic_kl() and not flow.analytic_kl()
    z = np.random.default_rng(2).normal(size=(10, 3)) * 2
    with mg.no_grad():
        np.testing.assert_allclose(flow.prior.log_prob(z).data,
                                   stats.norm.logpdf(z).sum(axis=1), rtol=1e-12)
        a = standard.elbo(x[:5], np.random.default_rng(3), k=4000)
        b = flow.elbo(x[:5], np.random.default_rng(4), k=4000)
    assert np.all(np.abs(a.data - b.data) <= 5 * np.hypot(a.stderr, b.stderr))


def prior_gain(model, x, n=64, seed=0):
    """Per-image E_q[log p_trained(z) - log N(z; 0, I)] on x, draws z ~ q(z | x)."""
    with mg.no_grad():
        z = model.encode(x).sample((n,), np.random.default_rng(seed))
        gain = model.prior.log_prob(z).data - stats.norm.logpdf(z).sum(axis=-1)
    return gain.mean(axis=0)


def test_flow_prior_trains_with_the_vae():
    """3 epochs: the held-out bound rises by >= 10 nats, every prior parameter is trained, and
    the trained prior beats its identity start on held-out encodings by > 5 s.e."""
    train, _ = load_digits(split="train")
    held_out, _ = load_digits(binarize="stochastic", split="test")
    prior = flow_prior(2, n_layers=4, hidden=(16,), rng=np.random.default_rng(2))
    model = VAE(64, 2, hidden=(32,), prior=prior, rng=np.random.default_rng(0))
    prior_names = [n for n, _ in model.named_parameters() if n.startswith("prior.")]
    assert len(prior_names) == len(prior.parameters()) == 16
    before = held_out_elbo(model, held_out, k=1, seed=0)
    model.fit(train, epochs=3, batch_size=64, lr=3e-3, rng=np.random.default_rng(1),
              binarize=True, progress=False)
    after = held_out_elbo(model, held_out, k=1, seed=0)
    assert after - before >= 10, (before, after)
    last_layers = [t.net.layers[-1].weight.data for t in prior.transforms]
    assert min(np.abs(w).max() for w in last_layers) > 1e-2   # all moved off the identity
    gain = prior_gain(model, held_out)
    assert gain.mean() > 5 * gain.std(ddof=1) / np.sqrt(len(gain)), gain.mean()


def test_a_transformed_distribution_of_couplings_is_trained_as_a_prior():
    layer = AffineCoupling(3, (8,), rng=np.random.default_rng(0))
    prior = TransformedDistribution(DiagonalNormal(np.zeros(3), np.ones(3)), [layer])
    model = VAE(64, 3, hidden=(8,), prior=prior, rng=np.random.default_rng(0))
    params = model.parameters()
    assert all(any(p is q for q in params) for p in layer.parameters())
    start = [p.data.copy() for p in layer.parameters()]
    x, _ = load_digits(binarize=True, split="train")
    model.fit(x[:256], epochs=2, batch_size=64, lr=1e-2, rng=np.random.default_rng(1),
              progress=False)
    assert max(np.abs(p.data - s).max() for p, s in zip(layer.parameters(), start)) > 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="dim"):
        flow_prior(1)
    with pytest.raises(ValueError, match="n_layers"):
        flow_prior(2, n_layers=0)
    with pytest.raises(ValueError, match="scale_bound"):
        flow_prior(2, scale_bound=0.0)
