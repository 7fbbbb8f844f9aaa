"""The reparameterization table, sampled both ways, and the gradient-variance table (M2, M6).

Lecture 000 ("Common reparameterization tricks") lists, for each family, a
deterministic map of parameter-free noise: N(mu, s) = mu + s N(0, 1),
U(a, b) = a + (b - a) U(0, 1), Exp(l) = Exp(1) / l, Cauchy(mu, g) = mu + g Cauchy(0, 1),
Laplace(mu, b) = mu - b sgn(u) ln(1 - |u|), u ~ U(-1, 1), and Categorical: none
(approximated by Gumbel-softmax; see gumbel_softmax.py). Gumbel(mu, b) = mu - b ln(-ln u)
is added. For each, draws of ``rsample`` (the map) and of scipy.stats' own sampler
are histogrammed against the density (``reparameterization.png``) and the KS
p-value of the rsample draws against the exact cdf is printed.

Lecture 003 says pathwise gradients have "typically much lower variance than
REINFORCE". The table (``gradient_variance.png``) measures the per-sample
variance of d/dmu and d/ds of E_{N(mu, s)}[f] for f = x^2 and f = sin x by
the pathwise and score-function estimators (with and without a leave-one-out
baseline). "Typically" matters: for sin x at mu = 1, s = 1 the score function
wins on d/dmu and the mean baseline hurts; both rows are printed.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as st

import minigrad as mg
from demos._common import parse_args, report, savefig
from dpm.distributions import Cauchy, Exponential, Gumbel, Laplace, Normal, Uniform
from dpm.montecarlo import compare_gradient_estimators

# name, our distribution, the scipy law with the same parameters, the lecture's map
FAMILIES = [
    ("Normal", Normal(1.0, 2.0), st.norm(1.0, 2.0), "mu + s N(0,1)"),
    ("Uniform", Uniform(-1.0, 3.0), st.uniform(-1.0, 4.0), "a + (b-a) U(0,1)"),
    ("Exponential", Exponential(1.5), st.expon(scale=1 / 1.5), "Exp(1) / lambda"),
    ("Cauchy", Cauchy(0.5, 1.0), st.cauchy(0.5, 1.0), "mu + g Cauchy(0,1)"),
    ("Laplace", Laplace(-1.0, 0.7), st.laplace(-1.0, 0.7), "mu - b sgn(u) ln(1-|u|)"),
    ("Gumbel", Gumbel(0.0, 1.2), st.gumbel_r(0.0, 1.2), "mu - b ln(-ln u)"),
]

OBJECTIVES = [("x^2", lambda x: x * x, 1.0, 1.0), ("sin x", mg.sin, 1.0, 0.5),
              ("sin x", mg.sin, 1.0, 1.0)]


def sample_both_ways(n, rng):
    """{name: (rsample draws, scipy draws, KS p-value of rsample vs the exact cdf)}."""
    out = {}
    for name, dist, law, _ in FAMILIES:
        ours = dist.rsample((n,), rng).data
        theirs = law.rvs(size=n, random_state=rng)
        out[name] = (ours, theirs, st.kstest(ours, law.cdf).pvalue)
    return out


def plot_samples(samples, args):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (name, dist, law, formula) in zip(axes.ravel(), FAMILIES):
        ours, theirs, pvalue = samples[name]
        tail = 0.05 if name == "Cauchy" else 0.005       # Cauchy's heavy tails off the panel
        low, high = law.ppf(tail), law.ppf(1 - tail)
        bins = np.linspace(low, high, 60)
        width = bins[1] - bins[0]
        for draws, label, style in ((theirs, "scipy sampler", "step"),
                                    (ours, f"rsample: {formula}", "stepfilled")):
            counts, _ = np.histogram(draws, bins)
            ax.hist(bins[:-1], bins, weights=counts / (draws.size * width), histtype=style,
                    alpha=0.45 if style == "stepfilled" else 1.0, label=label)
        grid = np.linspace(low, high, 400)
        ax.plot(grid, np.exp(dist.log_prob(grid).data), "k", lw=1.2, label="density exp(log_prob)")
        ax.set_title(f"{name}: KS p = {pvalue:.2f}")
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
    fig.suptitle("Each family sampled through its reparameterization and by scipy")
    fig.tight_layout()
    savefig(fig, args, "reparameterization")


def gradient_variances(n, rng):
    """[(objective, mu, s, parameter, estimator, mean, stderr, per-sample variance)]."""
    rows = []
    for name, f, mu, s in OBJECTIVES:
        table = compare_gradient_estimators(f, lambda loc, scale: Normal(loc, scale),
                                            {"loc": mu, "scale": s}, n, rng)
        for estimator, by_param in table.items():
            for param, g in by_param.items():
                rows.append((name, mu, s, param, estimator, float(g.mean), float(g.stderr),
                             float(g.variance)))
    return rows


def plot_variances(rows, args):
    import matplotlib.pyplot as plt

    estimators = ["pathwise", "score function", "score function + baseline"]
    groups = sorted({(r[0], r[1], r[2], r[3]) for r in rows}, key=lambda g: (g[2], g[0], g[3]))
    fig, ax = plt.subplots(figsize=(10, 4))
    for j, estimator in enumerate(estimators):
        heights = [next(r[7] for r in rows if r[:4] == g and r[4] == estimator) for g in groups]
        ax.bar(np.arange(len(groups)) + (j - 1) * 0.27, heights, 0.27, label=estimator)
    ax.set_xticks(np.arange(len(groups)),
                  [f"{g[0]}, s={g[2]:g}\nd/d{'mu' if g[3] == 'loc' else 's'}" for g in groups],
                  fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("per-sample gradient variance")
    ax.set_title("Gradient of E_{N(mu=1, s)}[f]: pathwise vs score function (REINFORCE)")
    ax.legend()
    savefig(fig, args, "gradient_variance")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    n = 20_000 if args.quick else 200_000
    samples = sample_both_ways(n, rng)
    result = {}
    for name, _, _, formula in FAMILIES:
        result[f"ks_pvalue[{name}]"] = samples[name][2]
        report(f"ks_pvalue[{name}]", samples[name][2],
               lecture=f"same law as {formula}", source="000, reparameterization table",
               agrees=bool(samples[name][2] > 1e-3))
    plot_samples(samples, args)
    rows = gradient_variances(20_000 if args.quick else 200_000, rng)
    print(f"{'objective':<20}{'param':<7}{'estimator':<27}{'mean':>9}{'stderr':>9}{'variance':>11}")
    for name, mu, s, param, estimator, mean, stderr, variance in rows:
        label = f"{name} (mu={mu:g},s={s:g})"
        print(f"{label:<20}{param:<7}{estimator:<27}{mean:>9.4f}{stderr:>9.4f}{variance:>11.4f}")
    for name, mu, s, param, estimator, mean, stderr, variance in rows:
        key = f"grad_variance[{name}, s={s:g}, {param}, {estimator}]"
        result[key] = variance
    for name, _, mu, s in OBJECTIVES:
        for param in ("loc", "scale"):
            by = {r[4]: r[7] for r in rows if r[:4] == (name, mu, s, param)}
            ratio = by["score function"] / by["pathwise"]
            result[f"variance_ratio[{name}, s={s:g}, {param}]"] = ratio
            report(f"variance_ratio_score_over_pathwise[{name}, mu={mu:g}, s={s:g}, {param}]",
                   ratio, lecture="pathwise typically much lower", source="003, reparameterization",
                   agrees=bool(ratio > 1),
                   why="'typically': for this objective and parameter the score function is "
                       "the lower")
    plot_variances(rows, args)
    return result


if __name__ == "__main__":
    main()
