"""Generative adversarial networks, one concept a file.

``optimum``: the value function V(G, D), the optimal discriminator
D* = p / (p + p_g) (G1) and V(G, D*) = 2 JSD - log 4 (G2).
"""
from dpm.models.gan.optimum import (  # noqa: F401
    LOG_4, OptimalDiscriminator, ValueEstimate, adaptive_gauss_legendre,
    discriminator_loss_from_logits, optimal_discriminator, train_discriminator, value)
