"""The calibration tool (issue 14 item 4): recovery of a known parameter, file validation,
the resumable cache and the fit table.

The recovery test calibrates ``clinical.admissions.rate_per_year`` to a level target
(``admissions_per_1000`` in plan year 0) on 200 patients, 1 plan year, no warm-up,
behaviour fixed, 2 replications. The target is first simulated at a known rate (0.12) with
the same seeds, so under common random numbers the objective is exactly 0 there. Events
are counted, so the simulated level moves in steps of one admission (2.5 per 1,000 over
400 patient-years); near 0.12 it rises ~1,250 per 1,000 per unit of rate (measured: 267.5
at 0.10, 300 at 0.12, 317.5 at 0.14), so one step is ~0.002 of rate (1.7%), and as a
discrete-event path shifts with the rate the count jitters by a step or two: rates within
~0.004 (3.3%) of the truth can hit the target exactly. Brent's tolerance (0.5% of the
0.05-0.30 range = 0.00125, 1%) adds to it: we require 5%.

The cache and resume tests use a fast stand-in replication function (a smooth response
plus noise fixed by the replication's seed), since they test the bookkeeping, not the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration import (
    CalibrationError,
    calibrate,
    calibration_from_dict,
    evaluate,
    fit_table,
    load_calibration,
)
from sim.calibration.evaluate import target_value
from sim.calibration.fit import CACHE_FILE
from sim.calibration.outputs import fit_table_markdown
from sim.scenario import ScenarioError, load_scenario

REPO = Path(__file__).resolve().parents[1]
PATH = "clinical.admissions.rate_per_year"
TRUE = 0.12
TINY = {"population.size": 200, "horizon_years": 1, "warmup_years": 0, "behavior": "fixed"}


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(REPO / "scenarios" / "ffs_baseline.yaml", overrides=TINY)


def _spec(value: float, half: float = 2.5, **method) -> dict:
    return {
        "parameters": [{"path": PATH, "bounds": [0.05, 0.30], "start": 0.155}],
        "targets": [{"metric": "admissions_per_1000", "year": 0, "value": value,
                     "interval": [value - half, value + half], "source": "simulated"}],
        "replications": 2, "seed": 11,
        "method": {"max_evaluations": 14, "tolerance": 0.005, **method},
    }


@pytest.fixture(scope="module")
def truth(tiny):
    """admissions_per_1000 simulated at the true rate (the target)."""
    cal = calibration_from_dict(_spec(250.0, half=1000.0), [tiny])
    return evaluate(cal, {PATH: TRUE}).simulated["admissions_per_1000"]


@pytest.fixture(scope="module")
def fitted(tiny, truth, tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "out"
    cal = calibration_from_dict(_spec(truth), [tiny], name="recover")
    return cal, calibrate(cal, out=out), out


def test_recovers_a_known_admission_rate(fitted, truth):
    _, result, _ = fitted
    assert 200 < truth < 400  # rate x morbidity and condition loadings x 1,000
    assert result.method == "brent"
    assert result.values[PATH] == pytest.approx(TRUE, rel=0.05)
    # at most two admission steps (2 x 2.5 per 1,000 = 2 half-widths) from the target
    assert result.objective <= 4.0
    assert result.evaluations <= 14


def test_outputs_fit_table_fitted_values_and_plot(fitted, truth):
    cal, result, out = fitted
    for name in ("fitted.yaml", "fit_table.csv", "fit_table.md", "trace.csv",
                 "calibration.png", "calibration.json", CACHE_FILE, "scenarios/ffs_baseline.yaml"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "fit_table.csv")
    row = table.iloc[0]
    assert row["value"] == pytest.approx(truth)
    assert row["low"] == pytest.approx(truth - 2.5)
    assert row["high"] == pytest.approx(truth + 2.5)
    assert row["within"] == (row["low"] <= row["simulated"] <= row["high"])
    assert row["z"] == pytest.approx((row["simulated"] - truth) / 2.5)
    md = (out / "fit_table.md").read_text()
    assert "| admissions_per_1000 | ffs_baseline |" in md
    # the fitted value applies with --set, and the resolved scenario holds it
    import yaml

    fitted_values = yaml.safe_load((out / "fitted.yaml").read_text())["set"]
    assert fitted_values[PATH] == pytest.approx(result.values[PATH])
    again = load_scenario(out / "scenarios" / "ffs_baseline.yaml")
    assert again.clinical.admissions.rate_per_year == pytest.approx(result.values[PATH])
    assert again.population.size == 200
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["evaluations"] == result.evaluations
    assert summary["within"] == int(row["within"])
    trace = pd.read_csv(out / "trace.csv")
    assert len(trace) == result.evaluations
    assert np.all(np.diff(trace["best_so_far"]) <= 0)


def stand_in(scenario, replication, seed_seq):
    """A fast replication function: admissions_per_1000 = 2,000 x rate + noise fixed by the
    replication's seed (so common random numbers hold)."""
    from sim.replication import ReplicationOutput

    noise = np.random.default_rng(seed_seq).normal(0, 5)
    value = 2000 * scenario.clinical.admissions.rate_per_year + noise
    return ReplicationOutput(pd.DataFrame({
        "replication": [replication], "scenario": [scenario.name], "year": [0],
        "entity": ["population"], "metric": ["admissions_per_1000"], "value": [value]}))


