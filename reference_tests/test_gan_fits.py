"""GANs that train, at small seeded budgets (slow): G4, G5, G6, G8 and W2/W3 in training.

Each test trains with ``GANTrainer`` from the settings shared with the demos
(``demos/_gan_setups.py``) and asserts against the target by an independent
measure (exact 1-D W1, modes within 3 sigma of the known centres, the digits
classifier), with margins that fail if training does nothing: an untrained
generator is measured first in every test.
"""
import numpy as np
import pytest

from minigrad import Tensor
from minigrad.nn import MLP
from minigrad.optim import Adam
from dpm.models.gan import (
    GANTrainer, digits_classifier, digits_split, frechet_distance, high_quality_fraction,
    inception_score, modes_covered, sliced_wasserstein, value)
from dpm.datasets import parallel_lines
from dpm.wasserstein import wasserstein_1d
from demos._gan_setups import (
    generator_gradient, grid_target, make_trainer, parallel_lines_trainer, ring_target)

pytestmark = pytest.mark.slow


def ring_scores(trainer, target, seed=7):
    sample, centers, scale = target
    x = trainer.sample(2500, np.random.default_rng(seed))
    return modes_covered(x, centers, scale), high_quality_fraction(x, centers, scale)


@pytest.mark.claim("G4")
def test_gan_fits_a_1d_gaussian():
    """N(4, 1.5^2), non-saturating, k = 5, 2000 steps: W1 to the target below 0.3 (from above 2;
    with k = 1 the same run oscillates between W1 of 0.2 and 0.8)."""
    def data(m, rng):
        return 4.0 + 1.5 * rng.standard_normal((m, 1))
    init = np.random.default_rng(0)
    generator, critic = MLP([1, 32, 32, 1], rng=init), MLP([1, 32, 32, 1], rng=init)
    trainer = GANTrainer(generator, critic, data, kind="non_saturating", k=5, batch_size=256,
                         g_optimizer=Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         rng=np.random.default_rng(1))
    target = data(5000, np.random.default_rng(2))[:, 0]
    before = wasserstein_1d(trainer.sample(5000, np.random.default_rng(3))[:, 0], target)
    trainer.train(2000, progress=False)
    after = wasserstein_1d(trainer.sample(5000, np.random.default_rng(3))[:, 0], target)
    assert float(before) > 2.0
    assert float(after) < 0.3


@pytest.mark.claim("G4", "G6")
@pytest.mark.parametrize("game, modes, quality", [
    ("non_saturating", 7, 0.5), ("least_squares", 7, 0.5), ("wgan_gp", 7, 0.4),
    ("minibatch_std", 7, 0.5)])
def test_gan_covers_the_ring_of_8(game, modes, quality):
    target = ring_target()
    trainer = make_trainer(game, target[0], seed=0)
    assert ring_scores(trainer, target)[0] <= 2  # the untrained generator: a blob
    trainer.train(2000, progress=False)
    covered, high_quality = ring_scores(trainer, target)
    assert covered >= modes and high_quality >= quality


@pytest.mark.claim("G6")
def test_wgan_with_weight_clipping_trains():
    """RMSprop, c = 0.05, k = 5: slow to sharpen, but after 1000 steps the sliced W1 from the
    generator to the ring falls by more than half and at least 4 of 8 modes are reached (5
    measured; c = 0.01 reaches 0 at this budget, see demos/_gan_setups.py)."""
    target = ring_target()
    trainer = make_trainer("wgan_clip", target[0], seed=0)
    reference = target[0](2000, np.random.default_rng(5))

    def distance():
        return float(sliced_wasserstein(trainer.sample(2000, np.random.default_rng(6)),
                                        reference, n_projections=64,
                                        rng=np.random.default_rng(7)))
    before = distance()
    assert ring_scores(trainer, target)[0] <= 2
    trainer.train(1000, progress=False)
    assert distance() < 0.5 * before
    assert ring_scores(trainer, target)[0] >= 4
    assert all(np.all(np.abs(p.data) <= trainer.clip) for p in trainer.discriminator.parameters())


