"""Seed-pinned baseline: small runs of FFS, MSSP (one- and two-sided), a bundle, capitation,
REACH and a two-payer blend reproduce their stored numbers exactly.

Exactly, not to a tolerance: the same seed must give the same doubles (the determinism
tests already require it between executors), so any change, even one unit in the last place
from a reordered sum, is shown and must be accepted on purpose. The cases, the stored
tables and the one command that regenerates them are described in
``tests/baseline/update.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "baseline_update", Path(__file__).parent / "baseline" / "update.py")
baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baseline)


def test_every_case_is_stored_and_every_stored_number_has_a_case():
    stored = baseline.load()
    assert baseline.CASES, "no case files in tests/baseline/cases"
    for name, df in stored.items():
        assert set(df["scenario"]) <= set(baseline.CASES), name
    for table in ("results", "statements", "cash_flows"):
        assert set(stored[table]["scenario"]) == set(baseline.CASES), table
    # The behaviour model is on in one case: its levers move away from the reference practice.
    # (The primary-care group's levers: with behaviour on, the hospital's own levers and the
    # specialists' volume are reported too.)
    r = stored["results"]
    group = r["metric"].str.startswith("lever_") & (r["entity"] == "primary_care_group")
    levers = r[(r["scenario"] == "mssp_two_sided_behaviour") & group]["value"]
    fixed = r[(r["scenario"] == "mssp_one_sided") & group]["value"]
    assert len(levers) == len(fixed) > 0
    assert not levers.sort_values().reset_index(drop=True).equals(
        fixed.sort_values().reset_index(drop=True))


@pytest.mark.parametrize("case", baseline.CASES)
def test_case_reproduces_the_stored_numbers(case):
    fresh = baseline.run_case(case)
    stored = baseline.load(case)
    for name in baseline.TABLES:
        assert len(stored[name]) == len(fresh[name]), (name, len(stored[name]), len(fresh[name]))
    problems = baseline.differences(stored, fresh)
    assert not problems, "numbers differ from tests/baseline:\n" + "\n".join(problems)


def test_a_changed_number_is_named_with_its_place_and_both_values():
    stored = baseline.load("mssp_one_sided")
    changed = {name: df.copy() for name, df in stored.items()}
    r = changed["results"]
    i = r.index[(r["entity"] == "primary_care_group") & (r["metric"] == "margin_usd")
                & (r["replication"] == 1) & (r["year"] == 0)][0]
    old = float(r.loc[i, "value"])
    new = old * (1 + 1e-15) if old else 1e-300
    r.loc[i, "value"] = new
    changed["cash_flows"] = changed["cash_flows"].iloc[1:]
    lines = baseline.differences(stored, changed)
    text = "\n".join(lines)
    assert ("results.csv, scenario mssp_one_sided: 1 value(s) changed, 0 row(s) missing, "
            "0 new row(s)") in text
    assert (f"replication 1, year 0, entity primary_care_group, metric margin_usd: "
            f"old {old!r}, new {new!r}") in text
    assert "cash_flows.csv, scenario mssp_one_sided: 0 value(s) changed, 1 row(s) missing" in text
    assert "tests/baseline/update.py" in lines[-1]
    assert baseline.differences(stored, stored) == []
