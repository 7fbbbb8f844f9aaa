"""SVI with per-data-point parameters and amortized inference (V5) on binarized digits.

Checks, each at a small seeded budget with a stated margin: the lecture's
SVI raises the (per-point optimised) ELBO of a fixed set of digits by more
than 5 nats and 5 s.e.; amortized training raises the encoder's ELBO the
same way; the inner loop raises each point's ELBO without touching theta;
the amortization gap on the same theta is >= 0 within 5 s.e. and below 5%
of |ELBO| ("close"); the reported standard errors match the spread of
independent replicas.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from dpm.datasets import load_digits
from dpm.vi.svi import (BernoulliDecoder, GaussianEncoder, amortization_gap, amortized,
                        evaluate, optimize_local, svi)


@pytest.fixture(scope="module")
def digits():
    train, _ = load_digits(binarize=True, split="train")
    test, _ = load_digits(binarize=True, split="test")
    return train[:1200], test[:100]      # training set, fixed held-out evaluation set


def fitted_elbo(decoder, x, rng):
    """Mean ELBO of x with phi optimised per point (the SVI objective at this theta)."""
    start = np.zeros((len(x), decoder.z_dim))
    return evaluate(decoder, x, *optimize_local(decoder, x, start, start, 60, 0.1, rng), 32, rng)


def encoder_elbo(decoder, encoder, x, rng):
    with mg.no_grad():
        q = encoder(x)
    return evaluate(decoder, x, q.loc.data, np.log(q.scale.data), 32, rng)


@pytest.mark.claim("V5")
def test_svi_raises_elbo(digits):
    train, held = digits
    rng = np.random.default_rng(1)
    decoder = BernoulliDecoder(64, 4, rng=rng)
    before = fitted_elbo(decoder, held, rng)
    loc, log_scale, history = svi(decoder, train, 60, rng, batch_size=64, inner_steps=8)
    after = fitted_elbo(decoder, held, rng)
    gain = float(after.data - before.data)
    assert gain > 5.0 and gain > 5 * np.hypot(before.stderr, after.stderr), (before, after)
    assert len(history) == 60 and loc.shape == (1200, 4) and np.all(np.isfinite(log_scale))


@pytest.mark.claim("V5")
def test_inner_loop_raises_each_point_and_keeps_theta(digits):
    _, held = digits
    rng = np.random.default_rng(2)
    decoder = BernoulliDecoder(64, 4, rng=rng)
    theta = [p.data.copy() for p in decoder.parameters()]
    start = np.zeros((len(held), 4))
    before = evaluate(decoder, held, start, start, 32, rng)
    after = evaluate(decoder, held, *optimize_local(decoder, held, start, start, 40, 0.1, rng),
                     32, rng)
    assert float(after.data - before.data) > 5 * np.hypot(before.stderr, after.stderr)
    assert all(np.array_equal(a, p.data) for a, p in zip(theta, decoder.parameters()))


@pytest.fixture(scope="module")
def amortized_model(digits):
    train, held = digits
    rng = np.random.default_rng(3)
    decoder, encoder = BernoulliDecoder(64, 4, rng=rng), GaussianEncoder(64, 4, rng=rng)
    before = encoder_elbo(decoder, encoder, held, rng)
    history = amortized(decoder, encoder, train, 300, rng, batch_size=64, lr=0.01)
    return decoder, encoder, before, encoder_elbo(decoder, encoder, held, rng), history


@pytest.mark.claim("V5")
def test_amortized_raises_elbo(amortized_model):
    _, _, before, after, history = amortized_model
    gain = float(after.data - before.data)
    assert gain > 5.0 and gain > 5 * np.hypot(before.stderr, after.stderr), (before, after)
    assert np.mean(history[-20:]) > np.mean(history[:20]) + 5.0


@pytest.mark.claim("V5")
def test_amortization_gap_nonnegative_and_small(amortized_model, digits):
    decoder, encoder, _, _, _ = amortized_model
    _, held = digits
    gap, local, amort = amortization_gap(decoder, encoder, held, np.random.default_rng(4),
                                         inner_steps=150)
    assert float(gap.data) >= -5 * gap.stderr, gap
    assert float(gap.data) < 0.05 * abs(float(amort.data)), (gap, amort)
    assert abs(float(local.data - amort.data) - float(gap.data)) < 1e-10


@pytest.mark.claim("V5")
def test_evaluate_stderr_matches_replicas(amortized_model, digits):
    decoder, encoder, _, _, _ = amortized_model
    _, held = digits
    rng = np.random.default_rng(5)
    with mg.no_grad():
        q = encoder(held)
    runs = [evaluate(decoder, held, q.loc.data, np.log(q.scale.data), 4, rng)
            for _ in range(120)]
    values = np.array([float(r.data) for r in runs])
    reported = np.sqrt(np.mean([r.stderr ** 2 for r in runs]))
    ratio = values.std(ddof=1) / reported
    assert abs(ratio - 1) <= 5 / np.sqrt(2 * 119), ratio


def test_bad_input(digits):
    train, _ = digits
    decoder = BernoulliDecoder(64, 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        svi(decoder, train[:, :10], 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        amortized(decoder, GaussianEncoder(64, 4), train[0], 1, np.random.default_rng(0))


@pytest.mark.claim("V5")
@pytest.mark.parametrize("method", ["svi", "amortized"])
def test_resume_from_checkpoint_gives_same_numbers(method, digits, tmp_path):
    train, _ = digits
    train = train[:300]

    def run(steps, path):
        rng = np.random.default_rng(8)
        decoder = BernoulliDecoder(64, 3, rng=np.random.default_rng(9))
        if method == "svi":
            history = svi(decoder, train, steps, rng, batch_size=32, inner_steps=3,
                          checkpoint=path, every=5)[2]
            return decoder, history
        encoder = GaussianEncoder(64, 3, hidden=(16,), rng=np.random.default_rng(10))
        return decoder, amortized(decoder, encoder, train, steps, rng, batch_size=32,
                                  checkpoint=path, every=5)

    straight, straight_history = run(20, None)
    path = tmp_path / f"{method}.npz"
    run(10, path)                                  # interrupted after 10 steps ...
    resumed, resumed_history = run(20, path)       # ... and resumed to 20
    assert resumed_history == straight_history
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
