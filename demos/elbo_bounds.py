"""ELBO <= IWAE_k <= log p(x), rising in k, on a conjugate model with an exact evidence (V1, V8).

Lecture 003 ("The Evidence Lower bound"): log p(x) = ELBO(q) + KL(q || p(z | x)).
Model z ~ N(0, 1), x | z ~ N(z, 0.8^2), one observation x = 1.3: the
posterior N(x / 1.64, 0.64 / 1.64) and the evidence N(x; 0, 1.64) are exact.
- At q = the posterior the ELBO equals log p(x) with zero spread.
- For a q shifted by 0.6 and 1.3x wider, the ELBO falls short by exactly
  KL(q || posterior), and the importance-weighted bound IWAE_k (Burda et al.)
  climbs from the ELBO (k = 1) towards log p(x), the gap shrinking like
  chi^2(posterior || q) / (2k) for large k.

Figure ``elbo_bounds.png``: IWAE_k against k (log axis) with 2-s.e. bars,
log p(x) and the ELBO; the gap times k against chi^2/2. Prints each bound.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as st
from scipy import integrate

from dpm.distributions import Normal
from dpm.vi import elbo, iwae
from demos._common import parse_args, report, savefig

NOISE, X = 0.8, 1.3
POST_LOC, POST_SCALE = X / (1 + NOISE ** 2), np.sqrt(NOISE ** 2 / (1 + NOISE ** 2))
Q_LOC, Q_SCALE = POST_LOC + 0.6, POST_SCALE * 1.3
LOG_P = st.norm(0, np.sqrt(1 + NOISE ** 2)).logpdf(X)


def log_joint(z):
    return Normal(0.0, 1.0).log_prob(z) + Normal(z, NOISE).log_prob(np.array([X]))


def chi_square():
    post, q = st.norm(POST_LOC, POST_SCALE), st.norm(Q_LOC, Q_SCALE)
    return integrate.quad(lambda z: np.exp(2 * post.logpdf(z) - q.logpdf(z)),
                          POST_LOC - 12 * POST_SCALE, POST_LOC + 12 * POST_SCALE)[0] - 1


def plot(ks, values, errors, chi2, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.errorbar(ks, values, yerr=2 * errors, fmt="o-", capsize=3, label="IWAE_k (+-2 s.e.)")
    left.axhline(LOG_P, color="k", ls="--", label=f"log p(x) = {LOG_P:.4f}")
    left.axhline(values[0], color="C3", ls=":", label="ELBO (k = 1)")
    left.set(xscale="log", xlabel="k (importance samples)", ylabel="bound (nats)",
             title="IWAE_k rises from the ELBO to log p(x)")
    left.legend(fontsize=8)
    right.errorbar(ks, ks * (LOG_P - values), yerr=2 * ks * errors, fmt="o-", capsize=3,
                   label="k (log p(x) - IWAE_k)")
    right.axhline(chi2 / 2, color="k", ls="--", label=f"chi^2 / 2 = {chi2 / 2:.3f}")
    right.set(xscale="log", xlabel="k", ylabel="k x gap (nats)",
              title="The gap falls like chi^2(posterior || q) / 2k")
    right.legend(fontsize=8)
    return savefig(fig, args, "elbo_bounds")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    budget = 20_000 if args.quick else 200_000
    exact = elbo(log_joint, Normal(np.array([POST_LOC]), POST_SCALE), n=100, rng=rng)
    report("elbo_at_posterior", float(exact.data[0]), source=f"log p(x) = {LOG_P:.6f}, "
           f"spread {float(exact.stderr[0]):.1g}")
    kl = np.log(POST_SCALE / Q_SCALE) + (Q_SCALE ** 2 + 0.6 ** 2) / (2 * POST_SCALE ** 2) - 0.5
    ks = np.array([1, 2, 4, 8, 16, 64, 256, 1024] if not args.quick else [1, 2, 8, 64, 256])
    bounds = [iwae(log_joint, Normal(np.array([Q_LOC]), Q_SCALE), k=int(k),
                   n=max(50, budget // int(k)), rng=rng) for k in ks]
    values = np.array([float(b.data[0]) for b in bounds])
    errors = np.array([float(b.stderr[0]) for b in bounds])
    report("log_evidence", LOG_P, source="closed form N(x; 0, 1 + s^2)")
    report("elbo_gap", LOG_P - values[0], source=f"KL(q || posterior) = {kl:.4f}, "
           f"+- {errors[0]:.1g}")
    for k, v, e in zip(ks, values, errors):
        report(f"iwae_{k}", v, source=f"+- {e:.1g} (1 s.e.)")
    chi2 = chi_square()
    for k, v, e in zip(ks, values, errors):
        if k in (8, 64):    # large enough for the asymptote, small enough to measure
            report(f"iwae_gap_times_k_{k}", k * (LOG_P - v),
                   source=f"+- {k * e:.2g}; chi^2/2 = {chi2 / 2:.4f} (delta method, k -> inf)")
    report("iwae_monotone_within_2se", bool(np.all(np.diff(values) >= -2 * np.hypot(
        errors[1:], errors[:-1]))))
    plot(ks, values, errors, chi2, args)
    return {"log_evidence": LOG_P, "kl": kl, "k": ks.tolist(), "iwae": values.tolist(),
            "stderr": errors.tolist(), "chi2": chi2}


if __name__ == "__main__":
    main()