def test_resume_replays_the_cache_without_running(tiny, tmp_path):
    cal = calibration_from_dict(_spec(300.0, half=5.0), [tiny])
    out = tmp_path / "out"
    result = calibrate(cal, out=out, replicate=stand_in)
    assert result.values[PATH] == pytest.approx(0.15, abs=0.01)  # 300 / 2000 +- the noise
    lines = (out / CACHE_FILE).read_text().splitlines()
    assert len(lines) == result.evaluations
    # a second run in the same folder is refused without --resume/--overwrite
    with pytest.raises(CalibrationError, match="--resume"):
        calibrate(cal, out=out, replicate=stand_in)

    def boom(*args, **kwargs):  # any simulation would call this
        raise AssertionError("a cached evaluation was simulated again")

    again = calibrate(cal, out=out, resume=True, replicate=boom)
    assert again.values == result.values
    assert again.cached == again.evaluations == result.evaluations
    # an interrupted calibration (3 evaluations and a line cut short) continues from there
    part = tmp_path / "part"
    part.mkdir()
    (part / CACHE_FILE).write_text("\n".join(lines[:3]) + '\n{"cut short')
    resumed = calibrate(cal, out=part, resume=True, replicate=stand_in)
    assert resumed.cached == 3 and resumed.evaluations == result.evaluations
    assert resumed.values == result.values
    # overwrite starts again
    fresh = calibrate(cal, out=part, overwrite=True, replicate=stand_in)
    assert fresh.cached == 0
    # a cache of another calibration (other seed) is refused
    other = calibration_from_dict({**_spec(300.0, half=5.0), "seed": 12}, [tiny])
    with pytest.raises(CalibrationError, match="another calibration"):
        calibrate(other, out=out, resume=True, replicate=stand_in)


def test_nelder_mead_fits_two_parameters_within_bounds(tiny):
    spec = _spec(300.0, half=5.0)
    spec["parameters"].append({"path": "clinical.admissions.morbidity_exponent",
                               "bounds": [0.5, 2.0]})
    spec["targets"].append({"name": "again", "metric": "admissions_per_1000", "year": 0,
                            "value": 300.0, "interval": [295.0, 305.0]})
    spec["method"] = {"max_evaluations": 60, "tolerance": 0.002}
    result = calibrate(calibration_from_dict(spec, [tiny]), replicate=stand_in)
    assert result.method == "nelder_mead"
    assert result.values[PATH] == pytest.approx(0.15, abs=0.01)
    assert 0.5 <= result.values["clinical.admissions.morbidity_exponent"] <= 2.0
    assert result.objective < 2.0  # both targets within their intervals
    budget = calibrate(calibration_from_dict(spec, [tiny]), replicate=stand_in,
                       max_evaluations=5)
    assert budget.evaluations == 5 and not budget.converged
    assert "max_evaluations" in budget.message


def test_targets_relative_and_difference():
    from sim.calibration.spec import Target, TargetSpec

    a, b = np.array([98.0, 102.0]), np.array([100.0, 100.0])
    rel = Target("t", TargetSpec(metric="m", kind="relative_change_vs", vs="x", value=0,
                                 interval=[-1, 1]), "y")
    point, se = target_value(rel, a, b)
    # ratios -0.02 and +0.02: SD 0.02 x sqrt(2), SE = SD / sqrt(2) = 0.02
    assert point == pytest.approx(0.0) and se == pytest.approx(0.02)
    diff = Target("t", TargetSpec(metric="m", kind="difference_vs", vs="x", value=0,
                                  interval=[-1, 1]), "y")
    assert target_value(diff, a + 5, b)[0] == pytest.approx(5.0)


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "tiny.yaml").write_text(
        f"extends: {REPO / 'scenarios' / 'ffs_baseline.yaml'}\nname: tiny\n"
        "population: {size: 300}\nhorizon_years: 1\nwarmup_years: 0\nbehavior: fixed\n")
    path = tmp_path / "cal.yaml"
    path.write_text(body)
    return path


GOOD = """calibration:
  scenarios: [tiny.yaml]
  parameters:
    - {path: clinical.admissions.rate_per_year, bounds: [0.05, 0.4]}
  targets:
    - {metric: admissions_per_1000, value: 250, interval: [240, 260]}
"""


def test_a_valid_file_loads_with_defaults(tmp_path):
    cal = load_calibration(_write(tmp_path, GOOD))
    assert cal.name == "cal" and cal.starts == (0.155,)  # the scenario's value
    assert cal.targets[0].scenario == "tiny" and cal.targets[0].spec.year == "mean"
    assert cal.method.name == "auto" and cal.replications == 4


