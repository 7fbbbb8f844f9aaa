"""Shared pytest machinery: the claim ledger, slow tests, headless plots.

Markers and options (the options are declared in the root conftest.py)
----------------------------------------------------------------------
- ``@pytest.mark.claim("K3", "K1")``: the CLAIMS.md IDs a test shows true.
  The IDs live in ``reference_tests/claims.py``; an ID not there makes the
  test fail with a message naming it (a typo must not quietly drop a claim).
- ``@pytest.mark.slow``: a test taking more than about 5 s. Skipped unless
  ``--runslow`` is given; CI (``.ci/run``) gives it.
- ``--ledger FILE``: after the session, write a Markdown table of every claim
  ID with the tests that carry it, their outcomes, the code and demo named in
  ``claims.py``, and a status: ``shown`` when at least one of its tests
  passed and none failed, ``open`` otherwise. The ledger is generated, never
  edited by hand: ``python -m pytest --runslow --ledger ledger.md``.

Monte Carlo tests and the rare false failure
--------------------------------------------
A Monte Carlo test compares its estimate with an exact value and passes when
they differ by at most 5 standard errors (effective sample size for MCMC).
Every such test seeds its own ``numpy.random.default_rng(seed)``, so its
outcome is deterministic: a failure repeats on every run and on every
machine with the same NumPy, and is never "flaky". A failure is therefore
investigated, never made to pass by widening the tolerance. A correct
estimator misses by more than 5 standard errors with probability below 1e-6
(Gaussian tails), so the first suspect is the code or the standard error.
Only if the estimator is shown correct (for example by the same test passing
at several other seeds and at a larger sample size) may the seed change,
and the test then says so in its body: the old seed, the z-score it gave,
and why the new seed is not cherry-picked.
"""
from __future__ import annotations

import datetime
import importlib.util
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest

# Tests never open windows: figures go to files (demos' --show aside).
os.environ.setdefault("MPLBACKEND", "Agg")


def load_claims():
    """``reference_tests/claims.py`` as a module, loaded by its path.

    Loading by path (not ``import claims``) works whatever pytest's import
    mode and wherever this conftest is copied (test_ledger.py runs a copy).
    """
    path = Path(__file__).with_name("claims.py")
    spec = importlib.util.spec_from_file_location("_reference_claims", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    # Registered here as well as in setup.cfg, so a run from another rootdir
    # (or --strict-markers without our ini file) still knows them.
    config.addinivalue_line("markers", "claim(*ids): the CLAIMS.md IDs this test shows true")
    config.addinivalue_line("markers", "slow: takes more than about 5 s; run with --runslow")
    if not hasattr(config, "workerinput"):  # one ledger, written by the controller
        config.pluginmanager.register(ClaimLedger(config, load_claims()), "claim-ledger")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


class ClaimLedger:
    """Gathers each claim-marked test's outcome and writes the ledger table."""

    def __init__(self, config, claims_module):
        self.config = config
        self.claims = claims_module.CLAIMS
        self.code = getattr(claims_module, "CODE", {})
        self.demo = getattr(claims_module, "DEMO", {})
        self.ids_of = {}  # nodeid -> claim IDs, for the tests this session runs
        self.bad_marker = {}  # nodeid -> message, for markers naming no known claim
        self.outcome = {}  # nodeid -> "passed" | "failed" | "skipped"
        self.written = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        # session.items is final here: after -k/-m deselection and slow skips.
        for item in session.items:
            marks = list(item.iter_markers("claim"))
            if not marks:
                continue
            ids = [claim_id for mark in marks for claim_id in mark.args]
            unknown = [i for i in ids if i not in self.claims]
            if unknown:
                self.bad_marker[item.nodeid] = (
                    f"@pytest.mark.claim names unknown claim ID(s) {unknown}; the known IDs are "
                    f"the keys of CLAIMS in reference_tests/claims.py: {id_ranges(self.claims)}")
            elif not ids:
                self.bad_marker[item.nodeid] = (
                    '@pytest.mark.claim() names no claim ID; give at least one, e.g. claim("K3")')
            self.ids_of[item.nodeid] = [i for i in ids if i in self.claims]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        message = self.bad_marker.get(item.nodeid)
        if message:
            pytest.fail(message, pytrace=False)

    def pytest_runtest_logreport(self, report):
        if report.nodeid not in self.ids_of:
            return
        previous = self.outcome.get(report.nodeid)
        if report.failed:  # a failure in setup, call or teardown fails the test
            self.outcome[report.nodeid] = "failed"
        elif previous == "failed":
            return
        elif report.skipped:  # skip, xfail, or a slow test without --runslow
            self.outcome[report.nodeid] = "skipped"
        elif report.when == "call":
            self.outcome[report.nodeid] = "passed"

    def rows(self):
        """One dict per claim ID, in CLAIMS order: tests, counts, status."""
        tests_of = defaultdict(list)
        for nodeid, ids in self.ids_of.items():
            if nodeid in self.outcome:  # ran (or was skipped), not interrupted before
                for claim_id in ids:
                    tests_of[claim_id].append(nodeid)
        rows = []
        for claim_id, statement in self.claims.items():
            nodeids = tests_of[claim_id]
            counts = {k: sum(self.outcome[n] == k for n in nodeids)
                      for k in ("passed", "failed", "skipped")}
            shown = counts["passed"] >= 1 and counts["failed"] == 0
            rows.append({"id": claim_id, "statement": statement, "tests": nodeids,
                         "counts": counts, "code": self.code.get(claim_id, ()),
                         "demo": self.demo.get(claim_id, ()),
                         "status": "shown" if shown else "open"})
        return rows

    def pytest_sessionfinish(self, session):
        path = self.config.getoption("--ledger")
        if not path:
            return
        path = Path(self.config.invocation_params.dir, path)
        rows = self.rows()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_ledger(rows, self.config), encoding="utf-8")
        self.written = (path, sum(r["status"] == "shown" for r in rows), len(rows))

    def pytest_terminal_summary(self, terminalreporter):
        if self.written:
            path, shown, total = self.written
            terminalreporter.write_line(f"claim ledger: {shown} of {total} claims shown, "
                                        f"{total - shown} open -> {path}")