@pytest.mark.claim("G5")
def test_mode_collapse_measured_on_the_grid_with_remedies_compared():
    """The 25-mode grid, same seeds: the target's own samples cover all 25 modes, the plain GAN
    after 1000 steps far fewer (measured; at this budget the shortfall is partly under-training,
    which the high-quality fraction reported beside it shows). Instance noise on D's inputs is
    measured on the same seeds, and so is the minibatch standard deviation feature: neither is
    a cure at this budget (measured at 4000 steps, seeds 0-2: plain 12, 14, 7 modes; minibatch
    std 13, 9, 15; see the gan_ring demo for the curves)."""
    target = grid_target()
    sample, centers, scale = target
    assert modes_covered(sample(2500, np.random.default_rng(0)), centers, scale) == 25
    results = {}
    for game in ("non_saturating", "instance_noise", "minibatch_std"):
        trainer = make_trainer(game, sample, seed=0)
        trainer.train(1000, progress=False)
        results[game] = ring_scores(trainer, target)
    for covered, _ in results.values():
        assert covered <= 15  # mode collapse: fewer than 25 modes reached
    print(f"grid modes covered (plain, instance noise): {results}")


@pytest.mark.claim("G8")
def test_gan_on_digits_scores_between_noise_and_real():
    classifier = digits_classifier()
    x_train, _, x_test, _ = digits_split()
    init = np.random.default_rng(0)
    generator = MLP([16, 128, 64], rng=init, final_activation="sigmoid")
    critic = MLP([64, 128, 1], activation="leaky_relu", rng=init)
    trainer = GANTrainer(generator, critic, x_train, kind="non_saturating", batch_size=128,
                         g_optimizer=Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         rng=np.random.default_rng(1))
    reference = classifier.features(x_train)

    def scores(x):
        return inception_score(classifier.probs(x)), frechet_distance(reference,
                                                                      classifier.features(x))
    rng = np.random.default_rng(2)
    untrained = scores(trainer.sample(len(x_test), rng))
    trainer.train(1500, progress=False)
    gan, real = scores(trainer.sample(len(x_test), rng)), scores(x_test)
    noise = scores(rng.random((len(x_test), 64)))
    assert real[0] > gan[0] > max(noise[0], untrained[0]) + 1.0
    assert real[1] < gan[1] < 0.5 * min(noise[1], untrained[1])


@pytest.mark.claim("W2", "W3")
def test_parallel_lines_wgan_moves_theta_to_zero_gan_gets_no_signal():
    """theta = 1: JSD = log 2 for every theta != 0, so a trained D leaves the minimax generator
    without gradient; W1 = |theta| has slope 1, and the WGAN-GP critic's generator gradient is
    about +1 (descent moves theta to 0); the GAN's D is nearly perfect (V -> 0 from below)."""
    gan = parallel_lines_trainer("minimax", 1.0, seed=0)
    wgan = parallel_lines_trainer("wasserstein", 1.0, seed=0)
    for _ in range(300):
        gan.critic_step()
        wgan.critic_step()
    gan_gradient, wgan_gradient = generator_gradient(gan), generator_gradient(wgan)
    assert 0.5 < wgan_gradient < 1.5
    assert abs(gan_gradient) < 1e-2 * wgan_gradient
    estimate = value(_Segment(0.0), _Segment(1.0), lambda x: gan.discriminator(Tensor(x)),
                     n=4000, rng=np.random.default_rng(3), logits=True)
    assert -0.05 < estimate.item() <= 5 * estimate.stderr
    for _ in range(60):  # the full loop: theta falls towards 0 under the WGAN only
        wgan.step()
        gan.step()
    assert abs(float(wgan.generator.theta.data[0])) < 0.6
    assert float(gan.generator.theta.data[0]) > 0.95


class _Segment:
    """The law of (theta, Z) for ``value``'s Monte Carlo branch (samples only)."""

    def __init__(self, theta):
        self.theta = theta

    def sample(self, shape, rng):
        return parallel_lines(self.theta, shape[0], rng)
