"""Every malformed or hostile input of ``cases.py`` ends in the typed error it should, and the
message names the offending thing (file, option, value, modality, limit).

Run only these: ``pytest tests/fuzz``; counts by outcome: ``python scripts/fuzz_summary.py``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.fuzz.cases import CASES
from tests.fuzz.harness import run_case


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(reason=case.xfail, strict=False)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", _params())
def test_case(case, tmp_path):
    outcome = run_case(case, tmp_path)
    assert outcome.ok, (
        f"{case.id}: {outcome.status} ({outcome.detail}); raised {outcome.raised}: "
        f"{outcome.message}"
    )


def test_table_is_well_formed():
    ids = Counter(c.id for c in CASES)
    assert not [i for i, k in ids.items() if k > 1], "case ids must be unique"
    assert len(CASES) >= 300
    areas = {c.area for c in CASES}
    assert {"train-options", "method-options", "checkpoints", "outputs", "report-inputs",
            "predict-inputs", "measure-inputs", "pickles", "loaders"} <= areas
    # every case except the MI-input ones (class only) says what its message must name
    assert all(c.names for c in CASES if c.area != "mi-input")


def test_harness_detects_failures(tmp_path):
    """The harness fails a case that returns, raises the wrong class, or names the wrong
    thing -- so a passing table means something."""
    from infofusion.errors import ConfigError, FormatError
    from tests.fuzz.harness import api, cli

    def boom(_f):
        raise FormatError("something is wrong", path="x.npz")

    assert (
        run_case(api("t/returns", "t", lambda f: 1, FormatError, "x"), tmp_path).status
        == "no-error"
    )
    assert (
        run_case(api("t/class", "t", boom, ConfigError, "x.npz"), tmp_path).status == "wrong-class"
    )
    assert run_case(api("t/name", "t", boom, FormatError, "y.npz"), tmp_path).status == "unnamed"
    assert run_case(api("t/ok", "t", boom, FormatError, "x.npz", "wrong"), tmp_path).ok
    assert run_case(api("t/raw", "t", lambda f: [][1], FormatError), tmp_path).status == "traceback"
    ok = cli("t/cli", "t", lambda f: ["datasets", "list"], ConfigError)
    assert run_case(ok, tmp_path).status == "no-error"
