"""``python -m demos.benchmark [--only NAME] [--json] [--quick]``

Runs every benchmark module of this package (each module ``NAME.py`` with a
``run(quick: bool) -> list[dict]`` function returning rows made by
``_timing.row``), prints a table of ratios measured in this one process, and
with ``--json`` one JSON object per row. Speed is measured here, never
asserted in tests.

Before anything runs it calls ``minigrad.tune_process()`` (glibc malloc
thresholds, ``OMP_WAIT_POLICY=PASSIVE``; see ``minigrad/tuning.py``) and
says so on its first line (on stderr with ``--json``); ``--no-tune`` measures
the library's defaults instead.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path


def discover():
    """Names of the benchmark modules beside this file (``_private`` skipped)."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)])
                  if not m.name.startswith("_"))


def format_row(r):
    return (f"{r['bench']:<28} {r['size']:<22} {r['ours']:<26} {r['ours_s'] * 1e3:>10.3f} ms  "
            f"{r['ref']:<30} {r['ref_s'] * 1e3:>10.3f} ms  {r['speedup']:>7.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m demos.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="run only this module (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument("--no-tune", action="store_true",
                        help="do not call minigrad.tune_process() (library defaults)")
    args = parser.parse_args(argv)
    import minigrad  # before any kernel runs: OMP_WAIT_POLICY is read when OpenMP loads
    if not args.no_tune and not args.list:
        minigrad.tune_process()
    names = discover()
    if args.list:
        print("\n".join(names))
        return []
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown benchmark {unknown}; choose from {names}")
        names = [n for n in names if n in args.only]
    rows = []
    header = (f"{'bench':<28} {'size':<22} {'ours':<26} {'ours':>13}  {'reference':<30} "
              f"{'ref':>13}  {'speedup':>8}")
    print(minigrad.tuning.describe(), file=sys.stderr if args.json else sys.stdout, flush=True)
    if not args.json:
        print(header)
        print("-" * len(header))
    for name in names:
        module = importlib.import_module(f"demos.benchmark.{name}")
        for r in module.run(quick=args.quick):
            rows.append(r)
            print(json.dumps(r) if args.json else format_row(r), flush=True)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
