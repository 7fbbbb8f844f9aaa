"""Helpers every demo shares: flags, the stable report line, figure files.

A demo is a module ``demos/<name>.py`` with ``main(argv=None) -> dict``
that starts with ``args = parse_args(argv, __doc__)``, prints each number it
reproduces with ``report(...)``, saves figures with ``savefig(...)`` and
returns its numbers; it ends with ``if __name__ == "__main__": main()`` so
that ``python -m demos.<name>`` runs it alone. ``python -m demos`` runs them
all (see ``__main__.py``).
"""
from __future__ import annotations

import argparse
import numbers
import pkgutil
import re
from pathlib import Path

import numpy as np

DEFAULT_OUT = "demos/out"
# Modules of this package that are not demos.
NOT_DEMOS = {"benchmark"}

# Every report() call of the current process, in order, so the runner can put
# the numbers in report.md exactly as printed.
REPORTS: list[dict] = []


def discover() -> list[str]:
    """Names of the demo modules, sorted: every module of ``demos`` not
    starting with ``_`` and not ``benchmark``. Nothing is imported."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)])
                  if not m.name.startswith("_") and m.name not in NOT_DEMOS)


def parse_args(argv=None, description=None) -> argparse.Namespace:
    """The shared flags: ``--quick``, ``--seed``, ``--out``, ``--show``.

    Unless ``--show`` is given, matplotlib is switched to its file-only Agg
    backend, so a demo never opens a window (and works with no display).
    """
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer steps (the smoke test and CI use it)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of numpy.random.default_rng (default 0)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder for figures (default {DEFAULT_OUT}/)")
    parser.add_argument("--show", action="store_true",
                        help="also show the figures in a window")
    args = parser.parse_args(None if argv is None else [str(a) for a in argv])
    if not args.show:
        import matplotlib
        matplotlib.use("Agg", force=True)
    return args


def format_value(value, digits=4) -> str:
    """A number as a short stable string: ``digits`` significant digits for
    floats, integers as they are, sequences as ``(a, b, ...)``."""
    if not isinstance(value, (numbers.Number, np.ndarray, np.generic, str, list, tuple)) \
            and isinstance(getattr(value, "data", None), np.ndarray):
        value = value.data  # a minigrad Tensor
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if value == 0 or not np.isfinite(value) or 1e-4 <= abs(value) < 1e6:
            return f"{value:.{digits}g}"
        return f"{value:.{digits - 1}e}"
    if isinstance(value, (list, tuple, np.ndarray)):
        items = np.ravel(value).tolist() if isinstance(value, np.ndarray) else value
        if len(items) > 8:
            return f"array of shape {np.shape(value)}"
        return "(" + ", ".join(format_value(v, digits) for v in items) + ")"
    return str(value)


def _numbers(value):
    """A flat tuple of floats for a number, a sequence or a numeric string; else None."""
    if isinstance(value, str):
        try:
            return tuple(float(v) for v in value.replace("(", "").replace(")", "").split(","))
        except ValueError:
            return None
    value = getattr(value, "data", value)
    try:
        flat = np.ravel(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        return None
    return tuple(flat.tolist())


def _alternatives(lecture):
    """The lecture's value(s): "N(a, b) or N(c, d)" gives [(a, b), (c, d)], a number [(x,)]."""
    if isinstance(lecture, str) and "N(" in lecture:
        found = [_numbers(inner) for inner in re.findall(r"N\(([^)]*)\)", lecture)]
        return [f for f in found if f is not None]
    single = _numbers(lecture)
    return [] if single is None else [single]


def agrees_with(value, lecture, rtol=0.02, atol=0.01) -> bool | None:
    """Whether ``value`` agrees with (one of) the lecture's number(s): each within 2% or
    0.01 (the lectures state two to four digits; one lecture number stands for every
    entry of ours); None when either is not numbers."""
    ours, alternatives = _numbers(value), _alternatives(lecture)
    if ours is None or not alternatives:
        return None
    verdicts = []
    for theirs in alternatives:
        theirs = theirs * len(ours) if len(theirs) == 1 else theirs
        if len(theirs) != len(ours):
            continue
        verdicts.append(all(o == t or abs(o - t) <= max(atol, rtol * abs(t))
                            for o, t in zip(ours, theirs)))
    return any(verdicts) if verdicts else None


def verdict(lecture, agrees, why, converged) -> str:
    """The report's "agrees" cell: yes, no (and why), - (no lecture value), ? (not judged);
    a number a quick run leaves unconverged is not compared."""
    if lecture is None:
        return "-" if converged else "- (quick run: unconverged)"
    if not converged:
        return "not compared (quick run: unconverged)"
    if agrees is None:
        return "? (not judged)"
    return "yes" if agrees else "no" + (f": {why}" if why else "")


def report(name, value, lecture=None, source=None, digits=4, agrees=None, why=None,
           converged=True) -> str:
    """Print and record one stable line: ``name = value (lecture: value, source)``.

    ``lecture`` is the value the lecture states (a number, a tuple or a text
    such as "about 0.19"), ``source`` where (e.g. "000, fitting figure").
    ``agrees``: whether ours agrees with it, judged by the demo (a text
    lecture value needs this); for numbers it defaults to ``agrees_with``.
    ``why``: the demo's explanation where it does not. ``converged=False``
    marks a number a ``--quick`` run leaves unconverged (the line and the
    report say so). Returns the line.
    """
    if agrees is None and lecture is not None:
        agrees = agrees_with(value, lecture)
    line = f"{name} = {format_value(value, digits)}"
    stated = None
    if lecture is not None:
        stated = lecture if isinstance(lecture, str) else format_value(lecture, digits)
        line += f" (lecture: {stated}" + (f", {source})" if source else ")")
    elif source:
        line += f" ({source})"
    if not converged:
        line += " [quick run: unconverged]"
    print(line, flush=True)
    REPORTS.append({"name": str(name), "value": format_value(value, digits), "lecture": stated,
                    "source": source, "agrees": verdict(stated, agrees, why, converged),
                    "line": line})
    return line


def figure_path(args, name) -> Path:
    """``<out>/<name>.png``, creating the folder."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out / f"{name}.png"


def savefig(fig, args, name, dpi=120) -> Path:
    """Write ``fig`` to ``<out>/<name>.png``; show it if ``--show``, else close it.

    Titles, axis labels with units and legends are the demo's job.
    """
    path = figure_path(args, name)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    print(f"figure: {path}", flush=True)
    import matplotlib.pyplot as plt
    if args.show:
        plt.show()
    else:
        plt.close(fig)
    return path
