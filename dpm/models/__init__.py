"""Generative models built on minigrad, one family a file (or a package of files).

``gan``: the GAN value function and its optimal discriminator D* = p / (p + p_g)
(G1, G2), the training losses, the gradient penalty and weight clipping, the
trainer, and sample-based metrics (G3-G8); see ``dpm/models/gan/__init__.py``.
"""
from dpm.models.gan import (  # noqa: F401
    GANTrainer, OptimalDiscriminator, discriminator_loss, discriminator_loss_from_logits,
    generator_loss, gradient_penalty, optimal_discriminator,
    train_discriminator, value)
