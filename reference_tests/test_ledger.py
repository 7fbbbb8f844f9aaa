"""The claim-ledger machinery of conftest.py, run on a tiny suite of its own.

Copies of the root conftest.py, reference_tests/conftest.py and claims.py
are laid out with a small test file in a temporary directory and pytest runs it (pytester, in this process); the
ledger it writes is then read back. Also: claims.py holds exactly the IDs of
shared/CLAIMS.md, and every code path and demo it names exists.
"""
import importlib.util
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_CLAIMS = REPO.parent / "shared" / "CLAIMS.md"


def load_claims():
    spec = importlib.util.spec_from_file_location("_claims_under_test", HERE / "claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


INNER_SUITE = '''
import pytest

@pytest.mark.claim("A1")
def test_passes():
    pass

@pytest.mark.claim("A2")
def test_fails():
    assert False

@pytest.mark.claim("A2", "A3")
def test_passes_for_two_claims():
    pass

@pytest.mark.claim("A4")
def test_skipped():
    pytest.skip("not yet")

@pytest.mark.claim("Z9")
def test_typo_in_claim_id():
    pass

@pytest.mark.slow
@pytest.mark.claim("M1")
def test_slow():
    pass

@pytest.mark.claim("M2")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_parametrized(n):
    pass
'''


def read_ledger(path):
    """{ID: {column: cell}} from the ledger's Markdown table."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| ID |"))
    columns = [c.strip() for c in lines[header].strip("|").split("|")]
    table = {}
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        table[cells[0]] = dict(zip(columns, cells))
    return table


@pytest.fixture
def inner(pytester):
    """A pytester directory laid out like the repository: the root conftest.py
    (options), reference_tests/ with our conftest.py, claims.py and INNER_SUITE."""
    suite = pytester.mkdir("reference_tests")
    copies = {pytester.path / "conftest.py": REPO / "conftest.py",
              suite / "conftest.py": HERE / "conftest.py",
              suite / "claims.py": HERE / "claims.py"}
    for copy, original in copies.items():
        copy.write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    (suite / "test_inner.py").write_text(INNER_SUITE, encoding="utf-8")
    return pytester


def test_ledger_lists_every_claim_with_outcomes_and_status(inner):
    # "--ledger FILE" with a space: FILE must not be taken for a test path
    result = inner.runpytest("--ledger", "out/ledger.md")
    result.assert_outcomes(passed=5, failed=2, skipped=2)
    result.stdout.fnmatch_lines(["claim ledger: 3 of * claims shown, * open -> *ledger.md"])
    table = read_ledger(inner.path / "out" / "ledger.md")

    assert list(table) == list(load_claims().CLAIMS)  # every ID, in order, none extra
    assert table["A1"]["status"] == "**shown**" and table["A1"]["outcome"] == "1 passed"
    assert "reference_tests/test_inner.py::test_passes`" in table["A1"]["tests"]
    # one failing test keeps a claim open even beside a passing one
    assert table["A2"]["status"] == "open" and table["A2"]["outcome"] == "1 passed, 1 failed"
    assert table["A3"]["status"] == "**shown**"
    assert table["A4"]["status"] == "open" and table["A4"]["outcome"] == "1 skipped"
    # slow tests are skipped without --runslow, so their claim stays open
    assert table["M1"]["status"] == "open" and table["M1"]["outcome"] == "1 skipped"
    # parametrized cases are folded into one entry with their count
    assert table["M2"]["outcome"] == "3 passed" and "(3 cases)" in table["M2"]["tests"]
    assert table["K1"]["outcome"] == "no tests" and table["K1"]["status"] == "open"
    assert "Z9" not in table
    # the typo fails its own test, with a message naming the ID and the list
    result.stdout.re_match_lines(["FAILED reference_tests/test_inner.py::test_typo_in_claim_id.*"])
    result.stdout.re_match_lines([r".*unknown claim ID\(s\) \['Z9'\].*reference_tests/claims\.py: "
                                  r"A1-A4, M1-M6, K1-K9, .*E1-E2"])


def test_runslow_runs_slow_tests(inner):
    result = inner.runpytest("--runslow", "--ledger", "ledger.md", "-k", "slow")
    result.assert_outcomes(passed=1, deselected=8)
    table = read_ledger(inner.path / "ledger.md")
    assert table["M1"]["status"] == "**shown**"
    assert table["A1"]["outcome"] == "no tests"  # deselected tests are not listed


def test_claims_are_one_line_statements_keyed_by_id():
    claims = load_claims()
    for claim_id, statement in claims.CLAIMS.items():
        assert re.fullmatch(r"[A-Z]\d{1,2}", claim_id), claim_id
        assert statement.strip() and "\n" not in statement, claim_id


def test_claims_match_the_ids_of_shared_claims_md():
    if not SHARED_CLAIMS.is_file():
        pytest.skip(f"{SHARED_CLAIMS} not found (shared/ is expected beside the repository)")
    ids = re.findall(r"^- ([A-Z]\d+) ", SHARED_CLAIMS.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(ids) == len(set(ids))
    assert list(load_claims().CLAIMS) == ids


def test_claims_code_and_demo_name_things_that_exist():
    from demos._common import discover

    claims = load_claims()
    demos = set(discover())
    for table in (claims.CODE, claims.DEMO):
        assert set(table) <= set(claims.CLAIMS), set(table) - set(claims.CLAIMS)
    for claim_id, paths in claims.CODE.items():
        for path in [paths] if isinstance(paths, str) else paths:
            assert (REPO / path).exists(), f"CODE[{claim_id!r}] names {path}, which does not exist"
    for claim_id, names in claims.DEMO.items():
        for name in [names] if isinstance(names, str) else names:
            assert name in demos, f"DEMO[{claim_id!r}] names {name}, not a demo in {sorted(demos)}"
