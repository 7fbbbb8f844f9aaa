"""Bernoulli and Categorical against scipy.stats, closed forms and finite differences.

Oracles: scipy.stats.bernoulli / multinomial / entropy, scipy.special
(log_softmax, logsumexp, rel_entr, expit), closed forms written here, central
differences (minigrad.gradcheck), chi-square tests of the samplers with fixed
seeds. Claims: K2 (BCE / cross-entropy are the negative log-likelihoods, KL =
cross-entropy - entropy), K4 (KL to the uniform categorical = log K - H), K1
(KL >= 0, zero iff equal, asymmetric) for the discrete pairs.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import minigrad as mg
from minigrad import Tensor
from dpm.distributions import Bernoulli, Categorical

PROBS = [0.03, 0.3, 0.5, 0.81, 0.999]


def kl_divergence(p, q):
    from dpm.kl import kl_divergence as kl  # written beside the continuous pairs
    return kl(p, q)


# --------------------------------------------------------------------- Bernoulli
@pytest.mark.parametrize("p", PROBS)
def test_bernoulli_log_prob_mean_variance_entropy_match_scipy(p):
    ref = st.bernoulli(p)
    for dist in (Bernoulli(probs=p), Bernoulli(logits=np.log(p) - np.log1p(-p))):
        np.testing.assert_allclose(dist.log_prob([0.0, 1.0]).data, ref.logpmf([0, 1]), rtol=1e-12)
        np.testing.assert_allclose(dist.mean.data, ref.mean(), rtol=1e-12)
        np.testing.assert_allclose(dist.variance.data, ref.var(), rtol=1e-12)
        np.testing.assert_allclose(dist.entropy().data, ref.entropy(), rtol=1e-12)


def test_bernoulli_logits_are_exact_where_sigmoid_rounds():
    # log P(1) = -log(1 + e^-t): sigmoid(40) rounds to 1 and sigmoid(-800) to 0 in
    # float64, but the log-probabilities are -4.25e-18 and -800.
    logits = np.array([-800.0, -40.0, 40.0, 800.0])
    dist = Bernoulli(logits=logits)
    np.testing.assert_allclose(dist.log_prob(np.ones(4)).data, -np.logaddexp(0.0, -logits),
                               rtol=1e-15)
    np.testing.assert_allclose(dist.log_prob(np.zeros(4)).data, -np.logaddexp(0.0, logits),
                               rtol=1e-15)
    assert dist.log_prob(np.ones(4)).data[2] == pytest.approx(-np.exp(-40.0), rel=1e-12)
    assert np.all(np.isfinite(dist.entropy().data))


def test_bernoulli_outside_support_and_certain_outcomes():
    dist = Bernoulli(probs=0.3)
    out = dist.log_prob(np.array([0.5, 2.0, -1.0, 1.0])).data
    assert np.all(out[:3] == -np.inf) and np.isfinite(out[3])
    probs = Tensor([0.0, 1.0, 0.4], requires_grad=True)
    certain = Bernoulli(probs=probs)
    values = certain.log_prob(np.array([1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(values.data[:2], [-np.inf, -np.inf])
    assert certain.entropy().data[:2].tolist() == [0.0, 0.0]
    (values[2] + certain.log_prob(np.array([0.0, 1.0, 0.0])).sum()).backward()
    assert np.all(np.isfinite(probs.grad))           # the double where: no NaN
    np.testing.assert_allclose(probs.grad[2], 1 / 0.4 - 1 / 0.6)


def test_bernoulli_gradients_match_finite_differences():
    x = np.array([0.0, 1.0, 1.0, 0.0])
    mg.gradcheck(lambda t: Bernoulli(logits=t).log_prob(x), [np.array([-2.0, 0.3, 1.5, 4.0])])
    mg.gradcheck(lambda p: Bernoulli(probs=p).log_prob(x), [np.array([0.2, 0.4, 0.7, 0.9])])
    mg.gradcheck(lambda t: Bernoulli(logits=t).entropy(), [np.array([-2.0, 0.3, 1.5])])
    mg.gradcheck(lambda p: Bernoulli(probs=p).entropy(), [np.array([0.2, 0.4, 0.9])])


def test_bernoulli_sample_frequency_within_five_standard_errors():
    rng = np.random.default_rng(11)
    p = np.array([0.05, 0.5, 0.9])
    draws = Bernoulli(probs=p).sample((40_000,), rng)
    assert draws.shape == (40_000, 3) and set(np.unique(draws)) <= {0.0, 1.0}
    stderr = np.sqrt(p * (1 - p) / draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - p) <= 5 * stderr)
    again = Bernoulli(probs=p).sample((40_000,), np.random.default_rng(11))
    np.testing.assert_array_equal(draws, again)


@pytest.mark.parametrize("kwargs, name", [
    ({}, "exactly one"), ({"probs": 0.3, "logits": 0.1}, "exactly one"),
    ({"probs": 1.2}, "probs"), ({"probs": -0.1}, "probs"), ({"probs": np.nan}, "probs"),
    ({"logits": np.inf}, "logits")])
def test_bernoulli_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Bernoulli(**kwargs)


@pytest.mark.claim("K2")
def test_bernoulli_negative_log_likelihood_is_binary_cross_entropy():
    rng = np.random.default_rng(3)
    logits, labels = rng.normal(size=50) * 3, (rng.random(50) < 0.4).astype(float)
    p = sp.expit(logits)
    bce = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    nll = -Bernoulli(logits=logits).log_prob(labels).mean().item()
    assert nll == pytest.approx(bce, rel=1e-12)
    # Maximum likelihood of a single p is the mean of the labels: the score vanishes there.
    score = mg.grad(lambda q: Bernoulli(probs=q).log_prob(labels).sum())(labels.mean())
    assert abs(score.item()) < 1e-9


@pytest.mark.claim("K2", "K1")
@pytest.mark.parametrize("a, b", [(0.2, 0.7), (0.5, 0.01), (0.999, 0.5)])
def test_bernoulli_kl_is_cross_entropy_minus_entropy(a, b):
    kl = kl_divergence(Bernoulli(probs=a), Bernoulli(probs=b)).item()
    assert kl == pytest.approx(st.entropy([a, 1 - a], [b, 1 - b]), rel=1e-12)
    cross_entropy = -(a * np.log(b) + (1 - a) * np.log1p(-b))
    assert kl == pytest.approx(cross_entropy - st.bernoulli(a).entropy(), rel=1e-10)
    from_logits = kl_divergence(Bernoulli(logits=sp.logit(a)), Bernoulli(logits=sp.logit(b)))
    assert from_logits.item() == pytest.approx(kl, rel=1e-10)
    reverse = kl_divergence(Bernoulli(probs=b), Bernoulli(probs=a)).item()
    assert kl > 0 and reverse > 0 and abs(kl - reverse) > 1e-3   # not symmetric
    assert kl_divergence(Bernoulli(probs=a), Bernoulli(probs=a)).item() == pytest.approx(0, abs=1e-15)


@pytest.mark.claim("K1")
def test_bernoulli_kl_is_infinite_when_support_is_not_nested():
    assert kl_divergence(Bernoulli(probs=0.3), Bernoulli(probs=0.0)).item() == np.inf
    assert kl_divergence(Bernoulli(probs=0.0), Bernoulli(probs=0.3)).item() == pytest.approx(
        -np.log(0.7))


# --------------------------------------------------------------------- Categorical
def random_probs(rng, shape):
    w = rng.gamma(1.0, size=shape)
    return w / w.sum(axis=-1, keepdims=True)


def test_categorical_log_prob_matches_multinomial_and_log_softmax():
    rng = np.random.default_rng(0)
    probs = random_probs(rng, (5,))
    labels = np.arange(5)
    ref = st.multinomial(1, probs).logpmf(np.eye(5))
    np.testing.assert_allclose(Categorical(probs=probs).log_prob(labels).data, ref, rtol=1e-12)
    logits = rng.normal(size=(3, 5)) * 4
    lp = Categorical(logits=logits).log_prob(np.array([[0], [4]]))   # broadcasts to (2, 3)
    expected = sp.log_softmax(logits, axis=-1)[:, [0, 4]].T
    np.testing.assert_allclose(lp.data, expected, rtol=1e-12)


def test_categorical_entropy_matches_scipy_and_handles_zero_probability():
    rng = np.random.default_rng(1)
    probs = random_probs(rng, (4, 6))
    probs[0, 2] = 0.0
    probs[0] /= probs[0].sum()
    np.testing.assert_allclose(Categorical(probs=probs).entropy().data,
                               st.entropy(probs, axis=-1), rtol=1e-12)
    logits = np.log(probs[1:])
    np.testing.assert_allclose(Categorical(logits=logits).entropy().data,
                               st.entropy(probs[1:], axis=-1), rtol=1e-12)


def test_categorical_out_of_support_labels_are_minus_infinity():
    dist = Categorical(probs=[0.2, 0.0, 0.8])
    out = dist.log_prob(np.array([0, 1, 2, 3, -1, 1.5])).data
    np.testing.assert_allclose(out[[0, 2]], np.log([0.2, 0.8]))
    assert np.all(out[[1, 3, 4, 5]] == -np.inf) and not np.any(np.isnan(out))


def test_categorical_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    labels = np.array([[0, 3, 1], [2, 2, 0]])
    mg.gradcheck(lambda t: Categorical(logits=t).log_prob(labels), [rng.normal(size=(3, 4))])
    mg.gradcheck(lambda t: Categorical(logits=t).entropy(), [rng.normal(size=(2, 5))])
    # normalised inside f, so the finite-difference steps stay on the simplex
    mg.gradcheck(lambda w: Categorical(probs=w / w.sum()).log_prob(labels[0]),
                 [random_probs(rng, (4,)) * 0.5 + 0.125])


def test_categorical_sampler_passes_chi_square():
    rng = np.random.default_rng(5)
    probs = np.array([0.05, 0.2, 0.0, 0.4, 0.35])
    draws = Categorical(probs=probs).sample((50_000,), rng)
    assert draws.dtype.kind == "i" and draws.shape == (50_000,)
    counts = np.bincount(draws, minlength=5)
    assert counts[2] == 0
    keep = probs > 0
    assert st.chisquare(counts[keep], draws.size * probs[keep]).pvalue > 1e-3
    batch = Categorical(logits=np.zeros((2, 3))).sample((7, 4), rng)
    assert batch.shape == (7, 4, 2) and batch.max() <= 2


@pytest.mark.parametrize("kwargs, name", [
    ({"probs": [0.5, 0.6]}, "sum to 1"), ({"probs": [1.5, -0.5]}, "probs"),
    ({"probs": [np.nan, 1.0]}, "probs"), ({"probs": 1.0}, "probs"),
    ({"logits": 0.5}, "logits"), ({"logits": [0.0, np.inf]}, "logits"), ({}, "exactly one")])
def test_categorical_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Categorical(**kwargs)


def test_categorical_has_no_rsample():
    dist = Categorical(probs=[0.5, 0.5])
    assert not dist.has_rsample
    with pytest.raises(NotImplementedError, match="score-function"):
        dist.rsample((3,))


@pytest.mark.claim("K2")
def test_categorical_negative_log_likelihood_is_softmax_cross_entropy():
    rng = np.random.default_rng(4)
    logits, labels = rng.normal(size=(20, 7)) * 2, rng.integers(0, 7, size=20)
    cross_entropy = np.mean(sp.logsumexp(logits, axis=1) - logits[np.arange(20), labels])
    nll = -Categorical(logits=logits).log_prob(labels).mean().item()
    assert nll == pytest.approx(cross_entropy, rel=1e-12)


@pytest.mark.claim("K4", "K2", "K1")
@pytest.mark.parametrize("K", [2, 5, 10])
def test_categorical_kl_to_uniform_is_log_k_minus_entropy(K):
    rng = np.random.default_rng(K)
    q = random_probs(rng, (3, K))
    uniform = Categorical(probs=np.full(K, 1.0 / K))
    kl = kl_divergence(Categorical(probs=q), uniform).data
    np.testing.assert_allclose(kl, np.log(K) - st.entropy(q, axis=-1), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(kl, sp.rel_entr(q, 1.0 / K).sum(axis=-1), rtol=1e-10)
    other = random_probs(rng, (3, K))
    forward = kl_divergence(Categorical(logits=np.log(q)), Categorical(probs=other)).data
    backward = kl_divergence(Categorical(probs=other), Categorical(probs=q)).data
    cross_entropy = -(q * np.log(other)).sum(axis=-1)
    np.testing.assert_allclose(forward, cross_entropy - st.entropy(q, axis=-1), rtol=1e-10)
    assert np.all(forward > 0) and np.all(np.abs(forward - backward) > 1e-6)


@pytest.mark.claim("K1")
def test_categorical_kl_zero_probabilities_and_gradients():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.2, 0.3, 0.5])
    assert kl_divergence(Categorical(probs=p), Categorical(probs=q)).item() == pytest.approx(
        sp.rel_entr(p, q).sum())
    assert kl_divergence(Categorical(probs=q), Categorical(probs=p)).item() == np.inf
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    mg.gradcheck(lambda s, t: kl_divergence(Categorical(logits=s), Categorical(logits=t)), [a, b])
    p_leaf = Tensor(p, requires_grad=True)
    kl_divergence(Categorical(probs=p_leaf), Categorical(probs=q)).backward()
    assert np.all(np.isfinite(p_leaf.grad))
