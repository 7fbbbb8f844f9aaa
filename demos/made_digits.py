"""MADE on the binarized digits: exact likelihood, pixel-by-pixel samples, completions (R1, R2).

Lecture 002 ("Autoregressive models"): p(x) = prod_j p(x_j | x_<j), one
masked network computing all 64 conditionals at once, trained by teacher
forcing (maximum likelihood on the true pixels). The order is reverse
raster (bottom row first), so the top half given the bottom half is the tail
of the chain rule: sampled *exactly* ("auto-regress to missing values") and
scored exactly, log p(top | bottom) in one pass. Data: the fixed split of
``load_digits(split=...)``, binarized at 8 (1,437 train / 360 test).

Budgets (full run; ``--quick`` in brackets): MADE 64-512-64 [64-128-64],
3,000 [150] Adam steps of batch 128, lr 2e-3 [5e-3]. Beside it a Bernoulli
VAE (z 16, hidden 256 [z 8, hidden 64]) trained on the same binarized
images for the same number of steps and batch size (Adam 2e-3, analytic
KL, no early stopping); its IWAE_1000 [IWAE_100] bound on the same test
images gives an upper bound -IWAE on its NLL. The mean-field completion of
``dpm.vi.completion`` (a 20-component Bernoulli mixture fitted by EM to the
same training images, 200 [30] iterations; coordinate ascent on q over the
top half) is compared with MADE's exact conditional on the same test
digits, each by (i) per-pixel error of the completion thresholded at 1/2
(MADE: its per-pixel marginals from 200 [20] exact completions) and (ii) the
log-loss of the true top half: MADE's exact -log p(top | bottom), the
mean-field q's -log q(top), and the mixture's own exact -log p(top | bottom).

Figure ``made_digits.png``: samples drawn pixel by pixel; held-out digits
with their top half hidden, one exact MADE completion, MADE's marginals and
the mean-field phi.
"""
from __future__ import annotations

import numpy as np

from demos._common import parse_args, report, savefig
from dpm.datasets import load_digits
from dpm.models.autoregressive import MADE, completion_marginals, conditional_log_prob
from dpm.models.flows import fit_max_likelihood, mean_nll
from dpm.models.gmm_em import fit_bernoulli_mixture
from dpm.models.vae import VAE
from dpm.models.vae_training import evaluate
from dpm.vi.completion import complete

BOTTOM = np.arange(64) >= 32          # observed: the bottom four rows
TOP = ~BOTTOM
BATCH = 128


def mean_se(values):
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def independent_pixels_nll(train, test):
    """NLL of the product of per-pixel Bernoullis fitted to train (smoothed by +1/+2)."""
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)
    return mean_se(-(test * np.log(p) + (1 - test) * np.log1p(-p)).sum(axis=1))


def bernoulli_log_loss(probs, truth):
    """-sum_i log q_i(truth_i) per row, q_i = Bernoulli(probs_i)."""
    return -np.sum(np.where(truth == 1, np.log(probs), np.log1p(-probs)), axis=1)


