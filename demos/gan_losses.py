"""Minimax vs non-saturating generator losses when the discriminator rejects the fakes (G3).

Lectures 001 and 002 ("the generator's loss saturates"): early in training
D(G(z)) is near 0. The minimax generator minimises log(1 - D(G(z))), whose
derivative in the logit l of D is -D: it vanishes as D -> 0. The
non-saturating generator minimises -log D(G(z)), with derivative -(1 - D):
about -1 there. The two losses have the same fixed points.

Figure ``gan_losses.png``: left, both losses against D(G(z)); right, the
magnitude of their derivative in the logit on a log scale, closed form
(lines) and minigrad's autodiff (markers). Prints both gradients at
D = 0.01 and their ratio (1 - D) / D = 99.
"""
from __future__ import annotations

import numpy as np

from minigrad import Tensor
from dpm.models.gan import generator_logit_gradient, generator_loss
from demos._common import parse_args, report, savefig


def autodiff_gradients(logits, kind):
    """d/dl of each fake's generator loss, by minigrad (the mean's gradient times m)."""
    fake = Tensor(logits, requires_grad=True)
    (generator_loss(fake, kind) * len(logits)).backward()
    return fake.grad


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
    report("minimax_gradient_at_D_0.01", minimax, lecture="-D = -0.01", source="001")
    report("non_saturating_gradient_at_D_0.01", non_saturating, lecture="-(1 - D) = -0.99",
           source="001")
    report("gradient_ratio_at_D_0.01", non_saturating / minimax, lecture="(1 - D) / D = 99")
    report("minimax_gradient_at_D_1e-8", float(curves["minimax"][0][0]), lecture="vanishes")
    report("closed_form_vs_autodiff_max_gap", agreement, source="float64")
    plot(d, curves, args)
    return {"minimax_gradient": minimax, "non_saturating_gradient": non_saturating,
            "ratio": non_saturating / minimax, "autodiff_gap": float(agreement)}


if __name__ == "__main__":
    main()
