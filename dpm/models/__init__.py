"""Generative models built on minigrad, one family a file (or a package of files).

``vae`` (with ``vae_training``, ``vae_priors``, ``discrete_vae``, ``ppca``):
the VAE, its training loop and held-out evaluation, flow priors, Gumbel-softmax
and VQ latents, and the pPCA closed form (V6, V7, V10, V11); ``vq``: the vector
quantizer. ``flows``: normalizing-flow layers and ``Flow`` (N2-N4);
``autoregressive``: MADE (R1, R2). ``gmm_em``: EM for Gaussian and Bernoulli
mixtures (E1). Import each by its full name (``dpm.models.vae.VAE``); the GAN
names are also re-exported here.

``gan``: the GAN value function and its optimal discriminator D* = p / (p + p_g)
(G1, G2), the training losses, the gradient penalty and weight clipping, the
trainer, and sample-based metrics (G3-G8); see ``dpm/models/gan/__init__.py``.
"""
from dpm.models.gan import (  # noqa: F401
    GANTrainer, OptimalDiscriminator, discriminator_loss, discriminator_loss_from_logits,
    generator_loss, gradient_penalty, optimal_discriminator,
    train_discriminator, value)
