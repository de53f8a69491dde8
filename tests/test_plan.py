"""``vbcsim plan``: the options open to an MSSP ACO, their scenarios, and a tiny ranked run
(issue 15 item 3). The run uses 200 patients, one plan year, 2 replications and fixed
behaviour (speed: the ranking plumbing, not the numbers, is under test)."""

from __future__ import annotations

import copy

import pytest
import yaml

from sim.contracts.mssp.rules import minimum_savings_rate
from sim.plan import PlanError, option_data, plan_options
from sim.scenario import scenario_from_dict

BASE = {
    "name": "aco_test", "behavior": "fixed", "horizon_years": 1,
    "population": {"size": 6_000},
    "plan": [{"years": "all", "contracts": [
        {"type": "ffs", "payer": "medicare"},
        {"type": "mssp", "payer": "medicare", "aco": "primary_care_group", "track": "BASIC_B",
         "agreement_start_year": 0, "prior_agreement_periods": 1}]}],
    "uncertainty": {
        "providers.primary_care_group.behavior.pass_through":
            {"dist": "beta", "mean": 0.5, "sd": 0.1},
        "plan.0.contracts.1.trend_per_year":
            {"dist": "normal", "mean": 0.0, "sd": 0.005, "low": -0.02, "high": 0.02}},
}


def _with_track(track: str, size: int = 6_000) -> dict:
    d = copy.deepcopy(BASE)
    d["plan"][0]["contracts"][1]["track"] = track
    d["population"]["size"] = size
    return d


def test_options_follow_the_stated_rules():
    keys = lambda d: [o.key for o in plan_options(d, 3)]  # noqa: E731
    assert keys(_with_track("BASIC_B")) == ["stay", "glide_up", "enhanced", "reach",
                                            "capitation"]
    # E is the top of the glide path; ENHANCED is 'stay' for an ENHANCED ACO
    assert keys(_with_track("BASIC_E")) == ["stay", "enhanced", "reach", "capitation"]
    assert keys(_with_track("ENHANCED")) == ["stay", "reach", "capitation"]
    # REACH needs 5,000 aligned beneficiaries
    assert "reach" not in keys(_with_track("BASIC_B", size=4_000))
    glide = next(o for o in plan_options(_with_track("BASIC_B"), 4) if o.key == "glide_up")
    assert [c["track"] for c in glide.contracts] == ["BASIC_C", "BASIC_D", "BASIC_E", "BASIC_E"]
    with pytest.raises(PlanError, match="no MSSP contract"):
        plan_options({"plan": [{"years": "all", "contracts": [{"type": "ffs"}]}]}, 1)


def test_option_scenarios_validate_scale_and_share_parameter_draws():
    d = _with_track("BASIC_A")
    opts = {o.key: o for o in plan_options(d, 2)}
    stay = option_data(d, opts["stay"], 2, size=300)
    glide = option_data(d, opts["glide_up"], 2, size=300)
    for data in (stay, glide, option_data(d, opts["reach"], 2, size=300),
                 option_data(d, opts["capitation"], 2, size=300)):
        scenario_from_dict(data, source="<test>")  # every option is a valid scenario
    assert stay["population"]["size"] == 300
    # one-sided MSR from the real size (6,000: 3.6%, 42 CFR 425.604(b)), not the panel's
    assert stay["plan"][1]["contracts"][0]["msr"] == minimum_savings_rate(6_000) == 0.036
    # the benchmark-trend draw sits at the same path in every MSSP option (CRN)
    trend = {k for k in glide["uncertainty"] if k.endswith("trend_per_year")}
    assert trend == {k for k in stay["uncertainty"] if k.endswith("trend_per_year")} == {
        "plan.1.contracts.0.trend_per_year", "plan.2.contracts.0.trend_per_year"}
    inv = glide["investments"][-1]
    assert inv["one_off_usd"] == pytest.approx(25.0 * 300)  # per simulated beneficiary
    assert "investments" not in stay


def test_cli_plan_ranks_options_and_writes_report(tmp_path, capsys):
    from sim.cli import main

    src = tmp_path / "aco.yaml"
    src.write_text(yaml.safe_dump(_with_track("BASIC_B")))
    code = main(["plan", str(src), "--size", "200", "--replications", "2", "--tornado", "1",
                 "--workers", "1", "--out", str(tmp_path / "plan")])
    text = capsys.readouterr().out
    assert code == 0
    assert "## Ranking" in text and "What drives the choice" in text
    assert "money x 30.00 to the real 6,000" in text  # 6,000 / 200
    import pandas as pd

    ranking = pd.read_csv(tmp_path / "plan" / "ranking.csv")
    assert set(ranking["option"]) == {"stay", "glide_up", "enhanced", "reach", "capitation"}
    assert ranking["npv_usd"].is_monotonic_decreasing
    assert ranking["p_owing"].between(0, 1).all()
    assert (tmp_path / "plan" / "plan.md").exists() and (tmp_path / "plan" / "tornado.csv").exists()