def id_ranges(ids):
    """Claim IDs in short form, one range a letter: "A1-A4, M1-M6, ..."."""
    numbers = defaultdict(list)
    for claim_id in ids:
        numbers[claim_id[0]].append(int(claim_id[1:]))
    return ", ".join(f"{letter}{min(n)}-{letter}{max(n)}" if len(n) > 1 else f"{letter}{n[0]}"
                     for letter, n in numbers.items())


def _cell(text):
    return str(text).replace("|", r"\|").replace("\n", " ")


def _names(values):
    if isinstance(values, str):
        values = [values]
    return "<br>".join(f"`{_cell(v)}`" for v in values) or "-"


def _tests_cell(nodeids):
    """Node ids, parametrized cases folded into one entry with their count."""
    cases = defaultdict(int)
    for nodeid in nodeids:
        cases[re.sub(r"\[.*\]$", "", nodeid)] += 1
    return "<br>".join(f"`{_cell(base)}`" + (f" ({n} cases)" if n > 1 else "")
                       for base, n in cases.items()) or "-"


def render_ledger(rows, config):
    """The ledger as Markdown: a header saying how it was made, then the table."""
    shown = sum(r["status"] == "shown" for r in rows)
    command = " ".join(["python -m pytest", *config.invocation_params.args])
    slow = "run" if config.getoption("--runslow") else "skipped (no --runslow)"
    lines = [
        "# Claim ledger",
        "",
        f"Generated on {datetime.date.today().isoformat()} by `{_cell(command)}`; "
        f"slow tests {slow}. Do not edit: regenerate.",
        "",
        f"**{shown} of {len(rows)} claims shown** (at least one passing test, none "
        "failing); the others are open. Statements are in `reference_tests/claims.py`, "
        "the lectures' own wording in `shared/CLAIMS.md`.",
        "",
        "| ID | statement | tests | outcome | code | demo | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        outcome = ", ".join(f"{n} {k}" for k, n in r["counts"].items() if n) or "no tests"
        status = "**shown**" if r["status"] == "shown" else "open"
        lines.append(f"| {r['id']} | {_cell(r['statement'])} | {_tests_cell(r['tests'])} | "
                     f"{outcome} | {_names(r['code'])} | {_names(r['demo'])} | {status} |")
    return "\n".join(lines) + "\n"
