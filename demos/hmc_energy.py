"""HMC's leapfrog: the energy error is O(step^2), and the orbits in phase space (E2).

Lecture 004 (HMC). For H(x, p) = -log p(x) + p^2 / 2 the exact flow keeps H
constant; leapfrog does not, but it is reversible and volume-preserving, and
over a fixed time its energy error shrinks as step^2. Left panel of
``hmc_energy.png``: the mean |H(end) - H(start)| after time T = 1.6 on a
banana-shaped 2-D target against the step, with the fitted slope (2 in
theory). Right panel: phase-space orbits (x, p) of a 1-D standard Gaussian,
the exact circle H = const against leapfrog orbits at several steps (stable
ellipses for step < 2, growing without bound beyond). Prints the fitted slope
and the energy error at each step.
"""
from __future__ import annotations

import numpy as np

from dpm import mcmc
from dpm.mcmc._target import log_density_and_grad
from demos._common import parse_args, report, savefig

STEPS = np.array([0.16, 0.08, 0.04, 0.02, 0.01])
TIME = 1.6


def banana_log_prob(x):
    x1, x2 = x[:, 0], x[:, 1]
    return -0.5 * x1 * x1 - (x2 - 0.5 * x1 * x1) ** 2


def banana_grad(x):
    return log_density_and_grad(banana_log_prob, x)


def energy_errors(rng, starts):
    x0, p0 = 0.7 * rng.standard_normal((starts, 2)), rng.standard_normal((starts, 2))
    metric = np.ones((starts, 2))
    h0 = mcmc.hamiltonian(banana_grad(x0)[0], p0, metric)
    errors = []
    for eps in STEPS:
        _, p1, log_p1, _ = mcmc.leapfrog(banana_grad, x0, p0, eps, int(round(TIME / eps)), metric)
        errors.append(np.mean(np.abs(mcmc.hamiltonian(log_p1, p1, metric) - h0)))
    return np.array(errors)


def gaussian_orbit(step, n_steps):
    """Leapfrog on log p = -x^2/2 from (x, p) = (0, 1), in closed form per step."""
    x, p, points = 0.0, 1.0, [(0.0, 1.0)]
    for _ in range(n_steps):
        p -= 0.5 * step * x
        x += step * p
        p -= 0.5 * step * x
        points.append((x, p))
    return np.array(points)


def plot(errors, slope, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.loglog(STEPS, errors, "o-", label=f"leapfrog, fitted slope {slope:.3f}")
    left.loglog(STEPS, errors[-1] * (STEPS / STEPS[-1]) ** 2, "k--", lw=1, label="step^2")
    left.set(xlabel="leapfrog step eps", ylabel=f"mean |H(T) - H(0)| after T = {TIME} (nats)",
             title="Energy error of leapfrog is O(eps^2) (banana target)")
    left.legend()
    angle = np.linspace(0, 2 * np.pi, 200)
    right.plot(np.cos(angle), np.sin(angle), "k", lw=2, label="exact flow: H constant")
    for step, color in ((0.3, "C0"), (1.2, "C1"), (1.9, "C2"), (2.005, "C3")):
        # points only: leapfrog visits its (tilted, stretched) ellipse in big jumps
        orbit = gaussian_orbit(step, 80 if step < 2 else 12)
        right.plot(orbit[:, 0], orbit[:, 1], "o", color=color, ms=3,
                   label=f"leapfrog, eps = {step}" + (" (unstable: grows)" if step > 2 else ""))
    right.set(xlabel="position x", ylabel="momentum p", xlim=(-3, 3), ylim=(-3, 3),
              aspect="equal", title="Phase-space orbits, 1-D standard Gaussian")
    right.legend(fontsize=7, loc="upper right")
    return savefig(fig, args, "hmc_energy")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    errors = energy_errors(rng, 16 if args.quick else 128)
    slope = np.polyfit(np.log(STEPS), np.log(errors), 1)[0]
    report("energy_error_slope", slope, lecture="2 (O(step^2))", source="004, HMC")
    for eps, error in zip(STEPS, errors):
        report(f"energy_error_step_{eps:g}", error, source=f"mean |dH| after T = {TIME}")
    plot(errors, slope, args)
    return {"slope": float(slope), "steps": STEPS.tolist(), "errors": errors.tolist()}


if __name__ == "__main__":
    main()
