"""The test suite's command-line options: ``--runslow`` and ``--ledger FILE``.

``reference_tests/conftest.py`` implements them (and explains them). They are
declared here, at the repository root, because pytest reads options only
from the conftest files it loads before it parses the command line, and the
root one is the file sure to be among them: declared deeper,
``python -m pytest --ledger ledger.md`` would take ``ledger.md`` for a test
path and stop with "unrecognized arguments".

For a ledger outside the repository write ``--ledger=/some/where.md``: with a
space, pytest looks at the path to choose its root directory before any
conftest is read.
"""


def pytest_addoption(parser):
    group = parser.getgroup("claims", "claim ledger and slow tests")
    group.addoption("--runslow", action="store_true", default=False,
                    help="also run tests marked slow (skipped by default; CI runs them)")
    group.addoption("--ledger", metavar="FILE", default=None,
                    help="write the Markdown claim ledger (every claim ID, its tests, "
                         "their outcomes, code, demo, status) to FILE")