@pytest.mark.parametrize("edit, field, expected", [
    (("bounds: [0.05, 0.4]", "bounds: [0.4, 0.05]"), "calibration.parameters.0",
     "LOW < HIGH"),
    (("clinical.admissions.rate_per_year", "clinical.admissions.rate_per_yr"),
     "calibration.parameters.0.path", "not a field of scenario 'tiny'"),
    (("bounds: [0.05, 0.4]", "bounds: [0.05, 40]"), "calibration.parameters.0.bounds",
     "HIGH = 40 gives an invalid scenario"),
    (("admissions_per_1000", "admissions_per_100"), "calibration.targets.0.metric",
     "not a metric of population"),
    (("interval: [240, 260]", "interval: [255, 260]"), "calibration.targets.0",
     "within the interval"),
    (("value: 250", "value: 250, kind: relative_change_vs"), "calibration.targets.0",
     "vs: expected the name"),
    (("value: 250", "value: 250, vs: nowhere, kind: difference_vs"),
     "calibration.targets.0.vs", "expected one of tiny"),
    (("value: 250", "value: 250, year: 3"), "calibration.targets.0.year", "plan year 0 to 0"),
    (("value: 250", "value: '250'"), "calibration.targets.0.value", "number"),
    (("  targets:", "  replicatons: 3\n  targets:"), "calibration.replicatons", ""),
    (("[tiny.yaml]", "[nowhere.yaml]"), "calibration.scenarios.0", "not found"),
])
def test_file_errors_name_file_field_and_what_was_expected(tmp_path, edit, field, expected):
    path = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ScenarioError) as info:
        load_calibration(path)
    problems = info.value.errors
    hit = [p for p in problems if p.field == field]
    assert hit, [str(p) for p in problems]
    assert expected in hit[0].expected, str(hit[0])
    assert hit[0].file.endswith("cal.yaml") and hit[0].line is not None


def test_overrides_apply_to_scenarios_given_in_python(tiny):
    cal = calibration_from_dict({**_spec(250.0), "overrides": {"population.size": 150}},
                                [tiny])
    assert cal.scenarios[0].population.size == 150
    assert cal.scenarios[0].horizon_years == 1  # the rest of the scenario is kept


def test_fit_table_marks_misses(tiny):
    cal = calibration_from_dict(_spec(250.0), [tiny])
    from sim.calibration.evaluate import Evaluation

    ev = Evaluation({PATH: 0.2}, {"admissions_per_1000": 253.0}, {"admissions_per_1000": 1.0},
                    2.25)
    table = fit_table(cal, ev)
    assert table.loc[0, "z"] == pytest.approx(3 / 2.5) and not table.loc[0, "within"]
    assert "| no |" in fit_table_markdown(table)


def test_the_shipped_example_loads():
    cal = load_calibration(REPO / "scenarios" / "calibration" / "behaviour_first_year.yaml")
    assert [s.name for s in cal.scenarios] == ["ffs_baseline", "mssp_one_sided",
                                               "ffs_fees_plus_2pct"]
    assert all(s.population.size == 4000 for s in cal.scenarios)
    assert {t.spec.kind for t in cal.targets} == {"relative_change_vs"}
    fees = cal.scenarios[2].prices
    assert fees.lab_test_usd == pytest.approx(22.0 * 1.02)


def test_cli_refuses_a_bad_file_naming_file_line_and_field(tmp_path, capsys):
    from sim.cli import EXIT_BAD_INPUT, main

    path = _write(tmp_path, GOOD.replace("admissions_per_1000", "admissions_per_100"))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "cal.yaml:6: calibration.targets.0.metric: not a metric of population" in err
    assert not (tmp_path / "out").exists()


def test_cli_runs_and_resumes_a_calibration(tmp_path, capsys):
    from sim.cli import EXIT_BAD_INPUT, EXIT_OK, main

    body = GOOD.replace("interval: [240, 260]}", "interval: [240, 260]}\n"
                        "  replications: 1\n  method: {max_evaluations: 1}")
    path = _write(tmp_path, body.replace("size: 300", "size: 100"))
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out)]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "--set clinical.admissions.rate_per_year=" in shown
    assert "| admissions_per_1000 | tiny |" in shown
    assert (out / "fitted.yaml").is_file() and (out / CACHE_FILE).is_file()
    assert main(["calibrate", str(path), "--out", str(out)]) == EXIT_BAD_INPUT
    assert "--resume" in capsys.readouterr().err
    assert main(["calibrate", str(path), "--out", str(out), "--resume"]) == EXIT_OK
    assert "1 from the cache" in capsys.readouterr().out


def test_the_public_api_names_calibrate():
    import sim

    assert sim.calibrate is calibrate and "calibrate" in dir(sim)
