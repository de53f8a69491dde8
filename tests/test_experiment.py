"""Experiments: several scenarios together, common random numbers, experiment files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, fake_replicate

from sim.cli import main
from sim.experiment import is_experiment_file, load_experiment, task_seed
from sim.results import read_manifest
from sim.rng import replication_seeds
from sim.runner import compare
from sim.scenario import ScenarioError, scenario_from_dict


def providers(effort: float) -> list[dict]:
    return [{"name": "primary_care_group", "kind": "primary_care", "panel_share": 1.0,
             "levers": {"prevention_effort": effort}}]


@pytest.fixture
def pair():
    a = scenario_from_dict({**TINY, "name": "a"})
    b = scenario_from_dict({**TINY, "name": "b", "providers": providers(0.8)})
    return a, b


def test_every_scenario_gets_the_same_seed_sequence_per_replication(pair):
    seen = []

    def spy(scenario, replication, seed_seq):
        seen.append((scenario.name, replication, seed_seq.spawn_key))
        return fake_replicate(scenario, replication, seed_seq)

    result = compare(pair, replicate=spy, workers=1, replications=3)
    keys = {(name, rep): key for name, rep, key in seen}
    for rep in range(3):
        assert keys[("a", rep)] == keys[("b", rep)] == replication_seeds(7, 3)[rep].spawn_key
    assert list(dict.fromkeys(result.results["scenario"])) == ["a", "b"]
    assert result.reference == "a" and result.crn
    # identical scenarios apart from the name would give identical numbers
    ra = result.results[result.results["scenario"] == "a"]["value"].to_numpy()
    rb = result.results[result.results["scenario"] == "b"]["value"].to_numpy()
    np.testing.assert_array_equal(ra, rb)  # the fake model ignores the levers


def test_without_crn_the_streams_differ_per_scenario(pair):
    result = compare(pair, replicate=fake_replicate, workers=1, crn=False)
    ra = result.results[result.results["scenario"] == "a"]["value"].to_numpy()
    rb = result.results[result.results["scenario"] == "b"]["value"].to_numpy()
    assert not np.allclose(ra, rb)
    s = replication_seeds(7, 1)[0]
    assert task_seed(s, "a", crn=True) is s
    assert task_seed(s, "a", crn=False).spawn_key != task_seed(s, "b", crn=False).spawn_key


def test_same_uncertain_parameter_same_draw_in_every_scenario():
    dist = {"dist": "gamma", "mean": 0.15, "sd": 0.03}
    a = scenario_from_dict({**TINY, "name": "a", "clinical": {"admissions": {
        "rate_per_year": dist}}})
    b = scenario_from_dict({**TINY, "name": "b", "providers": providers(0.8), "clinical": {
        "admissions": {"rate_per_year": dist, "los_mean_days": {"dist": "uniform", "low": 4,
                                                                "high": 6}}}})
    result = compare([a, b], replicate=fake_replicate, workers=1, replications=4)
    d = result.draws
    rate = d[d["parameter"] == "clinical.admissions.rate_per_year"].pivot(
        index="replication", columns="scenario", values="value")
    np.testing.assert_array_equal(rate["a"], rate["b"])
    assert rate["a"].nunique() == 4
    assert set(d.loc[d["parameter"] == "clinical.admissions.los_mean_days", "scenario"]) == {"b"}


def test_scenarios_must_have_different_names(pair):
    with pytest.raises(ValueError, match="different names"):
        compare([pair[0], pair[0]], replicate=fake_replicate, workers=1)


def fixed_pair(**base_update) -> tuple:
    """The FFS reference practice and a changed one, both with fixed behaviour (no
    optimiser): 300 patients, 2 plan years, no warm-up, 16 replications."""
    base = {"population": {"size": 300}, "horizon_years": 2, "warmup_years": 0,
            "replications": 16, "seed": 11, "behavior": "fixed", **base_update}
    return scenario_from_dict({**base, "name": "low"}), base


@pytest.mark.slow
def test_common_random_numbers_shrink_the_variance_of_the_difference():
    """The FFS practice against the practice the behaviour model chooses in a one-sided MSSP
    ACO (its year-0 levers at 2,000 patients, hand-set here with fixed behaviour: less
    discretionary care, more prevention, transitional care and coding): the variance across
    replications of the difference in total spending is at least 5x smaller with common
    random numbers than with independent streams (about 10x with this seed)."""
    low, base = fixed_pair()
    high = scenario_from_dict({**base, "name": "high", "providers": [
        {"name": "primary_care_group", "kind": "primary_care", "panel_share": 1.0,
         "levers": {"discretionary_intensity": 0.96, "prevention_effort": 0.15,
                    "transitional_care_effort": 0.25, "coding_intensity": 0.05}}]})
    variances = {}
    for crn in (True, False):
        r = compare([low, high], workers=1, crn=crn, progress=False).results
        spend = r[(r["metric"] == "spend_total_usd") & (r["entity"] == "population")]
        totals = spend.groupby(["scenario", "replication"])["value"].sum().unstack("scenario")
        assert (totals["high"] != totals["low"]).all()  # the practices differ in every run
        variances[crn] = (totals["high"] - totals["low"]).var(ddof=1)
    assert variances[True] * 5 <= variances[False], variances


def test_common_random_numbers_give_the_same_patients_the_same_events():
    """Scenarios that differ only in fees (fixed behaviour): with common random numbers
    every replication has the same patients and the same events in both (every count,
    death and QALY equal, spending exactly 10% higher); with independent streams not."""
    low, base = fixed_pair(replications=2)
    prices = {k: v * 1.1 for k, v in low.prices.model_dump().items() if k.endswith("_usd")}
    high = scenario_from_dict({**base, "name": "high", "prices": prices})
    for crn in (True, False):
        r = compare([low, high], workers=1, crn=crn, progress=False).results
        pop = r[r["entity"] == "population"].pivot_table(
            index=["replication", "year", "metric"], columns="scenario", values="value")
        metric = pop.index.get_level_values("metric")
        care = pop[~metric.str.contains("spend|usd")]  # counts, rates, deaths, QALYs, waits
        spend = pop.xs("spend_total_usd", level="metric")
        if crn:
            assert len(care) > 40
            pd.testing.assert_series_equal(care["high"], care["low"], check_names=False)
            np.testing.assert_allclose(spend["high"], 1.1 * spend["low"], rtol=1e-12)
        else:
            assert (care["high"] != care["low"]).sum() > len(care) / 2
            assert not np.allclose(spend["high"], 1.1 * spend["low"], rtol=1e-3)


# --------------------------------------------------------------------------- files and CLI


def write_pair(tmp_path):
    (tmp_path / "ffs.yaml").write_text("name: ffs\npopulation: {size: 300}\nhorizon_years: 2\n"
                                       "replications: 2\nseed: 7\n")
    (tmp_path / "aco.yaml").write_text(
        "extends: ffs.yaml\nname: aco\nproviders:\n  - {name: primary_care_group, kind: "
        "primary_care, panel_share: 1.0, levers: {prevention_effort: 0.8}}\n")
    return tmp_path / "ffs.yaml", tmp_path / "aco.yaml"


def test_experiment_file(tmp_path):
    write_pair(tmp_path)
    path = tmp_path / "exp.yaml"
    path.write_text("experiment:\n  scenarios: [ffs.yaml, aco.yaml]\n  reference: ffs\n"
                    "  replications: 3\n  seed: 4\n  wtp_usd_per_qaly: [100000]\n"
                    "  discount_rate: 0.035\n")
    assert is_experiment_file(path) and not is_experiment_file(tmp_path / "ffs.yaml")
    exp = load_experiment(path)
    assert [s.name for s in exp.scenarios] == ["ffs", "aco"]
    assert (exp.replications, exp.seed, exp.wtp, exp.discount_rate) == (3, 4, (1e5,), 0.035)
    result = compare(path, replicate=fake_replicate, workers=1)
    assert result.replications == 3 and result.seed == 4
    assert {s.seed for s in result.scenarios} == {4}
    assert result.compare().cost_effectiveness.empty  # the fake model has no QALYs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("experiment:\n  scenarios: [ffs.yaml]\n  replication: 3\n",
         "exp.yaml:3: experiment.replication: unknown key 'replication'"),
        ("experiment:\n  scenarios: [ffs.yaml, missing.yaml]\n",
         "scenario file 'missing.yaml' not found"),
        ("experiment:\n  scenarios: [ffs.yaml, aco.yaml]\n  reference: pfs\n",
         "experiment.reference: expected one of ffs, aco"),
        ("experiment:\n  scenarios: [ffs.yaml, ffs.yaml]\n", "repeated: ffs"),
        ("experiment:\n  scenarios: [ffs.yaml]\n  discount_rate: 3\n",
         "exp.yaml:3: experiment.discount_rate: expected a number <= 1 (per year), got 3"),
        ("experiment:\n  scenarios: [ffs.yaml]\n  reference: 3\n",
         "exp.yaml:3: experiment.reference: expected text, got 3"),
        ("experiment:\n  scenarios: ffs.yaml\n", "experiment.scenarios: expected a list"),
        ("experiment:\n  scenarios: []\n", "experiment.scenarios: expected at least 1 item"),
        ("experiment:\n  name: ''\n  scenarios: [ffs.yaml]\n",
         "exp.yaml:2: experiment.name: expected non-empty text"),
        ("experiment: [ffs.yaml]\n", "exp.yaml:1: experiment: expected a mapping with keys "
         "among: name, description, scenarios"),
        ("name: ffs\n", "exp.yaml: experiment: an experiment file holds one mapping"),
        ("experiment:\n  scenarios: [ffs.yaml]\nextra: 1\n", "an experiment file holds one"),
    ],
)
def test_bad_experiment_files_name_file_line_and_field(tmp_path, text, message):
    write_pair(tmp_path)
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    assert message in str(info.value)


def test_cli_compare_prints_the_comparison_and_writes_every_scenario(tmp_path, fake_model,
                                                                     capsys):
    ffs, aco = write_pair(tmp_path)
    out = tmp_path / "r"
    code = main(["compare", str(ffs), str(aco), "--out", str(out), "-w", "1", "-q",
                 "--replications", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Scenarios ffs, aco: 3 replication(s)" in captured.out
    assert "Compared with ffs" in captured.out
    names = {p.name for p in out.iterdir()}
    assert {"results.parquet", "summary.csv", "scenarios", "manifest.json", "risk.csv",
            "compare_incremental.csv"} <= names
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == ["aco.yaml", "ffs.yaml"]
    m = read_manifest(out)
    assert m["common_random_numbers"] is True and m["reference"] == "ffs"
    assert [s["name"] for s in m["scenarios"]] == ["ffs", "aco"]
    results = pd.read_parquet(out / "results.parquet")
    assert list(dict.fromkeys(results["scenario"])) == ["ffs", "aco"]


def test_cli_compare_refuses_bad_input_before_running(tmp_path, fake_model, capsys):
    ffs, aco = write_pair(tmp_path)
    assert main(["compare", str(ffs)]) == 2
    assert "two or more scenario files" in capsys.readouterr().err
    assert main(["compare", str(ffs), str(aco), "--reference", "x"]) == 2
    assert "--reference" in capsys.readouterr().err
    assert main(["compare", str(ffs), str(ffs)]) == 2
    assert "names must differ" in capsys.readouterr().err
    assert main(["compare", str(ffs), str(aco), "--workers", "2", "--dask-local", "2"]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_cli_runs_an_experiment_file_with_no_crn(tmp_path, fake_model, capsys):
    write_pair(tmp_path)
    path = tmp_path / "exp.yaml"
    path.write_text("experiment:\n  scenarios: [ffs.yaml, aco.yaml]\n")
    out = tmp_path / "r"
    code = main(["compare", str(path), "--no-crn", "-w", "1", "-q", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert read_manifest(out)["common_random_numbers"] is False
    code = main(["validate", str(path)])
    assert code == 0 and "experiment 'exp'" in capsys.readouterr().out


def test_a_bad_experiment_file_reports_every_problem_at_once(tmp_path):
    """Several problems in the experiment file and in a scenario it names: each is reported,
    with its file, line and field path, in one error."""
    write_pair(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: bad\nhorizon_years: 0\npopulaton: {}\n")
    path = tmp_path / "exp.yaml"
    path.write_text("experiment:\n"
                    "  scenarios:\n"
                    "    - ffs.yaml\n"
                    "    - missing.yaml\n"
                    "    - bad.yaml\n"
                    "  replication: 3\n"
                    "  seed: -1\n"
                    "  common_random_numbers: 'yes'\n"
                    "  wtp_usd_per_qaly: [100000, '50000', -1]\n"
                    "  discount_rate: 1.5\n"
                    "other: 1\n")
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    exp, bad = str(path), str(tmp_path / "bad.yaml")
    assert [(p.file, p.line, p.field) for p in info.value.errors] == [
        (exp, 4, "experiment.scenarios.1"),
        (exp, 6, "experiment.replication"),
        (exp, 7, "experiment.seed"),
        (exp, 8, "experiment.common_random_numbers"),
        (exp, 9, "experiment.wtp_usd_per_qaly.1"),
        (exp, 9, "experiment.wtp_usd_per_qaly.2"),
        (exp, 10, "experiment.discount_rate"),
        (exp, 11, "other"),
        (bad, 2, "horizon_years"),
        (bad, 3, "populaton"),
    ]
    message = str(info.value)
    assert message.startswith("experiment refused, 10 problems:")
    for part in ("scenario file 'missing.yaml' not found",
                 "unknown key 'replication' (did you mean 'replications'?)",
                 "expected a whole number >= 0, got -1",
                 "expected true or false, got the text 'yes'",
                 "expected a number (USD per QALY), got the text '50000' (write numbers "
                 "without quotes)",
                 "expected a number >= 0 (USD per QALY), got -1",
                 "expected a number <= 1 (per year), got 1.5",
                 "an experiment file holds one mapping, 'experiment:'",
                 "expected a whole number >= 1 (years), got 0",
                 "unknown key 'populaton' (did you mean 'population'?)"):
        assert part in message, part


def test_vbcsim_validate_prints_every_problem_of_an_experiment(tmp_path, capsys):
    write_pair(tmp_path)
    path = tmp_path / "exp.yaml"
    path.write_text("experiment:\n  scenarios: [ffs.yaml, nope.yaml]\n  seed: -1\n"
                    "  replications: 0\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "experiment refused, 3 problems:" in err and "Traceback" not in err
    assert f"{path}:2: experiment.scenarios.1: scenario file 'nope.yaml' not found" in err
    assert f"{path}:3: experiment.seed: expected a whole number >= 0, got -1" in err
    assert f"{path}:4: experiment.replications: expected a whole number >= 1, got 0" in err


def test_names_and_reference_are_checked_together(tmp_path):
    write_pair(tmp_path)
    path = tmp_path / "exp.yaml"
    path.write_text("experiment:\n  scenarios: [ffs.yaml, ffs.yaml]\n  reference: pfs\n"
                    "  seed: -1\n")
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    assert [(p.line, p.field) for p in info.value.errors] == [
        (2, "experiment.scenarios"), (3, "experiment.reference"), (4, "experiment.seed")]
    assert "repeated: ffs" in str(info.value) and "expected one of ffs, got 'pfs'" in str(
        info.value)
