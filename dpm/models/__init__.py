"""Generative models built on minigrad, one family a file.

``gan``: the GAN value function, its optimal discriminator D* = p / (p + p_g)
(claim G1) and V(G, D*) = 2 JSD - log 4 (claim G2); the losses grow here.
"""
from dpm.models.gan import (  # noqa: F401
    OptimalDiscriminator, discriminator_loss_from_logits, optimal_discriminator,
    train_discriminator, value)
