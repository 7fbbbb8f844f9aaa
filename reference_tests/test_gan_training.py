"""The GAN trainer: Algorithm 1's schedule, seeding, checkpoints and resume, NaN stop (G4-G6).

Training claims at real budgets are in test_gan_fits.py (slow); here the
trainer's mechanics, and one small fit that must fail if training does nothing.
"""
import numpy as np
import pytest

from minigrad.nn import MLP
from minigrad.optim import Adam, RMSprop
from dpm.models.gan import GANTrainer
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


def test_checkpoint_keeps_any_bit_generator(tmp_path):
    """MT19937 keeps an array in its state: it too survives the (pickle-free) checkpoint."""
    trainer = make_trainer(CONFIGS["non_saturating"])
    trainer.rng = np.random.Generator(np.random.MT19937(3))
    trainer.train(2, progress=False)
    trainer.save(tmp_path / "mt.npz")
    expected = trainer.rng.random(4)
    restored = make_trainer(CONFIGS["non_saturating"])
    restored.rng = np.random.Generator(np.random.MT19937(99))
    restored.load(tmp_path / "mt.npz")
    np.testing.assert_array_equal(restored.rng.random(4), expected)
