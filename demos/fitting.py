"""Fitting a Normal by forward KL, reverse KL and JS: the lecture's experiments F1-F4.

Lecture 000 ("Forward KL: learning a normal distribution / a bimodal",
"Reverse KL: learning a bimodal", "Jensen-Shannon divergence: bimodal")
fits Q = N(mu, sigma) by gradient descent to P = N(-7.3, 3.2) and to the
bimodal P = 1/2 N(-7.3, 1.4) + 1/2 N(7.3, 1.4). Here each fit is
``dpm.fitting.fit_normal`` (Adam on Monte Carlo estimates from
dpm.divergences, fresh draws each step) and each is set beside the exact
optimum from the same start (``exact_fit``: quadrature divergence minimised
by Nelder-Mead; closed form for forward KL, which is moment matching).

Prints, per run, ``<run>_fit`` (tail average of the last iterates) beside
the lecture's caption, ``<run>_fit_stderr`` (batch means), ``<run>_exact``,
and notes where the lecture differs from the exact optimum: its wide fits
N(0.08, 36.76) (F2) and N(-0.04, 48.20) (F4) cannot be standard deviations
of an optimum (exact sigma 7.43 and 7.385), and read as variances they are
fits stopped short (sd 6.06 and 6.94); its mode fits' locs (+-7.0) stop
short of the exact +-7.3. The exact JS gradient flow from N(1, 1) ends at
the wide local minimum N(0, 7.385), not the mode: the lecture's mode fits
depend on the optimiser (run F4_right_logscale, sigma = e^rho, goes wide).

Figures: ``fitting_fits.png`` (target, start, fit and exact optimum per run),
``fitting_losses.png`` (Monte Carlo loss per step against the exact minimum),
``fitting_paths.png`` (the paths in the (mu, sigma) plane).
"""
from __future__ import annotations

import functools

import numpy as np

from dpm import quadrature
from dpm.distributions import GaussianMixture, Normal
from dpm.fitting import exact_fit, fit_normal, tail_average
from demos._common import parse_args, report
from demos._fitting_plots import plot_fits, plot_losses, plot_paths

SOURCE = "000, fitting figures"
BIMODAL = GaussianMixture([0.5, 0.5], [-7.3, 7.3], [1.4, 1.4])
WIDE_SD = float(np.sqrt(1.4 ** 2 + 7.3 ** 2))  # the mixture's standard deviation, 7.433
# run name, claim, target, divergence, start, the lecture's caption, scale_param
RUNS = [
    ("F1", Normal(-7.3, 3.2), "forward_kl", (0.0, 1.0), "N(-7.28, 3.24)", "softplus"),
    ("F2", BIMODAL, "forward_kl", (0.0, 1.0), "N(0.08, 36.76)", "softplus"),
    ("F3_left", BIMODAL, "reverse_kl", (-1.0, 1.0), "N(-7.02, 1.41)", "softplus"),
    ("F3_right", BIMODAL, "reverse_kl", (1.0, 1.0), "N(7.01, 1.46)", "softplus"),
    ("F4_centre", BIMODAL, "js", (0.0, 1.0), "N(-0.04, 48.20)", "softplus"),
    ("F4_right", BIMODAL, "js", (1.0, 1.0), "N(6.99, 1.43)", "softplus"),
    ("F4_left", BIMODAL, "js", (-1.0, 1.0), "N(-6.98, 1.38)", "softplus"),
    ("F4_right_logscale", BIMODAL, "js", (1.0, 1.0), None, "log"),
]
# Why a fit differs from the lecture's caption (see lecture_notes for the numbers).
SHORT = "the exact mode fit is at +-7.300: the lecture's run stopped short"
WIDE = "neither the optimum's sd nor its variance: a run stopped short"
WHY = {"F2": WIDE, "F3_left": SHORT, "F3_right": SHORT, "F4_centre": WIDE, "F4_right": SHORT,
       "F4_left": SHORT}
EXACT = {"forward_kl": lambda p, q: quadrature.kl(p, q),
         "reverse_kl": lambda p, q: quadrature.kl(q, p),
         "js": lambda p, q: quadrature.js(p, q)}


@functools.lru_cache(maxsize=None)
def exact_optimum(target, divergence, start, quick):
    """(loc, scale, value): closed form for forward KL, else quadrature + Nelder-Mead.

    Nelder-Mead takes hundreds of integrals (seconds); --quick skips it (NaN).
    """
    if divergence == "forward_kl":
        loc, scale = float(target.mean.data), float(np.sqrt(target.variance.data))
        return loc, scale, EXACT[divergence](target, Normal(loc, scale))
    return (np.nan,) * 3 if quick else exact_fit(target, divergence, start)


