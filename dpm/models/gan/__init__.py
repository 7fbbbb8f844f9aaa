"""Generative adversarial networks, one concept a file (lectures 001, 002, 004).

- ``optimum``: the value function V(G, D), the optimal discriminator
  D* = p / (p + p_g) (G1) and V(G, D*) = 2 JSD - log 4 (G2).
- ``losses``: discriminator and generator losses from logits, for the
  minimax, non-saturating, least-squares and Wasserstein games (G3, G6).
- ``penalty``: the per-sample gradient penalty (WGAN-GP), weight clipping,
  a Lipschitz estimate (G6, W2).
- ``training``: ``GANTrainer``, k critic steps per generator step (G4-G6).
- ``metrics``: modes covered, high-quality fraction, sliced W1, Inception
  score and Frechet distance with a digits classifier (G4, G5, G8).
- ``minibatch``: the minibatch standard deviation feature and a critic
  with it, a remedy for mode collapse (G5).
- ``kde``: a Gaussian KDE and the noisy mixture of G7.
"""
from dpm.models.gan.optimum import (  # noqa: F401
    LOG_4, OptimalDiscriminator,
    discriminator_loss_from_logits, optimal_discriminator, train_discriminator, value)
from dpm.models.gan.losses import (  # noqa: F401
    KINDS, LSGAN_TARGETS, PEARSON_TARGETS, discriminator_loss, generator_logit_gradient,
    generator_loss, lsgan_generator_objective, lsgan_optimal_output)
from dpm.models.gan.penalty import (  # noqa: F401
    clip_weights, gradient_penalty, input_gradient_norms, interpolates, lipschitz_estimate)
from dpm.models.gan.training import GANTrainer  # noqa: F401
from dpm.models.gan.minibatch import MinibatchStdCritic, minibatch_std  # noqa: F401
from dpm.models.gan.metrics import (  # noqa: F401
    DigitsClassifier, digits_classifier, digits_split, frechet_distance,
    gaussian_frechet_distance, high_quality_fraction, inception_score, mode_counts,
    modes_covered, sliced_wasserstein)
from dpm.models.gan.kde import GaussianKDE, mixture_log_prob  # noqa: F401
