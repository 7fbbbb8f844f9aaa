"""Parallel lines in training: a GAN's generator gets no signal, a WGAN's moves theta to 0 (W2, W3).

Lecture 001 (after Arjovsky et al. 2017, example 1): P is uniform on the
segment {0} x [0, 1], the generator g_theta(z) = (theta, z) puts P_theta on
{theta} x [0, 1]. For theta != 0, JSD(P || P_theta) = log 2 whatever theta
is, while W1 = |theta|. In training: a discriminator trained against
P_theta separates the lines, and the minimax generator loss then has no
gradient in theta (the JSD is flat); a WGAN-GP critic approximates the
1-Lipschitz f with E_P f - E_Ptheta f = |theta|, and the generator's
gradient in theta is about sign(theta) (slope 1), so gradient descent
moves theta to 0. Both critics are MLPs 2-64-64-1 trained by
``GANTrainer``'s critic step; theta by SGD.

Figure ``gan_parallel_lines.png``: left, d(generator loss)/d theta after
training each critic at a grid of theta, beside the slopes of JSD (0) and
W1 (sign theta); right, theta over training for the full GAN and WGAN-GP
loops from theta = 1. Prints the gradients at theta = 1 and the final thetas.
"""
from __future__ import annotations

import numpy as np

from demos._common import parse_args, report, savefig
from demos._gan_setups import generator_gradient, parallel_lines_trainer


def gradient_after_critic_training(kind, theta, critic_steps, seed):
    trainer = parallel_lines_trainer(kind, theta, seed=seed)
    for _ in range(critic_steps):
        trainer.critic_step()
    return generator_gradient(trainer, seed=seed + 2)


def theta_path(kind, steps, warmup, seed):
    """theta over ``steps`` generator steps, after ``warmup`` critic steps (as WGAN does)."""
    trainer = parallel_lines_trainer(kind, 1.0, seed=seed)
    for _ in range(warmup):
        trainer.critic_step()
    path = [1.0]
    for _ in range(steps):
        trainer.step()
        path.append(float(trainer.generator.theta.data[0]))
    return np.array(path)


def plot(thetas, gradients, paths, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(thetas, gradients["minimax"], "o-", color="C3", label="GAN (minimax), trained D")
    left.plot(thetas, gradients["wasserstein"], "s-", color="C0", label="WGAN-GP, trained critic")
    left.plot(thetas, np.sign(thetas), "k:", label="d W1 / d theta = sign(theta)")
    left.axhline(0, color="grey", lw=0.8, label="d JSD / d theta = 0")
    left.set(xlabel="theta", ylabel="d generator loss / d theta",
             title="Signal reaching the generator on parallel lines")
    left.legend(fontsize=8)
    for kind, color, label in (("minimax", "C3", "GAN"), ("wasserstein", "C0", "WGAN-GP")):
        right.plot(paths[kind], color=color, label=label)
    right.set(xlabel="generator step (k = 5 critic steps each)", ylabel="theta",
              title="theta during training from theta = 1 (target 0),\nafter the critic's warm-up")
    right.legend()
    return savefig(fig, args, "gan_parallel_lines")


def main(argv=None):
    args = parse_args(argv, __doc__)
    thetas = np.array([-1.0, 1.0]) if args.quick else np.array([-1.0, -0.5, -0.2, 0.2, 0.5, 1.0])
    critic_steps, loop_steps = (200, 20) if args.quick else (300, 120)
    gradients = {kind: np.array([gradient_after_critic_training(kind, t, critic_steps, args.seed)
                                 for t in thetas]) for kind in ("minimax", "wasserstein")}
    paths = {kind: theta_path(kind, loop_steps, critic_steps, args.seed)
             for kind in ("minimax", "wasserstein")}
    at_one = int(np.argmin(np.abs(thetas - 1.0)))
    report("gan_generator_gradient_at_theta_1", gradients["minimax"][at_one],
           lecture="0 (JSD = log 2 is flat)", source="001")
    report("wgan_generator_gradient_at_theta_1", gradients["wasserstein"][at_one],
           lecture="1 (d W1 / d theta)", source="001")
    report("gan_theta_after_training", paths["minimax"][-1], source=f"{loop_steps} steps from 1")
    report("wgan_theta_after_training", paths["wasserstein"][-1], lecture="moves to 0",
           source=f"{loop_steps} steps from 1")
    plot(thetas, gradients, paths, args)
    return {"thetas": thetas.tolist(), **{f"{k}_gradients": v.tolist() for k, v in
                                          gradients.items()},
            **{f"{k}_theta_path": v.tolist() for k, v in paths.items()}}


if __name__ == "__main__":
    main()