def run_all(args):
    steps, n = (300, 200) if args.quick else (4000, 1000)
    results = {}
    for k, (name, target, divergence, start, lecture, scale_param) in enumerate(RUNS):
        run_steps = steps * (2 if name == "F4_centre" else 1)  # flat in mu: slow to settle
        fit = fit_normal(target, divergence, start, run_steps, 0.01, n,
                         np.random.default_rng([args.seed, k]), scale_param=scale_param)
        mean, stderr = tail_average(fit.path, run_steps // 2)
        exact = exact_optimum(target, divergence, start, args.quick)
        report(f"{name}_fit", tuple(mean), lecture=lecture, source=SOURCE, why=WHY.get(name),
               converged=not args.quick)
        report(f"{name}_fit_stderr", tuple(stderr), source="batch means over the last half")
        note = "; the fit with sigma = e^rho goes wide instead" if scale_param == "log" else ""
        report(f"{name}_exact", exact[:2], source=f"{divergence} minimum from N{start}, "
               f"value {exact[2]:.4f}{note}")
        results[name] = {"fit": fit, "mean": mean, "stderr": stderr, "exact": exact}
    return results


def gradient_flow_end(target, start, max_steps=600, h=1e-5):
    """End of the exact JS gradient flow in (mu, sigma) from ``start``: Euler steps of
    length min(0.05, 5 |grad|) along -grad (quadrature JS, central differences)."""
    theta = np.array(start, dtype=float)
    js_at = lambda t: quadrature.js(target, Normal(t[0], t[1]))  # noqa: E731
    for step in range(max_steps):
        grad = np.array([(js_at(theta + e) - js_at(theta - e)) / (2 * h) for e in np.eye(2) * h])
        size = np.max(np.abs(grad))
        if size < 1e-5:
            break
        theta -= grad / size * min(0.05, 5 * size)
    return theta, step + 1


def lecture_notes(results, quick, args_seed):
    """Where the lecture's captions differ from the exact optima, with the numbers."""
    js_at = lambda loc, sd: quadrature.js(BIMODAL, Normal(loc, sd))  # noqa: E731
    report("F2_exact_sd_and_variance", (WIDE_SD, WIDE_SD ** 2), lecture="36.76", agrees=False,
           why="36.76 is neither",
           source="neither; read as a variance (sd 6.06) it fits a run stopped before converging")
    report("F3_F4_lecture_loc_shortfall", 7.3 - np.mean([7.02, 7.01, 6.99, 6.98]),
           source="the exact mode fits sit at +-7.300: the lecture's runs stopped short")
    if quick:
        return
    sd = results["F4_centre"]["exact"][1]
    report("F4_centre_exact_sd_and_variance", (sd, sd ** 2), lecture="48.20", agrees=False,
           why="48.20 is neither",
           source="read as a variance (sd 6.94) it fits a run stopped short of 7.385")
    report("F4_centre_js_if_48.20_is_sd", js_at(-0.04, 48.20),
           source=f"vs {results['F4_centre']['exact'][2]:.4f} at the optimum: no optimum there")
    report("F4_centre_js_if_48.20_is_variance", js_at(-0.04, np.sqrt(48.20)),
           source="close to the symmetric local minimum")
    report("F4_mode_js_vs_wide_js", (results["F4_right"]["exact"][2],
                                    results["F4_centre"]["exact"][2]),
           source="the modes are the global minimum, N(0, 7.385) a local one")
    # If the lecture's 1.4 (and every second parameter) were a variance:
    variance_target = GaussianMixture([0.5, 0.5], [-7.3, 7.3], [np.sqrt(1.4)] * 2)
    wide = exact_fit(variance_target, "js", (0.0, 1.0))
    report("F2_F4_exact_variances_if_1.4_is_variance", (1.4 + 7.3 ** 2, wide[1] ** 2),
           lecture="36.76, 48.20", why="both lecture values short of the optimum",
           source="both lecture values short of the optimum")
    # The lecture's reverse-KL start is N(0, 1) itself: the noise picks the mode.
    ends = [fit_normal(BIMODAL, "reverse_kl", (0.0, 1.0), 2000, 0.01, 500,
                       np.random.default_rng([args_seed, 100, k])).loc for k in range(8)]
    report("F3_from_N01_left_right_of_8_seeds",
           (sum(e < -6 for e in ends), sum(e > 6 for e in ends)),
           lecture="one left, one right (two attempts)", source=SOURCE,
           agrees=bool(sum(e < -6 for e in ends) and sum(e > 6 for e in ends)))
    flow_end, flow_steps = gradient_flow_end(BIMODAL, (1.0, 1.0))
    report("F4_right_exact_gradient_flow_end", tuple(flow_end),
           source=f"{flow_steps} steps from N(1, 1): plain gradient descent goes wide; "
                  f"Adam with additive sigma steps reaches the mode")


def main(argv=None):
    args = parse_args(argv, __doc__)
    results = run_all(args)
    lecture_notes(results, args.quick, args.seed)
    plot_fits(RUNS, results, args)
    plot_losses(RUNS, results, args)
    plot_paths(RUNS, results, args)
    return {name: {"fit": tuple(float(v) for v in r["mean"]),
                   "fit_stderr": tuple(float(v) for v in r["stderr"]),
                   "exact": tuple(float(v) for v in r["exact"])} for name, r in results.items()}


if __name__ == "__main__":
    main()
