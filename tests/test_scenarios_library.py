"""The scenario library: every shipped scenario says what it answers, validates, and runs
end to end through ``vbcsim run`` (at a tiny size: 600 patients, one plan year, one
replication; the settlement tests run each one at 1,500 patients for two years)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario import load_scenario
from sim.scenario.library import HEADER

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
NAMES = [p.stem for p in SCENARIOS]

#: The library the issue asks for: what each scenario is, and the contract types it uses.
REQUIRED = {
    "ffs_baseline": set(),
    "aco_basic_glide": {"mssp"},
    "aco_enhanced": {"mssp"},
    "capitation_primary_care": {"capitation"},
    "capitation_global": {"capitation"},
    "bundled_joint_replacement": {"bundled"},
    "reach_global": {"reach"},
    "payer_mix_blend": {"mssp"},
}


def test_the_library_has_the_required_scenarios():
    assert set(REQUIRED) <= set(NAMES)
    assert len(NAMES) >= 8


@pytest.mark.parametrize("path", SCENARIOS, ids=NAMES)
def test_header_line_names_the_scenario_and_its_purpose(path):
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    match = HEADER.match(first)
    assert match, f"{path.name}: first line must be '# {path.stem} — <one-line purpose>'"
    assert match["name"] == path.stem and " — " in first
    assert len(match["purpose"]) >= 20, "say what question the scenario answers"
    assert len(first) <= 110, "keep the header to one line"
    # the comment block goes on to state the question it answers
    comment = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Question:" in comment, f"{path.name}: the header comment should state the question"


@pytest.mark.parametrize("path", SCENARIOS, ids=NAMES)
def test_validates_and_declares_its_contracts(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    scenario = load_scenario(path)
    assert scenario.name == path.stem and scenario.description
    types = {c.type for period in scenario.plan for c in period.contracts} - {"ffs"}
    assert REQUIRED.get(path.stem, types) <= types


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=NAMES)
def test_runs_end_to_end_with_vbcsim_run(path, tmp_path, capsys):
    scenario = load_scenario(path)
    # one plan year, or as many as the plan spells out year by year (a glide path)
    horizon = 1 + max((y for period in scenario.plan if period.years != "all"
                       for y in period.year_list(scenario.horizon_years)), default=0)
    tiny = tmp_path / f"{path.stem}.yaml"
    tiny.write_text(f"extends: {json.dumps(str(path))}\nname: {path.stem}\n"
                    f"population: {{size: 600}}\nhorizon_years: {horizon}\nreplications: 1\n"
                    # 600 patients is below an ACO's 5,000 floor: a test scenario says so
                    "attribution: {enforce_minimum: false}\n")
    out_dir = tmp_path / "results"
    code = main(["run", str(tiny), "--out", str(out_dir), "--quiet", "--workers", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"Scenario {path.stem}: 1 replication(s) x {horizon} year(s)")
    for name in ("results.parquet", "results.csv", "summary.csv", "scenario.yaml",
                 "manifest.json"):
        assert (out_dir / name).is_file(), name
    results = pd.read_parquet(out_dir / "results.parquet")
    assert set(results["scenario"]) == {path.stem}
    assert results["value"].notna().all()
    entities = set(results["entity"])
    assert {p.name for p in scenario.providers} | {p.name for p in scenario.payers} <= entities
    in_force = {c.type for period in scenario.plan for c in period.contracts} - {"ffs"}
    if in_force - {"custom"}:
        settled = set(pd.read_parquet(out_dir / "settlements.parquet")["contract"])
        assert in_force <= settled


def test_payer_mix_blend_prices_commercial_patients_higher(tmp_path, capsys):
    path = REPO / "scenarios" / "payer_mix_blend.yaml"
    scenario = load_scenario(path)
    payers = {p.name: p for p in scenario.payers}
    assert payers["medicare"].share == pytest.approx(0.6)
    assert payers["commercial"].share == pytest.approx(0.4)
    assert payers["medicare"].price_factor == 1.0
    assert 1.3 <= payers["commercial"].price_factor <= 2.5
    contracts = [c for period in scenario.plan for c in period.contracts]
    assert {(c.type, c.payer) for c in contracts} == {
        ("ffs", "medicare"), ("ffs", "commercial"), ("mssp", "medicare")}
    header = path.read_text(encoding="utf-8")
    assert re.search(r"RAND 2024", header) and re.search(r"Lopez et al", header)
    assert f"{payers['commercial'].price_factor:g}" in header

    tiny = tmp_path / "mix.yaml"
    tiny.write_text(f"extends: {json.dumps(str(path))}\nname: mix\npopulation: {{size: 1000}}\n"
                    "horizon_years: 1\nreplications: 1\nattribution: {enforce_minimum: false}\n")
    assert main(["run", str(tiny), "--out", str(tmp_path / "r"), "-q", "-w", "1"]) == 0
    capsys.readouterr()
    r = pd.read_parquet(tmp_path / "r" / "results.parquet")
    per_capita = r[r.metric == "payer_spend_per_capita_usd"].set_index("entity")["value"]
    assert per_capita["commercial"] > 1.3 * per_capita["medicare"]
