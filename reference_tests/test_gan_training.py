"""The GAN trainer: Algorithm 1's schedule, seeding, checkpoints and resume, NaN stop (G4-G6),
and the parallel-lines example of W2/W3 on the generator's update direction.

Training claims at real budgets are in test_gan_fits.py (slow); here the
trainer's mechanics, and one small fit that must fail if training does nothing.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import MLP, Module
from minigrad.optim import SGD, Adam, RMSprop
from dpm.datasets import parallel_lines
from dpm.models.gan import GANTrainer, generator_loss, value
from dpm.distributions import Normal
from dpm.wasserstein import wasserstein_1d

CONFIGS = {
    "non_saturating": dict(kind="non_saturating"),
    "minimax_k3": dict(kind="minimax", k=3),
    "least_squares": dict(kind="least_squares"),
    "wgan_clip": dict(kind="wasserstein", clip=0.05, k=2, rmsprop=True),
    "wgan_gp": dict(kind="wasserstein", gp_weight=10.0, k=2),
    "instance_noise": dict(kind="non_saturating", input_noise=0.3),
}


def gaussian_data(m, rng):
    return 3.0 + 0.5 * rng.standard_normal((m, 1))


def make_trainer(config, seed=0, init_seed=None):
    config = dict(config)
    init = np.random.default_rng(seed if init_seed is None else init_seed)
    G, D = MLP([1, 16, 1], rng=init), MLP([1, 16, 1], activation="tanh", rng=init)
    if config.pop("rmsprop", False):
        config["d_optimizer"] = RMSprop(D.parameters(), lr=5e-3)
        config["g_optimizer"] = RMSprop(G.parameters(), lr=5e-3)
    config.setdefault("batch_size", 32)
    return GANTrainer(G, D, gaussian_data, rng=np.random.default_rng(seed + 100), **config)


def parameters_of(trainer):
    return [p.data.copy() for m in (trainer.generator, trainer.discriminator)
            for p in m.parameters()]


@pytest.mark.claim("G4")
@pytest.mark.parametrize("name", CONFIGS)
def test_trainer_is_seeded(name):
    first, second = make_trainer(CONFIGS[name]), make_trainer(CONFIGS[name])
    first.train(6, progress=False)
    second.train(6, progress=False)
    for a, b in zip(parameters_of(first), parameters_of(second)):
        np.testing.assert_array_equal(a, b)
    assert first.history == second.history and len(first.history["d_loss"]) == 6
    third = make_trainer(CONFIGS[name], seed=1)
    third.train(6, progress=False)
    assert third.history != first.history


@pytest.mark.claim("G4")
@pytest.mark.parametrize("name", CONFIGS)
def test_resume_from_checkpoint_gives_the_same_numbers(name, tmp_path):
    straight = make_trainer(CONFIGS[name])
    straight.train(8, progress=False)
    interrupted = make_trainer(CONFIGS[name])
    path = tmp_path / "gan.npz"
    interrupted.train(5, checkpoint=path, checkpoint_every=5, progress=False)
    resumed = make_trainer(CONFIGS[name], seed=7, init_seed=3).load(path)  # other init, other rng
    assert resumed.step_count == 5
    resumed.train(8, progress=False)
    for a, b in zip(parameters_of(straight), parameters_of(resumed)):
        np.testing.assert_array_equal(a, b)
    assert resumed.history == straight.history
    assert not list(tmp_path.glob("*.tmp"))  # atomic write left no temporary behind


@pytest.mark.claim("G4")
@pytest.mark.parametrize("k", [1, 3])
def test_k_critic_steps_per_generator_step(k):
    trainer = make_trainer(dict(kind="non_saturating", k=k))
    counts = {"d": 0, "g": 0}
    for player, optimizer in (("d", trainer.d_optimizer), ("g", trainer.g_optimizer)):
        original = optimizer.step

        def counted(original=original, player=player):
            counts[player] += 1
            original()
        optimizer.step = counted
    trainer.train(4, progress=False)
    assert counts == {"d": 4 * k, "g": 4}


def test_callbacks_and_progress(capsys):
    trainer = make_trainer(CONFIGS["non_saturating"])
    trainer.train(6, every=3, callback=lambda t: {"mean": float(t.sample(100).mean())})
    assert [step for step, _ in trainer.metrics] == [3, 6]
    err = capsys.readouterr().err
    assert "step 3/6" in err and "step 6/6" in err


@pytest.mark.claim("G6")
def test_weight_clipping_holds_after_every_step():
    trainer = make_trainer(CONFIGS["wgan_clip"])
    trainer.train(3, progress=False)
    assert all(np.all(np.abs(p.data) <= 0.05) for p in trainer.discriminator.parameters())


def test_divergence_stops_with_the_step_and_no_checkpoint(tmp_path):
    trainer = make_trainer(dict(kind="non_saturating"))
    trainer.train(2, progress=False)
    trainer.discriminator.layers[0].weight.data[0, 0] = np.nan
    path = tmp_path / "gan.npz"
    with pytest.raises(FloatingPointError, match="step 3"):
        trainer.train(5, checkpoint=path, progress=False)
    assert not path.exists()
    with pytest.raises(FloatingPointError, match="not finite"):
        trainer.save(path)


@pytest.mark.parametrize("change, match", [
    (dict(kind="hinge"), "kind"), (dict(k=0), "k must"), (dict(batch_size=0), "batch_size"),
    (dict(clip=-1.0), "clip"), (dict(gp_weight=-1.0), "gp_weight"),
    (dict(input_noise=np.nan), "input_noise"),
])
def test_trainer_rejects_bad_input(change, match):
    with pytest.raises(ValueError, match=match):
        make_trainer({**CONFIGS["non_saturating"], **change})


@pytest.mark.claim("G4")
def test_short_training_moves_the_generator_to_the_target():
    """200 steps from a generator centred near 0: W1 to N(3, 0.5^2) must fall by more than half."""
    trainer = make_trainer(dict(kind="non_saturating", batch_size=64))
    trainer.g_optimizer = Adam(trainer.generator.parameters(), lr=5e-3, betas=(0.5, 0.999))
    trainer.d_optimizer = Adam(trainer.discriminator.parameters(), lr=5e-3, betas=(0.5, 0.999))
    target = gaussian_data(4000, np.random.default_rng(11))[:, 0]
    before = float(wasserstein_1d(trainer.sample(4000, np.random.default_rng(12))[:, 0], target))
    trainer.train(200, progress=False)
    after = float(wasserstein_1d(trainer.sample(4000, np.random.default_rng(12))[:, 0], target))
    assert before > 2.0 and after < 0.5 * before


# ------------------------------------------------------------- W2 / W3
class Line(Module):
    """g_theta(z) = (theta, z), z ~ U[0, 1]: the parallel-lines generator (K8)."""

    def __init__(self, theta):
        self.theta = Tensor(np.array([float(theta)]), requires_grad=True)

    def forward(self, z):
        return mg.concatenate([self.theta * np.ones((z.shape[0], 1)), z], axis=1)


def trained_critic_gradient(kind, gp_weight, theta=1.0, steps=250, seed=0):
    """d generator_loss / d theta after training D (or the critic) against a fixed g_theta."""
    generator = Line(theta)
    critic = MLP([2, 64, 64, 1], rng=np.random.default_rng(seed))
    trainer = GANTrainer(generator, critic, lambda m, rng: parallel_lines(0.0, m, rng),
                         kind=kind, batch_size=128, noise=lambda m, rng: rng.random((m, 1)),
                         g_optimizer=SGD(generator.parameters(), lr=0.01),
                         d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)),
                         gp_weight=gp_weight, rng=np.random.default_rng(seed + 1))
    for _ in range(steps):
        trainer.critic_step()
    z = Tensor(np.random.default_rng(seed + 2).random((1000, 1)))
    generator_loss(critic(generator(z)), kind).backward()
    return float(generator.theta.grad[0]), critic


@pytest.mark.claim("W2", "W3")
def test_parallel_lines_wgan_moves_theta_to_zero_gan_gets_no_signal():
    """P = law of (0, Z), P_theta of (theta, Z), theta = 1: JSD = log 2 for every theta != 0, so
    a GAN whose D separates the lines gives the generator (minimax loss) no gradient; W1 = |theta|
    has slope 1, and the WGAN-GP critic's generator gradient is about +1 (descent: theta -> 0)."""
    gan_gradient, discriminator = trained_critic_gradient("minimax", 0.0)
    wgan_gradient, _ = trained_critic_gradient("wasserstein", 10.0)
    assert 0.5 < wgan_gradient < 1.5
    assert abs(gan_gradient) < 1e-3 * wgan_gradient
    # the GAN's D is (nearly) perfect: V(G, D) -> 2 JSD - log 4 = 0 from below
    line = lambda theta: _Segment(theta)  # noqa: E731
    estimate = value(line(0.0), line(1.0), lambda x: discriminator(Tensor(x)), n=4000,
                     rng=np.random.default_rng(3), logits=True)
    assert -0.05 < estimate.estimate <= 0.0 + 5 * estimate.error


class _Segment:
    """The law of (theta, Z) for ``value``'s Monte Carlo branch (samples only)."""

    def __init__(self, theta):
        self.theta = theta

    def sample(self, shape, rng):
        return parallel_lines(self.theta, shape[0], rng)
