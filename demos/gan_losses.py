"""Minimax vs non-saturating generator losses when the discriminator rejects the fakes (G3).

Goodfellow et al. (2014), on the game of lecture 001: early in training
D(G(z)) is near 0. The minimax generator minimises log(1 - D(G(z))), whose
derivative in the logit l of D is -D: it vanishes as D -> 0. The
non-saturating generator minimises -log D(G(z)), with derivative -(1 - D):
about -1 there. The two losses have the same fixed points.

Also the least-squares GAN's link to Pearson chi^2 (G6, Mao et al. 2017):
with targets a, b, c = -1, 1, 0 and the optimal D* = (b p + a p_g) / (p + p_g),
the generator's objective C(G) = 1/2 E_P (D* - c)^2 + 1/2 E_Pg (D* - c)^2
equals chi^2_Pearson(P_g || (P + P_g)/2), printed for P = N(0, 1),
P_g = N(1.5, 0.8^2) beside ``dpm.quadrature``'s Pearson chi^2.

Figure ``gan_losses.png``: left, both losses against D(G(z)); right, the
magnitude of their derivative in the logit on a log scale, closed form
(lines) and minigrad's autodiff (markers). Prints both gradients at
D = 0.01 and their ratio (1 - D) / D = 99.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate

from minigrad import Tensor
from dpm import quadrature
from dpm.distributions import Normal
from dpm.distributions.mixture import GaussianMixture
from dpm.models.gan import generator_logit_gradient, generator_loss, lsgan_generator_objective
from demos._common import parse_args, report, savefig


def autodiff_gradients(logits, kind):
    """d/dl of each fake's generator loss, by minigrad (the mean's gradient times m)."""
    fake = Tensor(logits, requires_grad=True)
    (generator_loss(fake, kind) * len(logits)).backward()
    return fake.grad


def lsgan_pearson(loc=1.5, scale=0.8):
    """(C(G) at the optimal LSGAN D, by quad; chi^2_Pearson(P_g || M) by dpm.quadrature)."""
    p, p_g = Normal(0.0, 1.0), Normal(loc, scale)

    def integrand(x):
        x = np.array([x])
        return float(lsgan_generator_objective(p.log_prob(x).data, p_g.log_prob(x).data)[0])
    c_of_g = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12)[0]
    midpoint = GaussianMixture([0.5, 0.5], [0.0, loc], [1.0, scale])
    return c_of_g, quadrature.f_divergence(p_g, midpoint, "pearson")


def plot(d, curves, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(d, np.log1p(-d), color="C3", label="minimax: log(1 - D)")
    left.plot(d, -np.log(d), color="C0", label="non-saturating: -log D")
    left.set(xlabel="D(G(z))", ylabel="generator loss (nats)", xscale="log",
             title="Generator losses (both minimised)")
    left.legend()
    for kind, color in (("minimax", "C3"), ("non_saturating", "C0")):
        closed, auto, marks = curves[kind]
        right.loglog(d, np.abs(closed), color=color, label=f"{kind}: closed form")
        right.loglog(d[marks], np.abs(auto[marks]), "o", color=color, ms=4,
                     label=f"{kind}: minigrad autodiff")
    right.set(xlabel="D(G(z)) (the discriminator rejects fakes on the left)",
              ylabel="|d loss / d logit|", title="Gradient reaching the generator")
    right.legend(fontsize=8)
    return savefig(fig, args, "gan_losses")


def main(argv=None):
    args = parse_args(argv, __doc__)
    d = np.logspace(-8, np.log10(0.999), 200 if args.quick else 1000)
    logits = np.log(d) - np.log1p(-d)  # l = logit(D)
    marks = np.arange(0, len(d), len(d) // 20)
    curves = {kind: (generator_logit_gradient(logits, kind), autodiff_gradients(logits, kind),
                     marks) for kind in ("minimax", "non_saturating")}
    agreement = max(np.max(np.abs(c - a)) for c, a, _ in curves.values())
    at = np.array([np.log(0.01) - np.log(0.99)])
    minimax = float(generator_logit_gradient(at, "minimax")[0])
    non_saturating = float(generator_logit_gradient(at, "non_saturating")[0])
    report("minimax_gradient_at_D_0.01", minimax, lecture="-D = -0.01",
           source="Goodfellow et al. 2014")
    report("non_saturating_gradient_at_D_0.01", non_saturating, lecture="-(1 - D) = -0.99",
           source="Goodfellow et al. 2014")
    report("gradient_ratio_at_D_0.01", non_saturating / minimax, lecture="(1 - D) / D = 99")
    report("minimax_gradient_at_D_1e-8", float(curves["minimax"][0][0]), lecture="vanishes")
    report("closed_form_vs_autodiff_max_gap", agreement, source="float64")
    c_of_g, pearson = lsgan_pearson()
    report("lsgan_C_of_G", c_of_g, lecture=f"chi^2_Pearson(P_g || M) = {pearson:.6g}",
           source="Mao et al. 2017, by dpm.quadrature", digits=7)
    plot(d, curves, args)
    return {"minimax_gradient": minimax, "non_saturating_gradient": non_saturating,
            "ratio": non_saturating / minimax, "autodiff_gap": float(agreement),
            "lsgan_C_of_G": c_of_g, "pearson_chi2": pearson}


if __name__ == "__main__":
    main()
