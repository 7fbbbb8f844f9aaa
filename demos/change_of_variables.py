"""Change of variables: p_Y(y) = p_X(f^{-1}(y)) |det d f^{-1}/dy| in 1-D and 2-D (N1, N2).

Lecture 002 ("Normalizing flows"): y = 2x + 1 of x ~ U(0, 1) is uniform on
[1, 3] with density 1/2 = p_X(x) |dx/dy|; y = e^x of x ~ N(0, 1) has the
log-normal density p_X(log y) / y; and a 2-D affine coupling layer (RealNVP)
at random weights moves N(0, I) to a curved law whose density, computed by
the inverse pass plus log|det J|, matches a histogram of its samples and
integrates to 1 on a grid.

Figure ``change_of_variables.png``: the three densities over histograms of
samples. Prints the uniform image's density, the largest gap of our
log-normal density to scipy's, and the 2-D density's integral.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

import minigrad as mg
from demos._common import parse_args, report, savefig
from dpm.distributions import (
    AffineTransform, ExpTransform, Normal, TransformedDistribution, Uniform)
from dpm.models import flows as F


def log_density(dist, points):
    with mg.no_grad():
        return dist.log_prob(points).data


def plot(uniform_image, lognormal, coupled, draws, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    y = uniform_image.sample((20000,), np.random.default_rng(args.seed))
    grid = np.linspace(0.5, 3.5, 400)
    axes[0].hist(y, bins=60, density=True, alpha=0.4, label="samples of 2x + 1")
    axes[0].plot(grid, np.exp(log_density(uniform_image, grid)), "C3", label="p_X(x) |dx/dy|")
    axes[0].set(xlabel="y", ylabel="density", title="y = 2x + 1, x ~ U(0, 1): density 1/2")
    y = lognormal.sample((20000,), np.random.default_rng(args.seed + 1))
    grid = np.linspace(0.01, 6, 400)
    axes[1].hist(y[y < 6], bins=80, density=True, alpha=0.4, label="samples of e^x")
    axes[1].plot(grid, np.exp(log_density(lognormal, grid)), "C3", label="p_X(log y) / y")
    axes[1].plot(grid, stats.lognorm(1.0).pdf(grid), "k:", label="scipy lognorm")
    axes[1].set(xlabel="y", ylabel="density", title="y = e^x, x ~ N(0, 1)")
    xs = np.linspace(-4, 4, 120)
    gx, gy = np.meshgrid(xs, xs)
    dens = np.exp(log_density(coupled, np.column_stack([gx.ravel(), gy.ravel()])))
    axes[2].scatter(draws[:2000, 0], draws[:2000, 1], s=2, alpha=0.3, label="samples f(z)")
    axes[2].contour(gx, gy, dens.reshape(gx.shape), levels=8, cmap="viridis")
    axes[2].set(xlabel="y_1", ylabel="y_2", xlim=(-4, 4), ylim=(-4, 4),
                title="affine coupling of N(0, I): density by the inverse pass")
    for ax in axes:
        ax.legend(fontsize=8)
    return savefig(fig, args, "change_of_variables")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    uniform_image = TransformedDistribution(Uniform(0.0, 1.0), [AffineTransform(1.0, 2.0)])
    inside = np.exp(log_density(uniform_image, np.linspace(1.01, 2.99, 50)))
    lognormal = TransformedDistribution(Normal(0.0, 1.0), [ExpTransform()])
    grid = np.linspace(0.05, 8, 200)
    gap = np.max(np.abs(log_density(lognormal, grid) - stats.lognorm(1.0).logpdf(grid)))
    layer = F.AffineCoupling(2, (16,), rng=rng, flip=True)
    for p in layer.parameters():
        p.data *= 2.5  # a visibly curved map
    coupled = F.Flow(F.standard_normal(2), [layer])
    draws = coupled.sample((20000,), rng)
    total = F.grid_integral(lambda pts: log_density(coupled, pts), (-8, 8, -8, 8),
                            201 if args.quick else 401, draws)
    report("uniform_image_density", float(np.mean(inside)), lecture=0.5, source="002")
    report("uniform_image_density_spread", float(np.ptp(inside)))
    report("lognormal_max_log_density_gap", gap, source="vs scipy.stats.lognorm")
    report("coupling_density_integral", total.total,
           lecture=1, source=f"trapezoid bound {total.bound:.1g}")
    plot(uniform_image, lognormal, coupled, draws, args)
    return {"uniform_image_density": float(np.mean(inside)), "lognormal_gap": float(gap),
            "coupling_integral": total.total, "coupling_bound": total.bound}


if __name__ == "__main__":
    main()
