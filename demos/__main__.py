"""``python -m demos [--quick] [--only NAME ...] [--list] [--out DIR] [--seed N] [--show]``

Runs every demo of this package (each module ``demos/<name>.py`` not starting
with ``_``, ``benchmark`` aside) in one process, in name order, showing
progress. Each demo's printed output is echoed and kept; afterwards
``<out>/report.md`` lists, for every demo, what it shows (its docstring's
first line), each reproduced number beside the lecture's value (the lines
printed by ``demos._common.report``) with whether it agrees (and why not,
where the demo explains it; numbers a ``--quick`` run leaves unconverged are
marked so), and the figures it wrote. A failing demo is reported and the others still run; the
exit status is then 1.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import sys
import time
import traceback
from pathlib import Path

from demos import _common

FIGURE_SUFFIXES = {".png", ".pdf", ".svg"}
# A stable report line printed without _common.report: "name = value ...".
STABLE_LINE = re.compile(r"^[^\s=][^=]* = \S.*$")


class _Tee(io.TextIOBase):
    """Writes to the real stdout (so progress stays visible) and keeps a copy."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text):
        self.stream.write(text)
        return self.copy.write(text)

    def flush(self):
        self.stream.flush()


def first_line(doc):
    """The first line of a docstring: what the demo shows."""
    text = (doc or "").strip()
    return text.splitlines()[0] if text else "(no docstring)"


def figures_in(out):
    """{path: modification time} of the figure files under ``out``."""
    return {p: p.stat().st_mtime_ns for p in Path(out).rglob("*")
            if p.suffix in FIGURE_SUFFIXES and p.is_file()}


def run_demo(name, demo_argv, out):
    """Import and run one demo; return a record for the report (never raises)."""
    record = {"name": name, "doc": "(not imported)", "reports": [], "result": None,
              "figures": [], "error": None, "seconds": 0.0}
    before = figures_in(out)
    del _common.REPORTS[:]
    tee = _Tee(sys.stdout)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(tee):
            module = importlib.import_module(f"demos.{name}")
            record["doc"] = first_line(module.__doc__)
            result = module.main(demo_argv)
        if not isinstance(result, dict):
            raise TypeError(f"demos.{name}.main returned {type(result).__name__}, expected a dict")
        record["result"] = result
    except BaseException as error:  # SystemExit from argparse too: report it, go on
        if isinstance(error, KeyboardInterrupt):
            raise
        record["error"] = "".join(traceback.format_exception(error)).rstrip()
    record["seconds"] = time.perf_counter() - start
    reported = [r["line"] for r in _common.REPORTS]
    others = [line for line in tee.copy.getvalue().splitlines()
              if STABLE_LINE.match(line) and line not in reported]
    record["reports"] = list(_common.REPORTS) + [{"line": line} for line in others]
    after = figures_in(out)
    record["figures"] = sorted(str(p) for p, t in after.items() if before.get(p) != t)
    return record


def _md(text):
    return str(text).replace("|", r"\|").replace("\n", " ")


def render_report(records, args):
    """report.md: per demo its purpose, numbers vs the lecture (agreeing or why not), figures."""
    failed = [r["name"] for r in records if r["error"]]
    mode = "quick" if args.quick else "full"
    lines = ["# Demo report", "",
             f"`python -m demos` ({mode} run{'' if args.seed is None else f', seed {args.seed}'}): "
             f"{len(records)} demo(s), {len(failed)} failed"
             + (f" ({', '.join(failed)})" if failed else "") + ".", ""]
    for r in records:
        status = "FAILED" if r["error"] else "ok"
        lines += [f"## {r['name']} ({status}, {r['seconds']:.1f} s)", "", r["doc"], ""]
        if r["reports"]:
            lines += ["| quantity | ours | lecture | agrees | source |", "|---|---|---|---|---|"]
            for rep in r["reports"]:
                if "name" in rep:
                    lines.append(f"| {_md(rep['name'])} | {_md(rep['value'])} | "
                                 f"{_md(rep['lecture'] or '-')} | {_md(rep['agrees'])} | "
                                 f"{_md(rep['source'] or '-')} |")
                else:  # printed by hand in the stable form: kept whole
                    lines.append(f"| {_md(rep['line'])} | | | | |")
            lines.append("")
        if r["figures"]:
            lines += ["Figures:", ""]
            for fig in r["figures"]:  # found under --out, so relative to report.md
                rel = Path(fig).relative_to(args.out)
                lines.append(f"![{rel.stem}]({rel.as_posix()})")
            lines.append("")
        if r["error"]:
            lines += ["```", r["error"], "```", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m demos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fast pass (about a minute in all)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this demo (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the demos and exit")
    parser.add_argument("--out", default=_common.DEFAULT_OUT,
                        help=f"folder for figures and report.md (default {_common.DEFAULT_OUT}/)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed passed to every demo (default: each demo's own)")
    parser.add_argument("--show", action="store_true", help="show figures in windows")
    args = parser.parse_args(argv)
    if not args.show:
        import matplotlib
        matplotlib.use("Agg", force=True)

    names = _common.discover()
    if args.list:
        for name in names:
            try:
                doc = first_line(importlib.import_module(f"demos.{name}").__doc__)
            except Exception as error:  # list what is there even if one is broken
                doc = f"(import failed: {type(error).__name__}: {error})"
            print(f"{name:<28} {doc}")
        if not names:
            print("(no demos yet)")
        return 0
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown demo(s) {unknown}; choose from {names}")
        names = [n for n in names if n in args.only]

    demo_argv = ["--out", args.out]
    demo_argv += ["--quick"] * args.quick + ["--show"] * args.show
    demo_argv += [] if args.seed is None else ["--seed", str(args.seed)]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    records, start = [], time.perf_counter()
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ...", flush=True)
        record = run_demo(name, demo_argv, args.out)
        records.append(record)
        verdict = "FAILED" if record["error"] else "done"
        print(f"[{i}/{len(names)}] {name} ... {verdict} in {record['seconds']:.1f} s", flush=True)
        if record["error"]:
            print(record["error"], file=sys.stderr, flush=True)

    report_path = Path(args.out) / "report.md"
    report_path.write_text(render_report(records, args), encoding="utf-8")
    failed = [r["name"] for r in records if r["error"]]
    print(f"{len(records)} demo(s) in {time.perf_counter() - start:.1f} s, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}; report: {report_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
