"""Reverse-mode gradients of every minigrad primitive agree with finite differences (A1).

For each primitive of ``minigrad.ops.REGISTRY`` and each of its example
inputs x (``--quick``: the first example only), with a random upstream
vector u, the reverse-mode gradient a = grad_x <u, f(x)> is compared with
central differences coordinate by coordinate,

    n_k = (<u, f(x + h e_k)> - <u, f(x - h e_k)>) / (2 h),   h = 1e-6 (1 + |x_k|),

and the error is max_k |a_k - n_k| / max_k |n_k| (relative to the size of
that input's gradient, so near-zero entries do not blow it up). It prints
``max_rel_error[op] = ...`` per primitive (the worst over its examples and
inputs) and draws them as a bar chart on a log axis (``gradient_check.png``).

A second figure (``gradient_descent.png``) uses those gradients: gradient
descent on the Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from
(-1.2, 1), over its contours and its negative gradient field (quiver), all
gradients computed by minigrad and checked against the closed form.

No lecture figure is reproduced: this is the project's own evidence for
claim A1, on which every other gradient in the gallery rests.
"""
from __future__ import annotations

import numpy as np

import minigrad
from minigrad import Tensor
from minigrad.ops import REGISTRY
from demos._common import parse_args, report, savefig

STEP = 1e-6          # relative finite-difference step, as in minigrad.gradcheck
GRADCHECK_RTOL = 1e-4  # minigrad.gradcheck's default tolerance, drawn for scale


def max_relative_error(prim, args, kwargs, rng):
    """Worst over the inputs of max_k |reverse - central difference| / max_k |central|."""
    arrays = [np.array(a, dtype=np.float64) for a in args]
    u = rng.normal(size=np.shape(prim(*arrays, **kwargs).data))
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    analytic = minigrad.gradients(prim(*leaves, **kwargs), leaves, grad_outputs=Tensor(u))

    def projected(shifted):
        return float(np.sum(u * prim(*shifted, **kwargs).data))

    worst = 0.0
    for which, (x, a) in enumerate(zip(arrays, analytic)):
        numeric = np.zeros_like(x)
        for k in np.ndindex(*x.shape):
            h = STEP * (1.0 + abs(x[k]))
            plus, minus = [y.copy() for y in arrays], [y.copy() for y in arrays]
            plus[which][k] += h
            minus[which][k] -= h
            numeric[k] = (projected(plus) - projected(minus)) / (2 * h)
        scale = max(float(np.max(np.abs(numeric), initial=0.0)), 1e-300)
        worst = max(worst, float(np.max(np.abs(a.data - numeric), initial=0.0)) / scale)
    return worst


def errors_by_primitive(quick, rng):
    """{name: (family, worst error over its examples)} for every registered primitive."""
    errors = {}
    for name, prim in REGISTRY.items():
        examples = prim.examples(np.random.default_rng(0))
        examples = examples[:1] if quick else examples
        worst = max(max_relative_error(prim, args, kwargs, rng) for args, kwargs in examples)
        errors[name] = (prim.family, worst)
    return errors


def plot_errors(errors, args):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    names = sorted(errors, key=lambda n: (errors[n][0], errors[n][1]))
    families = sorted({f for f, _ in errors.values()})
    colors = dict(zip(families, plt.get_cmap("tab10").colors))
    floor = 1e-17  # an exact zero has no place on a log axis: drawn at the floor
    fig, ax = plt.subplots(figsize=(7, 0.2 * len(names) + 1.5))
    ax.barh(names, [max(errors[n][1], floor) for n in names],
            color=[colors[errors[n][0]] for n in names], left=floor)
    ax.set_xscale("log")
    line = ax.axvline(GRADCHECK_RTOL, color="k", ls="--", lw=1, label="gradcheck rtol (1e-4)")
    handles = [Patch(color=colors[f], label=f"{f} primitives") for f in families] + [line]
    ax.set_xlabel("max relative error |reverse-mode - central difference| / max |central|")
    ax.set_title("minigrad: every primitive's gradient vs finite differences (float64)")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    savefig(fig, args, "gradient_check")


def rosenbrock(x, y):
    return (1.0 - x) ** 2 + (y - x * x) ** 2 * 100.0


def rosenbrock_gradient_closed_form(x, y):
    return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)


def descend(start, lr, steps):
    """Plain gradient descent; gradients from minigrad.grad. Returns the path (steps+1, 2)."""
    gradient = minigrad.grad(lambda p: rosenbrock(p[0], p[1]))
    path = [np.array(start, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - lr * gradient(path[-1]).data)
    return np.array(path)


def plot_descent(path, args):
    import matplotlib.pyplot as plt

    xs, ys = np.linspace(-2, 2, 200), np.linspace(-1, 3, 200)
    X, Y = np.meshgrid(xs, ys)
    QX, QY = np.meshgrid(np.linspace(-2, 2, 21), np.linspace(-1, 3, 21))
    gx, gy = minigrad.grad(lambda a, b: rosenbrock(a, b).sum(), argnums=(0, 1))(QX, QY)
    norm = np.hypot(gx.data, gy.data) + 1e-12
    fig, ax = plt.subplots(figsize=(6, 5.5))
    contours = ax.contour(X, Y, np.log10(rosenbrock(X, Y) + 1e-3), levels=15, cmap="viridis")
    fig.colorbar(contours, ax=ax, label="log10 f(x, y)")
    ax.quiver(QX, QY, -gx.data / norm, -gy.data / norm, color="0.6", width=0.003,
              label="-grad f (direction, by minigrad)")
    ax.plot(path[:, 0], path[:, 1], "r-", lw=1.5, label=f"gradient descent ({len(path) - 1} steps)")
    ax.plot(*path[0], "ko", label="start (-1.2, 1)")
    ax.plot(1, 1, "k*", ms=12, label="minimum (1, 1)")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Gradient descent on the Rosenbrock function")
    ax.legend(loc="lower right", fontsize=8)
    savefig(fig, args, "gradient_descent")
    return float(np.max(np.abs(np.stack([gx.data, gy.data])
                               - np.stack(rosenbrock_gradient_closed_form(QX, QY)))))


def report_value(name, value, source=None):
    """report() a number and hand it back, for the returned dict."""
    report(name, value, source=source)
    return value


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    errors = errors_by_primitive(args.quick, rng)
    result = {}
    for name, (_, error) in errors.items():
        report(f"max_rel_error[{name}]", error)
        result[f"max_rel_error[{name}]"] = error
    worst = max(errors, key=lambda n: errors[n][1])
    result["worst_max_rel_error"] = report_value("worst_max_rel_error", errors[worst][1],
                                                 f"op {worst}")
    plot_errors(errors, args)
    path = descend((-1.2, 1.0), lr=1e-3, steps=2000 if args.quick else 20000)
    result["quiver_gradient_max_abs_error"] = report_value(
        "quiver_gradient_max_abs_error", plot_descent(path, args), "vs the closed-form gradient")
    result["descent_final_x"], result["descent_final_y"] = (float(v) for v in path[-1])
    report("descent_final_point", tuple(path[-1]), source="minimum at (1, 1)")
    result["descent_final_f"] = report_value("descent_final_f", float(rosenbrock(*path[-1])))
    return result


if __name__ == "__main__":
    main()
