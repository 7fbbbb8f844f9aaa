"""Discrete latents on the digits: a Gumbel-softmax VAE and a VQ-VAE side by side (V11, K4).

- Gumbel-softmax VAE: 8 categorical latents of 4 classes, uniform prior,
  Bernoulli pixels; trained on the relaxed surrogate with the temperature
  annealed tau_t = max(0.5, exp(-rate t)) and the closed-form
  KL(q || Uniform(K)) = log K - H(q) (K4); evaluated by the discrete ELBO
  (one-hot draws), in nats per image with s.e.
- VQ-VAE: 4 code vectors of dimension 3 per image, a codebook of 16,
  straight-through gradients, codebook + 0.25 commitment losses, dead codes
  reset every 100 steps; reports held-out reconstruction -log p(x | z_q)
  and codebook usage (perplexity, at most 16).
Both bottlenecks carry at most 8 log2 4 = 16 = 4 log2 16 bits.

Figure ``discrete_latents.png``: test images over both models'
reconstructions, and the training curves (Gumbel-softmax ELBO with the
temperature, VQ-VAE loss with perplexity).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from demos._common import parse_args, report, savefig
from demos.vae_digits import tile
from dpm.datasets import binarize_stochastic, load_digits
from dpm.models.discrete_vae import GumbelSoftmaxVAE, VQVAE


def train_gumbel(x, held_out, epochs, seed):
    model = GumbelSoftmaxVAE(64, 8, 4, hidden=(128,), anneal_rate=2e-3 if epochs < 20 else 2e-4,
                             rng=np.random.default_rng(seed))
    temperatures = []
    history = model.fit(x, epochs=epochs, batch_size=64, lr=3e-3,
                        rng=np.random.default_rng(seed + 1), x_val=held_out, binarize=True,
                        eval_k=10, callback=lambda e, m: temperatures.append(m.temperature))
    return model, history, temperatures


def train_vq(x, held_out, steps, seed):
    model = VQVAE(64, 4, 3, 16, hidden=(128,), rng=np.random.default_rng(seed))
    optimizer = mg.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed + 1)
    curve = []
    for step in range(1, steps + 1):
        if step % 23 == 1:  # a fresh binarization every 23 steps (one epoch of batch 64)
            data = binarize_stochastic(x, rng)
        loss, quantized, z_e = model.loss(data[rng.integers(0, len(data), 64)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            model.quantizer.reset_dead_codes(z_e.data, rng)
        curve.append((loss.item(), quantized.perplexity))
    model.eval()
    with mg.no_grad():
        log_lik, quantized, _ = model.forward(held_out)
    return model, np.array(curve), -log_lik.data, quantized.perplexity


def main(argv=None):
    args = parse_args(argv, __doc__)
    x, _ = load_digits(split="train")
    held_out, _ = load_digits(split="test", binarize="stochastic")
    epochs = 6 if args.quick else 100
    gumbel, history, temperatures = train_gumbel(x, held_out, epochs, args.seed)
    bound = gumbel.eval().elbo(held_out, np.random.default_rng(args.seed + 2), k=20)
    per_image_se = np.sqrt(np.sum(bound.stderr ** 2)) / len(held_out)
    report("gumbel_heldout_discrete_elbo", float(bound.data.mean()),
           source=f"+/- {per_image_se:.2g} s.e., nats per image")
    report("gumbel_final_temperature", temperatures[-1], source="annealed from 1.0")
    report("gumbel_heldout_elbo_curve_rise", history.val_elbo[-1] - history.val_elbo[0],
           source="nats, first to last epoch")
    vq, curve, nll, usage = train_vq(x, held_out, epochs * 23, args.seed + 5)
    report("vq_heldout_reconstruction_nll", float(nll.mean()),
           source=f"+/- {nll.std(ddof=1) / np.sqrt(len(nll)):.2g} (spread of images), nats")
    report("vq_heldout_perplexity", usage, source="codebook of 16")
    report("vq_dead_codes_now", int(vq.quantizer.dead_codes().size),
           source="unused since the last reset")
    plot(held_out, gumbel, vq, history, temperatures, curve, args)
    return {"gumbel_elbo": float(bound.data.mean()), "vq_nll": float(nll.mean()),
            "vq_perplexity": usage}


def plot(held_out, gumbel, vq, history, temperatures, curve, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(19, 4.5))
    rows = np.vstack([held_out[:10], gumbel.reconstruct(held_out[:10]),
                      vq.reconstruct(held_out[:10])])
    axes[0].imshow(tile(rows, 3), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set(title="Test images; Gumbel-softmax VAE; VQ-VAE reconstructions",
                xticks=[], yticks=[])
    epochs = np.arange(1, history.epochs + 1)
    axes[1].plot(epochs, history.val_elbo, label="held-out discrete ELBO")
    axes[1].plot(epochs, history.train_elbo, "--", label="train (relaxed surrogate)")
    axes[1].set(xlabel="epoch", ylabel="nats per image", title="Gumbel-softmax VAE")
    twin = axes[1].twinx()
    twin.plot(epochs, temperatures, color="grey", lw=1)
    twin.set_ylabel("temperature tau (grey)")
    axes[1].legend(fontsize=8, loc="lower right")
    axes[2].plot(curve[:, 0], lw=0.8, label="loss: -log p(x | z_q) + VQ losses")
    axes[2].set(xlabel="step", ylabel="nats per image (log scale)", title="VQ-VAE", yscale="log")
    twin = axes[2].twinx()
    twin.plot(curve[:, 1], color="grey", lw=0.8)
    twin.set_ylabel("codebook perplexity (grey)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return savefig(fig, args, "discrete_latents")


if __name__ == "__main__":
    main()