def vae_bound(train, test, steps, quick, rng, seed):
    """A Bernoulli VAE trained ``steps`` steps of BATCH; its held-out IWAE_k (Estimate)."""
    z_dim, hidden, k = (8, (64,), 100) if quick else (16, (256,), 1000)
    model = VAE(64, z_dim, hidden=hidden, rng=rng)
    epochs = max(1, steps // -(-len(train) // BATCH))   # steps / (steps per epoch)
    model.fit(train, epochs=epochs, batch_size=BATCH, lr=2e-3, rng=rng, progress=not quick)
    x = test[:80] if quick else test
    result = evaluate(model, x, np.random.default_rng(seed + 5), ks=(k,), replicas=2,
                      log_px_n=0)
    return result[f"iwae_{k}"], k, len(x), epochs


def made_completion(model, test, n, rng):
    """MADE's exact top | bottom: per-image log-loss, per-pixel marginals, one sample."""
    log_loss = -conditional_log_prob(model, test, BOTTOM)
    marginals, _ = completion_marginals(model, test, BOTTOM, n, rng)
    return log_loss, marginals, model.complete(test, BOTTOM, rng)


def mean_field_completion(train, test, iters, rng):
    """The EM mixture's mean-field q over the top half, and the mixture's exact log-loss."""
    mixture = fit_bernoulli_mixture(train, 20, rng, iters=iters)
    result = complete(mixture, test, BOTTOM, iters=10)
    exact = -(mixture.log_prob(test) - mixture.log_prob(test, observed=BOTTOM))
    return result.probs, exact


def plot(samples, test, sample, marginals, phi, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 8, figsize=(10, 5.5))
    for ax, image in zip(axes[:2].ravel(), samples):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    for col in range(4):
        hidden = np.where(TOP, 0.5, test[col])
        for k, image in enumerate((hidden, sample[col], marginals[col], phi[col])):
            ax = axes[2 + k // 2, 2 * col + k % 2]
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_title("samples, pixel by pixel", loc="left", fontsize=9)
    axes[2, 0].set_title("per digit: top hidden | one exact completion", loc="left", fontsize=9)
    axes[3, 0].set_title("MADE marginals | mean-field phi", loc="left", fontsize=9)
    fig.suptitle("MADE on the binarized 8x8 digits (lecture 002)")
    return savefig(fig, args, "made_digits")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    train, _ = load_digits(binarize=True, split="train")
    test, _ = load_digits(binarize=True, split="test")
    hidden, steps, lr = ((128,), 150, 5e-3) if args.quick else ((512,), 3000, 2e-3)
    model = MADE(64, hidden, rng=rng, order=np.arange(64)[::-1])
    fit_max_likelihood(model, train, steps, BATCH, lr, rng, test, eval_every=max(steps // 5, 1))
    nll, stderr = mean_nll(model, test)
    baseline, baseline_se = independent_pixels_nll(train, test)
    report("made_heldout_nll", nll, source=f"nats/image +/- {stderr:.2g}, hidden {hidden}, "
                                           f"{steps} steps of {BATCH}, {len(test)} test digits")
    report("made_bits_per_pixel", nll / (64 * np.log(2)))
    report("independent_pixels_heldout_nll", baseline, source=f"nats/image +/- {baseline_se:.2g}")
    iwae, k, n_vae, epochs = vae_bound(train, test, steps, args.quick, rng, args.seed)
    report(f"vae_heldout_iwae_{k}", float(iwae),
           source=f"nats/image +/- {iwae.stderr:.2g} MC s.e., {epochs} epochs of {BATCH} "
                  f"(~{steps} steps), first {n_vae} test digits; NLL <= {-float(iwae):.2f}")
    made_on_same = mean_nll(model, test[:n_vae])[0]
    report("made_nll_minus_vae_bound", made_on_same + float(iwae),
           source=f"same {n_vae} test digits; < 0: MADE's exact NLL below the VAE's bound")

    n_draws, em_iters = (20, 30) if args.quick else (200, 200)
    made_loss, marginals, sample = made_completion(model, test, n_draws, rng)
    phi, mixture_loss = mean_field_completion(train, test, em_iters, rng)
    truth = test[:, TOP]
    made_wrong = ((marginals[:, TOP] > 0.5) != truth).mean(axis=1)
    field_wrong = ((phi[:, TOP] > 0.5) != truth).mean(axis=1)
    field_loss = bernoulli_log_loss(phi[:, TOP], truth)
    for name, values in (("made_completion_pixel_error", made_wrong),
                         ("mean_field_completion_pixel_error", field_wrong),
                         ("made_top_given_bottom_nll", made_loss),
                         ("mean_field_top_log_loss", field_loss),
                         ("mixture_top_given_bottom_nll", mixture_loss)):
        value, se = mean_se(values)
        unit = "fraction of top-half pixels" if "error" in name else "nats/image"
        report(name, value, source=f"{unit} +/- {se:.2g}, {len(test)} test digits")
    for name, values in (("pixel_error_made_minus_mean_field", made_wrong - field_wrong),
                         ("log_loss_made_minus_mean_field", made_loss - field_loss)):
        value, se = mean_se(values)
        report(name, value, source=f"paired over test digits, +/- {se:.2g}")
    plot(model.sample(16, rng), test, sample, marginals, phi, args)
    return {"made_heldout_nll": nll, "independent_pixels_heldout_nll": baseline,
            "vae_heldout_iwae": float(iwae), "made_top_given_bottom_nll": float(made_loss.mean()),
            "mean_field_top_log_loss": float(field_loss.mean()),
            "made_completion_pixel_error": float(made_wrong.mean()),
            "mean_field_completion_pixel_error": float(field_wrong.mean())}


if __name__ == "__main__":
    main()
