"""Gumbel-max draws the categorical; Gumbel-softmax relaxes it, tending to one-hot as tau -> 0 (M3, M4).

Lecture 001 (discrete VAE latents): with g_k ~ Gumbel(0, 1), c = argmax_k (log pi_k + g_k)
~ Categorical(pi) (the Gumbel-max trick), and the relaxation
y = softmax((log pi + g) / tau) makes the draw a differentiable function of log pi.

Figures: ``gumbel_softmax_simplex.png``, relaxed draws for pi = (0.2, 0.5, 0.3) on
the 2-simplex at four temperatures (coloured by their argmax);
``gumbel_softmax_draws.png``, the same noise g pushed through softmax at several
temperatures for K = 6; ``gumbel_max.png``, Gumbel-max frequencies against pi
(chi-square p-value), the distance from one-hot 1 - E[max_k y_k] and the bias of
the relaxed pathwise gradient of E[f(y)] against the exact gradient of
E[f(one_hot)] (f(y) = (v . y - 0.3)^2), both against tau with standard errors.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as st

from minigrad import Tensor
from demos._common import parse_args, report
from demos._gumbel_plots import plot_draws, plot_gumbel_max, plot_simplex
from dpm.distributions import RelaxedOneHotCategorical
from dpm.distributions.relaxed import gumbel_max_sample
from dpm.montecarlo import pathwise_gradient

PI = np.array([0.2, 0.5, 0.3])
TAUS = [2.0, 1.0, 0.5, 0.25, 0.1, 0.05]
V = np.array([1.0, -1.0, 2.0])


def gumbel_max_frequencies(n, rng):
    counts = np.bincount(gumbel_max_sample(np.log(PI), (n,), rng), minlength=PI.size)
    return counts / n, st.chisquare(counts, n * PI).pvalue


def one_hot_gap(n, rng):
    """[(tau, 1 - mean max_k y_k, its standard error)]."""
    rows = []
    for tau in TAUS:
        top = RelaxedOneHotCategorical(tau, probs=PI).sample((n,), rng).max(axis=-1)
        rows.append((tau, 1.0 - top.mean(), top.std(ddof=1) / np.sqrt(n)))
    return rows


def gradient_bias(n, rng):
    """[(tau, |relaxed gradient - exact one-hot gradient|, standard error of that norm)]."""
    f_k = (V - 0.3) ** 2
    exact = PI * (f_k - PI @ f_k)          # d/dlogits of E_{Cat(pi)}[f(one_hot)]
    rows = []
    for tau in TAUS:
        g = pathwise_gradient(lambda y: ((y * Tensor(V)).sum(axis=-1) - 0.3) ** 2,
                              lambda logits: RelaxedOneHotCategorical(tau, logits=logits),
                              {"logits": np.log(PI)}, n, rng)["logits"]
        rows.append((tau, float(np.linalg.norm(g.mean - exact)), float(np.linalg.norm(g.stderr))))
    return rows, exact


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    n = 20_000 if args.quick else 200_000
    freqs, pvalue = gumbel_max_frequencies(n, rng)
    report("gumbel_max_frequencies", freqs, lecture=tuple(PI), source="001, Gumbel-max trick")
    report("gumbel_max_chi2_pvalue", pvalue, lecture="c ~ Categorical(pi)", source="001",
           agrees=bool(pvalue > 1e-3))
    gaps = one_hot_gap(n, rng)
    biases, exact = gradient_bias(n, rng)
    result = {"gumbel_max_frequencies": freqs.tolist(), "gumbel_max_chi2_pvalue": pvalue}
    # "-> 0 as tau -> 0": each value below the one at the next larger tau, within
    # 2 standard errors of their difference (the biases are Monte Carlo estimates)
    gap_at = {t: (g, se) for t, g, se in gaps}
    bias_at = {t: (b, se) for t, b, se in biases}
    below = lambda at, t, up: (up is None or at[t][0] <= at[up][0]  # noqa: E731
                               + 2 * np.hypot(at[t][1], at[up][1]))
    taus = sorted(gap_at)
    larger = dict(zip(taus[:-1], taus[1:]))
    for (tau, gap, gap_se), (_, bias, bias_se) in zip(gaps, biases):
        up = larger.get(tau)
        report(f"one_hot_gap[tau={tau:g}]", gap, lecture="-> 0 as tau -> 0", source="001",
               agrees=below(gap_at, tau, up))
        report(f"gradient_bias[tau={tau:g}]", bias, lecture="-> 0 as tau -> 0", source="001",
               agrees=below(bias_at, tau, up),
               why="the bias grows again at the smallest tau (variance of the relaxed "
                   "gradient)")
        print(f"  (standard errors: gap {gap_se:.2g}, bias {bias_se:.2g})")
        result[f"one_hot_gap[tau={tau:g}]"] = gap
        result[f"gradient_bias[tau={tau:g}]"] = bias
    plot_simplex(PI, rng, 1500, args)
    plot_draws(rng, args)
    plot_gumbel_max(PI, freqs, pvalue, gaps, biases, exact, args)
    return result


if __name__ == "__main__":
    main()
