"""The GAN's optimal discriminator D* = p / (p + p_g) and V(G, D*) = 2 JSD - log 4 (G1, G2).

Lecture 001 ("GAN optimality", also 002 and 004 eq. 9) proves, for a fixed
generator, that the best discriminator is D*(x) = p(x) / (p(x) + p_g(x)) and
that the value there is V(G, D*) = 2 JSD(P || P_g) - log 4, reaching -log 4
with D* = 1/2 exactly when P_g = P.

Figure ``gan_optimum_discriminator.png``: P = N(0, 1) and P_g = N(1.5, 0.7);
a discriminator trained by minigrad (logistic regression on (x, x^2), which
can represent D* exactly since log p/p_g is quadratic) drawn over D*.
Figure ``gan_optimum_value.png``: P_g = N(theta, 1) slides past P = N(0, 1);
V(G, D*) by quadrature against 2 JSD - log 4 with the JSD from
``dpm.quadrature.js``, touching -log 4 at theta = 0 and rising towards 0.

Prints ``V_at_equilibrium`` and ``D_star_at_equilibrium`` beside the
lecture's -log 4 and 1/2, the largest gap between V(G, D*) and 2 JSD - log 4
over the theta grid, and how far the trained discriminator is from D*
(mean |D - D*| under (P + P_g) / 2).
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import trapezoid

from minigrad.nn import Linear
from minigrad.optim import SGD, Adam
from dpm.distributions import Normal
from dpm.models.gan import optimal_discriminator, train_discriminator, value
from dpm.quadrature import js
from demos._common import agrees_with, parse_args, report, savefig

LOG_4 = np.log(4.0)


def train_quadratic_discriminator(real, fake, rng):
    """Logistic regression on (u, u^2), u = standardised x: returns x -> logit."""
    centre, width = np.r_[real, fake].mean(), np.r_[real, fake].std()

    def features(x):
        u = (np.asarray(x) - centre) / width
        return np.stack([u, u * u], axis=-1)

    net = Linear(2, 1, rng=rng)
    # Adam to get near the optimum, then full-batch heavy-ball descent to land on it.
    train_discriminator(net, features(real), features(fake), Adam(net.parameters(), lr=0.05), 200)
    train_discriminator(net, features(real), features(fake),
                        SGD(net.parameters(), lr=2.0, momentum=0.8), 150)
    return lambda x: net(features(x)).data[..., 0]


def value_curve(thetas):
    """V(G, D*) by quadrature and 2 JSD - log 4 for P = N(0, 1), P_g = N(theta, 1)."""
    p = Normal(0.0, 1.0)
    values, identity = [], []
    for theta in thetas:
        p_g = Normal(float(theta), 1.0)
        values.append(value(p, p_g, optimal_discriminator(p, p_g)))
        identity.append(2.0 * js(p, p_g) - LOG_4)
    return np.array(values), np.array(identity)


def plot_discriminator(p, p_g, grid, d_star, d_trained, n, args):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(grid, p.prob(grid).data, color="C0", alpha=0.5, label="p(x) = N(0, 1) (data)")
    ax.plot(grid, p_g.prob(grid).data, color="C1", alpha=0.5, label="p_g(x) = N(1.5, 0.7) (model)")
    ax.plot(grid, d_star, color="k", lw=2, label="D*(x) = p / (p + p_g)")
    ax.plot(grid, d_trained, color="C3", ls="--", lw=2,
            label=f"trained D (logistic on x, x^2; {n} draws each)")
    ax.axhline(0.5, color="grey", lw=0.5)
    ax.set(xlabel="x", ylabel="density / probability of 'real'",
           title="Optimal discriminator for a fixed generator (G1)")
    ax.legend(fontsize=8, loc="center left")
    return savefig(fig, args, "gan_optimum_discriminator")


def plot_value(thetas, values, identity, args):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(thetas, values, "o", color="C0", label="V(G, D*) by quadrature")
    ax.plot(thetas, identity, color="k", label="2 JSD(P || P_g) - log 4")
    ax.axhline(-LOG_4, color="C3", ls="--", label="-log 4 (the minimum, at P_g = P)")
    ax.axhline(0.0, color="grey", ls=":", label="2 log 2 - log 4 = 0 (disjoint limit)")
    ax.set(xlabel="theta (P_g = N(theta, 1), P = N(0, 1))", ylabel="value (nats)",
           title="The GAN value at the optimal discriminator (G2)")
    ax.legend(fontsize=8)
    return savefig(fig, args, "gan_optimum_value")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    n = 2000 if args.quick else 20000
    p, p_g = Normal(0.0, 1.0), Normal(1.5, 0.7)
    real, fake = p.sample((n,), rng), p_g.sample((n,), rng)
    logit = train_quadratic_discriminator(real, fake, rng)
    d_star_fn = optimal_discriminator(p, p_g)
    grid = np.linspace(-3.5, 4.0, 301)
    d_star, d_trained = d_star_fn(grid).data, 1.0 / (1.0 + np.exp(-logit(grid)))
    # |D - D*| averaged under M = (P + P_g) / 2, the law the training points
    # come from (far in the tails, where neither law has data, the fitted
    # quadratic extrapolates and the gap grows, as any estimate would).
    wide = np.linspace(-8.0, 8.0, 4001)
    mixture_density = 0.5 * (p.prob(wide).data + p_g.prob(wide).data)
    gap = float(trapezoid(np.abs(1.0 / (1.0 + np.exp(-logit(wide))) - d_star_fn(wide).data)
                          * mixture_density, wide))
    v_star = value(p, p_g, d_star_fn)
    v_trained = value(p, p_g, logit, logits=True)
    report("mean_abs_D_trained_minus_D_star", gap, source=f"under (P + P_g)/2, {n} draws each")
    report("V_trained_discriminator", v_trained, source="G1: below V(G, D*)")
    report("V_optimal_discriminator", v_star, source="G1: the maximum over D")

    thetas = np.linspace(-4.0, 4.0, 17 if args.quick else 81)
    values, identity = value_curve(thetas)
    equilibrium = Normal(0.0, 1.0)
    v_equilibrium = value(equilibrium, equilibrium,
                          optimal_discriminator(equilibrium, equilibrium))
    d_half = float(optimal_discriminator(equilibrium, equilibrium)(np.array([0.7])).data[0])
    report("V_at_equilibrium", v_equilibrium, lecture="-log 4 = -1.386", source="001",
           agrees=agrees_with(v_equilibrium, -np.log(4.0)))
    report("D_star_at_equilibrium", d_half, lecture=0.5, source="001")
    report("max_abs_V_minus_2JSD_minus_log4", float(np.max(np.abs(values - identity))),
           lecture="0 (identity)", source="001, 004 eq. 9",
           agrees=bool(np.max(np.abs(values - identity)) < 1e-9))
    report("V_at_theta_4", float(values[-1]), source="tends to 0 = 2 log 2 - log 4 as theta grows")

    plot_discriminator(p, p_g, grid, d_star, d_trained, n, args)
    plot_value(thetas, values, identity, args)
    return {"mean_abs_D_trained_minus_D_star": gap, "V_trained": v_trained, "V_optimal": v_star,
            "V_at_equilibrium": v_equilibrium, "D_star_at_equilibrium": d_half,
            "max_abs_V_minus_identity": float(np.max(np.abs(values - identity))),
            "thetas": thetas.tolist(), "values": values.tolist()}


if __name__ == "__main__":
    main()
