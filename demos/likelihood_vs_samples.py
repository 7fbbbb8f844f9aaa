"""Likelihood is not sample quality: a tiny-bandwidth KDE and 1% of p in 99% noise (G7).

Lecture 001 (after Theis, van den Oord and Bethge 2016). Data: 500 training
and 2,000 held-out points of P = N(0, I_2).
- A Gaussian KDE with bandwidth h draws x_i + h e: for h = 0.01 its samples
  are the training points (perfect-looking), yet its held-out average
  log-likelihood is about a hundred nats below the truth's, because a test point
  is many bandwidths from every training point. The bandwidth maximising
  held-out likelihood is near the usual rule of thumb.
- q = 0.01 p + 0.99 r with r a broad noise N(0, 1000^2 I): 99 of 100 of its
  samples are noise, yet log q(x) >= log p(x) - log 100 at every x (exact),
  so its log-likelihood is within log 100 = 4.6 nats of the truth's.

Figure ``likelihood_vs_samples.png``: held-out log-likelihood against the
bandwidth (with the truth's and the noisy mixture's), and samples of the
tiny KDE over the training points. Prints the numbers.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from dpm.models.gan import GaussianKDE, mixture_log_prob
from demos._common import parse_args, report, savefig


def held_out(bandwidths, train, test):
    return np.array([GaussianKDE(train, h).log_prob(test).mean() for h in bandwidths])


def plot(bandwidths, curve, truth, mixture, kde_samples, train, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.semilogx(bandwidths, curve, "o-", ms=3, label="KDE on 500 training points")
    left.axhline(truth, color="k", ls=":", label="true p = N(0, I)")
    left.axhline(mixture, color="C3", ls="--", label="0.01 p + 0.99 noise")
    left.set(xlabel="bandwidth h", ylabel="held-out mean log-likelihood (nats)",
             ylim=(max(curve.min(), truth - 40), truth + 2),
             title="Held-out log-likelihood of a KDE")
    left.legend(fontsize=8)
    right.scatter(*train.T, s=14, facecolors="none", edgecolors="grey", label="training points")
    right.scatter(*kde_samples.T, s=3, color="C0", label="samples of the h = 0.01 KDE")
    right.set(xlabel="x_1", ylabel="x_2", aspect="equal",
              title="Tiny-bandwidth KDE: samples copy the data")
    right.legend(fontsize=8, loc="lower right")
    return savefig(fig, args, "likelihood_vs_samples")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    train, test = rng.normal(size=(500, 2)), rng.normal(size=(2000, 2))
    p = stats.multivariate_normal(np.zeros(2), np.eye(2))
    noise = stats.multivariate_normal(np.zeros(2), 1e6 * np.eye(2))
    truth = float(p.logpdf(test).mean())
    bandwidths = np.logspace(-2, 0.3, 8 if args.quick else 30)
    curve = held_out(bandwidths, train, test)
    tiny = GaussianKDE(train, 0.01)
    mixture = mixture_log_prob(p.logpdf(test), noise.logpdf(test), weight=0.01)
    from_noise = rng.random(10000) >= 0.01  # which component each of q's draws comes from
    report("true_heldout_loglik", truth, source="N(0, I), 2,000 held-out points")
    report("tiny_kde_heldout_loglik", curve[0], source="h = 0.01: far below the truth")
    report("tiny_kde_train_loglik", float(tiny.log_prob(train).mean()),
           source="on its own training points: above the truth")
    report("best_bandwidth", bandwidths[np.argmax(curve)],
           source=f"Scott's rule n^(-1/6) = {500 ** (-1 / 6):.3f}")
    report("mixture_heldout_loglik", float(mixture.mean()))
    report("mixture_loglik_gap", truth - float(mixture.mean()),
           lecture="<= log 100 = 4.605", source="001")
    report("mixture_bound_holds_pointwise",
           bool(np.all(mixture >= p.logpdf(test) - np.log(100) - 1e-12)))
    report("mixture_fraction_of_noise_samples", float(from_noise.mean()), lecture=0.99)
    plot(bandwidths, curve, truth, float(mixture.mean()), tiny.sample(500, rng), train, args)
    return {"truth": truth, "tiny_kde": float(curve[0]), "mixture": float(mixture.mean()),
            "gap": truth - float(mixture.mean()), "curve": curve.tolist()}


if __name__ == "__main__":
    main()
