"""The GAN experiments the demos and the slow tests share: targets, networks, trainers.

One place for the settings of each game (the lecture's and the papers'
usual choices, scaled down to train in seconds), so a demo's numbers and a
test's are the same experiment:

- non_saturating, minimax, least_squares: Adam(lr 1e-3, betas (0.5, 0.999)), k = 1;
- wgan_clip: RMSprop(lr 5e-4) for both players, c = 0.05, k = 5 (Arjovsky et al.'s RMSprop
  and k; their c = 0.01 and lr 5e-5 are for DCGAN critics: on this 2-64-64-1 MLP, c = 0.01
  leaves the critic too flat to see the modes, 0/8 after 2000 steps at either lr, while
  c = 0.05 covers 8/8 on seeds 0 and 1 but 0/8 on seed 2 (fragile); the Lipschitz bound
  K(c) depends on the widths, so c is a per-architecture choice, which is the paper's own
  complaint about clipping);
- wgan_gp: Adam(lr 1e-3, betas (0.5, 0.9)), lambda = 10 (scaled by ``gp_weight``), k = 5
  (Gulrajani et al.);
- instance_noise: non_saturating with N(0, 0.05^2) added to D's inputs (a remedy for
  mode collapse; the noise is about the modes' own width).
- minibatch_std: non_saturating with a ``MinibatchStdCritic`` (the minibatch standard
  deviation of D's last hidden features appended before its last layer; one group per
  real and per fake minibatch), the same widths and optimisers.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import MLP, Module
from minigrad.optim import SGD, Adam, RMSprop
from dpm.datasets import parallel_lines, ring_of_gaussians
from dpm.models.gan import GANTrainer, MinibatchStdCritic, generator_loss

RING_SCALE = 0.05
GAMES = ("non_saturating", "minimax", "least_squares", "wgan_clip", "wgan_gp",
         "instance_noise", "minibatch_std")


def ring_target(k=8, radius=2.0, scale=RING_SCALE):
    """(sampler (m, rng) -> points, centres (k, 2), scale) of the ring of k Gaussians."""
    law = ring_of_gaussians(k, radius, scale)
    angles = 2.0 * np.pi * np.arange(k) / k
    centers = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return (lambda m, rng: law.sample((m,), rng)), centers, scale


def grid_target(side=5, spacing=1.0, scale=RING_SCALE):
    """The side x side grid of Gaussians (25 modes by default), centred on 0."""
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    centers = np.array([(a, b) for a in ticks for b in ticks])

    def sample(m, rng):
        return centers[rng.integers(0, len(centers), m)] + scale * rng.standard_normal((m, 2))
    return sample, centers, scale


def make_trainer(game, data, dim=2, noise_dim=2, hidden=64, batch_size=256, seed=0,
                 generator_output=None):
    """A GANTrainer for ``game`` (one of GAMES) with MLPs dim-hidden-hidden, seeded."""
    if game not in GAMES:
        raise ValueError(f"game must be one of {GAMES}, got {game!r}")
    init = np.random.default_rng(seed)
    generator = MLP([noise_dim, hidden, hidden, dim], rng=init, final_activation=generator_output)
    if game == "minibatch_std":
        critic = MinibatchStdCritic([dim, hidden, hidden, 1], rng=init)
    else:
        critic = MLP([dim, hidden, hidden, 1], rng=init)
    options = dict(kind=game, k=1, input_noise=0.0)
    if game == "minibatch_std":
        options.update(kind="non_saturating")
    if game == "instance_noise":
        options.update(kind="non_saturating", input_noise=0.05)
    if game == "wgan_clip":
        options.update(kind="wasserstein", clip=0.05, k=5,
                       g_optimizer=RMSprop(generator.parameters(), lr=5e-4),
                       d_optimizer=RMSprop(critic.parameters(), lr=5e-4))
    elif game == "wgan_gp":
        options.update(kind="wasserstein", gp_weight=10.0, k=5,
                       g_optimizer=Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9)),
                       d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)))
    return GANTrainer(generator, critic, data, batch_size=batch_size, noise_dim=noise_dim,
                      rng=np.random.default_rng(seed + 1), **options)


# ------------------------------------------------ parallel lines (W2, W3)
class Line(Module):
    """g_theta(z) = (theta, z), z ~ U[0, 1]: the parallel-lines generator (K8)."""

    def __init__(self, theta):
        self.theta = Tensor(np.array([float(theta)]), requires_grad=True)

    def forward(self, z):
        return mg.concatenate([self.theta * np.ones((z.shape[0], 1)), z], axis=1)


def parallel_lines_trainer(kind, theta, seed=0, hidden=64, batch_size=128, lr=0.01):
    """P = law of (0, Z); the generator Line(theta); a GAN (minimax, k = 5) or a WGAN-GP
    (lambda = 10, k = 5) critic MLP 2-hidden-hidden-1; SGD on theta."""
    generator = Line(theta)
    critic = MLP([2, hidden, hidden, 1], rng=np.random.default_rng(seed))
    return GANTrainer(generator, critic, lambda m, rng: parallel_lines(0.0, m, rng), kind=kind,
                      k=5, batch_size=batch_size, noise=lambda m, rng: rng.random((m, 1)),
                      g_optimizer=SGD(generator.parameters(), lr=lr),
                      d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)),
                      gp_weight=10.0 if kind == "wasserstein" else 0.0,
                      rng=np.random.default_rng(seed + 1))


def generator_gradient(trainer, n=1000, seed=0):
    """d generator_loss / d theta against the trainer's current critic, on n fresh z."""
    generator = trainer.generator
    generator.theta.grad = None
    z = Tensor(np.random.default_rng(seed).random((n, 1)))
    generator_loss(trainer.discriminator(generator(z)), trainer.kind).backward()
    return float(generator.theta.grad[0])
