"""Minibatch features (G5's remedy): the minibatch standard deviation and its critic.

The statistic against NumPy's std written out, its gradient against central
differences, and the trainer's handling of a critic that mixes samples: each
call sees only data or only fakes (never the stacked batch), the per-sample
gradient penalty is refused for it, and the run is seeded and resumable.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import MLP
from dpm.models.gan import GANTrainer, MinibatchStdCritic, gradient_penalty, minibatch_std


def reference_std(h, group_size):
    """NumPy: per group, mean over features of sqrt(population variance + 1e-8)."""
    m = len(h)
    size = m if group_size is None else group_size
    out = np.empty(m)
    for start in range(0, m, size):
        block = h[start:start + size]
        out[start:start + size] = np.sqrt(block.var(axis=0) + 1e-8).mean()
    return out


@pytest.mark.claim("G5")
@pytest.mark.parametrize("group_size", [None, 2, 4, 12])
def test_minibatch_std_matches_numpy(group_size):
    h = np.random.default_rng(0).normal(size=(12, 5)) * np.arange(1, 6)
    s = minibatch_std(Tensor(h), group_size)
    assert s.shape == (12, 1)
    np.testing.assert_allclose(s.data[:, 0], reference_std(h, group_size), rtol=1e-13)


@pytest.mark.claim("G5")
def test_minibatch_std_of_identical_samples_is_the_floor_and_its_gradient_finite():
    h = Tensor(np.ones((4, 3)), requires_grad=True)
    s = minibatch_std(h)
    np.testing.assert_allclose(s.data, 1e-4)  # sqrt(0 + 1e-8)
    (g,) = mg.gradients(s.sum(), [h])
    assert np.all(np.isfinite(g.data))


@pytest.mark.claim("G5")
@pytest.mark.parametrize("group_size", [None, 3])
def test_minibatch_std_gradient_matches_finite_differences(group_size):
    h = np.random.default_rng(1).normal(size=(6, 4))
    weights = np.random.default_rng(2).normal(size=(6, 1))
    assert mg.gradcheck(lambda t: (minibatch_std(t, group_size) * weights).sum(), [h])


@pytest.mark.claim("G5")
def test_critic_sees_the_batch_statistic():
    """The same point scores differently beside a spread-out batch than beside copies of
    itself (a per-sample MLP cannot), and the critic's gradient checks out."""
    critic = MinibatchStdCritic([2, 8, 8, 1], rng=np.random.default_rng(3))
    x = np.zeros((4, 2))
    spread = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 2.0], [1.0, 4.0]])
    assert critic(x).data[0, 0] != pytest.approx(critic(spread).data[0, 0], abs=1e-6)
    assert mg.gradcheck(lambda t: critic(t).sum(), [spread + 0.1])


class Spy(MinibatchStdCritic):
    """Records every batch the trainer shows it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def forward(self, x):
        self.seen.append(np.array(x.data if isinstance(x, Tensor) else x))
        return super().forward(x)


@pytest.mark.claim("G5")
def test_trainer_scores_data_and_fakes_in_separate_calls():
    """Data near +10, fakes from a generator near 0: every batch the critic sees in its step
    is all data or all fakes (statistics per real and per fake minibatch), m rows each."""
    m = 16
    init = np.random.default_rng(4)
    generator, critic = MLP([2, 8, 2], rng=init), Spy([2, 8, 8, 1], rng=init)
    trainer = GANTrainer(generator, critic, lambda n, rng: 10.0 + 0.1 * rng.standard_normal((n, 2)),
                         batch_size=m, rng=np.random.default_rng(5))
    trainer.critic_step()
    assert [len(x) for x in critic.seen] == [m, m]
    real, fake = critic.seen
    assert np.all(real > 9.0) and np.all(np.abs(fake) < 5.0)


@pytest.mark.claim("G5")
def test_trainer_with_minibatch_critic_is_seeded_and_resumes(tmp_path):
    def make():
        init = np.random.default_rng(6)
        return GANTrainer(MLP([2, 8, 2], rng=init),
                          MinibatchStdCritic([2, 8, 8, 1], group_size=4, rng=init),
                          lambda n, rng: rng.standard_normal((n, 2)) + 3.0, batch_size=16,
                          rng=np.random.default_rng(7))
    straight, resumed = make(), make()
    straight.train(8, progress=False)
    resumed.train(4, progress=False, checkpoint=tmp_path / "mb.npz")
    again = make().load(tmp_path / "mb.npz")
    again.train(8, progress=False)
    assert again.history == straight.history
    for a, b in zip(again.discriminator.parameters(), straight.discriminator.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_bad_arguments_are_named():
    critic = MinibatchStdCritic([2, 4, 1], rng=np.random.default_rng(8))
    with pytest.raises(ValueError, match="gp_weight"):
        GANTrainer(MLP([2, 4, 2], rng=np.random.default_rng(9)), critic,
                   lambda n, rng: rng.standard_normal((n, 2)), kind="wasserstein",
                   gp_weight=10.0)
    with pytest.raises(ValueError, match="mixes_samples"):
        gradient_penalty(critic, np.ones((4, 2)), np.zeros((4, 2)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="group_size"):
        minibatch_std(Tensor(np.ones((6, 2))), 4)
    with pytest.raises(ValueError, match="group_size"):
        MinibatchStdCritic([2, 4, 1], group_size=1)
    with pytest.raises(ValueError, match="sizes"):
        MinibatchStdCritic([2, 1])
    with pytest.raises(ValueError, match="h must"):
        minibatch_std(Tensor(np.ones(6)))
