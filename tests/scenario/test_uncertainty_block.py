"""The ``uncertainty:`` block (distributions by parameter path, inherited through
``extends:``) and switching parameter uncertainty off (issue 14 item 5)."""

from pathlib import Path

import numpy as np
import pytest

from sim.cli import _overrides, build_parser
from sim.runner import _without_parameter_uncertainty
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.uncertain import drawn_scenario, uncertainty_of

PT = "providers.primary_care_group.behavior.pass_through"
RR = "lever_effects.transitional_readmission_rr"
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_block_entries_become_distributions_at_their_paths(tmp_path):
    _write(tmp_path, "base.yaml", f"name: base\nuncertainty:\n"
           f"  {PT}: {{dist: beta, mean: 0.5, sd: 0.1}}\n"
           f"  {RR}: {{dist: beta, mean: 0.7, sd: 0.07}}\n"
           "  prices.snf_per_day_usd: {dist: gamma, mean: 610, sd: 40}\n")
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n"
                   "prices: {snf_per_day_usd: 600}\nuncertainty:\n"
                   f"  {RR}: {{dist: beta, mean: 0.75, sd: 0.05}}\n"
                   f"  {PT}: null\n"
                   "  prices.admission_mean_usd: {dist: gamma, mean: 13000, sd: 900}\n")
    sc = load_scenario(child)
    spec = uncertainty_of(sc).spec()["parameters"]
    # The child's entry replaces the base's, null fixes one at its mean, a value the child
    # writes wins over the base's entry, and the scenario holds the means.
    assert spec == {RR: {"dist": "beta", "mean": 0.75, "sd": 0.05},
                    "prices.admission_mean_usd": {"dist": "gamma", "mean": 13000.0,
                                                  "sd": 900.0}}
    assert sc.lever_effects.transitional_readmission_rr == pytest.approx(0.75)
    assert sc.providers[0].behavior.pass_through == pytest.approx(0.5)
    assert sc.prices.snf_per_day_usd == 600
    # A --set override wins over the block.
    fixed = load_scenario(child, overrides=[f"{RR}=0.8"])
    assert RR not in uncertainty_of(fixed).spec()["parameters"]
    assert fixed.lever_effects.transitional_readmission_rr == 0.8


def test_a_wrong_path_or_value_in_the_block_is_named_with_file_and_line(tmp_path):
    bad = _write(tmp_path, "bad.yaml", "name: bad\nuncertainty:\n"
                 "  providers.primary_care_group.behavior.pass_thru: {dist: beta, mean: 0.5, "
                 "sd: 0.1}\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(bad)
    assert exc.value.field == "uncertainty.providers.primary_care_group.behavior.pass_thru"
    assert exc.value.line == 3 and "pass_through" in str(exc.value)
    number = _write(tmp_path, "number.yaml", f"name: n\nuncertainty:\n  {PT}: 0.5\n")
    with pytest.raises(ScenarioError, match="expected a distribution"):
        load_scenario(number)
    with pytest.raises(ScenarioError, match="expected a mapping"):
        scenario_from_dict({"uncertainty": [PT]})


def test_switching_parameter_uncertainty_off_runs_every_replication_at_the_means():
    sc = scenario_from_dict({"uncertainty": {RR: {"dist": "beta", "mean": 0.7, "sd": 0.07}}})
    seed = np.random.SeedSequence(3)
    drawn, draw = drawn_scenario(sc, seed)
    assert draw and drawn.lever_effects.transitional_readmission_rr != pytest.approx(0.7)
    off = scenario_from_dict({"parameter_uncertainty": False,
                              "uncertainty": {RR: {"dist": "beta", "mean": 0.7, "sd": 0.07}}})
    means, none = drawn_scenario(off, seed)
    assert none == {} and means.lever_effects.transitional_readmission_rr == 0.7
    # The command-line flag is the same override, on run, compare and sensitivity.
    for argv in (["run", "x.yaml"], ["compare", "a.yaml", "b.yaml"],
                 ["sensitivity", "x.yaml", "-m", "spend_per_capita_usd", "--sobol", "8"]):
        args = build_parser().parse_args([*argv, "--no-parameter-uncertainty"])
        assert [(o.path, o.value) for o in _overrides(args)] == [("parameter_uncertainty",
                                                                  False)]
    # ... and the keyword of sim.run / sim.compare.
    assert [(o.path, o.value) for o in _without_parameter_uncertainty([], False)] == [
        ("parameter_uncertainty", False)]
    assert _without_parameter_uncertainty([], True) == []


def test_every_shipped_scenario_carries_parameter_uncertainty():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        paths = uncertainty_of(load_scenario(path)).paths()
        assert PT in paths and RR in paths, path.name
        if "mssp" in path.stem or "enhanced" in path.stem:
            assert any(p.endswith("trend_per_year") for p in paths), path.name
