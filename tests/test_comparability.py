"""Scenarios are compared only when the comparison means something: the same plan years
(or an explicit alignment, stated in the output), first calendar year and population
(issue 18, item 5: a 1-year and a 3-year scenario got a paired difference and an ICER)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import sim
import sim.runner
from sim.cli import main
from sim.comparison import NotComparable, check_comparable, compare_results
from sim.replication import RESULT_COLUMNS
from sim.scenario import scenario_from_dict


def _scenario(name: str, horizon: int, **extra):
    return scenario_from_dict({"name": name, "horizon_years": horizon, "warmup_years": 0,
                               "replications": 2, "population": {"size": 300}, **extra})


# --------------------------------------------------------------------------- the rule


def test_same_plan_years_need_no_alignment():
    assert check_comparable({"a": [0, 1], "b": [1, 0]}) is None


def test_different_horizons_are_refused_without_alignment():
    with pytest.raises(NotComparable) as info:
        check_comparable({"a": [0], "b": [0, 1, 2]})
    message = str(info.value)
    assert "horizon_years: a 1 year(s), b 3 year(s)" in message
    assert "--align-horizon shortest" in message and "align_horizon='shortest'" in message


def test_alignment_keeps_the_common_years():
    assert check_comparable({"a": [0], "b": [0, 1, 2]}, align_horizon="shortest") == [0]


@pytest.mark.parametrize(("field", "kwargs"), [
    ("economics.first_calendar_year", {"first_calendar_year": {"a": 2024, "b": 2026}}),
    ("population.size", {"population": {"a": 10_000, "b": 5_000}}),
])
def test_other_differences_are_refused_even_with_alignment(field, kwargs):
    with pytest.raises(NotComparable, match=f"different {field}"):
        check_comparable({"a": [0], "b": [0]}, align_horizon="shortest", **kwargs)


def test_panels_of_different_sizes_may_be_compared_as_independent_samples():
    """A study of panel size (notebook 04) runs sizes with independent random numbers."""
    assert check_comparable({"a": [0], "b": [0]}, population={"a": 250, "b": 4_000},
                            paired=False) is None
    with pytest.raises(NotComparable, match="--no-crn / crn=False"):
        check_comparable({"a": [0], "b": [0]}, population={"a": 250, "b": 4_000})


def test_unknown_values_are_not_held_against_a_scenario():
    assert check_comparable({"a": [0], "b": [0]}, population={"a": 10, "b": None}) is None


def test_a_bad_alignment_is_refused():
    with pytest.raises(ValueError, match="align_horizon: expected one of shortest"):
        check_comparable({"a": [0]}, align_horizon="longest")


# --------------------------------------------------------------------------- on results


def _results() -> pd.DataFrame:
    """a: 1 plan year; b: 3, whose years 1-2 are huge (they must not leak into a 1-year
    comparison). Spending per replication r: a = 100 + r, b = 90 + r in year 0."""
    rows = []
    for r in range(4):
        rows.append((r, "a", 0, "population", "payer_spend_usd", 100.0 + r))
        rows.append((r, "b", 0, "population", "payer_spend_usd", 90.0 + r))
        rows += [(r, "b", y, "population", "payer_spend_usd", 1e6) for y in (1, 2)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def test_compare_results_refuses_different_horizons():
    with pytest.raises(NotComparable, match="different plan years"):
        compare_results(_results(), "a")


def test_aligned_comparison_uses_the_common_years_and_says_so():
    comparison = compare_results(_results(), "a", align_horizon="shortest")
    inc = comparison.incremental.set_index("metric").loc["payer_spend_usd"]
    assert inc["diff_mean"] == pytest.approx(-10.0)  # year 0 only, not 2 million more
    assert inc["scenario_mean"] == pytest.approx(91.5)
    assert comparison.alignment.startswith("compared over the common plan year 0 only")
    text = comparison.format()
    assert text.splitlines()[0] == ("Note: compared over the common plan year 0 only "
                                    "(--align-horizon shortest; horizons: a 1 year(s), "
                                    "b 3 year(s)).")


# --------------------------------------------------------------------------- before running


@pytest.fixture
def nothing_runs(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a simulation ran before the check")

    monkeypatch.setattr(sim.runner, "_execute", refuse)


def test_api_refuses_before_running(tmp_path: Path, nothing_runs):
    with pytest.raises(NotComparable, match="horizon_years: one 1 year"):
        sim.compare([_scenario("one", 1), _scenario("three", 3)], workers=1,
                    out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(NotComparable, match="first_calendar_year"):
        sim.compare([_scenario("a", 1), _scenario("b", 1, economics={
            "first_calendar_year": 2030})], workers=1)
    with pytest.raises(sim.runner.OverrideError, match="align_horizon: expected one of"):
        sim.compare([_scenario("a", 1), _scenario("b", 1)], workers=1, align_horizon="all")


def test_api_aligned_run_states_it_in_the_comparison_and_manifest(tmp_path: Path):
    result = sim.compare([_scenario("one", 1), _scenario("two", 2)], workers=1,
                         align_horizon="shortest", replications=1, progress=False,
                         out=tmp_path / "out")
    assert "common plan year 0 only" in result.compare().alignment
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["align_horizon"] == "shortest"
    npv = pd.read_csv(tmp_path / "out" / "compare_npv.csv")
    assert len(npv)  # comparisons written, over year 0


def test_cli_compare_refuses_then_aligns(tmp_path: Path, capsys):
    for h in (1, 2):
        (tmp_path / f"h{h}.yaml").write_text(
            f"name: h{h}\nhorizon_years: {h}\nwarmup_years: 0\nreplications: 1\n"
            "population: {size: 300}\n", encoding="utf-8")
    files = [str(tmp_path / "h1.yaml"), str(tmp_path / "h2.yaml")]
    assert main(["compare", *files, "--out", str(tmp_path / "c"), "-q", "-w", "1"]) == 2
    assert "different plan years" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    assert main(["compare", *files, "--out", str(tmp_path / "c"), "-q", "-w", "1",
                 "--align-horizon", "shortest"]) == 0
    assert "Note: compared over the common plan year 0 only" in capsys.readouterr().out


# --------------------------------------------------------------------------- report


def test_report_refuses_different_horizons_and_populations_unless_aligned(tmp_path: Path):
    from sim.report import write_report

    dirs = {}
    for name, horizon, size in (("one", 1, 300), ("two", 2, 300), ("big", 1, 400)):
        sim.run(scenario_from_dict({"name": name, "horizon_years": horizon, "warmup_years": 0,
                                    "replications": 1, "population": {"size": size}}),
                workers=1, progress=False, out=tmp_path / name)
        dirs[name] = tmp_path / name
    with pytest.raises(NotComparable, match="different plan years"):
        write_report([dirs["one"], dirs["two"]], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(NotComparable, match="different population.size"):
        write_report([dirs["one"], dirs["big"]], tmp_path / "r.html", align_horizon="shortest")
    write_report([dirs["one"], dirs["two"]], tmp_path / "r.html", align_horizon="shortest")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "compared over the common plan year 0 only" in html
